"""The simulator's own event machinery keeps SimPy's order of events exactly.

* :func:`simvoip.sim.transport.wake` makes the same queue entry as ``env.timeout``;
* :class:`simvoip.sim.lanes.TimerLanes` (timers wait in FIFO lanes, only a
  lane's head in the heap) fires timers in the order a plain heap would,
  ties, cancellations, re-arming from a callback and compaction included;
* :func:`simvoip.sim.loop.run_env` runs what ``env.run`` runs, stops where
  it stops and fails where it fails;
* a whole simulation gives the same trace, row for row, with the lanes or
  with every timer pushed into SimPy's heap, and its heap stays small.
"""

from __future__ import annotations

from typing import Any

import pytest
import simpy
from hypothesis import given
from hypothesis import strategies as st

from simvoip import Simulation, Topology
from simvoip.sim.driver import make_request
from simvoip.sim.lanes import TimerLanes
from simvoip.sim.loop import run_env
from simvoip.sim.transport import Wakeup, wake

from . import scenario

# -- wake() --------------------------------------------------------------------------


def test_wake_makes_the_queue_entry_a_timeout_makes() -> None:
    env = simpy.Environment()
    env.timeout(0.25)
    w = wake(env, 0.25, ((lambda event: None),), "a", "b")
    env.timeout(0.25)
    keys = sorted(entry[:3] for entry in env._queue)  # type: ignore[attr-defined]
    assert keys == [(0.25, 1, 0), (0.25, 1, 1), (0.25, 1, 2)]
    assert [entry[3] for entry in sorted(env._queue)][1] is w  # type: ignore[attr-defined]


# -- lanes against a plain heap ------------------------------------------------------

# One armed timer: (arm time, delay, cancel after (None: never), re-arm from its callback).
_ARMS = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0, 1.5]),
        st.sampled_from([0.0, 0.25, 0.5, 0.5, 1.0, 32.0, 0.1 + 0.2]),
        st.one_of(st.none(), st.sampled_from([0.0, 0.25, 0.6])),
        st.booleans(),
    ),
    min_size=1, max_size=40,
)


def _fire_order(arms: list[tuple[float, float, float | None, bool]], use_lanes: bool,
                compact_at: float | None) -> list[tuple[float, int]]:
    env = simpy.Environment()
    lanes = TimerLanes(env)
    seen: list[tuple[float, int]] = []

    def schedule(delay: float, label: int) -> Wakeup:
        if use_lanes:
            return lanes.schedule(delay, cbs, label, None)
        return wake(env, delay, cbs, label, None)

    def fired(event: Wakeup) -> None:
        label = event.a
        seen.append((env.now, label))
        if arms[label % 1000][3] and label < 1000:
            schedule(arms[label][1], label + 1000)  # re-armed from its own callback

    cbs = (fired,)

    def arm(event: Wakeup) -> None:
        label = event.a
        timer = schedule(arms[label][1], label)
        cancel_after = arms[label][2]
        if cancel_after is not None:
            wake(env, cancel_after, ((lambda _e: timer.cancel()),), None, None)

    for label, (at, _, _, _) in enumerate(arms):
        wake(env, at, (arm,), label, None)
    # Other traffic in the heap at the same instants (ties with the timers).
    for i in range(6):
        wake(env, 0.25 * i, ((lambda e: seen.append((env.now, -1 - e.a))),), i, None)
    if compact_at is not None:
        wake(env, compact_at, ((lambda _e: lanes.compact()),), None, None)
    run_env(env)
    return seen


@given(arms=_ARMS, compact_at=st.one_of(st.none(), st.sampled_from([0.3, 0.75, 2.0])))
def test_lanes_fire_timers_in_the_heap_order(
    arms: list[tuple[float, float, float | None, bool]], compact_at: float | None,
) -> None:
    assert _fire_order(arms, True, compact_at) == _fire_order(arms, False, compact_at)


def test_lanes_keep_the_heap_small_and_drop_cancelled_timers() -> None:
    env = simpy.Environment()
    lanes = TimerLanes(env)
    fired: list[Any] = []
    cbs = ((lambda event: fired.append(event.a)),)
    timers = [lanes.schedule(32.0, cbs, i, None) for i in range(1000)]
    assert len(env._queue) == 1 and lanes.pending() == 1000  # type: ignore[attr-defined]
    for t in timers[1:900]:
        t.cancel()
    assert lanes.compact() == 899  # the head stays: its sentinel is in the heap
    assert lanes.pending() == 101
    run_env(env)
    assert fired == [0, *range(900, 1000)]
    assert lanes.pending() == 0 and not lanes.lanes


def test_a_timer_that_would_break_its_lanes_order_goes_to_the_heap() -> None:
    env = simpy.Environment()
    lanes = TimerLanes(env)
    seen: list[str] = []
    cbs = ((lambda event: seen.append(event.a)),)
    lanes.schedule(1.0, cbs, "late", None)
    lanes.schedule(1.0 - 1e-9, cbs, "early", None)  # same lane (rounded), earlier time
    assert len(env._queue) == 2  # type: ignore[attr-defined]
    run_env(env)
    assert seen == ["early", "late"]


# -- run_env against env.run ---------------------------------------------------------


