"""Simulated UDP and TCP over the topology's links, carrying real encoded bytes.

:class:`Network` moves a :class:`Packet` hop by hop along the current
shortest path (recomputed when a link goes down or comes back); each hop's
:class:`~simvoip.sim.link.LinkDirection` decides queueing, loss, delay and
duplication. Routers forward; the destination node gets the bytes.

* **UDP**: datagrams; a hop that loses one drops it for good (traced
  ``drop`` with the hop's cause); a datagram larger than a link's MTU is
  dropped with cause ``mtu``. RFC 3261 18.1.1 is applied on send: a request
  within 200 bytes of the path MTU (or over 1300 bytes when a link on the path
  has no known MTU) goes over TCP instead; the top Via says so and the
  ``send`` row carries cause ``mtu-tcp``.
* **TCP**: one connection per ordered node pair, opened with one round trip
  (sum of propagation delays, there and back) before the first message.
  Messages arrive in order: a loss is retransmitted from the sender after a
  retransmission timeout that doubles (RFC 6298: initial 1 s), so loss shows
  up only as extra delay and head-of-line blocking. After ``tcp_max_retries``
  retransmissions the connection fails: the message is traced as a drop with
  cause ``transport-error`` and the sending node is told (RFC 3261 17.1.4).

Wire size used for serialisation adds IPv4+UDP (28) or IPv4+TCP (40) header
bytes; the trace's ``size`` is the SIP message length.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from heapq import heappush
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import networkx as nx
from simpy.events import NORMAL

from simvoip.sim.link import LinkDirection
from simvoip.sim.topology import Topology, Weight
from simvoip.sip.transport_choice import mtu_requires_tcp, via_to_tcp

if TYPE_CHECKING:
    import simpy

    from simvoip.sim.trace import Trace

__all__ = ["Packet", "Network", "Wakeup", "wake", "compact_queue", "UDP_OVERHEAD", "TCP_OVERHEAD", "mtu_requires_tcp",
           "via_to_tcp"]

UDP_OVERHEAD = 28
TCP_OVERHEAD = 40
#: RFC 6298 2.1: initial RTO of 1 s; doubled on each retransmission (5.5).
TCP_INITIAL_RTO = 1.0

def _call(event: Wakeup) -> None:
    event.fn(event.a, event.b, event)


_CALL = (_call,)
#: ``callbacks`` of a cancelled :class:`Wakeup` (compared by identity).
_CANCELLED: tuple[Callable[[Wakeup], None], ...] = ()


def compact_queue(env: simpy.Environment) -> int:
    """Drop cancelled :class:`Wakeup` events from ``env``'s event queue; return how many.

    A cancelled timer (Timer F, B or C after the response came) would
    otherwise sit in SimPy's heap until its time, up to minutes of simulated
    time, costing memory and heap depth. Entries are ordered by the unique
    ``(time, priority, event id)`` SimPy gives them, so re-heapifying the
    rest keeps exactly the order in which they would have run.

    >>> import simpy
    >>> env = simpy.Environment()
    >>> seen = []
    >>> a = Wakeup(env, 2.0, lambda a, b, e: seen.append(a), "a", None)
    >>> b = Wakeup(env, 1.0, lambda a, b, e: seen.append(a), "b", None)
    >>> a.cancel(); compact_queue(env)
    1
    >>> env.run(); seen
    ['b']
    """
    queue: list[tuple[Any, ...]] = env._queue  # type: ignore[attr-defined]
    live = [entry for entry in queue if entry[3].callbacks is not _CANCELLED]
    dropped = len(queue) - len(live)
    if dropped:
        heapq.heapify(live)
        queue[:] = live
    return dropped


class Wakeup:
    """A bare SimPy event that calls ``fn(a, b, event)`` ``delay`` seconds from now.

    The simulator's hot path (a packet crossing a link, a transaction timer)
    needs no more than that. It is scheduled exactly as ``env.timeout(delay)``
    is (same priority, the next event id), so the order of events -- and the
    trace -- is the same; but it has slots and shares one callbacks tuple,
    where a ``Timeout`` with a ``functools.partial`` callback costs four
    objects for the cyclic garbage collector to track (event, callbacks list,
    partial, bound method). It duck-types what ``simpy.Environment.step``
    reads (``callbacks``, ``_ok``); nothing may ``yield`` it.
    :meth:`cancel` makes it a no-op and drops its references.

    >>> import simpy
    >>> env = simpy.Environment()
    >>> seen = []
    >>> w = Wakeup(env, 1.5, lambda a, b, event: seen.append((env.now, a, b)), "x", 2)
    >>> env.run()
    >>> seen
    [(1.5, 'x', 2)]
    """

    __slots__ = ("callbacks", "_ok", "fn", "a", "b")

    def __init__(self, env: simpy.Environment, delay: float,
                 fn: Callable[[Any, Any, Wakeup], None], a: Any, b: Any) -> None:
        self.callbacks: tuple[Callable[[Wakeup], None], ...] = _CALL
        self._ok = True
        self.fn = fn
        self.a = a
        self.b = b
        env.schedule(self, NORMAL, delay)  # type: ignore[arg-type]

    def cancel(self) -> None:
        """Do nothing when processed (the event stays in SimPy's queue until
        :func:`compact_queue` drops it)."""
        self.callbacks = _CANCELLED
        self.a = self.b = None


_new_wakeup = Wakeup.__new__
W = TypeVar("W", bound=Wakeup)


def make_wakeup(cls: type[W], callbacks: tuple[Callable[[Wakeup], None], ...], a: Any, b: Any) -> W:
    """A ready ``cls`` event (a :class:`Wakeup` or subclass) without ``__init__``; not scheduled.

    >>> make_wakeup(Wakeup, (), "x", 1).a
    'x'
    """
    event = _new_wakeup(cls)
    event.callbacks = callbacks
    event._ok = True
    event.fn = None  # type: ignore[assignment]
    event.a = a
    event.b = b
    return event


def wake(env: simpy.Environment, delay: float, callbacks: tuple[Callable[[Wakeup], None]],
         a: Any, b: Any) -> Wakeup:
    """A :class:`Wakeup` processed by ``callbacks[0](event)`` (reading ``event.a``, ``event.b``).

    The hot paths' constructor: no trampoline through ``fn`` and no call of
    ``env.schedule``, but the very same queue entry -- ``(now + delay,
    NORMAL, next event id, event)`` -- so the order of events is unchanged.
    ``callbacks`` is a one-element tuple built once by the caller (one more
    object per event would be one more for the garbage collector).

    >>> import simpy
    >>> env = simpy.Environment()
    >>> seen = []
    >>> _ = wake(env, 0.5, (lambda event: seen.append((env.now, event.a, event.b)),), "x", 1)
    >>> env.run(); seen
    [(0.5, 'x', 1)]
    """
    event = make_wakeup(Wakeup, callbacks, a, b)
    queue: list[tuple[Any, ...]] = env._queue  # type: ignore[attr-defined]
    heappush(queue, (env._now + delay, NORMAL, next(env._eid), event))  # type: ignore[attr-defined]
    return event


class Packet:
    """One copy of a message on the wire (duplicates are new packets)."""

    __slots__ = ("packet", "src", "dst", "data", "size", "transport", "meta", "sent_at",
                 "conn", "seq", "attempt", "message", "kind")

    def __init__(self, packet: int, src: str, dst: str, data: bytes, transport: str,
                 meta: tuple[Any, ...], sent_at: float, kind: str = "sip") -> None:
        self.packet = packet
        self.src = src
        self.dst = dst
        self.data = data
        self.size = len(data)
        self.transport = transport
        self.meta = meta  # (method, status, call_id, cseq, branch)
        self.sent_at = sent_at
        self.conn: _Connection | None = None
        self.seq = 0
        self.attempt = 0
        self.message: Any = None  # the sent message object (for transport-error reports)
        self.kind = kind  # "sip", "rtp" or "rtcp" (trace column)


class _Connection:
    """A TCP connection between two nodes: shared set-up, one byte stream per direction."""

    __slots__ = ("open_at", "next_seq", "next_deliver", "pending", "failed")

    def __init__(self, open_at: float) -> None:
        self.open_at = open_at
        self.next_seq: dict[str, int] = {}  # sending node -> next sequence number
        self.next_deliver: dict[str, int] = {}  # sending node -> next to deliver
        self.pending: dict[tuple[str, int], Packet] = {}
        self.failed = False


class _Forest:
    """Parent pointers of a graph that is a forest: the one path between two nodes.

    >>> import networkx as nx
    >>> g = nx.Graph([("a", "p"), ("b", "p"), ("p", "r"), ("x", "y")])
    >>> f = _Forest.of(g, {}, "delay")
    >>> f.path("a", "b"), f.path("r", "a"), f.path("a", "a"), f.path("a", "x")
    (['a', 'p', 'b'], ['r', 'p', 'a'], ['a'], None)
    >>> _Forest.of(nx.cycle_graph(3), {}, "delay")
    False
    """

    __slots__ = ("parent", "depth", "root")

    def __init__(self) -> None:
        self.parent: dict[str, str | None] = {}
        self.depth: dict[str, int] = {}
        self.root: dict[str, str] = {}

    @classmethod
    def of(cls, graph: nx.Graph, down: dict[tuple[str, str], bool],
           weight: Weight) -> _Forest | Literal[False]:
        """The forest of ``graph`` without its ``down`` links, or ``False`` if it has a cycle.

        Also ``False`` for a callable weight: it may hide links (``None``),
        which only a search honours.
        """
        if not isinstance(weight, str):
            return False
        view = nx.restricted_view(graph, [], list(down)) if down else graph
        if not nx.is_forest(view) or any(w is None for _, _, w in view.edges(data=weight, default=1)):
            return False  # a cycle (several paths), or a link the search would hide
        forest = cls()
        parent, depth, root = forest.parent, forest.depth, forest.root
        for start in view:
            if start in parent:
                continue
            parent[start], depth[start], root[start] = None, 0, start
            level = [start]
            while level:
                nxt = []
                for node in level:
                    for other in view[node]:
                        if other not in parent:
                            parent[other], depth[other], root[other] = node, depth[node] + 1, start
                            nxt.append(other)
                level = nxt
        return forest

    def path(self, src: str, dst: str) -> list[str] | None:
        """The path from ``src`` to ``dst`` through their lowest common ancestor."""
        if self.root[src] != self.root[dst]:
            return None
        parent, depth = self.parent, self.depth
        up: list[str] = [src]
        down: list[str] = [dst]
        a, b = src, dst
        while depth[a] > depth[b]:
            a = parent[a]  # type: ignore[assignment]
            up.append(a)
        while depth[b] > depth[a]:
            b = parent[b]  # type: ignore[assignment]
            down.append(b)
        while a != b:
            a, b = parent[a], parent[b]  # type: ignore[assignment]
            up.append(a)
            down.append(b)
        down.pop()  # the common ancestor is already the last of ``up``
        return up + down[::-1]


class Network:
    """Links, routes and packets of one simulation.

    When a packet reaches its destination node, ``receivers[node](packet,
    now)`` is called (the simulation registers every node's ``receive``);
    ``transport_failed(packet, now)`` when a TCP connection gives up. A UDP
    packet's last link crossing calls the receiver straight from its
    scheduled event.
    """

    def __init__(
        self, env: simpy.Environment, topology: Topology, trace: Trace,
        directions: dict[tuple[str, str], LinkDirection], *, weight: Weight = "delay",
        tcp_max_retries: int = 5,
    ) -> None:
        self.env = env
        self.topology = topology
        self.trace = trace
        self.directions = directions
        self.weight = weight
        self.tcp_max_retries = tcp_max_retries
        self.down: dict[tuple[str, str], bool] = {}
        self.in_flight: dict[int, Packet] = {}
        self.connections: dict[tuple[str, str], _Connection] = {}  # sorted node pair
        self._routes: dict[tuple[str, str], list[str] | None] = {}
        # A forest (one path between any two nodes): parent, depth and tree of each node.
        self._forest: _Forest | Literal[False] | None = None  # None: not looked at yet; False: not a forest
        self._mtus: dict[tuple[str, str], int | None] = {}
        self._next_packet = 0
        # Bound once: a bound method per scheduled event would be one more GC-tracked object.
        self._arrive_cbs = (self._arrive_event,)
        self._resend_cbs = (self._resend_event,)
        #: node name -> ``receive(packet, now)`` of that node (the simulation fills it in).
        self.receivers: dict[str, Callable[[Packet, float], None]] = {}
        self.transport_failed: Callable[[Packet, float], None] = lambda packet, now: None

    # -- routing ---------------------------------------------------------------------
    def set_link_up(self, a: str, b: str, up: bool) -> None:
        """Take a link down or bring it back; routes are recomputed."""
        for u, v in ((a, b), (b, a)):
            self.directions[(u, v)].up = up
        ends = tuple(self.topology.graph.edges[a, b]["ends"])
        if up:
            self.down.pop(ends, None)  # type: ignore[arg-type]
        else:
            self.down[ends] = True  # type: ignore[index]
        self._routes.clear()
        self._mtus.clear()
        self._forest = None

    def route(self, src: str, dst: str) -> list[str] | None:
        """The current shortest path from ``src`` to ``dst`` (``None``: no path).

        Where the graph (without its down links) is a forest, there is only
        one path between two nodes, whatever the weights; it is read off
        parent pointers instead of a Dijkstra search per pair (which costs
        O(degree) at a proxy with thousands of phones, so O(N^2) for N phones).
        """
        key = (src, dst)
        if key not in self._routes:
            forest = self._forest
            if forest is None:
                forest = self._forest = _Forest.of(self.topology.graph, self.down, self.weight)
            if forest is not False and src in forest.parent and dst in forest.parent:
                self._routes[key] = forest.path(src, dst)
            else:
                self._routes[key] = self.topology.shortest_path(src, dst, self.weight, self.down)
        return self._routes[key]

    def path_mtu(self, src: str, dst: str) -> int | None:
        """Smallest MTU along the current route (``None``: some link's MTU is unknown)."""
        key = (src, dst)
        if key not in self._mtus:
            self._mtus[key] = self._path_mtu(src, dst)
        return self._mtus[key]

    def _path_mtu(self, src: str, dst: str) -> int | None:
        path = self.route(src, dst) or [src, dst]
        mtus = [self.directions[(u, v)].params.mtu
                for u, v in zip(path, path[1:], strict=False) if (u, v) in self.directions]
        if not mtus or any(m is None for m in mtus):
            return None
        return min(m for m in mtus if m is not None)

    def one_way_delay(self, src: str, dst: str) -> float:
        path = self.route(src, dst) or [src]
        return sum(self.directions[(u, v)].params.delay for u, v in zip(path, path[1:], strict=False))

    # -- sending ---------------------------------------------------------------------
    def new_packet(self, src: str, dst: str, data: bytes, transport: str,
                   meta: tuple[Any, ...], now: float, kind: str = "sip") -> Packet:
        self._next_packet += 1
        return Packet(self._next_packet, src, dst, data, transport, meta, now, kind)

    def deliver(self, packet: Packet, now: float) -> None:
        """``packet`` reached its destination node: hand it to that node's receiver."""
        self.receivers[packet.dst](packet, now)

    def send(self, packet: Packet, cause: str | None = None) -> None:
        """Trace the ``send`` row and put ``packet`` on the wire."""
        now = self.env._now  # type: ignore[attr-defined]
        self._trace(packet, now, "send", packet.src, packet.dst, cause, None)
        self.in_flight[packet.packet] = packet
        if packet.transport == "tcp":
            self._tcp_send(packet, now)
        else:
            self._hop(packet, packet.src, now)

    def send_direct(self, packet: Packet) -> None:
        """Hand ``packet`` to its destination now, bypassing links (injected bytes)."""
        now = self.env.now
        self._trace(packet, now, "send", packet.src, packet.dst, "injected", None)
        self.in_flight[packet.packet] = packet
        self.deliver(packet, now)

    def _trace(self, p: Packet, now: float, event: str, node: str, peer: str,
               cause: str | None, link: str | None) -> None:
        trace = self.trace
        if not trace.enabled:
            return
        m = p.meta
        trace.records.append((now, event, node, peer, p.kind, p.transport, m[0], m[1], m[2],
                                   m[3], m[4], cause, p.size, p.data, p.packet, link))

    def drop(self, packet: Packet, node: str, peer: str, cause: str,
             link: str | None = None) -> None:
        """Trace the end of ``packet`` as a drop."""
        self.in_flight.pop(packet.packet, None)
        self._trace(packet, self.env.now, "drop", node, peer, cause, link)

    def received(self, packet: Packet) -> None:
        """Trace the end of ``packet`` as received at its destination."""
        self.in_flight.pop(packet.packet, None)
        self._trace(packet, self.env._now, "recv", packet.dst, packet.src, None, None)  # type: ignore[attr-defined]

    def _hop(self, packet: Packet, at: str, now: float) -> None:
        if at == packet.dst:
            self.deliver(packet, now)
            return
        key = (at, packet.dst)
        routes = self._routes
        path = routes[key] if key in routes else self.route(at, packet.dst)
        if path is None:
            full = self.topology.shortest_path(at, packet.dst, self.weight)
            self._lost(packet, at, "link-down" if full is not None else "no-route", None, now)
            return
        nxt = path[1]
        direction = self.directions[(at, nxt)]
        reliable = packet.transport == "tcp"
        overhead = TCP_OVERHEAD if reliable else UDP_OVERHEAD
        cause, arrival, duplicate = direction.transmit(packet.size + overhead, now, not reliable)
        if cause is not None:
            self._lost(packet, at, cause, direction.name, now)
            return
        delay = arrival - now
        wake(self.env, delay if delay > 0 else 0.0, self._arrive_cbs, packet, nxt)
        if duplicate is not None and not reliable:
            # A duplicated datagram is a new packet from here on.
            copy = self.new_packet(packet.src, packet.dst, packet.data, packet.transport,
                                   packet.meta, now, packet.kind)
            self._trace(copy, now, "send", packet.src, packet.dst, "duplicate", direction.name)
            self.in_flight[copy.packet] = copy
            self._schedule(duplicate - now, self._arrive_cbs, copy, nxt)

    def _schedule(self, delay: float, callbacks: tuple[Callable[[Wakeup], None]], packet: Packet,
                  node: str) -> None:
        wake(self.env, delay if delay > 0 else 0.0, callbacks, packet, node)

    def _arrive_event(self, event: Wakeup) -> None:
        # A packet crossed a link: it is at node ``event.b`` now.
        packet: Packet = event.a
        node: str = event.b
        if node == packet.dst:
            if packet.transport == "tcp":
                self._tcp_arrive(packet)
            else:
                self.receivers[node](packet, self.env._now)  # type: ignore[attr-defined]
        else:
            self._hop(packet, node, self.env._now)  # type: ignore[attr-defined]

    def _lost(self, packet: Packet, at: str, cause: str, link: str | None, now: float) -> None:
        if packet.transport == "tcp":
            self._tcp_retransmit(packet, now)
        else:
            self.drop(packet, packet.src, packet.dst, cause, link)

    # -- TCP -------------------------------------------------------------------------
    def _tcp_send(self, packet: Packet, now: float) -> None:
        # RFC 3261 18.2.2: responses go back on the connection the request came on,
        # so one connection serves both directions of a node pair.
        key = (packet.src, packet.dst) if packet.src < packet.dst else (packet.dst, packet.src)
        conn = self.connections.get(key)
        if conn is None or conn.failed:
            # Three-way handshake: data leaves one round trip after the SYN.
            rtt = 2.0 * self.one_way_delay(packet.src, packet.dst)
            conn = _Connection(now + rtt)
            self.connections[key] = conn
        packet.conn = conn
        packet.seq = conn.next_seq.get(packet.src, 0)
        conn.next_seq[packet.src] = packet.seq + 1
        start = conn.open_at - now
        if start > 0:
            self._schedule(start, self._resend_cbs, packet, packet.src)
        else:
            self._hop(packet, packet.src, now)

    def _tcp_retransmit(self, packet: Packet, now: float) -> None:
        conn = packet.conn
        assert conn is not None
        if conn.failed:
            return
        if packet.attempt >= self.tcp_max_retries:
            self._tcp_fail(packet, conn)
            return
        # RFC 6298 5.5: the retransmission timer backs off by doubling.
        wait = TCP_INITIAL_RTO * (2 ** packet.attempt)
        packet.attempt += 1
        self._schedule(wait, self._resend_cbs, packet, packet.src)

    def _resend_event(self, event: Wakeup) -> None:
        self._hop(event.a, event.b, self.env._now)  # type: ignore[attr-defined]

    def _tcp_fail(self, packet: Packet, conn: _Connection) -> None:
        conn.failed = True
        a, b = packet.src, packet.dst
        key = (a, b) if a < b else (b, a)
        if self.connections.get(key) is conn:
            del self.connections[key]
        victims = [p for p in self.in_flight.values() if p.conn is conn]
        for p in victims:
            self.drop(p, p.src, p.dst, "transport-error")
        for p in victims:
            self.transport_failed(p, self.env.now)

    def _tcp_arrive(self, packet: Packet) -> None:
        conn = packet.conn
        assert conn is not None
        if conn.failed:
            return
        src = packet.src
        conn.pending[(src, packet.seq)] = packet
        # In order only: a later message waits for the lost one (head-of-line blocking).
        nxt = conn.next_deliver.get(src, 0)
        while (src, nxt) in conn.pending:
            ready = conn.pending.pop((src, nxt))
            nxt += 1
            conn.next_deliver[src] = nxt
            self.deliver(ready, self.env.now)
