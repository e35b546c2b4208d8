"""Call schedules: Poisson sources match their rates, are seeded and independent."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simvoip import Topology
from simvoip.sim.topology import TopologyError
from simvoip.sim.traffic import PoissonSource, call_schedule, poisson_calls


def test_poisson_source_rate_and_holding_time() -> None:
    source = PoissonSource("alice", "bob", rate=2.0, mean_duration=90.0, start=10.0, stop=20010.0)
    calls = poisson_calls(source, seed=3, index=0)
    n = len(calls)
    assert n == pytest.approx(40_000, abs=4 * 40_000**0.5)
    gaps = [b.at - a.at for a, b in zip(calls, calls[1:], strict=False)]
    assert statistics.fmean(gaps) == pytest.approx(0.5, rel=0.02)
    assert statistics.pstdev(gaps) == pytest.approx(0.5, rel=0.03)  # exponential: sd = mean
    assert statistics.fmean(c.duration for c in calls) == pytest.approx(90.0, rel=0.02)
    assert 10.0 < calls[0].at and calls[-1].at < 20010.0


def _topo(sources: int) -> Topology:
    topo = Topology()
    for name in ("alice", "bob", "carol"):
        topo.add_endpoint(name, domain="a.example")
    topo.add_call("carol", "bob", at=5.0, duration=10.0)
    for i in range(sources):
        topo.traffic.append(PoissonSource("alice" if i == 0 else "carol", "bob", rate=0.2,
                                          mean_duration=30.0, stop=100.0))
    return topo


def test_schedule_is_seeded_sorted_and_sources_are_independent() -> None:
    one, two = call_schedule(_topo(1), seed=9), call_schedule(_topo(2), seed=9)
    assert one == call_schedule(_topo(1), seed=9)
    assert one != call_schedule(_topo(1), seed=10)
    assert [c.at for c in two] == sorted(c.at for c in two)
    assert [c for c in two if c.caller == "alice"] == [c for c in one if c.caller == "alice"]
    with pytest.raises(ValueError, match="stop"):
        poisson_calls(PoissonSource("a", "b", 1.0, 1.0), seed=1, index=0)
    assert len(call_schedule(_topo(1), seed=9, until=1.0)) <= len(one)


scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True),
                    st.text(max_size=6))
junk = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(["name", "type", "between", "delay", "loss", "nodes",
                                     "links", "calls", "faults", "traffic", "from", "to",
                                     "at", "duration", "domain", "loss_model", "p", "r"]),
                    inner, max_size=5)), max_leaves=20)


@given(data=junk)
def test_any_input_is_a_topology_or_one_topology_error(data: object) -> None:
    try:
        Topology.from_dict(data, source="fuzz.yaml")
    except TopologyError as err:
        assert str(err).startswith("fuzz.yaml: ")


def _valid() -> dict:
    return {
        "seed": 1,
        "nodes": [{"name": "alice", "type": "endpoint", "domain": "a.example"},
                  {"name": "proxy.a", "type": "proxy", "domain": "a.example"}],
        "links": [{"between": ["alice", "proxy.a"], "delay": 0.01,
                   "loss_model": {"type": "gilbert_elliott", "p": 0.1, "r": 0.5},
                   "red": {"min_th": 1, "max_th": 3}, "bandwidth": 1e6, "queue": 5,
                   "faults": [{"type": "down", "at": 1.0, "until": 2.0}]}],
        "calls": [{"from": "alice", "to": "proxy.a", "at": 0.0, "duration": 1.0}],
        "traffic": [{"type": "poisson", "from": "alice", "to": "a.example", "rate": 1.0,
                     "mean_duration": 2.0, "stop": 5.0}],
        "faults": [{"type": "link_down", "link": ["alice", "proxy.a"], "at": 1.0},
                   {"type": "partition", "nodes": ["alice"], "at": 1.0, "until": 2.0}],
    }


_PLACES = [
    ("seed",), ("nodes", 0, "name"), ("nodes", 0, "type"), ("nodes", 1, "domain"),
    ("nodes", 0, "capacity"), ("links", 0, "between"), ("links", 0, "between", 0),
    ("links", 0, "delay"), ("links", 0, "loss_model"), ("links", 0, "loss_model", "p"),
    ("links", 0, "red", "max_th"), ("links", 0, "faults"), ("links", 0, "faults", 0, "at"),
    ("links", 0, "faults", 0), ("calls", 0, "to"), ("calls", 0, "at"), ("calls", 0),
    ("traffic", 0, "rate"), ("traffic", 0, "stop"), ("faults", 0, "link"),
    ("faults", 1, "nodes"), ("faults", 0, "until"), ("faults", 0), ("nodes", 0), ("links",),
]


@given(place=st.sampled_from(_PLACES), value=junk)
def test_one_bad_field_anywhere_gives_a_topology_error(place: tuple, value: object) -> None:
    data = _valid()
    target: object = data
    for step in place[:-1]:
        target = target[step]  # type: ignore[index]
    target[place[-1]] = value  # type: ignore[index]
    try:
        Topology.from_dict(data, source="fuzz.yaml")
    except TopologyError as err:
        assert str(err).startswith("fuzz.yaml: ")
