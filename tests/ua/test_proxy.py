"""Proxy rules of RFC 3261 16: validation (483, 482, 416, 420), routing, stateless mode."""

from __future__ import annotations

import random

import pytest
from ua_topologies import ALICE, BOB, SS1, SS2, dial, trapezoid, values

from simvoip.sip.effects import Address, Send
from simvoip.sip.location import LocationService
from simvoip.sip.message import Headers, Request
from simvoip.sip.proxy import Proxy, ProxyConfig, stateless_branch
from simvoip.sip.proxy.routing import forward_copy, preprocess_routes
from simvoip.sip.ua import CallAnswered, CallEnded, CallFailed, UABehaviour

SS1_CFG = ProxyConfig(host=SS1, domain="atlanta.example.com")


def invite(uri="sip:bob@biloxi.example.com", **headers):
    h = Headers([("Via", f"SIP/2.0/UDP {ALICE};branch=z9hG4bK74bf9"), ("Max-Forwards", "70"),
                 ("From", "Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl"),
                 ("To", "Bob <sip:bob@biloxi.example.com>"), ("Call-ID", "c1@atlanta"),
                 ("CSeq", "1 INVITE"), ("Contact", f"<sip:alice@{ALICE}>")])
    for name, value in headers.items():
        h.set(name.replace("_", "-"), value)
    return Request("INVITE", uri, h)


def sent(out):
    return [o for o in out if isinstance(o, Send)]


@pytest.mark.parametrize(("request_", "status", "extra"), [
    (invite(Max_Forwards="0"), 483, None),
    (invite(uri="mailto:bob@biloxi.example.com"), 416, None),
    (invite(Proxy_Require="foo, bar"), 420, ("Unsupported", "foo, bar")),
])
def test_validation_errors(request_, status, extra):
    proxy = Proxy(SS1_CFG, random.Random(0))
    (send,) = sent(proxy.receive(request_, Address(ALICE), 0.0))
    # Answered at once (no 100 Trying first), to the Via of the request, with a To tag.
    assert send.message.status_code == status and send.destination.host == ALICE
    assert send.message.to.tag
    if extra:
        assert send.message.headers.get(extra[0]) == extra[1]
    # The answer goes through a server transaction: a retransmission gets the same response.
    (again,) = sent(proxy.receive(request_, Address(ALICE), 0.1))
    assert again.message == send.message


def test_max_forwards_decrement_and_483_downstream():
    proxy = Proxy(SS1_CFG, random.Random(0))
    out = proxy.receive(invite(Max_Forwards="1"), Address(ALICE), 0.0)
    forwarded = [s.message for s in sent(out) if isinstance(s.message, Request)]
    assert forwarded[0].headers.get("Max-Forwards") == "0"
    next_proxy = Proxy(ProxyConfig(host=SS2, domain="biloxi.example.com"), random.Random(1))
    (r,) = sent(next_proxy.receive(forwarded[0], Address(SS1), 0.01))
    assert (r.message.status_code, r.message.reason) == (483, "Too Many Hops")


def test_loop_detected_482():
    # Misconfigured DNS: biloxi.example.com points back at ss1, so ss1 gets its own request.
    t = trapezoid()
    t.net.aliases["biloxi.example.com"] = SS1
    call_id = dial(t)
    t.net.run(until=60.0)
    ladder = t.net.ladder(call_id)
    assert ladder[:3] == [(ALICE, SS1, "INVITE"), (SS1, SS1, "INVITE"), (SS1, ALICE, "100")]
    assert (SS1, SS1, "482") in ladder
    looped = t.net.delivered(call_id)[1].message
    assert [v.host for v in looped.vias] == [SS1, ALICE]
    assert [e.status for e in t.net.of(ALICE, CallFailed)] == [482]
    assert t.ss1.stats.get("rejected-482") == 1
    assert t.idle()


def test_spiral_is_not_a_loop():
    # The same request comes back with a different Request-URI: a spiral (16.3 item 4).
    proxy = Proxy(SS1_CFG, random.Random(0), LocationService())
    first = [s.message for s in sent(proxy.receive(invite(), Address(ALICE), 0.0))
             if isinstance(s.message, Request)][0]
    spiral = Request("INVITE", "sip:robert@biloxi.example.com", first.headers.copy())
    out = proxy.receive(spiral, Address(SS2), 0.01)
    assert [s.message.method for s in sent(out) if isinstance(s.message, Request)] == ["INVITE"]


