"""A fully controllable in-memory network for the sans-I/O cores (no SimPy).

Every packet in flight and every armed timer is visible and can be acted on
one by one: :meth:`VirtualNetwork.deliver`, :meth:`~VirtualNetwork.drop`,
:meth:`~VirtualNetwork.duplicate`, :meth:`~VirtualNetwork.delay`,
:meth:`~VirtualNetwork.reorder`, :meth:`~VirtualNetwork.set_link`,
:meth:`~VirtualNetwork.crash`; :meth:`~VirtualNetwork.advance` lets simulated
time pass, firing timers and delivering packets at their arrival times in a
deterministic order (time, then creation order). That is what a hypothesis
state machine needs: every choice of the network is a rule it can shrink.

Nodes run *cores* with the UA interface: ``receive(message, source, now)``
and ``handle_timer(name, key, now)``, both returning effects
(:class:`~simvoip.sip.effects.Send`, ``StartTimer``, ``CancelTimer``) and
user events. Packets carry encoded bytes; the receiving node parses them, so
the parser is exercised on every hop. An exception escaping a core is caught
and recorded in :attr:`VirtualNetwork.crashes` (the "no node crashes"
invariant reads it).

>>> import random
>>> from simvoip.sip.ua import UAConfig, UserAgent
>>> net = VirtualNetwork()
>>> net.add_node("alice", UserAgent(UAConfig(aor="sip:alice@alice", host="alice", initial_cseq=1), random.Random(1)))
>>> net.add_node("bob", UserAgent(UAConfig(aor="sip:bob@bob", host="bob"), random.Random(2)))
>>> net.add_link("alice", "bob", delay=0.01)
>>> call_id, new = net.invite("alice", "sip:bob@bob")
>>> _ = net.advance(5.0)
>>> net.nodes["alice"].call(call_id).state, net.nodes["bob"].call(call_id).state
('confirmed', 'confirmed')
>>> [e.summary for e in net.log if e.kind == "recv"]
['INVITE 1', '180 INVITE', '200 INVITE', 'ACK 1']
"""

from __future__ import annotations

import heapq
import traceback
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from simvoip.sip.effects import Address, CancelTimer, Send, StartTimer
from simvoip.sip.errors import ParseError, SipError
from simvoip.sip.message import Request, Response, parse_message

__all__ = ["Packet", "LogEntry", "NodeCrash", "VirtualNetwork", "summarize"]


def summarize(message: Request | Response) -> str:
    """A short label: ``INVITE 1`` for requests, ``200 INVITE`` for responses.

    >>> from simvoip.sip import parse_message
    >>> summarize(parse_message(b"SIP/2.0 180 Ringing\\r\\nCSeq: 7 INVITE\\r\\n\\r\\n"))
    '180 INVITE'
    """
    try:
        cseq = message.cseq
        number, method = str(cseq.number), cseq.method
    except SipError:
        number, method = "?", "?"
    if isinstance(message, Request):
        return f"{message.method} {number}"
    return f"{message.status_code} {method}"


