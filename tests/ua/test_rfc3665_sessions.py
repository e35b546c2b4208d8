"""RFC 3665 section 3 session flows through the cores, checked message by message."""

from __future__ import annotations

from ua_topologies import ALICE, BOB, SS1, SS2, dial, trapezoid, values

from simvoip.sip.ua import CallAnswered, CallEnded, CallFailed, UABehaviour

RR = ["<sip:ss2.biloxi.example.com;lr>", "<sip:ss1.atlanta.example.com;lr>"]


def branches(message) -> list[str]:
    return [v.branch for v in message.vias]


def test_3_2_session_through_two_proxies_with_proxy_authentication():
    t = trapezoid(auth=True, bob=UABehaviour(ring_delay=0.0, answer_delay=1.0,
                                             auto_hangup_after=5.0))
    call_id = dial(t)
    t.net.run(until=120.0)
    assert t.net.ladder(call_id) == [
        (ALICE, SS1, "INVITE"),   # F1
        (SS1, ALICE, "407"),      # F2
        (ALICE, SS1, "ACK"),      # F3
        (ALICE, SS1, "INVITE"),   # F4
        (SS1, SS2, "INVITE"),     # F5
        (SS1, ALICE, "100"),      # F6
        (SS2, BOB, "INVITE"),     # F7
        (SS2, SS1, "100"),        # F8
        (BOB, SS2, "180"),        # F9
        (SS2, SS1, "180"),        # F10
        (SS1, ALICE, "180"),      # F11
        (BOB, SS2, "200"),        # F12
        (SS2, SS1, "200"),        # F13
        (SS1, ALICE, "200"),      # F14
        (ALICE, SS1, "ACK"),      # F15
        (SS1, SS2, "ACK"),        # F16
        (SS2, BOB, "ACK"),        # F17
        (BOB, SS2, "BYE"),        # F18
        (SS2, SS1, "BYE"),        # F19
        (SS1, ALICE, "BYE"),      # F20
        (ALICE, SS1, "200"),      # F21
        (SS1, SS2, "200"),        # F22
        (SS2, BOB, "200"),        # F23
    ]
    f = [None] + [h.message for h in t.net.delivered(call_id)]
    # F1: preloaded Route to the outbound proxy, CSeq 1, no credentials.
    assert values(f[1], "Route") == ["<sip:ss1.atlanta.example.com;lr>"]
    assert str(f[1].cseq) == "1 INVITE" and "Proxy-Authorization" not in f[1].headers
    # F2: 407 with a Digest challenge for atlanta.example.com, a To tag, same Via.
    assert f[2].status_code == 407 and f[2].to.tag
    assert 'realm="atlanta.example.com"' in f[2].headers.get("Proxy-Authenticate")
    # F3: the ACK of the ICT: same branch as F1, To tag of the 407, CSeq 1 ACK.
    assert f[3].branch == f[1].branch and f[3].to.tag == f[2].to.tag
    assert str(f[3].cseq) == "1 ACK"
    # F4: a new transaction (new branch), CSeq 2, same Call-ID and From tag, credentials.
    assert f[4].branch != f[1].branch and str(f[4].cseq) == "2 INVITE"
    assert f[4].from_.tag == f[1].from_.tag and f[4].call_id == f[1].call_id
    assert 'username="alice"' in f[4].headers.get("Proxy-Authorization")
    # F5: ss1 consumed its credentials, pushed its Via and Record-Route, removed its Route,
    # decremented Max-Forwards.
    assert len(f[5].vias) == 2 and branches(f[5])[1] == f[4].branch
    assert f[5].vias[0].host == SS1 and f[5].branch.startswith("z9hG4bK")
    assert f[5].headers.get("Max-Forwards") == "69"
    assert values(f[5], "Record-Route") == [RR[1]] and "Route" not in f[5].headers
    assert "Proxy-Authorization" not in f[5].headers
    assert f[5].uri == "sip:bob@biloxi.example.com"
    # F6/F8: 100 Trying from each proxy, hop by hop, without a To tag.
    assert f[6].status_code == 100 and branches(f[6]) == [f[4].branch] and not f[6].to.tag
    assert f[8].status_code == 100 and branches(f[8]) == branches(f[5])
    # F7: ss2 retargeted to Bob's registered contact; three Vias, two Record-Routes, MF 68.
    assert f[7].uri == f"sip:bob@{BOB}"
    assert [v.host for v in f[7].vias] == [SS2, SS1, ALICE]
    assert branches(f[7])[1:] == branches(f[5])
    assert f[7].headers.get("Max-Forwards") == "68"
    assert values(f[7], "Record-Route") == RR
    # F9-F14: responses retrace the Via path, losing one Via per hop; Record-Route kept.
    for resp, depth in ((f[9], 3), (f[10], 2), (f[11], 1), (f[12], 3), (f[13], 2), (f[14], 1)):
        assert len(resp.vias) == depth and values(resp, "Record-Route") == RR
        assert str(resp.cseq) == "2 INVITE" and resp.to.tag == f[9].to.tag
    assert branches(f[14]) == [f[4].branch]
    # F15: Alice's ACK follows the route set (reversed Record-Route) to Bob's Contact.
    assert f[15].uri == f"sip:bob@{BOB}" and values(f[15], "Route") == RR[::-1]
    assert str(f[15].cseq) == "2 ACK" and f[15].branch != f[4].branch
    assert values(f[16], "Route") == [RR[0]] and f[16].headers.get("Max-Forwards") == "69"
    assert "Route" not in f[17].headers and f[17].headers.get("Max-Forwards") == "68"
    assert len(f[17].vias) == 3
    # F18: Bob's BYE: Route in Record-Route order, his own CSeq 1, To/From swapped.
    assert f[18].uri == f"sip:alice@{ALICE}" and values(f[18], "Route") == RR
    assert str(f[18].cseq) == "1 BYE"
    assert (f[18].from_.tag, f[18].to.tag) == (f[9].to.tag, f[1].from_.tag)
    assert values(f[19], "Route") == [RR[1]] and f[19].headers.get("Max-Forwards") == "69"
    assert "Route" not in f[20].headers and f[20].headers.get("Max-Forwards") == "68"
    assert [v.host for v in f[20].vias] == [SS1, SS2, BOB]
    assert [len(m.vias) for m in (f[21], f[22], f[23])] == [3, 2, 1]
    assert t.net.of(ALICE, CallEnded)[0].reason == "remote-bye"
    assert t.idle()


