"""Parallel and sequential forking at ss2 to three registered phones (RFC 3261 16.6-16.7)."""

from __future__ import annotations

import random

from ua_topologies import ALICE, BOB_AOR, SS2, dial, trapezoid

from simvoip.sip.effects import Send
from simvoip.sip.location import Binding
from simvoip.sip.proxy import Proxy, ProxyConfig
from simvoip.sip.ua import (
    CallAnswered,
    CallEnded,
    CallFailed,
    IncomingCall,
    UABehaviour,
    UAConfig,
    UserAgent,
)

PHONES = ["bob1.biloxi.example.com", "bob2.biloxi.example.com", "bob3.biloxi.example.com"]


def forked(behaviours, *, forking="parallel", q=(1.0, 1.0, 1.0), **kw):
    t = trapezoid(register_bob=False, **kw)
    if forking != "parallel":
        old = t.ss2
        t.ss2 = t.net.add(SS2, Proxy(ProxyConfig(host=SS2, domain="biloxi.example.com",
                                                 forking=forking, sequential_timeout=5.0),
                                     random.Random(5), old.location, old.registrar))
    phones = []
    for host, behaviour, qv in zip(PHONES, behaviours, q, strict=True):
        ua = t.net.add(host, UserAgent(UAConfig(initial_cseq=1, aor=BOB_AOR, host=host, behaviour=behaviour),
                                       random.Random(host)))
        t.ss2.location.set(BOB_AOR, Binding(f"sip:bob@{host}", expires_at=1e9, q=qv))
        phones.append(ua)
    return t, phones


def idle(t, phones):
    return t.idle() and all(p.transaction_count == 0 and p.dialog_count == 0 for p in phones)


def test_only_one_answers_the_others_are_cancelled():
    ring = UABehaviour(ring_delay=0.0, answer_delay=None)
    t, phones = forked([ring, UABehaviour(ring_delay=0.0, answer_delay=2.0,
                                          auto_hangup_after=5.0), ring])
    call_id = dial(t)
    t.net.run(until=120.0)
    # Every phone got the INVITE and rang.
    assert all(len(t.net.of(p, IncomingCall)) == 1 for p in PHONES)
    # After bob2's 200, ss2 CANCELs bob1 and bob3, which answer 200 (CANCEL) and 487.
    for host in (PHONES[0], PHONES[2]):
        got = [h.label for h in t.net.delivered(call_id) if h.dst == host or h.src == host]
        assert got == ["INVITE", "180", "CANCEL", "200", "487", "ACK"]
        assert [e.status for e in t.net.of(host, CallFailed)] == [487]
    # The 487s stay at ss2: Alice sees 180s (one per early dialog) and exactly one 200.
    to_alice = [h.label for h in t.net.delivered(call_id) if h.dst == ALICE]
    assert to_alice == ["100", "180", "180", "180", "200", "BYE"]
    assert len(t.net.of(ALICE, CallAnswered)) == 1
    answered_tag = t.alice.call(call_id).dialog.remote_tag
    assert answered_tag == [h.message for h in t.net.delivered(call_id)
                            if h.src == PHONES[1] and h.label == "200"][0].to.tag
    assert t.net.of(ALICE, CallEnded)[0].reason == "remote-bye"
    assert idle(t, phones)


def test_two_answer_both_are_acked_and_one_is_byed():
    answer = UABehaviour(ring_delay=0.0, answer_delay=1.0)
    t, phones = forked([answer, answer, UABehaviour(ring_delay=0.0, answer_delay=None)])
    call_id = dial(t, hangup_after=10.0)
    t.net.run(until=120.0)
    oks = [h.message for h in t.net.delivered(call_id) if h.dst == ALICE and h.label == "200"
           and h.message.cseq.method == "INVITE"]
    assert len(oks) == 2 and oks[0].to.tag != oks[1].to.tag
    acks = [h for h in t.net.delivered(call_id) if h.src == ALICE and h.label == "ACK"]
    byes = [h for h in t.net.delivered(call_id) if h.src == ALICE and h.label == "BYE"]
    # Both 2xx ACKed; the second dialog BYEd at once, the first after the 10 s call.
    assert sorted(a.message.to.tag for a in acks) == sorted(o.to.tag for o in oks)
    assert [b.message.to.tag for b in byes] == [oks[1].to.tag, oks[0].to.tag]
    assert byes[1].time - byes[0].time > 9.0
    assert len(t.net.of(ALICE, CallAnswered)) == 1
    # Each answering phone saw its call end by a BYE; the third was cancelled.
    assert [e.reason for e in t.net.of(PHONES[0], CallEnded)] == ["remote-bye"]
    assert [e.reason for e in t.net.of(PHONES[1], CallEnded)] == ["remote-bye"]
    assert [e.status for e in t.net.of(PHONES[2], CallFailed)] == [487]
    assert idle(t, phones)


