"""The UA and proxy cores send CancelTimer only for their own timers that are armed, and
still cancel every armed one that the call's course makes useless.

The harness notes, for every CancelTimer of a UA timer (``UATimerKey``) or proxy
timer (``ProxyTimerKey``), whether that timer was armed at the time, and which
of those timers fired.
"""

from __future__ import annotations

from typing import Any

from test_forking import forked
from ua_topologies import ALICE, BOB, SS1, SS2, dial, trapezoid

from simvoip.sip.effects import CancelTimer
from simvoip.sip.proxy.context import ProxyTimerKey
from simvoip.sip.ua import CallAnswered, CallEnded, CallFailed, UABehaviour
from simvoip.sip.ua.call import UATimerKey

CORE_KEYS = (UATimerKey, ProxyTimerKey)


class Audit:
    """Wraps a harness network: cancels (armed or not) and firings of core timers."""

    def __init__(self, net: Any) -> None:
        self.net = net
        self.idle: list[tuple[str, str, Any]] = []
        self.cancelled: list[tuple[str, str]] = []
        self.fired: list[tuple[str, str]] = []
        feed = net.feed

        def audited_feed(host: str, outputs: list[Any]) -> list[Any]:
            for o in outputs:
                if isinstance(o, CancelTimer) and isinstance(o.key, CORE_KEYS):
                    if (host, o.name, o.key) in net._timers:
                        self.cancelled.append((host, o.name))
                    else:
                        self.idle.append((host, o.name, o.key))
            return feed(host, outputs)

        net.feed = audited_feed
        for host, core in net.nodes.items():
            self._watch(host, core)

    def _watch(self, host: str, core: Any) -> None:
        handle = core.handle_timer

        def audited_timer(name: str, key: Any, now: float) -> list[Any]:
            if isinstance(key, CORE_KEYS):
                self.fired.append((host, name))
            return handle(name, key, now)

        core.handle_timer = audited_timer


def test_answered_call_cancels_only_armed_timers() -> None:
    t = trapezoid(bob=UABehaviour(ring_delay=0.0, answer_delay=1.0, ring_timeout=30.0),
                  alice=UABehaviour(auto_hangup_after=5.0))
    audit = Audit(t.net)
    dial(t)
    t.net.run()
    assert len(t.net.of(ALICE, CallAnswered)) == 1 and len(t.net.of(BOB, CallEnded)) == 1
    assert audit.idle == []
    # Armed and made useless by the 200: Alice's INVITE guard, Timer C of both proxies'
    # branches. (Bob's ring-timeout is not armed: he answers before it would fire.)
    assert (ALICE, "invite-guard") in audit.cancelled
    assert (SS1, "C") in audit.cancelled and (SS2, "C") in audit.cancelled
    for useless in ((ALICE, "invite-guard"), (SS1, "C"), (SS2, "C")):
        assert useless not in audit.fired
    # The answer timer fired (nothing left to cancel for it), Alice's hang-up too; the
    # ringing (at once) never was a timer.
    assert (BOB, "answer") in audit.fired and (ALICE, "hangup") in audit.fired
    assert (BOB, "ring") not in audit.fired
    assert t.idle()


def test_busy_and_no_answer_cancel_only_armed_timers() -> None:
    busy = trapezoid(bob=UABehaviour(reject_code=486, reject_delay=0.5))
    audit = Audit(busy.net)
    dial(busy)
    busy.net.run()
    assert [e.status for e in busy.net.of(ALICE, CallFailed)] == [486]
    assert audit.idle == []
    assert (ALICE, "invite-guard") in audit.cancelled and (BOB, "reject") in audit.fired

    # Alice gives up after 3 s: CANCEL, 487; Bob's ring-timeout and answer timers die.
    quiet = trapezoid(bob=UABehaviour(ring_delay=0.2, answer_delay=25.0, ring_timeout=20.0),
                      alice_invite_timeout=3.0)
    audit = Audit(quiet.net)
    dial(quiet)
    quiet.net.run()
    assert [e.status for e in quiet.net.of(ALICE, CallFailed)] == [487]
    assert audit.idle == []
    assert (BOB, "answer") in audit.cancelled and (BOB, "ring-timeout") in audit.cancelled
    assert (BOB, "answer") not in audit.fired and (BOB, "ring-timeout") not in audit.fired
    assert (BOB, "ring") in audit.fired
    # The guard is armed, the abandon timer (only after a CANCEL that got no answer) too.
    assert (ALICE, "invite-guard") in audit.cancelled
    assert (ALICE, "invite-abandon") in audit.cancelled


def test_ring_timeout_and_early_media() -> None:
    t = trapezoid(bob=UABehaviour(ring_delay=0.1, answer_delay=None, ring_timeout=2.0))
    audit = Audit(t.net)
    dial(t)
    t.net.run()
    assert [e.status for e in t.net.of(ALICE, CallFailed)] == [480]
    assert audit.idle == [] and (BOB, "ring-timeout") in audit.fired

    early = trapezoid(bob=UABehaviour(ring_delay=0.1, answer_delay=0.5, early_media=True),
                      alice=UABehaviour(auto_hangup_after=1.0))
    audit = Audit(early.net)
    dial(early)
    early.net.run()
    assert len(early.net.of(ALICE, CallEnded)) == 1
    assert audit.idle == [] and (BOB, "ring") in audit.fired and (BOB, "answer") in audit.fired


def test_forking_cancels_only_armed_branch_timers() -> None:
    for forking in ("parallel", "sequential"):
        t, phones = forked([UABehaviour(answer_delay=None), UABehaviour(answer_delay=2.0),
                            UABehaviour(answer_delay=None)], forking=forking,
                           alice=UABehaviour(auto_hangup_after=2.0))
        audit = Audit(t.net)
        for phone in phones:
            audit._watch(phone.config.host, phone)
        dial(t)
        t.net.run()
        assert len(t.net.of(ALICE, CallAnswered)) == 1, forking
        assert audit.idle == [], forking
        # The losing branches are CANCELled: their phones' answer/ring-timeout timers die.
        assert (SS2, "C") in audit.cancelled
        cancelled_phones = {h for h, name in audit.cancelled if name == "ring-timeout"}
        assert cancelled_phones >= {phones[0].config.host}, forking
        if forking == "sequential":
            assert (SS2, "next") in audit.fired
