"""The call schedule of a scenario: fixed ``calls`` plus Poisson ``traffic`` sources.

Each Poisson source draws from its own stream (``("traffic", <index>)`` under
the master seed), so adding a source or a link changes no other source's
calls. Inter-arrival times are exponential with mean ``1 / rate``, holding
times exponential with mean ``mean_duration``. The UA cores place the calls.

>>> from simvoip.sim.topology import Topology
>>> topo = Topology()
>>> topo.add_endpoint("alice", domain="a.example")
>>> topo.add_endpoint("bob", domain="a.example")
>>> topo.add_call("alice", "bob", at=1.0, duration=30.0)
>>> topo.traffic.append(PoissonSource("alice", "bob", rate=0.5, mean_duration=60.0, stop=10.0))
>>> calls = call_schedule(topo, seed=1)
>>> calls[0].at <= calls[-1].at and CallSpec("alice", "bob", 1.0, 30.0) in calls
True
>>> call_schedule(topo, seed=1) == calls
True
"""

from __future__ import annotations

import math

from simvoip.sim.schema import CallSpec, PoissonSource
from simvoip.sim.seeding import derive_rng
from simvoip.sim.topology import Topology

__all__ = ["call_schedule", "poisson_calls", "CallSpec", "PoissonSource"]


def poisson_calls(source: PoissonSource, seed: int, index: int,
                  until: float = math.inf) -> list[CallSpec]:
    """The calls of one Poisson source between ``source.start`` and ``min(stop, until)``."""
    stop = min(source.stop, until)
    if math.isinf(stop):
        raise ValueError("a Poisson source needs a stop time (or pass until=...)")
    rng = derive_rng(seed, "traffic", str(index))
    calls: list[CallSpec] = []
    t = source.start
    while True:
        t += rng.expovariate(source.rate)
        if t >= stop:
            return calls
        calls.append(CallSpec(source.caller, source.callee, t,
                              rng.expovariate(1.0 / source.mean_duration)))


def call_schedule(topology: Topology, seed: int, until: float = math.inf) -> list[CallSpec]:
    """All calls of ``topology`` (fixed and Poisson) in time order (stable on ties)."""
    calls = [c for c in topology.calls if c.at < until]
    for index, source in enumerate(topology.traffic):
        calls.extend(poisson_calls(source, seed, index, until))
    return sorted(calls, key=lambda c: c.at)
