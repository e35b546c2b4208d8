"""Traffic sources for load studies: holding-time laws, busy-hour profiles, populations,
registration storms, and the schema of the new fields."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from pathlib import Path

import pytest
import yaml

from simvoip import Simulation, Topology, load_topology
from simvoip.sim.load import population_topology, registration_storm
from simvoip.sim.schema import PopulationSource, RegistrationStorm
from simvoip.sim.topology import TopologyError
from simvoip.sim.traffic import PoissonSource, iter_calls, poisson_calls, rate_at

ROOT = Path(__file__).resolve().parents[2]


def test_exponential_source_draws_are_unchanged_by_the_new_fields() -> None:
    # The default source keeps its stream: gap, holding, gap, holding ...
    import random

    from simvoip.sim.seeding import derive_rng

    calls = poisson_calls(PoissonSource("a", "b", 0.5, 60.0, stop=100.0), seed=4, index=2)
    rng: random.Random = derive_rng(4, "traffic", "2")
    t = 0.0
    for call in calls:
        t += rng.expovariate(0.5)
        assert call.at == t and call.duration == rng.expovariate(1 / 60.0)


def test_fixed_and_list_holding_times() -> None:
    fixed = poisson_calls(PoissonSource("a", "b", 1.0, 45.0, stop=200.0, holding="fixed"), 1, 0)
    assert fixed and {c.duration for c in fixed} == {45.0}
    listed = poisson_calls(PoissonSource("a", "b", 1.0, 0.0 + 20.0, stop=3000.0, holding="list",
                                         durations=(10.0, 30.0)), 1, 0)
    counts = Counter(c.duration for c in listed)
    assert set(counts) == {10.0, 30.0}
    n = len(listed)
    assert abs(counts[10.0] - n / 2) < 4 * math.sqrt(n / 4)  # uniform choice


def test_busy_hour_profile_rates_per_segment() -> None:
    profile = ((1000.0, 2.0), (2000.0, 0.0), (2500.0, 0.5))
    source = PoissonSource("a", "b", 0.5, 10.0, stop=4000.0, profile=profile)
    assert [rate_at(source, t) for t in (0, 1500, 2200, 3000)] == [0.5, 2.0, 0.0, 0.5]
    calls = poisson_calls(source, seed=8, index=0)
    times = [c.at for c in calls]

    def count(a: float, b: float) -> int:
        return sum(a <= t < b for t in times)

    for (a, b), rate in (((0, 1000), 0.5), ((1000, 2000), 2.0), ((2500, 4000), 0.5)):
        expected = rate * (b - a)
        assert abs(count(a, b) - expected) < 4 * math.sqrt(expected), (a, b)
    assert count(2000, 2500) == 0
    assert times == sorted(times)


def test_population_picks_callers_and_callees_uniformly() -> None:
    members = tuple(f"ep{i}" for i in range(5))
    calls = list(iter_calls(PopulationSource(members, 2.0, 30.0, stop=2500.0), seed=2, index=0))
    assert all(c.caller != c.callee for c in calls)
    n = len(calls)
    assert abs(n - 5000) < 4 * math.sqrt(5000)
    for counter in (Counter(c.caller for c in calls), Counter(c.callee for c in calls)):
        assert set(counter) == set(members)
        for m in members:
            assert abs(counter[m] - n / 5) < 4 * math.sqrt(n * 0.2 * 0.8)
    gaps = [b.at - a.at for a, b in zip(calls, calls[1:], strict=False)]
    assert statistics.fmean(gaps) == pytest.approx(0.5, rel=0.05)
    to_trunk = list(iter_calls(PopulationSource(members, 1.0, 5.0, targets=("gw",), stop=50.0),
                               seed=2, index=0))
    assert to_trunk and {c.callee for c in to_trunk} == {"gw"}


def test_population_calls_complete_through_the_proxy() -> None:
    topo = population_topology(6, rate=0.5, mean_duration=4.0, stop=40.0)
    sim = Simulation(topo, seed=5, media=False)
    sim.run(until=80.0)
    assert len(sim.calls) > 10
    assert {c.outcome for c in sim.calls} == {"answered"}
    assert all(c.callee != c.caller and c.callee is not None for c in sim.calls)


def test_registration_storm_after_an_outage() -> None:
    topo = population_topology(30, rate=0.01, mean_duration=1.0, stop=1.0)
    topo.add_fault("link_down", at=100.0, until=130.0, link=["ep0", "proxy"])
    sim = Simulation(topo, seed=1, media=False)
    storm = registration_storm(sim, at=130.0, clear_bindings=True)
    sim.run(until=200.0)
    df = sim.trace.to_dataframe()
    sent = df[(df["event"] == "send") & (df["method"] == "REGISTER") & (df["status"].isna())
              & (df["node"] != "proxy")]
    assert len(sent[sent["time"] < 1.0]) == 30  # at start
    at_storm = sent[(sent["time"] >= 130.0) & (sent["time"] < 131.0)]
    assert sorted(at_storm["node"]) == sorted(storm.members) and len(storm.members) == 30
    ok = df[(df["event"] == "recv") & (df["method"] == "REGISTER") & (df["status"] == 200)
            & (df["time"] >= 130.0)]
    assert sorted(ok["node"]) == sorted(storm.members)
    # The registrar lost its bindings at 130 s and has all of them again.
    assert sim.proxies["proxy"].location.count(sim.now) == 30


def test_yaml_population_storm_and_trunk() -> None:
    topo = load_topology(ROOT / "topologies" / "trunk.yaml")
    kinds = [type(s) for s in topo.traffic]
    assert kinds == [PopulationSource, PoissonSource, RegistrationStorm]
    pop = topo.traffic[0]
    assert pop.members == ("alice", "bob", "carol", "dave") and pop.targets == ("sip:gw@gw",)
    assert pop.profile == ((1800.0, 0.36), (2700.0, 0.12))
    assert topo.traffic[1].holding == "fixed"
    assert topo.kind("gw") == "trunk" and topo.graph.nodes["gw"]["channels"] == 10


def _base() -> dict:
    return {
        "nodes": [{"name": "alice", "type": "endpoint", "domain": "a.example"},
                  {"name": "bob", "type": "endpoint", "domain": "a.example"},
                  {"name": "proxy", "type": "proxy", "domain": "a.example"},
                  {"name": "gw", "type": "trunk", "channels": 2}],
        "links": [{"between": ["alice", "proxy"]}, {"between": ["bob", "proxy"]},
                  {"between": ["gw", "proxy"]}],
    }


BROKEN = [
    ({"type": "poisson", "from": "alice", "to": "bob", "rate": 1, "mean_duration": 1,
      "holding": "gamma"}, "traffic[0].holding: must be one of exponential, fixed, list"),
    ({"type": "poisson", "from": "alice", "to": "bob", "rate": 1, "holding": "list",
      "durations": [1, -2]}, "traffic[0].durations: must be a non-empty list of durations > 0"),
    ({"type": "poisson", "from": "alice", "to": "bob", "rate": 1, "mean_duration": 1,
      "profile": [[10, 1], [5, 2]]}, "traffic[0].profile: must be [from_time, rate] steps"),
    ({"type": "population", "from": ["alice"], "rate": 1, "mean_duration": 1},
     "traffic[0].from: a population calling itself needs two members"),
    ({"type": "population", "from": "zed", "to": ["gw"], "rate": 1, "mean_duration": 1},
     "traffic[0].from: 'zed' is not an endpoint"),
    ({"type": "register_storm", "from": ["alice"], "at": -1},
     "traffic[0].at: must be >= 0, got -1"),
    ({"type": "register_storm", "from": [], "at": 1},
     "traffic[0].from: must be a node name or a non-empty list"),
]


@pytest.mark.parametrize(("item", "message"), BROKEN)
def test_bad_traffic_gives_one_clear_error(item: dict, message: str) -> None:
    data = {**_base(), "traffic": [item]}
    with pytest.raises(TopologyError) as info:
        Topology.from_dict(data, source="t.yaml")
    assert str(info.value).startswith("t.yaml: " + message), str(info.value)


@pytest.mark.parametrize(("change", "message"), [
    ({"channels": -1}, "nodes[3].channels: must be >= 0, got -1"),
    ({"channels": None}, "nodes[3].channels: is required"),
    ({"type": "endpoint"}, "nodes[3].channels: only a trunk has channels"),
])
def test_bad_trunk_node(change: dict, message: str) -> None:
    data = _base()
    data["nodes"][3].update(change)
    with pytest.raises(TopologyError) as info:
        Topology.from_dict(data, source="t.yaml")
    assert str(info.value).startswith("t.yaml: " + message), str(info.value)


def test_bad_trunk_params_and_members_at_run_time() -> None:
    data = _base()
    data["nodes"][3]["params"] = {"busy_code": 404}
    with pytest.raises(TopologyError, match=r"nodes\[gw\]\.params\.busy_code: must be one of"):
        Simulation(Topology.from_dict(data, source="t.yaml")).telephony.ensure()
    data = _base()
    data["traffic"] = [{"type": "population", "from": ["alice", "proxy"], "rate": 1,
                        "mean_duration": 1, "stop": 5}]
    sim = Simulation(Topology.from_dict(data, source="t.yaml"))
    with pytest.raises(TopologyError, match=r"traffic\[0\]\.from: 'proxy' is not an endpoint"):
        sim.run(until=1.0)
    data = yaml.safe_load(yaml.safe_dump(_base()))
    data["nodes"][2]["params"] = {"overload_threshold": -3}
    with pytest.raises(TopologyError, match=r"overload_threshold: must be >= 0"):
        Simulation(Topology.from_dict(data, source="t.yaml")).telephony.ensure()
