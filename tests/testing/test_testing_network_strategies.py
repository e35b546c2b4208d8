"""Network strategies draw valid topologies, faults and workloads that the simulator runs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simvoip.sim.simulation import Simulation
from simvoip.sim.topology import Topology
from simvoip.testing import NetworkMachine, replay
from simvoip.testing import network_strategies as nst


@settings(max_examples=25)
@given(st.data())
def test_topologies_are_connected_and_run_with_faults(data: st.DataObject) -> None:
    topo = data.draw(nst.topologies())
    endpoints = topo.nodes("endpoint")
    assert len(endpoints) >= 2
    for a in topo.nodes():
        for b in topo.nodes():
            assert topo.shortest_path(a, b) is not None
    for fault in data.draw(nst.fault_schedules(topo)):
        topo.faults.append(fault)
    sim = Simulation(topo, seed=data.draw(st.integers(0, 2**16)))
    sim.run(until=120.0)
    assert sim.now == 120.0


@given(st.data())
def test_workloads_name_distinct_endpoints_in_time_order(data: st.DataObject) -> None:
    topo = data.draw(nst.topologies(lossy=False))
    calls = data.draw(nst.call_workloads(topo.nodes("endpoint")))
    assert [c.at for c in calls] == sorted(c.at for c in calls)
    for c in calls:
        assert c.caller != c.callee
        topo.add_call(c.caller, c.callee, c.at, c.duration)  # validated by the topology


@given(nst.link_params())
def test_link_params_pass_the_topology_checks(params: dict) -> None:
    topo = Topology()
    topo.add_endpoint("a")
    topo.add_endpoint("b")
    topo.add_link("a", "b", **params)


@given(nst.loss_models())
def test_loss_models_pass_the_topology_checks(model: dict | None) -> None:
    topo = Topology()
    topo.add_endpoint("a")
    topo.add_endpoint("b")
    topo.add_link("a", "b", loss_model=model)


@settings(max_examples=30)
@given(nst.schedules())
def test_drawn_schedules_replay_cleanly_on_correct_phones(steps: list) -> None:
    replay(NetworkMachine, steps)
