"""The call schedule of a scenario: fixed ``calls`` plus random ``traffic`` sources.

Each source draws from its own stream (``("traffic", <index>)`` under the
master seed), so adding a source or a link changes no other source's calls.

* :class:`PoissonSource`: Poisson arrivals at ``rate`` calls/s from one caller
  to one callee;
* :class:`PopulationSource`: Poisson arrivals at ``rate`` calls/s in total
  over many endpoints; each call picks its caller among the members and its
  callee among the targets (or the other members) uniformly;
* both take a busy-hour ``profile`` (piecewise-constant rate: ``(from_time,
  rate)`` steps; arrivals are drawn segment by segment, exact because the
  exponential is memoryless) and a holding-time law: ``exponential`` (mean
  ``mean_duration``), ``fixed`` or ``list`` (uniform choice among ``durations``);
* :class:`RegistrationStorm` places no calls: the simulation makes every member
  re-register at once (see :mod:`simvoip.sim.load`).

The UA cores place the calls.

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
import random
from collections.abc import Iterator

from simvoip.sim.schema import (
    CallSpec,
    PoissonSource,
    PopulationSource,
    RegistrationStorm,
    TrafficSource,
)
from simvoip.sim.seeding import derive_rng
from simvoip.sim.topology import Topology

__all__ = ["call_schedule", "poisson_calls", "iter_calls", "arrival_times", "rate_at",
           "CallSpec", "PoissonSource", "PopulationSource", "RegistrationStorm"]

CallSource = PoissonSource | PopulationSource


def rate_at(source: CallSource, t: float) -> float:
    """The arrival rate (calls/s) of ``source`` at time ``t`` (its busy-hour profile).

    >>> s = PoissonSource("a", "b", 1.0, 60.0, profile=((100.0, 5.0), (200.0, 0.5)))
    >>> rate_at(s, 50.0), rate_at(s, 150.0), rate_at(s, 250.0)
    (1.0, 5.0, 0.5)
    """
    rate = source.rate
    for begin, value in source.profile:
        if t < begin:
            break
        rate = value
    return rate


def arrival_times(source: CallSource, rng: random.Random, stop: float) -> Iterator[float]:
    """Arrival times of ``source`` in ``[start, stop)``, drawn from ``rng``.

    Without a profile this is one exponential draw per arrival (mean ``1 / rate``).
    With one, each piecewise-constant segment is drawn on its own: a draw that
    passes the segment's end is discarded and drawing restarts at the boundary.
    """
    t = source.start
    if not source.profile:
        while True:
            t += rng.expovariate(source.rate)
            if t >= stop:
                return
            yield t
    bounds = [b for b, _ in source.profile if b > t] + [math.inf]
    while t < stop:
        rate = rate_at(source, t)
        end = min(next(b for b in bounds if b > t), stop)
        if rate <= 0.0:
            t = end
            continue
        nxt = t + rng.expovariate(rate)
        if nxt >= end:
            t = end
            continue
        t = nxt
        yield t


def _holding(source: CallSource, rng: random.Random) -> float:
    if source.holding == "fixed":
        return source.mean_duration
    if source.holding == "list":
        return source.durations[rng.randrange(len(source.durations))]
    return rng.expovariate(1.0 / source.mean_duration)


def iter_calls(source: TrafficSource, seed: int, index: int,
               until: float = math.inf) -> Iterator[CallSpec]:
    """The calls of source number ``index`` in time order, generated lazily.

    >>> s = PopulationSource(("a", "b", "c"), rate=1.0, mean_duration=5.0, holding="fixed",
    ...                      stop=20.0)
    >>> calls = list(iter_calls(s, seed=1, index=0))
    >>> all(c.caller != c.callee and c.duration == 5.0 for c in calls)
    True
    """
    if isinstance(source, RegistrationStorm):
        return
    stop = min(source.stop, until)
    if math.isinf(stop):
        raise ValueError("a Poisson source needs a stop time (or pass until=...)")
    rng = derive_rng(seed, "traffic", str(index))
    if isinstance(source, PoissonSource):
        for t in arrival_times(source, rng, stop):
            yield CallSpec(source.caller, source.callee, t, _holding(source, rng))
        return
    members, targets = source.members, source.targets
    n = len(members)
    for t in arrival_times(source, rng, stop):
        i = rng.randrange(n)
        if targets:
            callee = targets[rng.randrange(len(targets))]
        else:
            j = rng.randrange(n - 1)
            callee = members[j + 1 if j >= i else j]
        yield CallSpec(members[i], callee, t, _holding(source, rng))


def poisson_calls(source: TrafficSource, seed: int, index: int,
                  until: float = math.inf) -> list[CallSpec]:
    """The calls of one source between ``source.start`` and ``min(stop, until)``."""
    return list(iter_calls(source, seed, index, until))


def call_schedule(topology: Topology, seed: int, until: float = math.inf) -> list[CallSpec]:
    """All calls of ``topology`` (fixed and random) in time order (stable on ties)."""
    calls = [c for c in topology.calls if c.at < until]
    for index, source in enumerate(topology.traffic):
        calls.extend(poisson_calls(source, seed, index, until))
    return sorted(calls, key=lambda c: c.at)
