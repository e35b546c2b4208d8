"""Long runs and load scenarios: streaming metrics, a limited trace, registration storms,
ready-made population and trunk-group topologies.

Streaming (memory stays flat)
-----------------------------
:func:`enable_streaming` switches a :class:`~simvoip.sim.simulation.Simulation`
to long-run mode before it runs: call arrivals of the ``traffic`` sources are
drawn lazily (one pending arrival per source instead of the whole schedule),
and ``linger`` seconds after a call has ended at its caller (when its last
transactions have terminated: 64*T1 covers Timer J/H), the call's
:meth:`~simvoip.sim.calls.SimCall.summary` is folded into a
:class:`StreamingMetrics` and the caller's and callee's records are released
(``UserAgent.forget``), together with its media streams. ``sim.calls`` stays
empty: read ``sim.telephony.streaming`` (or the return value of
:func:`enable_streaming`) instead. A :class:`SimCall` handle kept by the user
reads ``pending`` once its records are released.

The trace can be limited at the same time: ``trace="full"`` keeps every row,
``"sampled"`` keeps the rows of one call in ``sample`` (chosen by a CRC of the
Call-ID, so the same calls in every run) and the rows without a Call-ID,
``"metrics"`` keeps none.

>>> from simvoip.sim.simulation import Simulation
>>> topo = population_topology(20, rate=2.0, mean_duration=5.0, stop=60.0)
>>> sim = Simulation(topo, seed=3, media=False)
>>> metrics = enable_streaming(sim, trace="metrics")
>>> sim.run(until=120.0)
>>> metrics.count == metrics.outcomes["answered"] > 80, len(sim.trace), len(sim.calls)
(True, 0, 0)
>>> sum(len(ua.history) + len(ua.calls) for ua in sim.user_agents.values())
0
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simvoip.sim.schema import PopulationSource, RegistrationStorm, TopologyError
from simvoip.sim.topology import Topology

if TYPE_CHECKING:
    from simvoip.sim.simulation import Simulation

__all__ = ["StreamingMetrics", "RunningStat", "enable_streaming", "registration_storm",
           "population_topology", "trunk_topology", "TRACE_MODES", "DiscardRecords",
           "SampledRecords"]

TRACE_MODES = ("full", "sampled", "metrics")


@dataclass(slots=True)
class RunningStat:
    """Count, mean, variance (Welford), min and max of a stream of numbers.

    >>> s = RunningStat()
    >>> for x in (1.0, 2.0, 3.0, 4.0): s.add(x)
    >>> s.count, s.mean, round(s.std, 4), s.min, s.max
    (4, 2.5, 1.291, 1.0, 4.0)
    """

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    min: float = math.inf
    max: float = -math.inf

    def add(self, x: float) -> None:
        self.count += 1
        delta = x - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (x - self.mean)
        if x < self.min:
            self.min = x
        if x > self.max:
            self.max = x

    @property
    def std(self) -> float:
        """Sample standard deviation (NaN below two values)."""
        return math.sqrt(self.m2 / (self.count - 1)) if self.count > 1 else math.nan


@dataclass(slots=True)
class StreamingMetrics:
    """Per-call metrics folded as calls finish: counters and running statistics.

    ``good`` counts answered calls set up within ``setup_limit`` seconds (the
    "goodput" of overload studies: a call that takes longer is as good as lost).

    >>> m = StreamingMetrics()
    >>> m.add({"outcome": "answered", "final_status": 200, "pdd": 0.1, "setup_time": 1.1,
    ...        "retransmissions": 0, "mos": 4.3})
    >>> m.add({"outcome": "failed", "final_status": 503, "pdd": None, "setup_time": None,
    ...        "retransmissions": 2, "mos": None})
    >>> m.count, m.outcomes["answered"], m.statuses[503], m.retransmissions, m.pdd.mean
    (2, 1, 1, 2, 0.1)
    >>> m.as_dict()["answered_ratio"]
    0.5
    """

    count: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    retransmissions: int = 0
    pdd: RunningStat = field(default_factory=RunningStat)
    setup_time: RunningStat = field(default_factory=RunningStat)
    mos: RunningStat = field(default_factory=RunningStat)
    setup_limit: float = 2.0
    good: int = 0

    def add(self, summary: dict[str, Any]) -> None:
        """Fold one :meth:`SimCall.summary` row in."""
        self.count += 1
        self.outcomes[summary["outcome"]] += 1
        status = summary.get("final_status")
        if status is not None:
            self.statuses[status] += 1
        self.retransmissions += summary.get("retransmissions") or 0
        setup = summary.get("setup_time")
        if setup is not None and setup <= self.setup_limit:
            self.good += 1
        for name in ("pdd", "setup_time", "mos"):
            value = summary.get(name)
            if value is not None:
                getattr(self, name).add(value)

    def as_dict(self) -> dict[str, Any]:
        """A flat dict of the figures (for a sweep's ``scenario_factory``)."""
        n = self.count
        return {
            "calls": n,
            "answered": self.outcomes["answered"],
            "answered_ratio": self.outcomes["answered"] / n if n else math.nan,
            "good": self.good,
            "retransmissions": self.retransmissions,
            "pdd_mean": self.pdd.mean if self.pdd.count else math.nan,
            "setup_time_mean": self.setup_time.mean if self.setup_time.count else math.nan,
            "setup_time_max": self.setup_time.max if self.setup_time.count else math.nan,
            "mos_mean": self.mos.mean if self.mos.count else math.nan,
            "mos_min": self.mos.min if self.mos.count else math.nan,
        }


class DiscardRecords(list):  # type: ignore[type-arg]
    """A trace ``records`` list that keeps nothing (``trace="metrics"``)."""

    def append(self, item: Any) -> None:
        return None


class SampledRecords(list):  # type: ignore[type-arg]
    """A trace ``records`` list keeping rows of one call in ``every`` (and Call-ID-less rows).

    >>> r = SampledRecords(4)
    >>> for cid in ("a", "b", "c", "d", "e", "f", "g", "h", None):
    ...     r.append((0.0, "send", "n", None, "sip", None, None, None, cid))
    >>> [row[8] for row in r]
    ['d', 'f', None]
    """

    def __init__(self, every: int) -> None:
        super().__init__()
        self.every = max(1, int(every))

    def append(self, item: Any) -> None:
        call_id = item[8]
        if call_id is None or zlib.crc32(str(call_id).encode()) % self.every == 0:
            super().append(item)


def enable_streaming(sim: Simulation, *, trace: str = "metrics", sample: int = 100,
                     linger: float | None = None,
                     setup_limit: float = 2.0) -> StreamingMetrics:
    """Switch ``sim`` to long-run mode (see the module docstring); returns the metrics.

    Call before ``sim.run``. ``linger`` defaults to ``64 * T1 + 1`` seconds;
    ``setup_limit`` is the set-up time under which an answered call is "good".
    """
    if trace not in TRACE_MODES:
        raise ValueError(f"trace must be one of {', '.join(TRACE_MODES)}, got {trace!r}")
    if trace == "metrics":
        sim.trace.records = DiscardRecords()
        sim.trace.enabled = False  # the simulator need not even build the rows
    elif trace == "sampled":
        kept = SampledRecords(sample)
        kept.extend(sim.trace.records)
        sim.trace.records = kept
    metrics = StreamingMetrics(setup_limit=setup_limit)
    tel = sim.telephony
    tel.streaming = metrics
    tel.linger = 64 * sim.timers.t1 + 1.0 if linger is None else float(linger)
    # Calls made before the switch stay in sim.calls; new ones are streamed.
    return metrics


def registration_storm(sim: Simulation, at: float, members: list[str] | None = None, *,
                       spread: float = 0.0, clear_bindings: bool = False) -> RegistrationStorm:
    """Make every endpoint in ``members`` (default: all that register) re-register at ``at``.

    Typical use: a fault takes the registrar's link down, and at recovery every
    phone registers again at once. Times within ``[at, at + spread]`` are drawn
    from the storm's own stream. Returns the scheduled :class:`RegistrationStorm`.
    """
    tel = sim.telephony
    tel.ensure()
    if members is None:
        members = [n for n, ua in tel.user_agents.items() if ua.config.registrar is not None]
    if not members:
        raise TopologyError("registration_storm: no endpoint to register")
    storm = RegistrationStorm(tuple(members), float(at), float(spread), clear_bindings)
    tel.schedule_storm(storm, f"storm-{len(tel.storms)}")
    return storm


def population_topology(n: int, *, rate: float, mean_duration: float, stop: float,
                        holding: str = "exponential", domain: str = "pop.example",
                        delay: float = 0.005, proxy: dict[str, Any] | None = None,
                        trunk_channels: int | None = None,
                        trunk: dict[str, Any] | None = None,
                        answer_delay: float = 0.0, ring_delay: float | None = 0.0,
                        name: str = "population") -> Topology:
    """``n`` phones ``ep0`` ... behind one proxy, calling each other (or a trunk).

    The population source offers ``rate`` calls/s in total. With
    ``trunk_channels`` a trunk node ``gw`` (``channels`` circuits, attributes
    ``trunk``) hangs off the proxy and every call goes to it
    (``sip:gw@gw`` via the proxy); otherwise each call picks another member.
    ``proxy`` holds extra proxy node attributes (``capacity``, ``queue``,
    ``params`` ...). Phones answer after ``answer_delay`` (ringing after ``ring_delay``).

    >>> topo = population_topology(3, rate=1.0, mean_duration=10.0, stop=5.0)
    >>> topo.nodes("endpoint"), topo.traffic[0].members
    (['ep0', 'ep1', 'ep2'], ('ep0', 'ep1', 'ep2'))
    """
    topo = Topology(name=name)
    topo.add_proxy("proxy", domain=domain, **(proxy or {}))
    params: dict[str, Any] = {"answer_delay": answer_delay, "ring_delay": ring_delay}
    members = [f"ep{i}" for i in range(n)]
    for m in members:
        topo.add_endpoint(m, domain=domain, params=params)
        topo.add_link(m, "proxy", delay=delay)
    targets: tuple[str, ...] = ()
    if trunk_channels is not None:
        topo._add_node("trunk", "gw", {"channels": trunk_channels, **(trunk or {})}, "gw")
        topo.add_link("proxy", "gw", delay=delay)
        targets = ("sip:gw@gw",)
    source = PopulationSource(tuple(members), rate, mean_duration, targets=targets, stop=stop,
                              holding=holding)
    topo.traffic.append(source)  # type: ignore[arg-type]  # Topology.traffic: any TrafficSource
    return topo


def trunk_topology(traffic: float, channels: int, *, mean_duration: float = 60.0,
                   stop: float = 3600.0, busy_code: int = 503, holding: str = "exponential",
                   delay: float = 0.001) -> Topology:
    """An Erlang B test bench: one caller offers ``traffic`` Erlangs to an N-channel trunk.

    Poisson arrivals at ``traffic / mean_duration`` calls/s from ``pbx`` straight
    to trunk ``gw`` (no proxy), holding times with mean ``mean_duration``.

    >>> topo = trunk_topology(5.0, channels=5, mean_duration=10.0, stop=100.0)
    >>> topo.kind("gw"), topo.graph.nodes["gw"]["channels"], topo.traffic[0].rate
    ('trunk', 5, 0.5)
    """
    topo = Topology(name="trunk-group")
    topo.add_endpoint("pbx")
    topo._add_node("trunk", "gw", {"channels": channels, "params": {"busy_code": busy_code}},
                   "gw")
    topo.add_link("pbx", "gw", delay=delay)
    from simvoip.sim.schema import PoissonSource

    topo.traffic.append(PoissonSource("pbx", "sip:gw@gw", traffic / mean_duration,
                                      mean_duration, stop=stop, holding=holding))
    return topo
