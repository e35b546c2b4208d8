"""Hypothesis chooses which messages of the call set-up to drop (any hop, any message).

Whatever it drops, the caller ends with an answered call or a failure status the
RFC allows for that callee, and afterwards no transaction, dialog, response
context or timer is left anywhere. (Drops are limited to the set-up phase:
losing every transmission of a BYE would leave the peer's dialog up, which is
what RFC 3261 does without session timers.)
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from ua_topologies import ALICE, BOB, dial, trapezoid

from simvoip.sip.ua import CallAnswered, CallFailed, UABehaviour

BEHAVIOURS = {
    "answer": (UABehaviour(ring_delay=0.0, answer_delay=1.0, auto_hangup_after=60.0), None,
               {200, 408}),
    "busy": (UABehaviour(reject_code=486), None, {486, 408}),
    "cancel": (UABehaviour(ring_delay=0.0, answer_delay=None), 5.0, {487, 408}),
    # Both ends try a hold re-INVITE at 5 s (glare, 491, randomised retries) if they may.
    "reinvite": (UABehaviour(ring_delay=0.0, answer_delay=1.0, auto_hangup_after=30.0), None,
                 {200, 408}),
}


@given(scenario=st.sampled_from(sorted(BEHAVIOURS)),
       drops=st.lists(st.booleans(), max_size=60), stateful=st.booleans())
def test_any_setup_loss_pattern_settles(scenario, drops, stateful):
    behaviour, give_up, allowed = BEHAVIOURS[scenario]
    counter = iter(range(10**6))

    def drop(src, dst, message, now):
        n = next(counter)
        return now < 40.0 and n < len(drops) and drops[n]

    t = trapezoid(bob=behaviour, drop=drop, alice_invite_timeout=give_up, stateful=stateful)
    call_id = dial(t)
    if scenario == "reinvite":
        for host, ua in ((ALICE, t.alice), (BOB, t.bob)):
            t.net.call_at(5.0, host, lambda now, ua=ua: (
                ua.reinvite(call_id, now, hold=True) if ua.can_reinvite(call_id) else []))
    t.net.run(until=1000.0)
    answered = t.net.of(ALICE, CallAnswered)
    failed = t.net.of(ALICE, CallFailed)
    assert len(answered) + len(failed) == 1
    status = 200 if answered else failed[0].status
    assert status in allowed, (status, t.net.ladder(call_id))
    assert t.idle() and t.net.pending_timers == 0