def test_sequential_forking_in_q_order():
    # bob3 (q=1.0) is busy, bob1 (q=0.7) rings but does not answer within 5 s, bob2 (q=0.5)
    # answers.
    t, phones = forked(
        [UABehaviour(ring_delay=0.0, answer_delay=None), UABehaviour(answer_delay=0.5),
         UABehaviour(reject_code=486)],
        forking="sequential", q=(0.7, 0.5, 1.0))
    call_id = dial(t)
    t.net.run(until=60.0)
    invites = [h.dst for h in t.net.delivered(call_id) if h.label == "INVITE" and h.src == SS2]
    assert invites == [PHONES[2], PHONES[0], PHONES[1]]
    assert [e.status for e in t.net.of(PHONES[2], CallFailed)] == [486]
    assert [e.status for e in t.net.of(PHONES[0], CallFailed)] == [487]
    assert len(t.net.of(ALICE, CallAnswered)) == 1
    (ok,) = [h.message for h in t.net.delivered(call_id) if h.dst == ALICE and h.label == "200"]
    assert ok.headers.get("Contact") == f"<sip:bob@{PHONES[1]}>"


def test_all_busy_best_response_is_forwarded():
    t, phones = forked([UABehaviour(reject_code=486), UABehaviour(reject_code=480),
                        UABehaviour(reject_code=404)])
    dial(t)
    t.net.run(until=60.0)
    # 16.7: all 4xx -> one of them (the first final received); a 6xx would win outright.
    assert [e.status for e in t.net.of(ALICE, CallFailed)] == [486]
    assert idle(t, phones)


def test_decline_6xx_cancels_other_branches():
    t, phones = forked([UABehaviour(ring_delay=0.0, answer_delay=None),
                        UABehaviour(reject_code=603, reject_delay=1.0),
                        UABehaviour(ring_delay=0.0, answer_delay=None)])
    dial(t)
    t.net.run(until=60.0)
    assert [e.status for e in t.net.of(ALICE, CallFailed)] == [603]
    assert [e.status for e in t.net.of(PHONES[0], CallFailed)] == [487]
    assert [e.status for e in t.net.of(PHONES[2], CallFailed)] == [487]
    assert idle(t, phones)


def test_challenges_of_all_branches_are_aggregated():
    # Two forks answer 401 with different realms, one 486: the 401 wins (16.7 step 6 prefers
    # a challenge among 4xx) and carries both challenges (16.7 step 7).
    from simvoip.sip.digest import DigestServer

    t, phones = forked([UABehaviour(reject_code=486, reject_delay=0.1),
                        UABehaviour(ring_delay=0.0), UABehaviour(ring_delay=0.0)])
    # Phones 2 and 3 act as authenticating UASs via a tiny wrapper: reply 401 themselves.
    for i, host in ((1, PHONES[1]), (2, PHONES[2])):
        server = DigestServer(f"realm{i}", {}, random.Random(i))
        phone = phones[i]

        def receive(message, source, now, phone=phone, server=server, host=host):
            from simvoip.sip.message import Request
            from simvoip.sip.ua.messages import make_response
            from simvoip.sip.ua.transactions import response_address

            if isinstance(message, Request) and message.method == "INVITE":
                ch = ("WWW-Authenticate", str(server.challenge(now)))
                r = make_response(message, 401, to_tag=f"t{host[:4]}", extra=[ch])
                return [Send(r, response_address(message))]
            return []

        phone.receive = receive
    dial(t)
    t.net.run(until=40.0)
    (failed,) = t.net.of(ALICE, CallFailed)
    assert failed.status == 401
    (resp,) = [h.message for h in t.net.delivered() if h.dst == ALICE and h.label == "401"]
    realms = sorted(v.split('realm="')[1].split('"')[0]
                    for v in resp.headers.get_all("WWW-Authenticate"))
    assert realms == ["realm1", "realm2"]
