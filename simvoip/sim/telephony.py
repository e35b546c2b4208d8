"""Phones and proxies in a simulation: element cores on nodes, calls, their events.

:class:`Telephony` is the part of a :class:`~simvoip.sim.simulation.Simulation`
that places calls. On first use it puts a :class:`~simvoip.sip.ua.UserAgent`
on every endpoint and a :class:`~simvoip.sip.proxy.Proxy` (with registrar) on
every proxy or registrar node (see :mod:`simvoip.sim.elements`), registers
the endpoints that have a registrar at the current time, and from then on
turns the cores' user events into ``state`` trace rows, call records and
media streams. It decides nothing about SIP itself: the cores do.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from simvoip.sim.calls import SimCall
from simvoip.sim.elements import build_proxy, build_user_agent
from simvoip.sim.schema import CallSpec, TopologyError
from simvoip.sim.traffic import poisson_calls
from simvoip.sip.proxy import Proxy
from simvoip.sip.ua import UserAgent
from simvoip.sip.ua.events import CallAnswered, CallEnded, CallFailed, IncomingCall

if TYPE_CHECKING:
    from simvoip.sim.simulation import Simulation

__all__ = ["Telephony"]


class Telephony:
    """UA and proxy cores of one simulation, and the calls placed through them."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.user_agents: dict[str, UserAgent] = {}
        self.proxies: dict[str, Proxy] = {}
        self.calls: list[SimCall] = []
        self.by_call_id: dict[str, SimCall] = {}
        self.ready = False
        self._traffic_until = -math.inf

    # -- set-up -------------------------------------------------------------------------
    def ensure(self) -> None:
        """Build the element cores (once) and register the endpoints now."""
        if self.ready:
            return
        self.ready = True
        sim = self.sim
        topo = sim.topology
        for name in topo.nodes():
            kind = topo.kind(name)
            if kind in ("proxy", "registrar"):
                proxy = build_proxy(topo, name, sim.rng("core", name), sim.timers)
                self.proxies[name] = proxy
                sim.nodes[name].add_core(proxy, primary=True)
        for name in topo.nodes("endpoint"):
            ua = build_user_agent(topo, name, sim.rng("core", name), sim.timers)
            self.user_agents[name] = ua
            sim.nodes[name].add_core(ua, primary=True)
            params = topo.graph.nodes[name].get("params") or {}
            if ua.config.registrar is not None and params.get("register", True):
                sim.at(sim.now, lambda n=name, u=ua: self._run(n, u.register(self.sim.now)))

    def _run(self, node: str, outputs: list[Any]) -> None:
        self.sim.nodes[node].run_element(self.user_agents[node], outputs, self.sim.now)

    # -- calls --------------------------------------------------------------------------
    def target_uri(self, callee: str) -> str:
        """The Request-URI for ``callee``: an endpoint node, ``user@domain`` or a URI.

        An endpoint whose domain has a proxy is called by its address-of-record
        (the proxy finds it through the registrar); one without is called
        directly at its own host.
        """
        topo = self.sim.topology
        if callee.startswith(("sip:", "sips:", "tel:")):
            return callee
        if callee in topo.graph:
            if topo.kind(callee) != "endpoint":
                raise TopologyError(f"sim.call: to: {callee!r} is a {topo.kind(callee)}, "
                                    "not an endpoint")
            attrs = topo.graph.nodes[callee]
            user = attrs.get("user") or callee
            domain = attrs.get("domain")
            if domain and topo.proxy_for(domain):
                return f"sip:{user}@{domain}"
            return f"sip:{user}@{callee}"
        if "@" in callee:
            return f"sip:{callee}"
        raise TopologyError(f"sim.call: to: {callee!r} is no node, user@domain or SIP URI")

    def call(self, caller: str, callee: str, at: float, duration: float | None) -> SimCall:
        topo = self.sim.topology
        if caller not in topo.graph or topo.kind(caller) != "endpoint":
            raise TopologyError(f"sim.call: from: {caller!r} is not an endpoint of the topology")
        if not (isinstance(at, (int, float)) and math.isfinite(at) and at >= 0):
            raise TopologyError(f"sim.call: at: must be a time >= 0, got {at!r}")
        if duration is not None and not (isinstance(duration, (int, float)) and duration >= 0):
            raise TopologyError(f"sim.call: duration: must be >= 0 seconds, got {duration!r}")
        target = self.target_uri(callee)
        self.ensure()
        call = SimCall(self.sim, caller, target, float(at), duration)
        self.calls.append(call)
        self.sim.at(at, lambda: self._place(call))
        return call

    def _place(self, call: SimCall) -> None:
        ua = self.user_agents[call.caller]
        call_id, outputs = ua.invite(call.target, self.sim.now, hangup_after=call.duration)
        call.call_id = call_id
        self.by_call_id[call_id] = call
        self._run(call.caller, outputs)

    def schedule(self, specs: list[CallSpec]) -> None:
        for spec in specs:
            self.call(spec.caller, spec.callee, spec.at, spec.duration)

    def schedule_traffic(self, until: float | None) -> None:
        """Place the topology's Poisson calls with arrival times up to ``until``."""
        topo = self.sim.topology
        if not topo.traffic:
            return
        limit = math.inf if until is None else until
        if limit <= self._traffic_until:
            return
        for index, source in enumerate(topo.traffic):
            stop = min(source.stop, limit)
            if math.isinf(stop):
                raise TopologyError(f"{topo.source}: traffic[{index}].stop: a Poisson source "
                                    "needs a stop time when run() has no 'until'")
            for spec in poisson_calls(source, self.sim.seed, index, limit):
                if spec.at >= self._traffic_until:
                    self.call(spec.caller, spec.callee, spec.at, spec.duration)
        self._traffic_until = limit

    # -- events from the cores ----------------------------------------------------------
    def event(self, node: str, event: Any) -> None:
        """A user event from the core on ``node``: trace it, follow the call."""
        sim = self.sim
        call_id = getattr(event, "call_id", None)
        sim.trace.record(sim.now, "state", node, None, call_id=call_id,
                         status=getattr(event, "status", None), cause=type(event).__name__)
        call = self.by_call_id.get(call_id) if call_id is not None else None
        if call is None:
            return
        if isinstance(event, IncomingCall):
            if call.callee is None:
                call.callee = node
        elif isinstance(event, CallAnswered):
            if node != call.caller:
                call.callee = node  # with forking: the phone that answered
            if not sim.media_enabled:
                return
            peer = call.callee if node == call.caller else call.caller
            ua = self.user_agents[node]
            record = ua.calls.get(call_id) or ua.history.get(call_id)
            if peer is not None and record is not None:
                sim.media.start(call_id, node, peer, record)
        elif isinstance(event, (CallEnded, CallFailed)):
            sim.media.stop(call_id, node)
