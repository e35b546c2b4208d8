"""A scenario: topology + seed -> SimPy world of links, nodes and cores, and its trace.

>>> from simvoip.sim.topology import Topology
>>> from simvoip.sim.driver import make_request
>>> topo = Topology()
>>> topo.add_endpoint("alice", domain="a.example")
>>> topo.add_endpoint("bob", domain="b.example")
>>> topo.add_link("alice", "bob", delay=0.010)
>>> sim = Simulation(topo, seed=7)
>>> responder = sim.serve_options("bob")
>>> req = make_request("OPTIONS", "alice", "sip:bob@bob", call_id="c1", branch="z9hG4bK1")
>>> outcome = sim.send_request("alice", req, at=0.0)
>>> sim.run(until=60.0)
>>> outcome.outcome, outcome.final.status_code, round(outcome.final_at, 3)
('answered', 200, 0.02)
>>> list(sim.trace.to_dataframe()["event"][:2])
['state', 'send']
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from functools import partial
from typing import Any

import simpy

from simvoip.sim.calls import SimCall
from simvoip.sim.driver import OptionsResponder, RequestDriver, RequestOutcome, uri_host
from simvoip.sim.lanes import TimerLanes
from simvoip.sim.link import LinkDirection, LinkParams
from simvoip.sim.loop import run_env
from simvoip.sim.media import MediaPlane
from simvoip.sim.node import Node
from simvoip.sim.seeding import derive_rng
from simvoip.sim.telephony import Telephony
from simvoip.sim.topology import Fault, Topology, Weight
from simvoip.sim.trace import Trace
from simvoip.sim.transport import Network, Packet, Wakeup, compact_queue, wake
from simvoip.sip.effects import Address, fast_address
from simvoip.sip.message import Request
from simvoip.sip.transaction.timers import TimerConfig

__all__ = ["Simulation", "TimerConfig"]


def _run_action(event: Wakeup) -> None:
    event.a()


_RUN_ACTION = (_run_action,)


class Simulation:
    """Run SIP cores over a simulated network.

    Parameters
    ----------
    topology : Topology
        Nodes, links, scheduled faults (and calls, for the UA cores).
    seed : int, optional
        Master seed; defaults to ``topology.seed`` or 0. Every link direction
        and traffic source draws from its own stream derived from it
        (:mod:`simvoip.sim.seeding`).
    timers : TimerConfig, optional
        T1, T2, T4 for every transaction (RFC 3261 Table 4 defaults).
    weight : str or callable
        Routing metric for shortest paths (default ``"delay"``).
    tcp_max_retries : int
        Retransmissions before a simulated TCP connection fails.
    """

    def __init__(
        self, topology: Topology, seed: int | None = None, *, timers: TimerConfig | None = None,
        weight: Weight = "delay", tcp_max_retries: int = 5, media: bool | None = None,
    ) -> None:
        self.topology = topology
        self.seed = int(seed if seed is not None else (topology.seed or 0))
        self.timers = timers or TimerConfig()
        self.env = simpy.Environment()
        self._cancelled = 0  # cancelled Wakeups still in the event queue
        self.trace = Trace(node_order=topology.nodes(), addresses=topology.ip_addresses())
        self.directions: dict[tuple[str, str], LinkDirection] = {}
        for a, b, attrs in topology.links():
            params = LinkParams.from_attrs(attrs)
            for u, v in ((a, b), (b, a)):
                self.directions[(u, v)] = LinkDirection(
                    f"{u}->{v}", params, self.rng("link", attrs["name"], f"{u}->{v}"))
        #: Transaction and core timers wait here (their order is SimPy's; see lanes.py).
        self.lanes = TimerLanes(self.env)
        self.network = Network(self.env, topology, self.trace, self.directions,
                               weight=weight, tcp_max_retries=tcp_max_retries)
        self.network.transport_failed = self._transport_failed
        self.nodes: dict[str, Node] = {
            name: Node(self, name, dict(topology.graph.nodes[name])) for name in topology.nodes()
        }
        self.network.receivers.update((name, node.receive) for name, node in self.nodes.items())
        self._driver: dict[str, RequestDriver] = {}
        #: RTP streams of answered calls (per-packet, over the same links).
        self.media_enabled = topology.media if media is None else media
        self.media = MediaPlane(self)
        self.telephony = Telephony(self)
        self._down_count: dict[tuple[str, str], int] = {}
        for fault in topology.faults:
            self._schedule_fault(fault)
        for a, b, attrs in topology.links():
            for item in attrs.get("faults") or ():
                kind = "link_down" if item["type"] == "down" else "delay_spike"
                self._schedule_fault(Fault(kind, float(item["at"]), item.get("until"), (a, b),
                                           (), float(item.get("extra_delay", 0.0))))

        if topology.calls or topology.traffic:
            self.telephony.ensure()
            self.telephony.schedule(list(topology.calls))

    # -- calls -----------------------------------------------------------------------
    def call(self, caller: str, callee: str, *, at: float = 0.0,
             duration: float | None = None) -> SimCall:
        """Place a call from endpoint ``caller`` to ``callee`` at simulated time ``at``.

        ``callee`` is an endpoint name, ``user@domain`` or a SIP URI. The
        caller hangs up (BYE) ``duration`` seconds after the call is answered
        (``None``: never). Returns a :class:`~simvoip.sim.calls.SimCall` that
        fills in as the run proceeds (``outcome``, ``pdd``, ``setup_time``,
        ``final_status``, ``retransmissions``, ``mos`` ...).

        The calls and traffic of a topology file are placed on their own when
        the simulation is built; ``sim.call`` adds calls to them.
        """
        return self.telephony.call(caller, callee, at, duration)

    @property
    def calls(self) -> list[SimCall]:
        """Every call placed so far (``sim.call`` and the topology's calls/traffic)."""
        return self.telephony.calls

    @property
    def user_agents(self) -> dict[str, Any]:
        """The :class:`~simvoip.sip.ua.UserAgent` of each endpoint (built on first use)."""
        self.telephony.ensure()
        return self.telephony.user_agents

    @property
    def proxies(self) -> dict[str, Any]:
        """The :class:`~simvoip.sip.proxy.Proxy` of each proxy/registrar node."""
        self.telephony.ensure()
        return self.telephony.proxies

    def link_metrics(self) -> Any:
        """Per link direction: sent, delivered, lost by cause, queued, utilisation."""
        from simvoip.sim.stats import link_metrics

        return link_metrics(self)

    def node_metrics(self) -> Any:
        """Per node: SIP messages in and out, parse errors, overload drops, deepest queue."""
        from simvoip.sim.stats import node_metrics

        return node_metrics(self)

    def element_event(self, node: str, event: Any) -> None:
        """A user event from an element core (called by the node adapter)."""
        self.telephony.event(node, event)

    def deliver_media(self, packet: Packet, now: float) -> None:
        """An RTP/RTCP packet reached its destination (called by the node adapter)."""
        self.media.deliver(packet, now)

    def timer_cancelled(self) -> None:
        """A scheduled :class:`~simvoip.sim.transport.Wakeup` was cancelled (node adapter).

        Once cancelled events are half of what waits (SimPy's queue and the
        timer lanes) and at least 4,096, they are dropped
        (:func:`~simvoip.sim.transport.compact_queue`,
        :meth:`~simvoip.sim.lanes.TimerLanes.compact`): the work is linear in
        what waits, so it costs O(1) per cancellation.
        """
        self._cancelled += 1
        if (self._cancelled >= 4096
                and 2 * self._cancelled >= len(self.env._queue) + self.lanes.pending()):  # type: ignore[attr-defined]
            compact_queue(self.env)
            self.lanes.compact()
            self._cancelled = 0

    # -- running ---------------------------------------------------------------------
    def run(self, until: float | None = None, *, pause_gc: bool = False) -> None:
        """Advance simulated time to ``until`` (or until nothing is left to do).

        A run keeps many SIP messages alive at once (transactions linger 32 s in
        Completed), and the cyclic garbage collector's passes over them are a
        large part of a run's time: a collection of the middle generation
        walks every object that survived a young collection since the last
        one, and almost every SIP object does survive one (its transaction
        outlives 700 allocations). So during the run that middle generation is
        collected 1,000 times less often (``gc.set_threshold(700, 10000, 1000)``,
        restored after): an object is mostly walked once, young, and by the
        time the middle generation comes round most transactions are gone.
        Garbage cycles are still collected, only later; the simulator itself
        makes almost none (a run of 2,000 calls leaves 16 objects for the
        cyclic collector), so little waits for it. ``pause_gc=True``
        switches the cyclic collector off altogether (memory of any reference
        cycles is then only reclaimed after the run). Neither changes the
        trace: nothing in the simulation depends on when collections happen.
        See ``benchmarks/bench_sim.py``.

        The events are processed by :func:`~simvoip.sim.loop.run_env`, which
        is ``env.run(until)`` with SimPy's step inlined (same events, same order).
        """
        self.telephony.schedule_traffic(until)
        was_enabled = gc.isenabled()
        thresholds = gc.get_threshold()
        gc.set_threshold(max(thresholds[0], 700), max(thresholds[1], 10000),
                         max(thresholds[2], 1000))
        if pause_gc:
            gc.disable()
        try:
            run_env(self.env, until)  # env.run(until), one call per event less
        finally:
            gc.set_threshold(*thresholds)
            if was_enabled:
                gc.enable()

    @property
    def now(self) -> float:
        return float(self.env.now)

    def rng(self, *name: str) -> Any:
        """An independent ``random.Random`` for the stream ``name`` (same seed, same draws)."""
        return derive_rng(self.seed, *name)

    def at(self, time: float, action: Callable[[], None]) -> None:
        """Call ``action()`` at simulated ``time`` (now if in the past)."""
        wake(self.env, max(0.0, time - self.env._now), _RUN_ACTION, action, None)  # type: ignore[attr-defined]

    # -- cores -----------------------------------------------------------------------
    def add_core(self, node: str, core: Any, primary: bool = True) -> None:
        """Run ``core`` on ``node`` (the primary core receives new requests)."""
        self.nodes[node].add_core(core, primary=primary)

    def serve_options(self, node: str) -> OptionsResponder:
        """Install the built-in responder on ``node`` (OPTIONS -> 200, others -> 501)."""
        core = OptionsResponder(self.rng("core", node, "options"))
        self.add_core(node, core, primary=True)
        return core

    def send_request(
        self, node: str, request: Request, *, at: float = 0.0,
        destination: Address | None = None,
    ) -> RequestOutcome:
        """Send ``request`` from ``node`` at ``at`` through a client transaction.

        ``destination`` defaults to the Request-URI host over the top Via's
        transport. Returns a :class:`~simvoip.sim.driver.RequestOutcome` that
        fills in as the run proceeds.
        """
        if destination is None:
            destination = fast_address(uri_host(request.uri), 5060, request.top_via.transport)
        driver = self._driver.get(node)
        if driver is None:
            driver = self._driver[node] = RequestDriver()
            self.add_core(node, driver, primary=False)
        outcome = RequestOutcome(request, destination, at)
        dest = destination

        def go() -> None:
            now = float(self.env._now)  # type: ignore[attr-defined]  # self.now
            outcome.at = now
            effects = driver.send(request, dest, outcome)
            self.nodes[node].run_core(driver, effects, now)

        self.at(at, go)
        return outcome

    def inject(self, node: str, data: bytes, *, at: float = 0.0, peer: str | None = None,
               transport: str = "udp") -> None:
        """Deliver raw ``data`` to ``node`` at ``at`` as if ``peer`` had sent it (no link)."""
        src = peer if peer is not None else next(iter(self.topology.graph[node]), node)

        def go() -> None:
            packet = self.network.new_packet(src, node, data, transport, (None,) * 5, self.now)
            self.network.send_direct(packet)

        self.at(at, go)

    # -- packets ---------------------------------------------------------------------
    def _transport_failed(self, packet: Packet, now: float) -> None:
        if packet.message is not None:
            self.nodes[packet.src].transport_error(packet.message, now, packet.dst)

    def in_flight(self) -> list[int]:
        """Ids of packets sent but neither received nor dropped yet."""
        return list(self.network.in_flight)

    def link(self, a: str, b: str) -> LinkDirection:
        """The ``a -> b`` direction of the link between ``a`` and ``b``."""
        return self.directions[(a, b)]

    # -- faults ----------------------------------------------------------------------
    def set_link(self, a: str, b: str, up: bool) -> None:
        """Take the link between ``a`` and ``b`` down or up now (traced as a state row).

        This overrides any fault windows in progress on the link.
        """
        self._down_count[self._link_key(a, b)] = 0 if up else 1
        self._apply_link(a, b, up)

    def _link_key(self, a: str, b: str) -> tuple[str, str]:
        return tuple(self.topology.graph.edges[a, b]["ends"])  # type: ignore[return-value]

    def _apply_link(self, a: str, b: str, up: bool) -> None:
        if self.directions[(a, b)].up == up:
            return
        self.network.set_link_up(a, b, up)
        self.trace.record(self.now, "state", a, b, kind="link",
                          cause="link-up" if up else "link-down")

    def _fault_window(self, a: str, b: str, down: bool) -> None:
        # Overlapping down windows (a link fault inside a partition ...) nest: the
        # link comes back when the last one ends.
        key = self._link_key(a, b)
        count = max(0, self._down_count.get(key, 0) + (1 if down else -1))
        self._down_count[key] = count
        self._apply_link(a, b, count == 0)

    def _spike(self, a: str, b: str, extra: float) -> None:
        # Overlapping spikes add up.
        for u, v in ((a, b), (b, a)):
            self.directions[(u, v)].extra_delay += extra
        total = self.directions[(a, b)].extra_delay
        self.trace.record(self.now, "state", a, b, kind="link",
                          cause="delay-spike" if total > 1e-12 else "delay-normal")

    def _schedule_fault(self, fault: Fault) -> None:
        if fault.kind == "partition":
            inside = set(fault.nodes)
            links = [(a, b) for a, b, _ in self.topology.links() if (a in inside) != (b in inside)]
        else:
            assert fault.link is not None
            links = [fault.link]
        for a, b in links:
            if fault.kind == "delay_spike":
                self.at(fault.at, partial(self._spike, a, b, fault.extra_delay))
                if fault.until is not None:
                    self.at(fault.until, partial(self._spike, a, b, -fault.extra_delay))
            elif fault.kind == "link_up":
                self.at(fault.at, partial(self.set_link, a, b, True))
                if fault.until is not None:
                    self.at(fault.until, partial(self.set_link, a, b, False))
            else:
                self.at(fault.at, partial(self._fault_window, a, b, True))
                if fault.until is not None:
                    self.at(fault.until, partial(self._fault_window, a, b, False))
