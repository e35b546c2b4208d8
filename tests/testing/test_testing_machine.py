"""NetworkMachine: correct UAs pass, every planted bug is found and shrinks to a few steps,
and the printed schedule replays the failure."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from simvoip.sip.ua import UABehaviour
from simvoip.testing import InvariantViolation, NetworkMachine, Scenario, replay
from simvoip.testing.buggy import ForgetsByeUA, NoRetransmit2xxUA, WrongAckCSeqUA

#: The "default hypothesis budget" of the meta-tests: 100 examples, explicit and deterministic.
#: (The "explain" phase is left out: it only adds a slow coverage-traced replay.)
META = settings(max_examples=100, stateful_step_count=10, derandomize=True, deadline=None,
                database=None, suppress_health_check=[HealthCheck.too_slow],
                phases=[Phase.explicit, Phase.generate, Phase.shrink])


class CorrectPair(NetworkMachine):
    """Two correct phones."""


class CorrectTrio(NetworkMachine):
    """Three phones and a registrar: calls, registrations and refreshes."""

    scenario = Scenario(phones=("alice", "bob", "carol"), registrar="registrar",
                        register_expires=60)


class NoRetransmit2xx(NetworkMachine):
    scenario = Scenario(ua_factory=NoRetransmit2xxUA)


class WrongAckCSeq(NetworkMachine):
    scenario = Scenario(ua_factory=WrongAckCSeqUA)


class ForgetsBye(NetworkMachine):
    scenario = Scenario(ua_factory=ForgetsByeUA)


def test_correct_pair_passes() -> None:
    # Thousands of schedules in CI time: the correct UA never breaks an invariant.
    run_state_machine_as_test(CorrectPair, settings=settings(
        META, max_examples=1500, stateful_step_count=15))


def test_correct_trio_with_registrar_passes() -> None:
    run_state_machine_as_test(CorrectTrio, settings=settings(
        META, max_examples=500, stateful_step_count=15))


_HUNTS: dict[type[NetworkMachine], InvariantViolation] = {}


def _hunt(machine: type[NetworkMachine]) -> InvariantViolation:
    """Run the machine with the meta budget; it must fail. (Cached: the search is deterministic.)"""
    if machine not in _HUNTS:
        with pytest.raises(InvariantViolation) as info:
            run_state_machine_as_test(machine, settings=META)
        _HUNTS[machine] = info.value
    return _HUNTS[machine]


@pytest.mark.parametrize(("machine", "symptom", "max_steps"), [
    (NoRetransmit2xx, "never got the 2xx", 7),
    (WrongAckCSeq, "matching no INVITE", 5),
    (ForgetsBye, "kept its dialog confirmed", 5),
])
def test_planted_bug_is_found_and_shrinks(machine: type[NetworkMachine], symptom: str,
                                          max_steps: int) -> None:
    failure = _hunt(machine)
    assert any(symptom in v for v in failure.violations), failure.violations
    assert 1 <= len(failure.steps) <= max_steps, failure.steps
    assert any(step[0] == "place_call" for step in failure.steps)
    # The report carries the replayable snippet and a ladder.
    assert "replay(" in failure.report and "ladder:" in failure.report


def test_reported_schedule_replays_the_failure() -> None:
    failure = _hunt(WrongAckCSeq)
    with pytest.raises(InvariantViolation) as again:
        replay(WrongAckCSeq, failure.steps)
    assert again.value.violations == failure.violations
    # ... and the same schedule is harmless on correct phones.
    replay(CorrectPair, failure.steps)


def test_snippet_is_runnable_python() -> None:
    failure = _hunt(NoRetransmit2xx)
    snippet = failure.report.split("minimal schedule, replayable:\n", 1)[1].split("\n\nladder:")[0]
    snippet = snippet.replace(f"from {__name__} import NoRetransmit2xx", "")
    namespace: dict[str, object] = {"NoRetransmit2xx": NoRetransmit2xx}
    exec(compile(snippet, "<snippet>", "exec"), namespace)
    with pytest.raises(InvariantViolation, match="never got the 2xx"):
        namespace["test_regression"]()  # type: ignore[operator]


def test_no_retransmit_bug_is_invisible_without_loss() -> None:
    # The bug only shows under loss: a loss-free call completes even with the buggy UAS,
    # so the machine must be the one that finds the loss pattern.
    m = replay(NoRetransmit2xx, [("place_call", "alice", "bob"), ("advance_time", 40.0)])
    call_id = m.call_ids[0][2]
    assert m.net.nodes["alice"].call(call_id).answered_at is not None


def test_single_lost_200_is_survived_by_the_correct_ua() -> None:
    steps = [("loss_pattern", "alice", "bob", (False, False, True)),
             ("place_call", "alice", "bob"), ("advance_time", 40.0)]
    m = replay(CorrectPair, steps)
    call_id = m.call_ids[0][2]
    # RFC 3261 13.3.1.4: the 2xx is retransmitted at T1 = 0.5 s after the lost one.
    sends = [e.time for e in m.net.log if e.kind == "send" and e.summary == "200 INVITE"]
    assert sends[:2] == [pytest.approx(1.01), pytest.approx(1.51)]
    assert m.net.nodes["alice"].call(call_id).answered_at == pytest.approx(1.52)


def test_crash_of_the_callee_exempts_liveness() -> None:
    steps = [("place_call", "alice", "bob"), ("advance_time", 1.0), ("crash_node", "bob"),
             ("advance_time", 40.0)]
    m = replay(CorrectPair, steps)
    assert "bob" in m.net.crashed


def test_users_can_parametrise_the_behaviour() -> None:
    class Busy(NetworkMachine):
        scenario = Scenario(behaviour=UABehaviour(reject_code=486))

    m = replay(Busy, [("place_call", "alice", "bob"), ("advance_time", 4.0)])
    call = m.net.nodes["alice"].call(m.call_ids[0][2])
    assert call.final_status == 486 and call.state == "failed"


# Users get a unittest TestCase for free; run it with the CI profile.
TestCorrectPair = CorrectPair.TestCase


def test_fault_classes_can_be_switched_off() -> None:
    seen: set[str] = set()

    class LossOnly(NetworkMachine):
        faults = frozenset({"loss"})

        def apply(self, step):  # type: ignore[no-untyped-def]
            seen.add(step[0])
            return super().apply(step)

    run_state_machine_as_test(LossOnly, settings=settings(META, max_examples=40))
    assert "place_call" in seen and ("drop" in seen or "lose_next" in seen)
    assert not seen & {"crash_node", "link_down", "link_up", "delay", "duplicate", "reorder"}
