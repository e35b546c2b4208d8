"""UAS rules: 2xx retransmission until ACK (13.3.1.4), OPTIONS, 405/501/420/481/500,
CANCEL races, ignored BYE, early media, redirects."""

from __future__ import annotations

import random

from pytest import approx
from ua_harness import Network

from simvoip.sip.effects import Address, Send
from simvoip.sip.message import Headers, Request
from simvoip.sip.ua import (
    ALLOW,
    CallAnswered,
    CallEnded,
    CallFailed,
    CallProgress,
    OptionsResult,
    UABehaviour,
    UAConfig,
    UserAgent,
)

A, B = "alice.example", "bob.example"


def pair(bob: UABehaviour, alice: UABehaviour | None = None, delay=0.01, **kw):
    net = Network(delay=delay, **kw)
    alice_ua = net.add(A, UserAgent(UAConfig(initial_cseq=1, aor=f"sip:alice@{A}", host=A,
                                             behaviour=alice or UABehaviour()), random.Random(1)))
    bob_ua = net.add(B, UserAgent(UAConfig(initial_cseq=1, aor=f"sip:bob@{B}", host=B, behaviour=bob),
                                  random.Random(2)))
    return net, alice_ua, bob_ua


def start(net, ua, target=f"sip:bob@{B}", at=0.0, **kw):
    net.now = at
    call_id, out = ua.invite(target, now=at, **kw)
    net.feed(A, out)
    return call_id


def test_2xx_retransmitted_until_64_t1_then_bye(reference_values):
    # Bob never sees the ACK: he retransmits the 200 at T1, 2T1, 4T1 ... capped at T2 and
    # gives up at 64*T1 with a BYE (RFC 3261 13.3.1.4).
    expected = reference_values["sip.schedule.uas_2xx_retransmit_no_ack"]["expected"]
    net, alice, bob = pair(UABehaviour(ring_delay=None, answer_delay=0.0, ignore_ack=True))
    call_id = start(net, alice)
    net.run(until=100.0)
    oks = [h.time for h in net.hops if h.src == B and h.label == "200"
           and h.message.cseq.method == "INVITE"]
    assert [x - oks[0] for x in oks] == approx(expected["send_times"])
    assert len(oks) == expected["transmissions"]
    # Alice's core ACKs every retransmission (13.2.2.4): one ACK per 200 received.
    acks = [h for h in net.hops if h.src == A and h.label == "ACK"]
    assert len(acks) == len(oks) and len({a.message.branch for a in acks}) == 1
    (bye,) = [h for h in net.hops if h.label == "BYE"]
    assert bye.src == B and bye.time - oks[0] == approx(expected["give_up_at"])
    assert net.of(B, CallEnded)[0].reason == "no-ack"
    assert net.of(A, CallEnded)[0].reason == "remote-bye"
    assert alice.call(call_id).retransmissions == 10  # ten ACK re-sends
    assert bob.call(call_id).retransmissions == 10    # ten 200 re-sends
    assert all(ua.transaction_count == 0 and ua.dialog_count == 0 for ua in (alice, bob))


def test_ack_stops_2xx_retransmission_and_lost_2xx_is_recovered():
    # The first 200 is lost: Bob retransmits it at T1 and Alice's ACK stops him.
    lost = []

    def drop(src, dst, msg, now):
        if src == B and getattr(msg, "status_code", 0) == 200 and not lost:
            lost.append(now)
            return True
        return False

    net, alice, bob = pair(UABehaviour(ring_delay=0.0, answer_delay=1.0), drop=drop)
    call_id = start(net, alice)
    net.run(until=60.0)
    oks = [h.time for h in net.hops if h.src == B and h.label == "200"]
    assert oks == approx([1.01, 1.51])
    assert net.of(A, CallAnswered)[0].at == approx(1.52)
    assert bob.call(call_id).pending_ok == {}


def _request(method, *, to_tag=None, require=None, cseq=1, call_id="x1", from_tag="f1"):
    h = Headers([("Via", f"SIP/2.0/UDP {A};branch=z9hG4bK{method}{cseq}"),
                 ("Max-Forwards", "70"), ("From", f"<sip:alice@{A}>;tag={from_tag}"),
                 ("To", f"<sip:bob@{B}>" + (f";tag={to_tag}" if to_tag else "")),
                 ("Call-ID", call_id), ("CSeq", f"{cseq} {method}"),
                 ("Contact", f"<sip:alice@{A}>")])
    if require:
        h.add("Require", require)
    return Request(method, f"sip:bob@{B}", h)


def _responses(out):
    return [o.message for o in out if isinstance(o, Send)]