def _world(env: simpy.Environment, log: list[Any]) -> None:
    store = simpy.Store(env)

    def producer() -> Any:
        for i in range(5):
            yield env.timeout(0.5)
            yield store.put(i)
            log.append(("put", env.now, i))

    def consumer() -> Any:
        while True:
            item = yield store.get()
            log.append(("got", env.now, item))
            wake(env, 0.1, ((lambda e: log.append(("wake", env.now, e.a))),), item, None)

    env.process(producer())
    env.process(consumer())


@pytest.mark.parametrize("until", [None, 1.0, 1.6, 10])
def test_run_env_runs_what_env_run_runs(until: float | None) -> None:
    logs = []
    for runner in ("simpy", "ours"):
        env = simpy.Environment()
        log: list[Any] = []
        _world(env, log)
        result = env.run(until) if runner == "simpy" else run_env(env, until)
        logs.append((log, env.now, result, len(env._queue)))  # type: ignore[attr-defined]
    assert logs[0] == logs[1]


def test_run_env_can_resume_and_rejects_a_past_until() -> None:
    env = simpy.Environment()
    log: list[Any] = []
    _world(env, log)
    run_env(env, 1.0)
    run_env(env, 2.0)
    with pytest.raises(ValueError, match="must be greater"):
        run_env(env, 2.0)
    reference = simpy.Environment()
    ref_log: list[Any] = []
    _world(reference, ref_log)
    reference.run(2.0)
    assert log == ref_log


def test_run_env_crashes_on_a_failed_event_nobody_handled() -> None:
    env = simpy.Environment()

    def broken() -> Any:
        yield env.timeout(1.0)
        raise KeyError("boom")

    env.process(broken())
    with pytest.raises(KeyError, match="boom"):
        run_env(env)
    assert env.now == 1.0


# -- whole simulations ----------------------------------------------------------------


def _heap_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def schedule(self: TimerLanes, delay: float, callbacks: Any, a: Any, b: Any) -> Wakeup:
        return wake(self.env, delay, callbacks, a, b)

    monkeypatch.setattr(TimerLanes, "schedule", schedule)


def test_busy_scenario_trace_is_the_same_without_lanes(monkeypatch: pytest.MonkeyPatch) -> None:
    with_lanes = list(scenario.run(seed=5).trace.records)
    with monkeypatch.context() as m:
        _heap_only(m)
        without = list(scenario.run(seed=5).trace.records)
    assert len(with_lanes) > 1000
    assert with_lanes == without


def test_calls_trace_is_the_same_without_lanes(monkeypatch: pytest.MonkeyPatch) -> None:
    def run() -> list[tuple[Any, ...]]:
        topo = Topology()
        topo.add_endpoint("alice", domain="a.example")
        topo.add_endpoint("bob", domain="b.example")
        topo.add_proxy("p", domain="b.example")
        topo.add_link("alice", "p", delay=0.01, loss=0.1)  # retransmissions, re-armed timers
        topo.add_link("p", "bob", delay=0.01)
        sim = Simulation(topo, seed=3, media=False)
        for i in range(20):
            sim.call("alice", "bob", at=0.5 * i, duration=2.0)
        sim.run(until=60.0)
        assert sum(1 for c in sim.calls if c.outcome == "answered") > 10
        return list(sim.trace.records)

    with_lanes = run()
    with monkeypatch.context() as m:
        _heap_only(m)
        assert run() == with_lanes


def test_transaction_timers_wait_in_lanes_not_in_the_heap() -> None:
    topo = Topology()
    topo.add_endpoint("alice", domain="a.example")
    topo.add_endpoint("bob", domain="b.example")
    topo.add_link("alice", "bob", delay=0.01, jitter=0.002)
    sim = Simulation(topo, seed=1)
    sim.serve_options("bob")
    outcomes = []
    for i in range(500):
        request = make_request("OPTIONS", "alice", "sip:bob@bob", call_id=f"c{i}",
                               branch=f"z9hG4bK{i}", cseq=i + 1)
        outcomes.append(sim.send_request("alice", request, at=0.002 * i))
    sim.run(until=2.0)
    # Every transaction answered, and its Timer J (32 s) is armed at bob ...
    assert all(o.outcome == "answered" for o in outcomes)
    assert len(sim.nodes["bob"].server_transactions) == 500
    # ... in a lane: SimPy's heap holds a handful of events, not 500 timers.
    assert sim.lanes.pending() >= 500
    assert len(sim.env._queue) < 20  # type: ignore[attr-defined]
    sim.run()
    assert not sim.nodes["bob"].server_transactions and sim.lanes.pending() == 0
    assert all(o.terminated_at is not None for o in outcomes)


def test_a_lane_that_runs_empty_leaves_no_cyclic_garbage() -> None:
    import gc

    env = simpy.Environment()
    lanes = TimerLanes(env)
    fired: list[str] = []
    cbs = (lambda event: fired.append(event.a),)
    for i in range(3):
        lanes.schedule(1.0 + i, cbs, f"t{i}", None)  # three lanes, each runs empty
    gc.collect()
    gc.disable()
    try:
        gc.set_debug(gc.DEBUG_SAVEALL)
        run_env(env)
        gc.collect()
        left = [o for o in gc.garbage if type(o).__name__ == "_Lane"]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert fired == ["t0", "t1", "t2"] and lanes.lanes == {}
    assert left == []
