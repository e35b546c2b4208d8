"""Topology building, YAML loading, resolution, routing and one clear error per bad field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from simvoip import Simulation, Topology, load_topology
from simvoip.sim.topology import TopologyError

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGIES = sorted((ROOT / "topologies").glob("*.yaml"))

GOOD = """
seed: 1
nodes:
  - {name: alice, type: endpoint, domain: a.example}
  - {name: proxy.a, type: proxy, domain: a.example}
  - {name: bob, type: endpoint, domain: a.example}
links:
  - {between: [alice, proxy.a], delay: 0.01}
  - {between: [proxy.a, bob], delay: 0.01}
calls:
  - {from: alice, to: bob@a.example, at: 0, duration: 5}
"""


def test_all_shipped_topologies_load_and_run() -> None:
    names = {p.stem for p in TOPOLOGIES}
    assert {"direct", "trapezoid", "forking", "wifi", "overload", "satellite"} <= names
    for path in TOPOLOGIES:
        topo = load_topology(path)
        assert topo.links(), path
        sim = Simulation(topo)
        sim.run(until=60.0)


def test_trapezoid_matches_architecture() -> None:
    topo = load_topology(ROOT / "topologies" / "trapezoid.yaml")
    assert topo.nodes("endpoint") == ["alice", "bob"]
    assert topo.nodes("proxy") == ["proxy.a", "proxy.b"]
    core = topo.graph.edges["proxy.a", "proxy.b"]
    assert (core["delay"], core["jitter"], core["loss"]) == (0.040, 0.005, 0.02)
    assert topo.resolve("a.example") == "proxy.a"
    assert topo.shortest_path("alice", "bob") == ["alice", "proxy.a", "proxy.b", "bob"]


def test_code_and_yaml_build_the_same_graph(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(GOOD)
    from_yaml = load_topology(path)
    topo = Topology()
    topo.add_endpoint("alice", domain="a.example")
    topo.add_proxy("proxy.a", domain="a.example")
    topo.add_endpoint("bob", domain="a.example")
    topo.add_link("alice", "proxy.a", delay=0.01)
    topo.add_link("proxy.a", "bob", delay=0.01)
    topo.add_call("alice", "bob@a.example", at=0, duration=5)
    assert list(from_yaml.graph.nodes(data=True)) == list(topo.graph.nodes(data=True))
    assert list(from_yaml.graph.edges(data=True)) == list(topo.graph.edges(data=True))
    assert from_yaml.calls == topo.calls


def test_routing_by_delay_or_callable_and_recomputed_on_link_failure() -> None:
    topo = Topology()
    for name in ("a", "r1", "r2", "b"):
        topo.add_router(name)
    topo.add_link("a", "r1", delay=0.01)
    topo.add_link("r1", "b", delay=0.01)
    topo.add_link("a", "r2", delay=0.05)
    topo.add_link("r2", "b", delay=0.05)
    assert topo.shortest_path("a", "b") == ["a", "r1", "b"]
    assert topo.shortest_path("a", "b", weight=lambda u, v, d: 1 if "r2" in (u, v) else 5) == [
        "a", "r2", "b"]
    assert topo.shortest_path("a", "b", down=[("r1", "b")]) == ["a", "r2", "b"]
    sim = Simulation(topo)
    assert sim.network.route("a", "b") == ["a", "r1", "b"]
    sim.set_link("r1", "b", up=False)
    assert sim.network.route("a", "b") == ["a", "r2", "b"]
    sim.set_link("a", "r2", up=False)
    assert sim.network.route("a", "b") is None
    sim.set_link("r1", "b", up=True)
    assert sim.network.route("a", "b") == ["a", "r1", "b"]


def _broken(path: str, value: object) -> dict:
    data = yaml.safe_load(GOOD)
    target = data
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    last = keys[-1]
    if value is _DELETE:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return data


_DELETE = object()

BROKEN = [
    ("links.1.delay", -0.1, "t.yaml: links[1].delay: must be >= 0, got -0.1"),
    ("links.0.delay", "fast", "t.yaml: links[0].delay: must be a number, got 'fast'"),
    ("links.0.loss", 1.5, "t.yaml: links[0].loss: must be <= 1, got 1.5"),
    ("links.0.jitter_dist", "cauchy", "t.yaml: links[0].jitter_dist: must be one of"),
    ("links.0.queue", 2.5, "t.yaml: links[0].queue: must be an integer, got 2.5"),
    ("links.0.bandwidth", 0, "t.yaml: links[0].bandwidth: must be > 0, got 0"),
    ("links.0.colour", "red", "t.yaml: links[0].colour: unknown field"),
    ("links.0.between", ["alice", "carol"], "t.yaml: links[0]: unknown node 'carol'"),
    ("links.0.between", ["alice"], "t.yaml: links[0].between: must be a list of two node names"),
    ("links.0.loss_model", {"type": "markov"}, "t.yaml: links[0].loss_model.type: must be one of"),
    ("links.0.loss_model", {"type": "gilbert_elliott", "p": 0.1},
     "t.yaml: links[0].loss_model.r: is required"),
    ("links.0.loss_model", {"type": "gilbert_elliott", "mean_loss": 0.1, "mean_burst": 0.5},
     "t.yaml: links[0].loss_model.mean_burst: must be >= 1, got 0.5"),
    ("links.0.loss_model", {"type": "trace", "pattern": [0, 2]},
     "t.yaml: links[0].loss_model.pattern: must be a non-empty list of 0 and 1"),
    ("links.0.red", {"min_th": 5, "max_th": 2},
     "t.yaml: links[0].red.max_th: must be > 5, got 2"),
    ("links.0.faults", [{"type": "down", "at": 5, "until": 1}],
     "t.yaml: links[0].faults[0].until: must be > 5, got 1"),
    ("links.0.mtu", 10, "t.yaml: links[0].mtu: must be >= 68, got 10"),
    ("nodes.1.type", "switch", "t.yaml: nodes[1].type: must be one of endpoint, proxy"),
    ("nodes.1.domain", _DELETE, "t.yaml: nodes[1].domain: is required for a proxy"),
    ("nodes.1.capacity", -3, "t.yaml: nodes[1].capacity: must be > 0, got -3"),
    ("nodes.0.name", "proxy.a", "t.yaml: nodes[1].name: duplicate node 'proxy.a'"),
    ("nodes.0.colour", "red", "t.yaml: nodes[0].colour: unknown field"),
    ("nodes.0.name", _DELETE, "t.yaml: nodes[0].name: is required"),
    ("calls.0.duration", 0, "t.yaml: calls[0].duration: must be > 0, got 0"),
    ("calls.0.at", _DELETE, "t.yaml: calls[0].at: is required"),
    ("calls.0.from", "proxy.a", "t.yaml: calls[0].from: 'proxy.a' is not an endpoint"),
    ("calls.0.to", "bob@nowhere.example", "t.yaml: calls[0].to: 'bob@nowhere.example': no node"),
    ("calls.0.when", 3, "t.yaml: calls[0].when: unknown field"),
    ("traffic", [{"type": "poisson", "from": "alice", "to": "bob", "rate": -1, "mean_duration": 3}],
     "t.yaml: traffic[0].rate: must be > 0, got -1"),
    ("traffic", [{"type": "burst", "from": "alice", "to": "bob"}],
     "t.yaml: traffic[0].type: must be poisson"),
    ("faults", [{"type": "link_down", "link": ["alice", "bob"], "at": 1}],
     "t.yaml: faults[0].link: no link between 'alice' and 'bob'"),
    ("faults", [{"type": "delay_spike", "link": ["alice", "proxy.a"], "at": 1, "until": 2}],
     "t.yaml: faults[0].extra_delay: is required"),
    ("faults", [{"type": "partition", "nodes": ["zed"], "at": 1}],
     "t.yaml: faults[0].nodes: unknown node 'zed'"),
    ("seed", "seven", "t.yaml: seed: must be an integer, got 'seven'"),
    ("routes", [], "t.yaml: routes: unknown field"),
    ("nodes", _DELETE, "t.yaml: nodes: is required"),
    ("links", {"a": 1}, "t.yaml: links: must be a list, got dict"),
]


@pytest.mark.parametrize(("path", "value", "message"), BROKEN, ids=[b[2].split(": ")[1] + "|" + str(i) for i, b in enumerate(BROKEN)])
def test_bad_topology_gives_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str, value: object, message: str,
) -> None:
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(_broken(path, value)))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TopologyError) as info:
        load_topology("t.yaml")
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="cannot read"):
        load_topology(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes: [\n")
    with pytest.raises(TopologyError, match="bad.yaml: not valid YAML"):
        load_topology(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(TopologyError, match="top level must be a mapping"):
        load_topology(scalar)


def test_code_errors_name_the_call() -> None:
    topo = Topology()
    topo.add_endpoint("alice")
    topo.add_endpoint("bob")
    with pytest.raises(TopologyError, match=r"add_link\('alice', 'bob'\)\.delay: must be >= 0"):
        topo.add_link("alice", "bob", delay=-1)
    with pytest.raises(TopologyError, match=r"add_proxy\('p'\)\.domain: is required"):
        topo.add_proxy("p")


@given(
    n=st.integers(2, 9),
    parents=st.lists(st.integers(0, 100), min_size=8, max_size=8),
    extra=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8)), max_size=3),
    delays=st.lists(st.sampled_from([0.01, 0.02]), min_size=12, max_size=12),
    down=st.lists(st.integers(0, 11), max_size=3),
)
def test_routes_match_the_pairwise_search_on_forests_and_other_graphs(
    n: int, parents: list[int], extra: list[tuple[int, int]], delays: list[float], down: list[int],
) -> None:
    # A random tree, sometimes with extra links (cycles: the search decides), equal
    # delays (ties) and links down (a tree may fall apart into a forest).
    topo = Topology()
    names = [f"n{i}" for i in range(n)]
    for name in names:
        topo.add_router(name)
    links = [(names[i], names[parents[i - 1] % i]) for i in range(1, n)]
    links += [(names[a % n], names[b % n]) for a, b in extra if a % n != b % n]
    added = []
    for i, (a, b) in enumerate(links):
        if not topo.graph.has_edge(a, b):
            topo.add_link(a, b, delay=delays[i % len(delays)])
            added.append((a, b))
    sim = Simulation(topo)
    for i in down:
        if i < len(added):
            sim.set_link(*added[i], up=False)
    ends = list(sim.network.down)
    for a in names:
        for b in names:
            assert sim.network.route(a, b) == topo.shortest_path(a, b, down=ends)


def test_a_star_of_phones_is_routed_from_parent_pointers() -> None:
    from simvoip.sim.transport import _Forest

    topo = Topology()
    topo.add_proxy("proxy", domain="x.example")
    for i in range(50):
        topo.add_endpoint(f"ep{i}", domain="x.example")
        topo.add_link(f"ep{i}", "proxy", delay=0.01)
    sim = Simulation(topo)
    assert sim.network.route("ep3", "ep7") == ["ep3", "proxy", "ep7"]
    assert isinstance(sim.network._forest, _Forest)
    topo.add_link("ep1", "ep2", delay=0.01)  # a cycle: back to the search
    sim = Simulation(topo)
    assert sim.network.route("ep1", "ep2") == ["ep1", "ep2"] and sim.network._forest is False