def test_strict_route_compatibility():
    # 16.6 item 6: next hop is a strict router: it becomes the Request-URI and the old
    # Request-URI goes to the end of Route.
    req = invite(Route="<sip:strict.example.com>, <sip:p3.example.com;lr>")
    copy, hop = forward_copy(req, req.uri, via=f"SIP/2.0/UDP {SS1};branch=z9hG4bKx",
                             record_route=None)
    assert copy.uri == "sip:strict.example.com" and hop == "sip:strict.example.com"
    assert values(copy, "Route") == ["<sip:p3.example.com;lr>",
                                      "<sip:bob@biloxi.example.com>"]
    # 16.4: a request arriving from a strict router carries our Record-Route URI as
    # Request-URI: the last Route value is restored as Request-URI.
    from_strict = Request("BYE", f"sip:{SS1};lr", invite(
        Route="<sip:p3.example.com;lr>, <sip:alice@client.atlanta.example.com>").headers)
    fixed = preprocess_routes(from_strict, host=SS1, port=5060)
    assert fixed.uri == "sip:alice@client.atlanta.example.com"
    assert values(fixed, "Route") == ["<sip:p3.example.com;lr>"]
    # And our own loose Route entry is popped.
    popped = preprocess_routes(invite(Route=f"<sip:{SS1};lr>, <sip:{SS2};lr>"), host=SS1, port=5060)
    assert values(popped, "Route") == [f"<sip:{SS2};lr>"]


def test_stateless_branch_is_retransmission_invariant_and_matches_cancel():
    req = invite()
    cancel = Request("CANCEL", req.uri, req.headers.copy())
    cancel.headers.set("CSeq", "1 CANCEL")
    assert stateless_branch(req) == stateless_branch(invite())
    assert stateless_branch(cancel) == stateless_branch(req)
    other = invite()
    other.headers.set("Via", f"SIP/2.0/UDP {ALICE};branch=z9hG4bKother")
    assert stateless_branch(other) != stateless_branch(req)


def test_stateless_proxies_basic_call():
    t = trapezoid(stateful=False, bob=UABehaviour(ring_delay=0.0, answer_delay=1.0,
                                                  auto_hangup_after=3.0))
    call_id = dial(t)
    t.net.run(until=60.0)
    # 16.11: no 100 Trying from stateless proxies; every message relayed hop by hop.
    labels = [label for _, _, label in t.net.ladder(call_id)]
    assert "100" not in labels
    assert labels == ["INVITE"] * 3 + ["180"] * 3 + ["200"] * 3 + ["ACK"] * 3 + ["BYE"] * 3 \
        + ["200"] * 3
    inv = [h.message for h in t.net.delivered(call_id) if h.label == "INVITE"]
    assert inv[1].branch == stateless_branch(inv[0])
    assert values(inv[2], "Record-Route") == [f"<sip:{SS2};lr>", f"<sip:{SS1};lr>"]
    assert t.ss1.transaction_count == 0 and t.ss1.stats["stateless-request"] >= 3
    assert len(t.net.of(ALICE, CallAnswered)) == 1 and t.net.of(BOB, CallEnded)
    assert t.idle()


@pytest.mark.parametrize("seed", range(1, 6))
def test_stateless_proxies_under_loss(seed):
    # End-to-end retransmissions carry the call through stateless proxies.
    t = trapezoid(stateful=False, loss=0.2, seed=seed,
                  bob=UABehaviour(ring_delay=0.0, answer_delay=1.0, auto_hangup_after=3.0))
    dial(t)
    t.net.run(until=300.0)
    assert len(t.net.of(ALICE, CallAnswered)) == 1 and len(t.net.of(ALICE, CallEnded)) == 1
    assert t.idle()


def test_timer_c_cancels_a_ringing_branch():
    # Bob rings for ever; ss2's Timer C (here 20 s) CANCELs him (16.8). Bob answers 487,
    # which ss2 passes upstream as 408 Request Timeout: the caller never cancelled.
    t = trapezoid(bob=UABehaviour(ring_delay=0.0, answer_delay=None))
    t.ss2.config = ProxyConfig(host=SS2, domain="biloxi.example.com", timer_c=20.0)
    call_id = dial(t)
    t.net.run(until=120.0)
    cancel = [h for h in t.net.delivered(call_id) if h.label == "CANCEL"]
    assert [(h.src, h.dst) for h in cancel] == [(SS2, BOB)]
    # Timer C restarted when Bob's 180 reached ss2 at 40 ms (16.7 step 2).
    assert cancel[0].time == pytest.approx(20.04)
    assert [h.label for h in t.net.delivered(call_id) if h.src == BOB][-1] == "487"
    assert [e.status for e in t.net.of(ALICE, CallFailed)] == [408]
    assert t.idle()


