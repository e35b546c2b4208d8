"""Hypothesis strategies for networks: link parameters, topologies, fault schedules, workloads.

They build :class:`simvoip.sim.topology.Topology` objects (validated by the
topology's own checks on the way in), so a drawn topology runs as
``Simulation(topo, seed=...)``; and schedules of network faults as plain
:class:`~simvoip.sim.schema.Fault` values or as ``NetworkMachine`` schedule
steps for :func:`simvoip.testing.machine.replay`.

>>> from hypothesis import given, settings
>>> @settings(max_examples=5, database=None)
... @given(topologies())
... def check(topo):
...     assert len(topo.nodes("endpoint")) >= 2
>>> check()
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from simvoip.sim.schema import CallSpec, Fault
from simvoip.sim.topology import Topology

__all__ = ["link_params", "loss_models", "topologies", "fault_schedules", "call_workloads",
           "loss_patterns", "schedules"]


def loss_models() -> st.SearchStrategy[dict[str, Any] | None]:
    """Loss models: none, Bernoulli, Gilbert-Elliott (mean loss / burst), or a trace pattern."""
    return st.one_of(
        st.none(),
        st.builds(lambda p: {"type": "bernoulli", "p": p}, st.floats(0.0, 0.3)),
        st.builds(lambda m, b: {"type": "gilbert_elliott", "mean_loss": m, "mean_burst": b},
                  st.floats(0.0, 0.3), st.floats(1.0, 5.0)),
        st.builds(lambda pat: {"type": "trace", "pattern": pat, "repeat": True},
                  loss_patterns().map(lambda p: [int(x) for x in p])),
    )


def loss_patterns(max_size: int = 12) -> st.SearchStrategy[list[bool]]:
    """Packet-by-packet loss patterns (True: lost)."""
    return st.lists(st.booleans(), min_size=1, max_size=max_size)


def link_params(*, lossy: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """Link attribute dicts accepted by :meth:`Topology.add_link` (delay, jitter, loss,
    duplication, reordering, optional bandwidth and queue)."""
    required = {"delay": st.floats(0.0, 0.2)}
    optional: dict[str, st.SearchStrategy[Any]] = {
        "jitter": st.floats(0.0, 0.02),
        "bandwidth": st.sampled_from([64_000.0, 1_000_000.0, 100_000_000.0]),
        "queue": st.integers(1, 50),
    }
    if lossy:
        optional.update({
            "loss": st.floats(0.0, 0.3),
            "duplicate": st.floats(0.0, 0.1),
            "reorder": st.floats(0.0, 0.1),
        })
    return st.fixed_dictionaries(required, optional=optional)


@st.composite
def topologies(draw: st.DrawFn, *, min_endpoints: int = 2, max_endpoints: int = 4,
               max_proxies: int = 2, lossy: bool = True) -> Topology:
    """Small connected topologies: endpoints (``ua0`` ...) and proxies (``proxy0`` ...) of
    domains ``d0.example`` ..., a random spanning tree plus a few extra links."""
    topo = Topology(name="drawn")
    n_proxies = draw(st.integers(0, max_proxies))
    n_endpoints = draw(st.integers(min_endpoints, max_endpoints))
    domains = [f"d{i}.example" for i in range(max(1, n_proxies))]
    for i in range(n_proxies):
        topo.add_proxy(f"proxy{i}", domain=domains[i])
    for i in range(n_endpoints):
        topo.add_endpoint(f"ua{i}", domain=draw(st.sampled_from(domains)))
    names = topo.nodes()
    for i in range(1, len(names)):
        # a spanning tree: node i attaches to one of the nodes before it
        j = draw(st.integers(0, i - 1))
        topo.add_link(names[j], names[i], **draw(link_params(lossy=lossy)))
    for _ in range(draw(st.integers(0, 2))):
        a, b = draw(st.sampled_from(names)), draw(st.sampled_from(names))
        if a != b and not topo.graph.has_edge(a, b):
            topo.add_link(a, b, **draw(link_params(lossy=lossy)))
    return topo


@st.composite
def fault_schedules(draw: st.DrawFn, topology: Topology, *, horizon: float = 60.0,
                    max_faults: int = 3) -> list[Fault]:
    """Faults for ``topology`` (link down/up windows, delay spikes, partitions) within ``horizon``."""
    links = [(a, b) for a, b, _ in topology.links()]
    nodes = topology.nodes()
    faults = []
    for _ in range(draw(st.integers(0, max_faults))):
        at = draw(st.floats(0.0, horizon))
        until = at + draw(st.floats(0.1, horizon / 2))
        kind = draw(st.sampled_from(["link_down", "delay_spike", "partition"]))
        if kind == "partition":
            side = draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=max(1, len(nodes) - 1),
                                 unique=True))
            faults.append(Fault("partition", at, until, None, tuple(side)))
        else:
            link = draw(st.sampled_from(links))
            extra = draw(st.floats(0.05, 2.0)) if kind == "delay_spike" else 0.0
            faults.append(Fault(kind, at, until, link, (), extra))
    return faults


@st.composite
def call_workloads(draw: st.DrawFn, endpoints: list[str], *, horizon: float = 60.0,
                   max_calls: int = 5) -> list[CallSpec]:
    """Calls between distinct ``endpoints``: start within ``horizon``, 1-60 s long."""
    calls = []
    for _ in range(draw(st.integers(1, max_calls))):
        caller = draw(st.sampled_from(endpoints))
        callee = draw(st.sampled_from([e for e in endpoints if e != caller]))
        calls.append(CallSpec(caller, callee, draw(st.floats(0.0, horizon)),
                              draw(st.floats(1.0, 60.0))))
    return sorted(calls, key=lambda c: (c.at, c.caller, c.callee))


@st.composite
def schedules(draw: st.DrawFn, phones: tuple[str, ...] = ("alice", "bob"),
              max_steps: int = 10) -> list[tuple[Any, ...]]:
    """``NetworkMachine`` schedules (for :func:`~simvoip.testing.machine.replay`) made of
    calls, hang-ups, time steps and loss patterns (no packet-id steps)."""
    links = sorted((a, b) for i, a in enumerate(phones) for b in phones[i + 1:])
    steps: list[tuple[Any, ...]] = []
    calls = 0
    for _ in range(draw(st.integers(1, max_steps))):
        kind = draw(st.sampled_from(["call", "hang_up", "advance", "loss"]))
        if kind == "call":
            caller = draw(st.sampled_from(phones))
            callee = draw(st.sampled_from([p for p in phones if p != caller]))
            steps.append(("place_call", caller, callee))
            calls += 1
        elif kind == "hang_up" and calls:
            steps.append(("hang_up", draw(st.integers(0, calls - 1))))
        elif kind == "loss" and links:
            a, b = draw(st.sampled_from(links))
            steps.append(("loss_pattern", a, b, tuple(draw(loss_patterns(8)))))
        else:
            steps.append(("advance_time", draw(st.sampled_from([0.01, 0.5, 1.0, 4.0, 40.0]))))
    return steps