@dataclass(slots=True)
class Packet:
    """One datagram in flight from ``src`` to ``dst``."""

    id: int
    src: str
    dst: str
    data: bytes
    sent_at: float
    arrive_at: float
    summary: str
    call_id: str | None
    seq: int = 0


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One row of the network log (the raw material of ladders and reports).

    ``kind``: send, recv, drop, dup, timer, crash, link, error, api.
    """

    time: float
    kind: str
    node: str
    peer: str = ""
    summary: str = ""
    packet: int | None = None
    cause: str = ""


@dataclass(frozen=True, slots=True)
class NodeCrash:
    """An exception escaped a core: ``where`` says which input caused it."""

    node: str
    time: float
    where: str
    error: str
    traceback: str


@dataclass(slots=True)
class _Link:
    delay: float
    up: bool = True


@dataclass(slots=True)
class VirtualNetwork:
    """Nodes (cores), links, packets in flight, armed timers and a log.

    Parameters
    ----------
    default_delay : float
        One-way delay of links added without one.
    """

    default_delay: float = 0.01
    now: float = 0.0
    nodes: dict[str, Any] = field(default_factory=dict)
    hosts: dict[str, str] = field(default_factory=dict)
    links: dict[tuple[str, str], _Link] = field(default_factory=dict)
    in_flight: dict[int, Packet] = field(default_factory=dict)
    timers: dict[tuple[str, str, Hashable], tuple[float, int]] = field(default_factory=dict)
    crashed: dict[str, float] = field(default_factory=dict)
    crashes: list[NodeCrash] = field(default_factory=list)
    events: dict[str, list[tuple[float, Any]]] = field(default_factory=dict)
    log: list[LogEntry] = field(default_factory=list)
    sent: Counter[tuple[str, str, bytes]] = field(default_factory=Counter)
    received: Counter[tuple[str, str, bytes]] = field(default_factory=Counter)
    sent_messages: list[tuple[float, str, str, Request | Response]] = field(default_factory=list)
    drops: Counter[str] = field(default_factory=Counter)
    #: Packets lost per Call-ID (any cause).
    call_drops: Counter[str] = field(default_factory=Counter)
    #: Links (sorted name pairs) that have been down at some time.
    links_failed: set[tuple[str, str]] = field(default_factory=set)
    #: Per link: the fate of the next packets sent on it (True: lost), a trace loss pattern.
    loss_patterns: dict[tuple[str, str], list[bool]] = field(default_factory=dict)
    #: Per link: independent (Bernoulli) loss probability and the stream that draws it.
    loss_rates: dict[tuple[str, str], tuple[float, Any]] = field(default_factory=dict)
    #: Targeted losses still to happen: each drops the next packet it matches (see lose_next).
    pending_losses: list[tuple[str, str | None]] = field(default_factory=list)
    #: ``observer(net, node)`` is called after every input a node handled.
    observers: list[Any] = field(default_factory=list)
    parse_errors: int = 0
    _heap: list[tuple[float, int, str, Any]] = field(default_factory=list)
    _next_id: int = 0
    _seq: int = 0
    _fresh: list[int] = field(default_factory=list)

    # -- building -------------------------------------------------------------------------
    def add_node(self, name: str, core: Any, *, aliases: tuple[str, ...] = ()) -> None:
        """Run ``core`` on node ``name``; ``aliases`` are other hosts (domains) that resolve to it."""
        self.nodes[name] = core
        self.events[name] = []
        self.hosts[name] = name
        for alias in aliases:
            self.hosts[alias] = name

    def add_link(self, a: str, b: str, *, delay: float | None = None) -> None:
        """A bidirectional link (same ``delay`` both ways)."""
        self.links[_pair(a, b)] = _Link(self.default_delay if delay is None else delay)

    def link_between(self, a: str, b: str) -> _Link | None:
        return self.links.get(_pair(a, b))

    # -- driving the cores --------------------------------------------------------------------
    def invite(self, node: str, target: str, **kwargs: Any) -> tuple[str, list[int]]:
        """``node`` calls ``target`` (``UserAgent.invite``): Call-ID and the new packet ids."""
        call_id = ""

        def go(core: Any) -> list[Any]:
            nonlocal call_id
            call_id, out = core.invite(target, self.now, **kwargs)
            return list(out)

        new = self.api(node, f"invite {target}", go)
        return call_id, new

    def api(self, node: str, label: str, action: Any) -> list[int]:
        """Run ``action(core)`` on ``node`` now and carry out its effects; new packet ids."""
        self._fresh = []
        if node in self.crashed:
            return []
        self.log.append(LogEntry(self.now, "api", node, summary=label))
        self._run(node, f"api {label}", lambda: action(self.nodes[node]))
        return self._take_fresh()

    def inject(self, src: str, dst: str, data: bytes, *, delay: float | None = None) -> int:
        """Put raw ``data`` in flight from ``src`` to ``dst`` as if ``src`` had sent it
        (fuzzing: e.g. mutated messages); returns the packet id."""
        self.sent[(src, dst, data)] += 1
        link = self.link_between(src, dst)
        lag = delay if delay is not None else (link.delay if link is not None else 0.0)
        packet = self._new_packet(src, dst, data, "raw", None, self.now + lag)
        self.log.append(LogEntry(self.now, "send", src, dst, "raw", packet.id))
        return packet.id

    # -- network interventions ------------------------------------------------------------------
    def deliver(self, packet_id: int) -> list[int]:
        """Deliver a packet now (ahead of its arrival time); new packet ids it caused."""
        self._fresh = []
        packet = self.in_flight.pop(packet_id, None)
        if packet is not None:
            self._arrive(packet)
        return self._take_fresh()

    def drop(self, packet_id: int, cause: str = "loss") -> bool:
        """Lose a packet in flight; False if it is no longer in flight."""
        packet = self.in_flight.pop(packet_id, None)
        if packet is None:
            return False
        self._log_drop(packet, cause)
        return True

    def duplicate(self, packet_id: int, lag: float = 0.0) -> int | None:
        """A copy of a packet in flight arriving ``lag`` after the original; its id."""
        packet = self.in_flight.get(packet_id)
        if packet is None:
            return None
        copy = self._new_packet(packet.src, packet.dst, packet.data, packet.summary,
                                packet.call_id, packet.arrive_at + lag)
        copy.sent_at = packet.sent_at
        self.log.append(LogEntry(self.now, "dup", packet.src, packet.dst, packet.summary, copy.id))
        return copy.id

    def delay(self, packet_id: int, extra: float) -> bool:
        """Hold a packet in flight ``extra`` seconds longer (a delay spike)."""
        packet = self.in_flight.get(packet_id)
        if packet is None:
            return False
        packet.arrive_at += extra
        heapq.heappush(self._heap, (packet.arrive_at, packet.seq, "packet", packet.id))
        return True

    def reorder(self, first: int, second: int) -> bool:
        """Swap the arrival times of two packets in flight."""
        a, b = self.in_flight.get(first), self.in_flight.get(second)
        if a is None or b is None or a is b:
            return False
        a.arrive_at, b.arrive_at = max(b.arrive_at, self.now), max(a.arrive_at, self.now)
        for p in (a, b):
            heapq.heappush(self._heap, (p.arrive_at, p.seq, "packet", p.id))
        return True

    def set_link(self, a: str, b: str, up: bool) -> None:
        """Take a link down (packets on it are lost) or bring it back up."""
        link = self.links[_pair(a, b)]
        link.up = up
        if not up:
            self.links_failed.add(_pair(a, b))
        self.log.append(LogEntry(self.now, "link", a, b, "up" if up else "down"))
        if not up:
            for pid, p in list(self.in_flight.items()):
                if _pair(p.src, p.dst) == _pair(a, b):
                    del self.in_flight[pid]
                    self._log_drop(p, "link-down")

    def set_loss_pattern(self, a: str, b: str, pattern: list[bool]) -> None:
        """The next ``len(pattern)`` packets sent on link ``a``-``b`` (either way) are lost
        where ``pattern`` is True (a trace-driven loss model)."""
        self.loss_patterns[_pair(a, b)] = list(pattern)
        self.log.append(LogEntry(self.now, "link", a, b,
                                 "loss " + "".join("x" if lost else "." for lost in pattern)))

    def set_loss_rate(self, a: str, b: str, p: float, rng: Any) -> None:
        """Lose each packet on link ``a``-``b`` independently with probability ``p``, drawing
        from ``rng`` (a seeded ``random.Random``)."""
        self.loss_rates[_pair(a, b)] = (p, rng)

    def lose_next(self, match: str, call_id: str | None = None) -> None:
        """Lose the next packet sent (anywhere) that ``match`` selects: ``"any"``, a method
        (``"INVITE"``, ``"ACK"``, ``"BYE"`` ...) or a status class (``"1xx"`` ... ``"6xx"``);
        with ``call_id``, only a packet of that call."""
        self.pending_losses.append((match, call_id))
        where = " of the call placed next" if call_id == "@next-call" else (
            f" of {call_id}" if call_id else "")
        self.log.append(LogEntry(self.now, "link", "*", "*", f"lose next {match}{where}"))

    def crash(self, node: str) -> None:
        """Node ``node`` stops: it handles nothing more, its timers are gone."""
        if node in self.crashed:
            return
        self.crashed[node] = self.now
        self.log.append(LogEntry(self.now, "crash", node))
        for key in [k for k in self.timers if k[0] == node]:
            del self.timers[key]

    # -- time -----------------------------------------------------------------------------------
    def next_event_time(self) -> float | None:
        """Time of the next timer or arrival, if any."""
        times = [t for t, _ in self.timers.values()] + [p.arrive_at for p in self.in_flight.values()]
        return min(times) if times else None

    def step(self) -> list[int]:
        """Process exactly the next event (timer or arrival); new packet ids."""
        self._fresh = []
        self._step_one(None)
        return self._take_fresh()

    def advance(self, duration: float) -> list[int]:
        """Let ``duration`` seconds pass, processing events in order; new packet ids
        still in flight afterwards."""
        self._fresh = []
        target = self.now + duration
        while self._step_one(target):
            pass
        self.now = max(self.now, target)
        return [pid for pid in self._take_fresh() if pid in self.in_flight]

    def _step_one(self, until: float | None) -> bool:
        # Lazy heap: entries whose timer was cancelled/re-armed or whose packet left or was
        # re-timed are skipped when they surface.
        heap = self._heap
        while heap:
            at, seq, kind, key = heap[0]
            if kind == "timer":
                current = self.timers.get(key)
                valid = current is not None and current == (at, seq)
            else:
                packet = self.in_flight.get(key)
                valid = packet is not None and packet.arrive_at == at
            if not valid:
                heapq.heappop(heap)
                continue
            if until is not None and at > until + 1e-9:
                return False
            heapq.heappop(heap)
            self.now = max(self.now, at)
            if kind == "timer":
                node, name, timer_key = key
                del self.timers[key]
                self.log.append(LogEntry(self.now, "timer", node, summary=name))
                core = self.nodes[node]
                self._run(node, f"timer {name}",
                          partial(core.handle_timer, name, timer_key, self.now))
            else:
                self._arrive(self.in_flight.pop(key))
            return True
        return False

    # -- machinery ------------------------------------------------------------------------------
    def _take_fresh(self) -> list[int]:
        fresh, self._fresh = self._fresh, []
        return fresh

    def _arrive(self, packet: Packet) -> None:
        link = self.link_between(packet.src, packet.dst)
        if link is None or not link.up:
            self._log_drop(packet, "link-down")
            return
        if packet.dst in self.crashed:
            self._log_drop(packet, "crashed")
            return
        self.received[(packet.src, packet.dst, packet.data)] += 1
        try:
            message = parse_message(packet.data)
        except ParseError as exc:
            self.parse_errors += 1
            self._log_drop(packet, f"parse-error: {exc}")
            return
        self.log.append(LogEntry(self.now, "recv", packet.dst, packet.src, packet.summary, packet.id))
        source = Address(packet.src, 5060, "UDP")
        self._run(packet.dst, f"receive {packet.summary} from {packet.src}",
                  lambda: self.nodes[packet.dst].receive(message, source, self.now))

    def _run(self, node: str, where: str, action: Any) -> None:
        try:
            outputs = action()
        except Exception as exc:  # the invariant "no node crashes" reports it
            self.crashes.append(NodeCrash(node, self.now, where, f"{type(exc).__name__}: {exc}",
                                          traceback.format_exc()))
            self.log.append(LogEntry(self.now, "error", node, summary=type(exc).__name__, cause=where))
        else:
            self.carry_out(node, outputs or [])
        for observer in self.observers:
            observer(self, node)

    def carry_out(self, node: str, outputs: list[Any]) -> None:
        """Execute a core's outputs: sends, timers; anything else is a user event."""
        for o in outputs:
            if isinstance(o, Send):
                self._send(node, o)
            elif isinstance(o, StartTimer):
                self._seq += 1
                self.timers[(node, o.name, o.key)] = (o.at, self._seq)
                heapq.heappush(self._heap, (o.at, self._seq, "timer", (node, o.name, o.key)))
            elif isinstance(o, CancelTimer):
                self.timers.pop((node, o.name, o.key), None)
            else:
                self.events[node].append((self.now, o))

    def _send(self, node: str, send: Send) -> None:
        message = send.message
        data = message.encode()
        summary = summarize(message)
        try:
            call_id: str | None = message.call_id
        except SipError:
            call_id = None
        dst = self.hosts.get(send.destination.host, send.destination.host)
        self.sent[(node, dst, data)] += 1
        self.sent_messages.append((self.now, node, dst, message))
        link = self.link_between(node, dst)
        if link is None:
            self.log.append(LogEntry(self.now, "send", node, dst, summary))
            self.drops["no-route"] += 1
            self.log.append(LogEntry(self.now, "drop", node, dst, summary, cause="no-route"))
            return
        packet = self._new_packet(node, dst, data, summary, call_id, self.now + link.delay)
        self.log.append(LogEntry(self.now, "send", node, dst, summary, packet.id))
        pattern = self.loss_patterns.get(_pair(node, dst))
        lost = pattern.pop(0) if pattern else False
        rate = self.loss_rates.get(_pair(node, dst))
        if rate is not None and rate[1].random() < rate[0]:
            lost = True
        for i, (match, only) in enumerate(self.pending_losses):
            if (only is None or only == call_id) and _matches(match, message):
                del self.pending_losses[i]
                lost = True
                break
        if not link.up or lost:
            del self.in_flight[packet.id]
            self._fresh.remove(packet.id)
            self._log_drop(packet, "loss" if link.up else "link-down")

    def _new_packet(self, src: str, dst: str, data: bytes, summary: str, call_id: str | None,
                    arrive_at: float) -> Packet:
        self._next_id += 1
        self._seq += 1
        packet = Packet(self._next_id, src, dst, data, self.now, arrive_at, summary, call_id,
                        self._seq)
        self.in_flight[packet.id] = packet
        heapq.heappush(self._heap, (arrive_at, self._seq, "packet", packet.id))
        self._fresh.append(packet.id)
        return packet

    def _log_drop(self, packet: Packet, cause: str) -> None:
        self.drops[cause.split(":")[0]] += 1
        if packet.call_id is not None:
            self.call_drops[packet.call_id] += 1
        self.log.append(LogEntry(self.now, "drop", packet.src, packet.dst, packet.summary,
                                 packet.id, cause))


def _matches(match: str, message: Request | Response) -> bool:
    if match == "any":
        return True
    if isinstance(message, Response):
        return match == f"{message.status_code // 100}xx"
    return match == message.method


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)