def test_no_answer_with_default_timers_gives_408():
    # Nobody gives up except the proxies: ss2's Timer C (180.5 s, "greater than 3
    # minutes", 16.6 item 11) fires first and the caller gets 408.
    t = trapezoid(bob=UABehaviour(ring_delay=0.0, answer_delay=None))
    call_id = dial(t)
    t.net.run(until=400.0)
    (failed,) = t.net.of(ALICE, CallFailed)
    assert failed.status == 408 and 180.5 < failed.at < 181.0
    cancels = [(h.src, h.dst) for h in t.net.delivered(call_id) if h.label == "CANCEL"]
    # ss1's Timer C (restarted 10 ms later by the 180) fires too and cancels its branch.
    assert cancels == [(SS2, BOB), (SS1, SS2)]
    assert t.idle()


def test_unusable_route_is_answered_not_left_hanging():
    proxy = Proxy(SS1_CFG, random.Random(0))
    bad = invite(Route="<sip:>")
    out = proxy.receive(bad, Address(ALICE), 0.0)
    # RFC 3261 16.3 item 1: the Route the proxy must process does not parse, so
    # validation answers 400 at once (no 100 Trying first).
    assert [s.message.status_code for s in sent(out)] == [400]
    assert proxy.context_count == 0


@pytest.mark.parametrize("stateful", [True, False])
def test_forwarded_via_names_the_transport_of_the_next_hop(stateful):
    # RFC 3261 8.1.1.7: the Via carries the transport the request is sent over; a
    # Request-URI with ;transport=tcp makes the proxy's next hop TCP.
    cfg = ProxyConfig(host=SS1, domain="atlanta.example.com", stateful=stateful)
    proxy = Proxy(cfg, random.Random(0))
    out = proxy.receive(invite(uri="sip:bob@192.0.2.4;transport=tcp"), Address(ALICE), 0.0)
    (fwd,) = [s for s in sent(out) if isinstance(s.message, Request)]
    assert fwd.destination.transport == "TCP"
    assert fwd.message.vias[0].transport == "TCP" and fwd.message.vias[0].host == SS1
    assert fwd.message.vias[1].transport == "UDP"  # the caller's Via is left as it was
    udp = proxy.receive(invite(uri="sip:bob@192.0.2.4").copy(), Address(ALICE), 0.0)
    assert all(s.message.vias[0].transport == "UDP" for s in sent(udp))


def test_rport_is_filled_and_the_response_goes_there():
    # RFC 3581 4: an empty rport gets the source port, received is added even when
    # the host matches, and the response goes to received:rport.
    proxy = Proxy(SS1_CFG, random.Random(0))
    request = invite(uri="mailto:bob@biloxi.example.com",
                     Via=f"SIP/2.0/UDP {ALICE}:5060;rport;branch=z9hG4bK74bf9")
    (answer,) = sent(proxy.receive(request, Address(ALICE, 40123), 0.0))
    via = answer.message.vias[0]
    assert via.rport == 40123 and via.received == ALICE
    assert (answer.destination.host, answer.destination.port) == (ALICE, 40123)


def test_response_address_follows_rfc3261_18_2_2_and_rfc3581():
    from simvoip.sip.message import Response
    from simvoip.sip.ua.transactions import response_address

    def where(via):
        r = Response(200, "OK", Headers([("Via", via), ("CSeq", "1 INVITE")]))
        a = response_address(r)
        return a.host, a.port, a.transport

    # maddr wins, with the sent-by port (not rport).
    assert where("SIP/2.0/UDP h:5070;maddr=239.1.1.1;received=r;rport=9;branch=z9hG4bK1") == (
        "239.1.1.1", 5070, "UDP")
    # received + rport (RFC 3581 4).
    assert where("SIP/2.0/UDP h:5070;received=192.0.2.1;rport=9988;branch=z9hG4bK1") == (
        "192.0.2.1", 9988, "UDP")
    # received only: the sent-by port; neither: sent-by, default port 5060.
    assert where("SIP/2.0/UDP h:5070;received=192.0.2.1;branch=z9hG4bK1") == ("192.0.2.1", 5070, "UDP")
    assert where("SIP/2.0/TCP h;branch=z9hG4bK1") == ("h", 5060, "TCP")