def test_options_and_method_rules():
    bob = UserAgent(UAConfig(initial_cseq=1, aor=f"sip:bob@{B}", host=B), random.Random(3))
    (ok,) = _responses(bob.receive(_request("OPTIONS"), Address(A), 0.0))
    assert ok.status_code == 200 and ok.headers.get("Allow") == ", ".join(ALLOW)
    assert ok.to.tag
    (r,) = _responses(bob.receive(_request("FOO"), Address(A), 0.0))
    assert r.status_code == 501 and r.headers.get("Allow") == ", ".join(ALLOW)
    (r,) = _responses(bob.receive(_request("REGISTER"), Address(A), 0.0))
    assert (r.status_code, r.reason) == (405, "Method Not Allowed") and r.headers.get("Allow")
    (r,) = _responses(bob.receive(_request("INVITE", require="100rel", cseq=2), Address(A), 0.0))
    assert r.status_code == 420 and r.headers.get("Unsupported") == "100rel"
    (r,) = _responses(bob.receive(_request("BYE", to_tag="nope", cseq=3), Address(A), 0.0))
    assert r.status_code == 481
    (r,) = _responses(bob.receive(_request("BYE", cseq=4), Address(A), 0.0))
    assert r.status_code == 481
    (r,) = _responses(bob.receive(_request("CANCEL", cseq=5), Address(A), 0.0))
    assert r.status_code == 481
    # A retransmission of the OPTIONS is answered by the server transaction again.
    (again,) = _responses(bob.receive(_request("OPTIONS"), Address(A), 0.1))
    assert again == ok


def test_out_of_order_cseq_in_dialog_gets_500():
    net, alice, bob = pair(UABehaviour(ring_delay=0.0, answer_delay=0.5))
    call_id = start(net, alice)
    net.run(until=2.0)
    dialog = bob.call(call_id).dialog
    stale = _request("OPTIONS", to_tag=dialog.local_tag, cseq=0, call_id=call_id,
                     from_tag=dialog.remote_tag)
    (r,) = _responses(bob.receive(stale, Address(A), 2.0))
    assert (r.status_code, r.reason) == (500, "Out of Order")


def test_cancel_before_any_provisional_is_held_back():
    # Bob answers only after 3 s and sends no 180; Alice cancels at 0.001 s, before any
    # provisional response: the CANCEL must wait for one (RFC 3261 9.1). Bob's IST sends
    # 100 Trying (he will not answer within 200 ms), which releases the CANCEL.
    net, alice, bob = pair(UABehaviour(ring_delay=None, answer_delay=3.0))
    call_id = start(net, alice)
    net.call_at(0.001, A, lambda now: alice.cancel(call_id, now))
    net.run(until=60.0)
    assert [h.label for h in net.delivered(call_id)] == [
        "INVITE", "100", "CANCEL", "200", "487", "ACK"]
    assert net.delivered(call_id)[2].time == approx(0.02)
    assert [e.status for e in net.of(A, CallFailed)] == [487]


def test_200_and_cancel_crossing():
    # Bob answers at 1.0 s; Alice's CANCEL leaves at 1.005 s and crosses the 200 in flight.
    # Bob answers the CANCEL with 200 but the INVITE already has its final response;
    # Alice ACKs the 200 and ends the call with BYE (RFC 3261 9.1 / 15).
    net, alice, bob = pair(UABehaviour(ring_delay=0.0, answer_delay=1.0))
    call_id = start(net, alice)
    net.call_at(1.005, A, lambda now: alice.cancel(call_id, now))
    net.run(until=60.0)
    labels = [h.label for h in net.delivered(call_id)]
    methods = [h.message.cseq.method for h in net.delivered(call_id)]
    assert list(zip(labels, methods, strict=True)) == [
        ("INVITE", "INVITE"), ("180", "INVITE"), ("CANCEL", "CANCEL"), ("200", "INVITE"),
        ("200", "CANCEL"), ("ACK", "ACK"), ("BYE", "BYE"), ("200", "BYE")]
    assert net.of(A, CallEnded)[0].reason == "cancelled"
    assert net.of(B, CallEnded)[0].reason == "remote-bye"
    assert all(ua.transaction_count == 0 and ua.dialog_count == 0 for ua in (alice, bob))


def test_ignored_bye_times_out_and_the_dialog_is_gone():
    net, alice, bob = pair(UABehaviour(ring_delay=0.0, answer_delay=0.5, ignore_bye=True))
    start(net, alice, hangup_after=2.0)
    net.run(until=100.0)
    byes = [h.time for h in net.hops if h.label == "BYE"]
    # Timer E for the BYE: 0.5, 1, 2, 4, 4, ... up to Timer F (32 s): 11 transmissions.
    assert len(byes) == 11 and byes[-1] - byes[0] == approx(31.5)
    assert alice.dialog_count == 0 and alice.transaction_count == 0
    assert net.of(A, CallEnded)[0].reason == "local-bye"


