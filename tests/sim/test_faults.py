"""Scheduled faults: link down/up, partitions, delay spikes, link-level faults from YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from simvoip import Simulation, Topology, load_topology

from .helpers import options, times


def _line() -> Topology:
    topo = Topology()
    topo.add_endpoint("alice", domain="a.example")
    topo.add_router("r")
    topo.add_endpoint("bob", domain="b.example")
    topo.add_endpoint("carol", domain="b.example")
    topo.add_link("alice", "r", delay=0.01)
    topo.add_link("r", "bob", delay=0.01)
    topo.add_link("r", "carol", delay=0.01)
    return topo


def test_delay_spike_adds_delay_only_inside_its_window() -> None:
    topo = _line()
    topo.add_fault("delay_spike", at=1.0, until=2.0, link=("r", "bob"), extra_delay=0.25)
    sim = Simulation(topo, seed=1)
    sim.serve_options("bob")
    before, during, after = (options(sim, n, at=t) for n, t in ((1, 0.5), (2, 1.5), (3, 2.5)))
    sim.run(until=40.0)
    assert before.final_at == pytest.approx(0.54)
    assert during.final_at == pytest.approx(1.5 + 0.04 + 0.5)  # both directions
    assert after.final_at == pytest.approx(2.54)
    df = sim.trace.to_dataframe()
    assert list(df.loc[df["kind"] == "link", "cause"]) == ["delay-spike", "delay-normal"]


def test_partition_cuts_a_group_off_and_heals() -> None:
    topo = _line()
    topo.add_fault("partition", at=0.0, until=2.0, nodes=["bob", "carol"])
    sim = Simulation(topo, seed=1)
    sim.serve_options("bob")
    outcome = options(sim)
    sim.run(until=40.0)
    df = sim.trace.to_dataframe()
    # Sent at 0, 0.5, 1.5 while cut off: routes are global, so alice finds no path at once.
    assert times(df, event="drop", cause="link-down") == [0.0, 0.5, 1.5]
    assert set(df.loc[df["event"] == "drop", "link"].dropna()) == set()
    assert outcome.final_at == pytest.approx(3.54)
    assert len(df[(df["kind"] == "link") & (df["cause"] == "link-down")]) == 2


def test_link_level_faults_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("""
nodes:
  - {name: alice, type: endpoint}
  - {name: bob, type: endpoint}
links:
  - between: [alice, bob]
    delay: 0.01
    faults:
      - {type: down, at: 0.0, until: 1.0}
      - {type: delay_spike, at: 3.0, until: 4.0, extra_delay: 0.1}
""")
    sim = Simulation(load_topology(path), seed=1)
    sim.serve_options("bob")
    first = options(sim, 1, at=0.0)
    second = options(sim, 2, at=3.5)
    sim.run(until=40.0)
    assert first.final_at == pytest.approx(1.52)
    assert second.final_at == pytest.approx(3.72)


def test_link_up_fault_restores_a_link_taken_down_in_code() -> None:
    topo = _line()
    topo.add_fault("link_up", at=0.7, link=("r", "bob"))
    sim = Simulation(topo, seed=1)
    sim.serve_options("bob")
    sim.set_link("r", "bob", up=False)
    outcome = options(sim)
    sim.run(until=40.0)
    assert outcome.final_at == pytest.approx(1.54)


def test_overlapping_faults_nest() -> None:
    topo = _line()
    topo.add_fault("link_down", at=1.0, until=5.0, link=("r", "bob"))
    topo.add_fault("partition", at=2.0, until=3.0, nodes=["bob"])
    topo.add_fault("delay_spike", at=6.0, until=8.0, link=("r", "bob"), extra_delay=0.1)
    topo.add_fault("delay_spike", at=7.0, until=9.0, link=("r", "bob"), extra_delay=0.2)
    sim = Simulation(topo, seed=1)
    sim.run(until=4.0)
    assert not sim.link("r", "bob").up  # the partition healing did not end the outage
    sim.run(until=5.5)
    assert sim.link("r", "bob").up
    sim.run(until=7.5)
    assert sim.link("bob", "r").extra_delay == pytest.approx(0.3)
    sim.run(until=10.0)
    assert sim.link("bob", "r").extra_delay == pytest.approx(0.0)
    df = sim.trace.to_dataframe()
    link_rows = df[df["kind"] == "link"]
    assert list(link_rows["cause"]) == ["link-down", "link-up", "delay-spike", "delay-spike",
                                        "delay-spike", "delay-normal"]
    assert times(link_rows) == [1.0, 5.0, 6.0, 7.0, 8.0, 9.0]
