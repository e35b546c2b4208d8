"""Re-INVITE: hold and resume by SDP direction (RFC 3264 8.4) and 491 glare (RFC 3261 14.1)."""

from __future__ import annotations

import pytest
from ua_topologies import ALICE, BOB, SS1, SS2, dial, trapezoid

from simvoip.sip.sdp_session import direction_of
from simvoip.sip.ua import CallUpdated, UABehaviour

TALK = UABehaviour(ring_delay=0.0, answer_delay=1.0)


def answered_call(seed=0):
    t = trapezoid(bob=TALK, seed=seed)
    call_id = dial(t)
    t.net.run(until=3.0)
    return t, call_id


def test_hold_and_resume():
    t, call_id = answered_call()
    t.net.call_at(5.0, ALICE, lambda now: t.alice.reinvite(call_id, now, hold=True))
    t.net.call_at(10.0, ALICE, lambda now: t.alice.reinvite(call_id, now, hold=False))
    t.net.run(until=15.0)
    reinvites = [h.message for h in t.net.delivered(call_id)
                 if h.label == "INVITE" and h.dst == BOB]
    assert len(reinvites) == 3  # the initial INVITE and two re-INVITEs
    hold, resume = reinvites[1:]
    # In-dialog requests: both tags, route set via both proxies, Alice's CSeq 2 and 3.
    assert hold.to.tag and [str(r.cseq) for r in (hold, resume)] == ["2 INVITE", "3 INVITE"]
    assert [v.host for v in hold.vias] == [SS2, SS1, ALICE]
    assert direction_of(hold.body) == "sendonly" and direction_of(resume.body) == "sendrecv"
    oks = [h.message for h in t.net.delivered(call_id) if h.label == "200" and h.dst == ALICE
           and h.message.cseq.method == "INVITE"]
    assert [direction_of(o.body) for o in oks[1:]] == ["recvonly", "sendrecv"]
    assert [(e.direction) for e in t.net.of(ALICE, CallUpdated)] == ["sendonly", "sendrecv"]
    assert [(e.direction) for e in t.net.of(BOB, CallUpdated)] == ["recvonly", "sendrecv"]
    acks = [str(h.message.cseq) for h in t.net.delivered(call_id)
            if h.label == "ACK" and h.dst == BOB]
    assert acks == ["1 ACK", "2 ACK", "3 ACK"]


@pytest.mark.parametrize("seed", range(8))
def test_glare_491_and_randomised_retry(seed):
    t, call_id = answered_call(seed)
    # Both ends re-INVITE at the same instant: each sees the other's request while its
    # own is pending and answers 491 Request Pending (14.2).
    t.net.call_at(5.0, ALICE, lambda now: t.alice.reinvite(call_id, now, hold=True))
    t.net.call_at(5.0, BOB, lambda now: t.bob.reinvite(call_id, now, hold=True))
    t.net.run(until=20.0)
    pending = [h for h in t.net.delivered(call_id) if h.label == "491" and h.dst in (ALICE, BOB)]
    assert sorted(h.dst for h in pending) == sorted([ALICE, BOB])
    def sends(src):
        return [h.time for h in t.net.hops
                if h.src == src and h.label == "INVITE" and h.message.to.tag and h.time >= 5.0]
    (_, a_retry), (_, b_retry) = sends(ALICE), sends(BOB)
    a_491 = next(h.time for h in pending if h.dst == ALICE)
    b_491 = next(h.time for h in pending if h.dst == BOB)
    # RFC 3261 14.1: the owner of the Call-ID (Alice, who generated it) waits 2.1-4 s,
    # the other side 0-2 s, in units of 10 ms.
    a_wait, b_wait = a_retry - a_491, b_retry - b_491
    assert 2.1 <= a_wait <= 4.0 and 0.0 <= b_wait <= 2.0
    assert abs(a_wait * 100 - round(a_wait * 100)) < 1e-6
    assert abs(b_wait * 100 - round(b_wait * 100)) < 1e-6
    # Both retries then succeed: each side ends up with its hold applied.
    assert t.net.of(ALICE, CallUpdated)[-1].direction in ("sendonly", "inactive")
    assert len(t.net.of(BOB, CallUpdated)) == 2 and len(t.net.of(ALICE, CallUpdated)) == 2


def test_lost_ack_of_reinvite_is_resent_with_its_own_cseq():
    dropped = []

    def drop(src, dst, msg, now):
        if getattr(msg, "method", "") == "ACK" and msg.cseq.number == 2 and not dropped:
            dropped.append(now)
            return True
        return False

    t = trapezoid(bob=TALK, drop=drop)
    call_id = dial(t)
    t.net.call_at(5.0, ALICE, lambda now: t.alice.reinvite(call_id, now, hold=True))
    t.net.run(until=60.0)
    assert dropped
    oks = [h for h in t.net.hops if h.src == BOB and h.label == "200" and h.message.cseq.number == 2]
    assert len(oks) == 2  # the 200 once more after T1, then the resent ACK arrived
    acks = [str(h.message.cseq) for h in t.net.hops if h.src == ALICE and h.label == "ACK"]
    assert acks == ["1 ACK", "2 ACK", "2 ACK"]
    assert t.bob.call(call_id).pending_ok == {}