def test_early_media_183_and_no_answer_timeout():
    net, alice, bob = pair(UABehaviour(ring_delay=0.0, answer_delay=None, early_media=True,
                                       ring_timeout=30.0))
    call_id = start(net, alice)
    net.run(until=100.0)
    progress = net.of(A, CallProgress)
    assert [p.status for p in progress] == [183]
    (sp,) = [h.message for h in net.delivered(call_id) if h.label == "183"]
    assert sp.body and sp.headers.get("Content-Type") == "application/sdp"
    # Bob's own no-answer timer rejects with 480 after 30 s.
    assert [e.status for e in net.of(A, CallFailed)] == [480]
    assert alice.call(call_id).post_dial_delay == approx(0.02)


def test_redirect_is_followed():
    net = Network(delay=0.01)
    alice = net.add(A, UserAgent(UAConfig(initial_cseq=1, aor=f"sip:alice@{A}", host=A), random.Random(1)))
    net.add(B, UserAgent(UAConfig(initial_cseq=1, aor=f"sip:bob@{B}", host=B, behaviour=UABehaviour(
        redirect_to=("sip:bob@carol.example",))), random.Random(2)))
    net.add("carol.example", UserAgent(UAConfig(initial_cseq=1, aor="sip:carol@carol.example",
                                                host="carol.example"), random.Random(4)))
    call_id = start(net, alice)
    net.run(until=10.0)
    invites = [h.message for h in net.delivered(call_id) if h.label == "INVITE"]
    assert [i.uri for i in invites] == [f"sip:bob@{B}", "sip:bob@carol.example"]
    # The second INVITE is a new transaction of the same call: CSeq + 1, same tags.
    assert [i.cseq.number for i in invites] == [1, 2]
    assert invites[0].from_.tag == invites[1].from_.tag
    assert [h.label for h in net.delivered(call_id)][:3] == ["INVITE", "302", "ACK"]
    assert len(net.of(A, CallAnswered)) == 1


def test_ua_options_query():
    net, alice, bob = pair(UABehaviour())
    net.feed(A, alice.options(f"sip:bob@{B}", 0.0))
    net.run(until=1.0)
    assert [h.label for h in net.delivered()] == ["OPTIONS", "200"]
    (result,) = net.of(A, OptionsResult)
    assert (result.status, result.at) == (200, approx(0.02))
    ok = net.delivered()[1].message
    assert ok.headers.get("Accept") == "application/sdp"


def test_cseq_start_comes_from_the_injected_random_stream():
    def first_cseq(seed):
        ua = UserAgent(UAConfig(aor=f"sip:alice@{A}", host=A), random.Random(seed))
        _, out = ua.invite(f"sip:bob@{B}", now=0.0)
        return [o.message for o in out if isinstance(o, Send)][0].cseq.number

    assert first_cseq(5) == first_cseq(5)
    assert len({first_cseq(s) for s in range(10)}) > 1
    assert all(1 <= first_cseq(s) < 2**31 for s in range(10))  # RFC 3261 8.1.1.5


def test_callee_hangup_before_ack_waits_for_it():
    # RFC 3261 15: the callee must not BYE before the ACK of its 2xx. Bob hangs up at 0.6 s,
    # but Alice's first ACK is lost; the BYE leaves when the second ACK arrives.
    lost = []

    def drop(src, dst, msg, now):
        if getattr(msg, "method", "") == "ACK" and not lost:
            lost.append(now)
            return True
        return False

    net, alice, bob = pair(UABehaviour(ring_delay=0.0, answer_delay=0.5), drop=drop)
    call_id = start(net, alice)
    net.call_at(0.6, B, lambda now: bob.bye(call_id, now))
    net.run(until=60.0)
    acks = [h.time for h in net.hops if h.label == "ACK"]
    (bye,) = [h.time for h in net.hops if h.label == "BYE"]
    assert acks == approx([0.52, 1.02]) and bye == approx(1.03)
    assert net.of(B, CallEnded)[0].reason == "local-bye"
    assert all(ua.transaction_count == 0 and ua.dialog_count == 0 for ua in (alice, bob))


def test_merged_request_gets_482_but_a_retry_with_new_cseq_is_a_new_call():
    bob = UserAgent(UAConfig(aor=f"sip:bob@{B}", host=B,
                             behaviour=UABehaviour(reject_code=486)), random.Random(3))
    first = _request("INVITE", cseq=1, call_id="m1")
    assert [r.status_code for r in _responses(bob.receive(first, Address(A), 0.0))] == [486]
    # The same INVITE (same From tag, Call-ID, CSeq) via another path (another branch).
    again = _request("INVITE", cseq=1, call_id="m1")
    again.headers.set("Via", "SIP/2.0/UDP other.example;branch=z9hG4bKpath2")
    assert [r.status_code for r in _responses(bob.receive(again, Address("other.example"), 0.1))] \
        == [482]
    # A new attempt of the caller (CSeq 2, e.g. after authentication) is a new call.
    retry = _request("INVITE", cseq=2, call_id="m1")
    assert [r.status_code for r in _responses(bob.receive(retry, Address(A), 0.2))] == [486]