def test_3_8_no_answer_cancelled_by_caller():
    # Bob rings but never answers; Alice gives up after 10 s (RFC 3665 3.8).
    t = trapezoid(bob=UABehaviour(ring_delay=0.0, answer_delay=None), alice_invite_timeout=10.0)
    call_id = dial(t)
    t.net.run(until=200.0)
    ladder = t.net.ladder(call_id)
    assert ladder == [
        (ALICE, SS1, "INVITE"), (SS1, SS2, "INVITE"), (SS1, ALICE, "100"),  # F1, F2, F3
        (SS2, BOB, "INVITE"), (SS2, SS1, "100"),                            # F4, F5
        (BOB, SS2, "180"), (SS2, SS1, "180"), (SS1, ALICE, "180"),          # F6-F8
        (ALICE, SS1, "CANCEL"), (SS1, ALICE, "200"),                        # F9, F10
        (SS1, SS2, "CANCEL"), (SS2, SS1, "200"),                            # F11, F12
        (SS2, BOB, "CANCEL"), (BOB, SS2, "200"),                            # F13, F14
        (BOB, SS2, "487"), (SS2, BOB, "ACK"),                               # F15, F16
        (SS2, SS1, "487"), (SS1, SS2, "ACK"),                               # F17, F18
        (SS1, ALICE, "487"), (ALICE, SS1, "ACK"),                           # F19, F20
    ]
    f = [None] + [h.message for h in t.net.delivered(call_id)]
    # CANCEL: same Request-URI, Call-ID, From, To (no tag), CSeq number and top branch as
    # the INVITE of that hop (RFC 3261 9.1); its 200 and the 487 carry the INVITE's branch.
    for cancel, invite in ((f[9], f[1]), (f[11], f[2]), (f[13], f[4])):
        assert (cancel.uri, cancel.branch, cancel.cseq.number) == (
            invite.uri, invite.branch, invite.cseq.number)
        assert str(cancel.cseq).endswith("CANCEL") and cancel.to.tag is None
    assert values(f[9], "Route") == ["<sip:ss1.atlanta.example.com;lr>"]
    assert str(f[15].cseq) == "1 INVITE" and f[15].to.tag == f[6].to.tag
    assert f[20].branch == f[1].branch and str(f[20].cseq) == "1 ACK"
    (failed,) = t.net.of(ALICE, CallFailed)
    assert failed.status == 487
    assert t.idle()


