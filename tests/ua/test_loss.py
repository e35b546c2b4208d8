"""Calls under 20% loss on every hop: each one completes or fails with the RFC's status, and
afterwards no transaction, dialog or response context is left in any core."""

from __future__ import annotations

import pytest
from ua_topologies import ALICE, BOB, dial, trapezoid

from simvoip.sip.ua import CallAnswered, CallEnded, CallFailed, UABehaviour

SCENARIOS = {
    # name: (Bob's behaviour, Alice's give-up timer, Alice's expected final status)
    "answered": (UABehaviour(ring_delay=0.0, answer_delay=2.0, auto_hangup_after=20.0), None, 200),
    "busy": (UABehaviour(reject_code=486, reject_delay=0.5), None, 486),
    "decline": (UABehaviour(ring_delay=0.0, reject_code=603, reject_delay=2.0), None, 603),
    "no-answer": (UABehaviour(ring_delay=0.0, answer_delay=None), 15.0, 487),
}


@pytest.mark.parametrize("seed", range(1, 13))
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_call_outcome_under_20_percent_loss(scenario, seed):
    behaviour, give_up, expected = SCENARIOS[scenario]
    t = trapezoid(bob=behaviour, loss=0.2, seed=seed, alice_invite_timeout=give_up)
    call_id = dial(t)
    t.net.run(until=600.0)
    dropped = sum(h.dropped for h in t.net.hops)
    assert dropped > 0  # the loss model really bites
    record = t.alice.call(call_id)
    if expected == 200:
        assert len(t.net.of(ALICE, CallAnswered)) == 1 and not t.net.of(ALICE, CallFailed)
        assert len(t.net.of(ALICE, CallEnded)) == 1
        assert len(t.net.of(BOB, CallEnded)) == 1
    else:
        assert [e.status for e in t.net.of(ALICE, CallFailed)] == [expected]
        assert not t.net.of(ALICE, CallAnswered)
    assert record.final_status == expected
    # Nothing left behind anywhere, and no timer still armed.
    assert t.idle(), (t.alice.transaction_count, t.bob.transaction_count,
                      t.ss1.transaction_count, t.ss2.transaction_count,
                      t.ss1.context_count, t.ss2.context_count, t.alice.calls, t.bob.calls)
    assert t.net.pending_timers == 0


@pytest.mark.parametrize("seed", range(1, 9))
@pytest.mark.parametrize("forking", ["parallel", "sequential"])
def test_forked_call_under_20_percent_loss(forking, seed):
    # Three phones, only the second answers: exactly one answered call for Alice, every
    # other branch cancelled, and nothing left anywhere afterwards.
    from test_forking import forked, idle

    ring = UABehaviour(ring_delay=0.0, answer_delay=None)
    t, phones = forked([ring, UABehaviour(ring_delay=0.0, answer_delay=2.0,
                                          auto_hangup_after=5.0), ring],
                       forking=forking, loss=0.2, seed=seed)
    dial(t)
    t.net.run(until=900.0)
    assert len(t.net.of(ALICE, CallAnswered)) == 1 and not t.net.of(ALICE, CallFailed)
    assert len(t.net.of(ALICE, CallEnded)) == 1
    assert idle(t, phones) and t.net.pending_timers == 0
