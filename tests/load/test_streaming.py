"""Long runs: finished calls are folded into streaming metrics and released, so the live
state stays bounded; the trace can be sampled or switched off."""

from __future__ import annotations

import zlib
from collections import Counter

import pytest

from simvoip import Simulation
from simvoip.sim.load import SampledRecords, enable_streaming, population_topology
from simvoip.sim.traffic import call_schedule


def _topo(stop: float = 60.0):  # type: ignore[no-untyped-def]
    return population_topology(10, rate=2.0, mean_duration=3.0, stop=stop, ring_delay=0.0,
                               answer_delay=0.2)


def test_streamed_metrics_match_the_full_run() -> None:
    full = Simulation(_topo(), seed=9, media=False)
    full.run(until=120.0)
    streamed = Simulation(_topo(), seed=9, media=False)
    metrics = enable_streaming(streamed, trace="full")
    streamed.run(until=120.0)
    summaries = [c.summary() for c in full.calls]
    assert metrics.count == len(summaries) == len(call_schedule(_topo(), seed=9))
    assert metrics.outcomes == Counter(s["outcome"] for s in summaries)
    assert metrics.pdd.count == sum(s["pdd"] is not None for s in summaries) == metrics.count
    assert metrics.pdd.mean == pytest.approx(sum(s["pdd"] for s in summaries) / len(summaries))
    assert metrics.setup_time.max == max(s["setup_time"] for s in summaries)
    assert metrics.good == metrics.count  # all set up within 2 s
    # The same messages went over the wire.
    assert len(streamed.trace) == len(full.trace)
    # ... but nothing of the calls is kept: records, transactions, dialogs, call views.
    assert streamed.calls == [] and streamed.telephony.by_call_id == {}
    for ua in streamed.user_agents.values():
        assert ua.calls == {} and ua.history == {}
        assert ua.transaction_count == 0 and ua.dialog_count == 0
    assert streamed.proxies["proxy"].transaction_count == 0
    assert sum(len(ua.history) for ua in full.user_agents.values()) == 2 * metrics.count


def test_live_state_stays_bounded_over_a_long_run() -> None:
    sim = Simulation(_topo(stop=500.0), seed=4, media=False)
    metrics = enable_streaming(sim, trace="metrics")
    live: list[int] = []
    queue: list[int] = []
    for t in range(100, 600, 100):
        sim.run(until=float(t), pause_gc=True)
        live.append(len(sim.telephony.by_call_id) + sum(
            len(ua.calls) + len(ua.history) for ua in sim.user_agents.values()))
        queue.append(len(sim.env._queue))
    assert metrics.count > 900 and len(sim.trace) == 0
    # ~2 calls/s x (3 s call + 33 s linger + Timer M): about a hundred calls (two records
    # each) alive at any time, however long the run.
    assert max(live) < 400 and max(queue) < 4000  # the heap holds cancelled timers too
    assert live[-1] <= 1.5 * live[2] and queue[-1] <= 1.5 * queue[2]


def test_sampled_trace_keeps_whole_calls() -> None:
    sim = Simulation(_topo(stop=30.0), seed=2, media=False)
    enable_streaming(sim, trace="sampled", sample=5)
    sim.run(until=80.0)
    rows = sim.trace.to_dataframe()
    call_ids = set(rows["call_id"].dropna())
    assert call_ids and all(zlib.crc32(c.encode()) % 5 == 0 for c in call_ids)
    for call_id in call_ids:  # every INVITE of a sampled call is followed by its BYE
        methods = set(rows[rows["call_id"] == call_id]["method"].dropna())
        assert {"INVITE", "ACK", "BYE"} <= methods or methods == {"REGISTER"}
    assert isinstance(sim.trace.records, SampledRecords)


def test_bad_trace_mode() -> None:
    with pytest.raises(ValueError, match="trace must be one of full, sampled, metrics"):
        enable_streaming(Simulation(_topo(), seed=1), trace="some")


def test_calls_placed_before_the_switch_are_kept() -> None:
    sim = Simulation(_topo(stop=10.0), seed=3, media=False)
    early = sim.call("ep0", "ep1", at=0.5, duration=1.0)
    metrics = enable_streaming(sim, trace="metrics")
    sim.run(until=60.0)
    assert sim.calls == [early] and early.outcome == "answered" and early.pdd is not None
    assert metrics.count == len(call_schedule(_topo(stop=10.0), seed=3)) > 5


def test_metrics_mode_builds_no_rows_and_changes_nothing_else() -> None:
    runs = []
    for mode in ("full", "metrics"):
        sim = Simulation(_topo(), seed=4, media=False)
        metrics = enable_streaming(sim, trace=mode)
        sim.run(until=120.0)
        links = sim.link_metrics()
        runs.append((sim, metrics, links))
    (full, m_full, l_full), (bare, m_bare, l_bare) = runs
    assert bare.trace.enabled is False and len(bare.trace) == 0 and len(full.trace) > 1000
    assert m_bare.count == m_full.count > 50
    assert m_bare.outcomes == m_full.outcomes
    assert (m_bare.pdd.mean, m_bare.setup_time.max) == (m_full.pdd.mean, m_full.setup_time.max)
    assert l_bare.equals(l_full)  # same packets over the same links at the same times
