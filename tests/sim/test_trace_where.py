"""Trace.where: indexed lookups give exactly what a scan gives, as the trace grows and is cleared."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simvoip import Simulation, Topology
from simvoip.sim.trace import COLUMNS, Trace, TraceRecord


def _scan(trace: Trace, **match: object) -> list[TraceRecord]:
    return [r for r in trace.rows() if all(getattr(r, k) == v for k, v in match.items())]


rows = st.lists(st.tuples(st.sampled_from(["send", "recv", "timer"]), st.sampled_from("abc"),
                          st.sampled_from([None, "c1", "c2"])), max_size=30)


@given(first=rows, second=rows, clear=st.booleans())
def test_where_equals_a_scan_while_the_trace_grows(first: list, second: list, clear: bool) -> None:
    trace = Trace()
    for i, (event, node, call_id) in enumerate(first):
        trace.record(float(i), event, node, call_id=call_id)
    for query in ({"event": "send"}, {"call_id": "c1", "node": "a"}, {"node": "b"}):
        assert trace.where(**query) == _scan(trace, **query)
    if clear:
        trace.records.clear()
    for i, (event, node, call_id) in enumerate(second):
        trace.record(100.0 + i, event, node, call_id=call_id)
    for query in ({"event": "send"}, {"call_id": "c1", "node": "a"}, {"node": "b"},
                  {"call_id": None}):
        assert trace.where(**query) == _scan(trace, **query)


def test_where_on_a_real_run_matches_the_dataframe() -> None:
    topo = Topology()
    topo.add_endpoint("alice")
    topo.add_endpoint("bob")
    topo.add_link("alice", "bob", delay=0.01)
    sim = Simulation(topo, seed=3, media=False)
    first = sim.call("alice", "bob", duration=1.0)
    sim.run(until=2.0)
    early = sim.trace.where(event="send", node="alice")
    second = sim.call("alice", "bob", duration=1.0)
    sim.run(until=40.0)
    df = sim.trace.to_dataframe()
    for call in (first, second):
        got = sim.trace.where(call_id=call.call_id, event="recv")
        want = df[(df.call_id == call.call_id) & (df.event == "recv")]
        assert [r.packet for r in got] == list(want.packet)
        assert {r.method for r in got} >= {"INVITE", "ACK", "BYE"}
    assert early == sim.trace.where(event="send", node="alice")[: len(early)]


def test_where_names_an_unknown_column() -> None:
    with pytest.raises(ValueError, match="unknown trace column 'colour'"):
        Trace().where(colour="red")
    assert "call_id" in COLUMNS
