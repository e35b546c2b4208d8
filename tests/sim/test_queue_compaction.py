"""Cancelled timers are dropped from SimPy's queue and the timer lanes without changing anything."""

from __future__ import annotations

import pytest

from simvoip import Simulation
from simvoip.sim import simulation as simulation_module
from simvoip.sim.load import population_topology


def _run(monkeypatch: pytest.MonkeyPatch, compact: str) -> tuple[list[tuple], int, int]:
    topo = population_topology(20, rate=4.0, mean_duration=3.0, stop=10.0, holding="fixed",
                               answer_delay=0.2)
    sim = Simulation(topo, seed=5, media=False)
    dropped = [0]
    real = simulation_module.compact_queue

    def counting(env: object) -> int:
        n = real(env)  # type: ignore[arg-type]
        dropped[0] += n
        return n

    if compact == "never":
        monkeypatch.setattr(Simulation, "timer_cancelled", lambda self: None)
    else:  # "always": compact after every cancellation
        monkeypatch.setattr(simulation_module, "compact_queue", counting)

        def eager(self: Simulation) -> None:
            simulation_module.compact_queue(self.env)
            dropped[0] += self.lanes.compact()

        monkeypatch.setattr(Simulation, "timer_cancelled", eager)
    sim.run(until=60.0)
    answered = sum(1 for c in sim.calls if c.outcome == "answered")
    return list(sim.trace.records), answered, dropped[0]


def test_compacting_the_event_queue_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as m:
        plain, answered, _ = _run(m, "never")
    with monkeypatch.context() as m:
        compacted, answered_too, dropped = _run(m, "always")
    # Timer B / F / C of every answered transaction was cancelled and dropped early ...
    assert dropped > 3 * answered > 0
    # ... and the run is the same, row for row.
    assert answered_too == answered
    assert compacted == plain


def test_compaction_threshold_keeps_the_queue_small() -> None:
    topo = population_topology(50, rate=20.0, mean_duration=2.0, stop=60.0, holding="fixed",
                               answer_delay=0.1)
    sim = Simulation(topo, seed=2, media=False)
    sim.run(until=62.0)
    queue = sim.env._queue  # type: ignore[attr-defined]
    dead = sum(1 for entry in queue if entry[3].callbacks == () and hasattr(entry[3], "fn"))
    waiting = [t for lane in sim.lanes.lanes.values() for t in lane.entries]
    dead += sum(1 for t in waiting if t.callbacks == ())
    # Some 1,200 calls each cancelled several long timers (B, F: 32 s, C: 180 s) ...
    assert sum(1 for c in sim.calls if c.outcome == "answered") > 1000
    # ... yet never more than half of what waits (plus the 4,096 grace) is dead weight.
    assert dead <= max(4096, (len(queue) + len(waiting)) // 2 + 1)