def test_3_9_busy():
    t = trapezoid(bob=UABehaviour(reject_code=486))
    call_id = dial(t)
    t.net.run(until=100.0)
    assert t.net.ladder(call_id) == [
        (ALICE, SS1, "INVITE"), (SS1, SS2, "INVITE"), (SS1, ALICE, "100"),
        (SS2, BOB, "INVITE"), (SS2, SS1, "100"),
        (BOB, SS2, "486"), (SS2, BOB, "ACK"),
        (SS2, SS1, "486"), (SS1, SS2, "ACK"),
        (SS1, ALICE, "486"), (ALICE, SS1, "ACK"),
    ]
    (failed,) = t.net.of(ALICE, CallFailed)
    assert (failed.status, failed.reason) == (486, "Busy Here")
    assert not t.net.of(ALICE, CallAnswered)
    assert t.idle()


def test_3_10_no_response_from_user_agent():
    # Bob's phone is dead (crashed): ss2 retransmits the INVITE per Timer A and after
    # Timer B (32 s) answers 408 upstream (RFC 3665 3.10).
    t = trapezoid(bob=UABehaviour(crash_at=0.0))
    call_id = dial(t)
    t.net.run(until=200.0)
    to_bob = [h.time for h in t.net.hops if h.dst == BOB and h.label == "INVITE"]
    # 7 transmissions: 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s after ss2 first sent it (at 20 ms).
    assert [round(x - to_bob[0], 6) for x in to_bob] == [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    (failed,) = t.net.of(ALICE, CallFailed)
    assert failed.status == 408
    assert t.net.ladder(call_id)[-2:] == [(SS1, ALICE, "408"), (ALICE, SS1, "ACK")]
    t.bob.config.behaviour  # noqa: B018  (the crashed phone keeps no state to check)
    assert all(p.transaction_count == 0 and p.context_count == 0 for p in (t.ss1, t.ss2))


def test_3_11_temporarily_unavailable_when_not_registered():
    t = trapezoid(register_bob=False)
    call_id = dial(t)
    t.net.run(until=100.0)
    assert t.net.ladder(call_id) == [
        (ALICE, SS1, "INVITE"), (SS1, SS2, "INVITE"), (SS1, ALICE, "100"),
        (SS2, SS1, "480"), (SS1, SS2, "ACK"), (SS1, ALICE, "480"), (ALICE, SS1, "ACK"),
    ]
    assert t.net.of(ALICE, CallFailed)[0].status == 480
    assert t.idle()


def test_3_3_session_with_multiple_proxy_authentication():
    import random

    from simvoip.sip.digest import DigestServer
    from simvoip.sip.proxy import Proxy, ProxyConfig

    t = trapezoid(auth=True, bob=UABehaviour(ring_delay=None, answer_delay=0.0))
    # ss2 challenges every new request too, for its own realm (Alice has credentials there).
    t.ss2 = t.net.add(SS2, Proxy(
        ProxyConfig(host=SS2, domain="biloxi.example.com", auth_scope="all"), random.Random(3),
        t.ss2.location, t.ss2.registrar,
        DigestServer("biloxi.example.com", {"alice": "other-secret"}, random.Random(4))))
    t.alice.digest.secrets["biloxi.example.com"] = ("alice", "other-secret")
    call_id = dial(t)
    t.net.run(until=5.0)
    assert t.net.ladder(call_id) == [
        (ALICE, SS1, "INVITE"), (SS1, ALICE, "407"), (ALICE, SS1, "ACK"),      # F1-F3
        (ALICE, SS1, "INVITE"), (SS1, SS2, "INVITE"), (SS1, ALICE, "100"),     # F4-F6
        (SS2, SS1, "407"), (SS1, SS2, "ACK"), (SS1, ALICE, "407"),             # F7-F9
        (ALICE, SS1, "ACK"), (ALICE, SS1, "INVITE"), (SS1, SS2, "INVITE"),     # F10-F13
        (SS1, ALICE, "100"), (SS2, BOB, "INVITE"), (SS2, SS1, "100"),          # F12, F15, F14
        (BOB, SS2, "200"), (SS2, SS1, "200"), (SS1, ALICE, "200"),             # F16-F18
        (ALICE, SS1, "ACK"), (SS1, SS2, "ACK"), (SS2, BOB, "ACK"),             # F19-F21
    ]
    f = [h.message for h in t.net.delivered(call_id)]
    third = f[10]
    assert str(third.cseq) == "3 INVITE"
    realms = sorted(v.split('realm="')[1].split('"')[0]
                    for v in third.headers.get_all("Proxy-Authorization"))
    assert realms == ["atlanta.example.com", "biloxi.example.com"]
    # ss1 consumed its own credentials and passed ss2's on (RFC 3261 22.3).
    forwarded = f[11].headers.get_all("Proxy-Authorization")
    assert len(forwarded) == 1 and 'realm="biloxi.example.com"' in forwarded[0]
    assert "Proxy-Authorization" not in f[13].headers
    assert len(t.net.of(ALICE, CallAnswered)) == 1
