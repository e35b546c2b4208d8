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
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from simvoip.sim.calls import SimCall
from simvoip.sim.elements import QueueProbedProxy, build_proxy, build_trunk, build_user_agent
from simvoip.sim.schema import CallSpec, PopulationSource, RegistrationStorm, TopologyError
from simvoip.sim.seeding import derive_rng
from simvoip.sim.traffic import iter_calls, poisson_calls
from simvoip.sip.proxy import Proxy
from simvoip.sip.ua import UserAgent
from simvoip.sip.ua.events import CallAnswered, CallEnded, CallFailed, IncomingCall

if TYPE_CHECKING:
    from simvoip.sim.load import StreamingMetrics
    from simvoip.sim.node import Node
    from simvoip.sim.simulation import Simulation

#: Node kinds that get a UA core (a trunk is a UA with N channels).
_UA_KINDS = ("endpoint", "trunk")

__all__ = ["Telephony"]


def _uri_host(uri: str) -> str:
    """Host of a SIP URI text (``sip:bob@bob.desk:5060;transport=udp`` -> ``bob.desk``)."""
    from simvoip.sip.uri import SipUri

    return SipUri.parse(uri.strip("<>")).host


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
        #: Long-run mode (see :func:`simvoip.sim.load.enable_streaming`): metrics that
        #: finished calls are folded into, and how long after its end a call is released.
        self.streaming: StreamingMetrics | None = None
        self.linger = 33.0
        self.storms: list[RegistrationStorm] = []
        self._lazy: dict[int, tuple[Iterator[CallSpec], CallSpec | None]] = {}
        self._storms_done: set[int] = set()
        #: Call-IDs of calls placed in long-run mode (released when they end).
        self._streamed: set[str] = set()

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
                if isinstance(proxy, QueueProbedProxy):
                    proxy.queue_probe = _queue_probe(sim.nodes[name])
        for name in topo.nodes():
            kind = topo.kind(name)
            if kind not in _UA_KINDS:
                continue
            if kind == "trunk":
                ua: UserAgent = build_trunk(topo, name, sim.rng("core", name), sim.timers)
            else:
                ua = build_user_agent(topo, name, sim.rng("core", name), sim.timers)
            self.user_agents[name] = ua
            sim.nodes[name].add_core(ua, primary=True)
            params = topo.graph.nodes[name].get("params") or {}
            if ua.config.registrar is not None and params.get("register", True):
                sim.at(sim.now, partial(self._register, name))

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
            if topo.kind(callee) not in _UA_KINDS:
                raise TopologyError(f"sim.call: to: {callee!r} is a {topo.kind(callee)}, "
                                    "not an endpoint or trunk")
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
        streamed = self.streaming is not None
        if not streamed:
            self.calls.append(call)
        self.sim.at(at, lambda: self._place(call, streamed))
        return call

    def _place(self, call: SimCall, streamed: bool = False) -> None:
        ua = self.user_agents[call.caller]
        call_id, outputs = ua.invite(call.target, self.sim.now, hangup_after=call.duration)
        call.call_id = call_id
        self.by_call_id[call_id] = call
        if streamed:
            self._streamed.add(call_id)
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
        self.ensure()
        for index, source in enumerate(topo.traffic):
            if isinstance(source, RegistrationStorm):
                if index not in self._storms_done and source.at < limit:
                    self._storms_done.add(index)
                    self._check_members(source.members, f"traffic[{index}]", "register")
                    self.schedule_storm(source, str(index))
                continue
            stop = min(source.stop, limit)
            if math.isinf(stop):
                raise TopologyError(f"{topo.source}: traffic[{index}].stop: a Poisson source "
                                    "needs a stop time when run() has no 'until'")
            if isinstance(source, PopulationSource) and index not in self._lazy:
                self._check_members(source.members, f"traffic[{index}]", "call")
            if self.streaming is not None:
                self._lazy_traffic(index, source, limit)
                continue
            for spec in poisson_calls(source, self.sim.seed, index, limit):
                if spec.at >= self._traffic_until:
                    self.call(spec.caller, spec.callee, spec.at, spec.duration)
        self._traffic_until = limit

    def _check_members(self, members: tuple[str, ...], path: str, what: str) -> None:
        topo = self.sim.topology
        for m in members:
            if m not in topo.graph or topo.kind(m) != "endpoint":
                raise TopologyError(f"{topo.source}: {path}.from: {m!r} is not an endpoint")
            if what == "register" and self.user_agents[m].config.registrar is None:
                raise TopologyError(f"{topo.source}: {path}.from: {m!r} has no registrar")

    # -- long runs: arrivals drawn one at a time -----------------------------------------
    def _lazy_traffic(self, index: int, source: Any, limit: float) -> None:
        """Schedule source ``index``'s arrivals before ``limit``, one pending at a time."""
        if index not in self._lazy:
            stream = iter_calls(source, self.sim.seed, index)
            self._lazy[index] = (stream, next(stream, None))
            self._arm_next(index, limit)
        elif self._lazy[index][1] is not None:
            self._arm_next(index, limit)

    def _arm_next(self, index: int, limit: float) -> None:
        stream, spec = self._lazy[index]
        if spec is None or spec.at >= limit:
            return
        self._lazy[index] = (stream, None)
        self.sim.at(spec.at, lambda: self._arrival(index, spec))

    def _arrival(self, index: int, spec: CallSpec) -> None:
        stream, _ = self._lazy[index]
        self._lazy[index] = (stream, next(stream, None))
        self.call(spec.caller, spec.callee, spec.at, spec.duration)
        self._arm_next(index, self._traffic_until)

    def _release(self, call: SimCall, tries: int = 0) -> None:
        """Fold a finished call into the streaming metrics and drop its records."""
        assert self.streaming is not None and call.call_id is not None
        call_id = call.call_id
        peers = [n for n in (call.caller, call.callee) if n is not None]
        pending = [n for n in peers if call_id in self.user_agents[n].calls]
        if pending and tries < 3:
            # A transaction of the call is still alive: look again later.
            self.sim.at(self.sim.now + self.linger, lambda: self._release(call, tries + 1))
            return
        self.streaming.add(call.summary())
        for n in peers:
            self.user_agents[n].forget(call_id)
            self.sim.media.streams.pop((call_id, n), None)
            self.sim.media.rtcp.pop((call_id, n), None)
        self.by_call_id.pop(call_id, None)
        self._streamed.discard(call_id)

    # -- registration storms -------------------------------------------------------------
    def schedule_storm(self, storm: RegistrationStorm, stream: str) -> None:
        """Every member re-registers at ``storm.at`` (within ``spread``)."""
        self.ensure()
        self.storms.append(storm)
        sim = self.sim
        rng = derive_rng(sim.seed, "traffic", stream)
        if storm.clear_bindings:
            sim.at(storm.at, lambda: self._clear_bindings(storm))
        for m in storm.members:
            at = storm.at + (rng.uniform(0.0, storm.spread) if storm.spread > 0 else 0.0)
            sim.at(at, partial(self._register, m))

    def _register(self, node: str) -> None:
        self._run(node, self.user_agents[node].register(self.sim.now))

    def _clear_bindings(self, storm: RegistrationStorm) -> None:
        topo = self.sim.topology
        domains = {topo.graph.nodes[m].get("domain") for m in storm.members}
        for name, proxy in self.proxies.items():
            if topo.graph.nodes[name].get("domain") in domains:
                location = proxy.location
                for aor in location.aors():
                    for binding in location.bindings(aor, -math.inf):
                        location.remove(aor, binding.contact)

    # -- events from the cores ----------------------------------------------------------
    def event(self, node: str, event: Any) -> None:
        """A user event from the core on ``node``: trace it, follow the call."""
        sim = self.sim
        call_id = getattr(event, "call_id", None)
        if sim.trace.enabled:
            sim.trace.record(sim.now, "state", node, None, call_id=call_id,
                             status=getattr(event, "status", None), cause=type(event).__name__)
        call = self.by_call_id.get(call_id) if call_id is not None else None
        if call is None or call_id is None:
            return
        if isinstance(event, IncomingCall):
            if call.callee is None:
                call.callee = node
        elif isinstance(event, CallAnswered):
            ua = self.user_agents[node]
            record = ua.calls.get(call_id) or ua.history.get(call_id)
            if record is None:
                return
            if node == call.caller:
                # With forking several phones may answer; the caller's confirmed
                # dialog names the one it keeps (its remote target, RFC 3261 12.1.2).
                dialog = record.dialog
                if dialog is not None:
                    answered = sim.topology.resolve(_uri_host(str(dialog.remote_target)))
                    if answered is not None:
                        call.callee = answered
                peer = call.callee
            else:
                peer = call.caller
            if sim.media_enabled and peer is not None:
                sim.media.start(call_id, node, peer, record)
        elif isinstance(event, (CallEnded, CallFailed)):
            sim.media.stop(call_id, node)
            if node == call.caller and call_id in self._streamed:
                sim.at(sim.now + self.linger, lambda: self._release(call))


def _queue_probe(node: Node) -> Any:
    """``now -> messages waiting at node`` (see :meth:`Node.queue_length`)."""
    return node.queue_length
