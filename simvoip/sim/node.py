"""The node adapter: bytes in, parser, transaction layer, core; effects out.

A :class:`Node` hosts the transactions of one SIP element and one or more
*cores* (UA, proxy, registrar, or the test drivers of :mod:`simvoip.sim.driver`).
It carries out what they return and never decides anything itself:

* received bytes are parsed (:func:`simvoip.sip.parse_message`); a
  :class:`~simvoip.sip.ParseError` is counted and traced as a ``drop`` with
  cause ``parse-error``, and the run goes on;
* a response is matched to a client transaction (RFC 3261 17.1.3, via
  :func:`~simvoip.sip.transaction.keys.client_key`); a request to a server
  transaction (17.2.3, :func:`~simvoip.sip.transaction.keys.server_key`), or
  a new server transaction is created for it (not for ACK, which goes to the
  core as it is) and the request is handed to the primary core;
* transaction outputs are executed: ``Send`` via the network, ``StartTimer`` /
  ``CancelTimer`` as SimPy events keyed by ``(name, key)`` (waiting in the
  simulation's :class:`~simvoip.sim.lanes.TimerLanes`, same order), TU events
  (``ResponseReceived``, ``TimedOut`` ...) go to the core that owns the
  transaction; ``Terminated`` removes it from the table;
* core outputs: ``Send(request)`` starts a client transaction for it (not for
  ACK; and not at all for a core with ``stateless = True``), ``Send(response)``
  goes through the matching server transaction when there is one, a
  transaction object is registered and started, timers are armed for the core.

Per-node load: ``capacity`` (messages/s) serves received messages one at a
time, at most ``queue`` waiting (beyond that: drop ``overload``), and every
message takes ``processing_delay`` seconds more before the core sees it.

The core interface (duck-typed, see :class:`CoreBase`): ``on_request(request,
transaction, now)``, ``on_event(transaction, event, now)``,
``on_response(response, now)`` (a response no transaction matched) and
``handle_timer(name, key, now)``; each returns a list of effects.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING, Any

from simvoip.sim.corebase import CoreBase
from simvoip.sim.transport import Packet, Wakeup, mtu_requires_tcp, via_to_tcp, wake
from simvoip.sip.effects import Address, CancelTimer, Send, StartTimer
from simvoip.sip.errors import ParseError, SipError
from simvoip.sip.headers import MAGIC_COOKIE
from simvoip.sip.message import Request, Response, parse_message
from simvoip.sip.screening import answer_parse_error
from simvoip.sip.transaction.base import Transaction
from simvoip.sip.transaction.client import (
    ClientTransaction,
    InviteClientTransaction,
    NonInviteClientTransaction,
)
from simvoip.sip.transaction.events import TERMINATED, Terminated
from simvoip.sip.transaction.keys import TransactionKey, client_key, server_key
from simvoip.sip.transaction.server import (
    InviteServerTransaction,
    NonInviteServerTransaction,
    ServerTransaction,
)
from simvoip.sip.ua.transactions import response_address

if TYPE_CHECKING:
    from simvoip.sim.simulation import Simulation

__all__ = ["Node", "CoreBase", "message_meta", "response_address"]


def message_meta(message: Request | Response) -> tuple[Any, ...]:
    """``(method, status, call_id, cseq, branch)`` of a message for the trace.

    >>> from simvoip.sip import parse_message
    >>> message_meta(parse_message(b"SIP/2.0 200 OK\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\n"
    ...     b"Call-ID: c\\r\\nCSeq: 4 OPTIONS\\r\\n\\r\\n"))
    ('OPTIONS', 200, 'c', 4, 'z9hG4bK1')
    """
    headers = message.headers
    try:
        cseq = message.cseq
        number: int | None = cseq.number
        cseq_method: str | None = cseq.method
    except SipError:
        number = cseq_method = None
    try:
        branch = message.top_via.branch
    except SipError:
        branch = None
    if isinstance(message, Request):
        return (message.method, None, headers.get("Call-ID"), number, branch)
    return (cseq_method, message.status_code, headers.get("Call-ID"), number, branch)


#: Trace meta of a message when no trace rows are built (``Trace.enabled`` false).
_NO_META: tuple[Any, ...] = (None, None, None, None, None)

#: The text of a ``StrEnum`` member (its value) without the enum's Python-level property.
_STATE_TEXT = str.__str__


def _timer_text(name: Any) -> Any:
    """The plain text of a timer name (a ``StrEnum`` member gives its value)."""
    if isinstance(name, str):
        return str.__str__(name)  # a str-valued enum's value, as an exact str
    return getattr(name, "value", name)


class Node:
    """One SIP element (or router) of a :class:`~simvoip.sim.simulation.Simulation`.

    Built by the simulation for every topology node (``sim.nodes[name]``);
    cores are added with :meth:`add_core` (or ``sim.add_core``).

    >>> from simvoip import Simulation, Topology
    >>> topo = Topology()
    >>> topo.add_proxy("proxy", domain="a.example", capacity=100.0, queue=10)
    >>> node = Simulation(topo).nodes["proxy"]
    >>> node, node.capacity, node.queue_limit, node.core
    (<Node proxy (proxy)>, 100.0, 10, None)
    """

    def __init__(self, sim: Simulation, name: str, attrs: dict[str, Any]) -> None:
        self.sim = sim
        self.name = name
        self.kind: str = attrs["type"]
        self.attrs = attrs
        self.domain: str | None = attrs.get("domain")
        self.processing_delay = float(attrs.get("processing_delay", 0.0))
        self.capacity: float | None = attrs.get("capacity")
        self.queue_limit: int | None = attrs.get("queue")
        self.cores: list[Any] = []
        # The primary core when it is an element core (has ``receive``), else None.
        self._element: Any = None
        # (peer, transport) -> the Address received messages came from.
        self._sources: dict[tuple[str, str], Address] = {}
        self._trace = sim.trace
        self.client_transactions: dict[Hashable, ClientTransaction] = {}
        self.server_transactions: dict[Hashable, ServerTransaction] = {}
        # transaction key -> (owning core, trace meta of its request)
        self._info: dict[Hashable, tuple[Any, tuple[Any, ...]]] = {}
        # (branch, method) -> server transaction, to route the core's responses (17.2.3).
        self._server_index: dict[tuple[str, str], ServerTransaction] = {}
        # (timer name, key) -> the armed Wakeup (its ``b`` is the owner: transaction or core).
        self._timers: dict[tuple[str, Hashable], Wakeup] = {}
        # Bound once, in the one-element tuples wake() takes (see Wakeup).
        self._fire_cbs = (self._fire_event,)
        self._process_cbs = (self._process_event,)
        self._env = sim.env
        self._network = sim.network
        self._lanes = sim.lanes
        self._busy_until = 0.0
        self._backlog: deque[float] = deque()
        self.parse_errors = 0
        self.overload_drops = 0
        #: Most messages waiting for processing at once (``capacity`` nodes).
        self.max_queue = 0
        self.unhandled = 0

    def __repr__(self) -> str:
        return f"<Node {self.name} ({self.kind})>"

    @property
    def core(self) -> Any:
        """The primary core (gets new requests and stray responses), or ``None``."""
        return self.cores[0] if self.cores else None

    def add_core(self, core: Any, primary: bool = False) -> None:
        """Host ``core``; the primary one (first) gets new requests and stray responses."""
        if primary:
            self.cores.insert(0, core)
        else:
            self.cores.append(core)
        first = self.cores[0]
        self._element = first if hasattr(first, "receive") else None

    # -- receiving -------------------------------------------------------------------
    def receive(self, packet: Packet, now: float) -> None:
        """A packet reached this node: parse, admit (capacity), then process."""
        network = self._network
        if packet.kind != "sip":
            # RTP/RTCP: no SIP processing, the media plane of the call takes it.
            network.received(packet)
            self.sim.deliver_media(packet, now)
            return
        try:
            message = parse_message(packet.data)
        except ParseError:
            self.parse_errors += 1
            network.drop(packet, self.name, packet.src, "parse-error")
            # RFC 3261 8.2 / RFC 4475: a readable-enough malformed request gets a 400.
            answer = answer_parse_error(packet.data, rng=self._error_rng())
            if answer is not None and self.cores:
                self.send(answer.message, answer.destination)
            return
        done = now + self.processing_delay
        if self.capacity is not None:
            backlog = self._backlog
            while backlog and backlog[0] <= now:
                backlog.popleft()
            if self.queue_limit is not None and len(backlog) > self.queue_limit:
                self.overload_drops += 1
                network.drop(packet, self.name, packet.src, "overload")
                return
            start = self._busy_until if self._busy_until > now else now
            finish = start + 1.0 / self.capacity
            self._busy_until = finish
            backlog.append(finish)
            if len(backlog) - 1 > self.max_queue:
                self.max_queue = len(backlog) - 1  # waiting, not counting the one in service
            done = finish + self.processing_delay
        network.received(packet)
        if done > now:
            wake(self._env, done - now, self._process_cbs, message, packet)
        else:
            self.process(message, packet)

    def queue_length(self, now: float) -> int:
        """Messages admitted but not yet served at ``now`` (its capacity backlog).

        >>> from simvoip import Simulation, Topology
        >>> topo = Topology(); topo.add_proxy("p", domain="x", capacity=10.0)
        >>> Simulation(topo).nodes["p"].queue_length(0.0)
        0
        """
        waiting = 0
        for finish in reversed(self._backlog):  # finish times, increasing
            if finish <= now:
                break
            waiting += 1
        return waiting

    def _error_rng(self) -> Any:
        core = self.core
        rng = getattr(core, "rng", None)
        return rng if rng is not None else self.sim.rng("node", self.name, "errors")

    def _process_event(self, event: Wakeup) -> None:
        self.process(event.a, event.b)

    def process(self, message: Request | Response, packet: Packet | None = None) -> None:
        """Match ``message`` to a transaction or hand it to the core.

        An *element* core (one with ``receive``: the UA, proxy and registrar of
        :mod:`simvoip.sip`) owns its transactions, so it gets every message as
        it is, with the address it came from.
        """
        now = self._env._now
        core = self._element
        if core is not None:
            if packet is not None:
                where = (packet.src, packet.transport)
                source = self._sources.get(where)
                if source is None:
                    source = self._sources[where] = Address(
                        packet.src, 5060, "TCP" if packet.transport == "tcp" else "UDP")
            else:
                source = Address("unknown")
            self.run_element(core, core.receive(message, source, now), now)
            return
        if not self.cores:
            self.unhandled += 1
            return
        try:
            if isinstance(message, Response):
                self._process_response(message, now)
            else:
                self._process_request(message, now)
        except SipError:
            # A parsable message with a broken Via/CSeq: counted, never fatal.
            self.parse_errors += 1

    def _process_response(self, response: Response, now: float) -> None:
        key = client_key(response)
        tx = self.client_transactions.get(key) if key is not None else None
        if tx is None:
            self.run_core(self.cores[0], self.cores[0].on_response(response, now), now)
            return
        before = tx.state
        self._feed(tx, tx.receive_response(response, now), now, before)

    def _process_request(self, request: Request, now: float) -> None:
        key = server_key(request)
        tx = self.server_transactions.get(key)
        if tx is not None:
            before = tx.state
            self._feed(tx, tx.receive_request(request, now), now, before)
            return
        core = self.cores[0]
        if request.method == "ACK" or core.stateless:
            # RFC 3261 17.2.3: an ACK matching no transaction goes to the TU (2xx ACK).
            self.run_core(core, core.on_request(request, None, now), now)
            return
        config = self.sim.timers
        new: ServerTransaction
        if request.method == "INVITE":
            new = InviteServerTransaction(request, response_address(request), config, now,
                                          key=key)
        else:
            new = NonInviteServerTransaction(request, response_address(request), config, now,
                                             key=key)
        key = new.key
        self.server_transactions[key] = new
        self._index_server(new)
        self._info[key] = (core, message_meta(request))
        self._feed(new, new.start(now), now, None)
        self.run_core(core, core.on_request(request, new, now), now)

    # -- executing outputs -----------------------------------------------------------
    def _feed(self, tx: Transaction, outputs: list[Any], now: float, before: Any) -> None:
        """Execute a transaction's outputs; TU events go to its owning core."""
        info = self._info.get(tx.key)
        state = tx.state
        if state is not before and self._trace.enabled:
            m = info[1] if info is not None else message_meta(tx.request)
            self._trace.records.append((
                now, "state", self.name, None, "sip", None, m[0], None, m[2], m[3],
                m[4], _STATE_TEXT(state), None, None, None, None))
        core = info[0] if info is not None else None
        for out in outputs:
            kind = type(out)  # effects are final classes: exact type tests are enough
            if kind is StartTimer:
                self._arm(out, tx)
            elif kind is Send:
                message = out.message
                meta = info[1] if info is not None and message is tx.request else None
                self.send(message, out.destination, meta)
            elif kind is CancelTimer:
                self._cancel(out.name, out.key)
            else:
                if out is TERMINATED or isinstance(out, Terminated):
                    self._forget(tx)
                if core is not None:
                    effects = core.on_event(tx, out, now)
                    if effects:
                        self.run_core(core, effects, now)

    def run_core(self, core: Any, effects: Iterable[Any] | None, now: float) -> None:
        """Execute a core's outputs (see the module docstring)."""
        for out in effects or ():
            if isinstance(out, Send):
                message = out.message
                if core.stateless:
                    self.send(message, out.destination)
                elif isinstance(message, Request):
                    if message.method == "ACK":
                        self.send(message, out.destination)
                    else:
                        cls = (InviteClientTransaction if message.method == "INVITE"
                               else NonInviteClientTransaction)
                        self.start_transaction(
                            cls(message, out.destination, self.sim.timers, now), core)
                else:
                    server = self._server_for(message)
                    if server is None:
                        self.send(message, out.destination)
                    else:
                        before = server.state
                        self._feed(server, server.send_response(message, now), now, before)
            elif isinstance(out, StartTimer):
                self._arm(out, core)
            elif isinstance(out, CancelTimer):
                self._cancel(out.name, out.key)
            elif isinstance(out, Transaction):
                self.start_transaction(out, core)
            else:
                raise TypeError(f"{self.name}: a core returned {out!r}, not an effect")

    def start_transaction(self, tx: Transaction, core: Any) -> None:
        """Register ``tx`` as owned by ``core`` and start it."""
        key = tx.key
        table: dict[Hashable, Any] = (
            self.client_transactions if isinstance(tx, ClientTransaction)
            else self.server_transactions
        )
        table[key] = tx
        if isinstance(tx, ServerTransaction):
            self._index_server(tx)
        self._info[key] = (core, message_meta(tx.request))
        now = self._env._now
        self._feed(tx, tx.start(now), now, None)

    def _server_for(self, response: Response) -> ServerTransaction | None:
        """The server transaction ``response`` belongs to (RFC 3261 17.2.3 key of its Via)."""
        try:
            via = response.top_via
            method = response.cseq.method
        except SipError:
            return None
        branch = via.branch
        if branch and branch.startswith(MAGIC_COOKIE):
            tx = self._server_index.get((branch, method))
            if tx is not None and tx.request.top_via.sent_by == via.sent_by:
                return tx
            return None
        try:  # RFC 2543 peer: the full legacy key, from a request-shaped probe
            key = server_key(Request(method, "sip:invalid", response.headers))
        except SipError:
            return None
        return self.server_transactions.get(key)

    def _index_server(self, tx: ServerTransaction) -> None:
        key = tx.key
        if isinstance(key, TransactionKey):
            self._server_index[(key.branch, key.method)] = tx

    def _forget(self, tx: Transaction) -> None:
        key = tx.key
        table: dict[Hashable, Any] = (
            self.client_transactions if isinstance(tx, ClientTransaction)
            else self.server_transactions
        )
        if table.get(key) is tx:
            del table[key]
            self._info.pop(key, None)
            if isinstance(key, TransactionKey):
                slot = (key.branch, key.method)
                if self._server_index.get(slot) is tx:
                    del self._server_index[slot]

    def transport_error(self, message: Request | Response, now: float,
                        destination: str | None = None) -> None:
        """The transport failed to deliver ``message`` (RFC 3261 17.1.4, 17.2.4)."""
        core = self.core
        if core is not None and hasattr(core, "transport_error"):
            # An element core owns the transaction that sent it.
            address = Address(destination or "unknown", 5060, "TCP")
            self.run_element(core, core.transport_error(message, address, now), now)
            return
        tx: Transaction | None
        if isinstance(message, Request):
            key = client_key(message)
            tx = self.client_transactions.get(key) if key is not None else None
        else:
            tx = next((t for t in self.server_transactions.values()
                       if t.last_response is message), None)
        if tx is not None:
            before = tx.state
            self._feed(tx, tx.transport_error(now, "connection failed"), now, before)

    # -- sending ---------------------------------------------------------------------
    def send(self, message: Request | Response, destination: Address,
             meta: tuple[Any, ...] | None = None) -> None:
        """Encode ``message`` and put it on the wire towards ``destination``."""
        sim = self.sim
        network = self._network
        now = self._env._now
        if meta is None:
            meta = message_meta(message) if self._trace.enabled else _NO_META
        data = message.encode()
        dst = sim.topology.resolve(destination.host)
        transport = "tcp" if destination.reliable else "udp"
        if dst is None:
            packet = network.new_packet(self.name, destination.host, data, transport, meta, now)
            network.drop(packet, self.name, destination.host, "unresolved")
            return
        cause = None
        if (transport == "udp" and isinstance(message, Request)
                and mtu_requires_tcp(len(data), network.path_mtu(self.name, dst))):
            # RFC 3261 18.1.1: large requests MUST use a congestion-controlled transport.
            transport, data, cause = "tcp", via_to_tcp(data), "mtu-tcp"
        packet = network.new_packet(self.name, dst, data, transport, meta, now)
        packet.message = message
        network.send(packet, cause)

    # -- timers ----------------------------------------------------------------------
    def _arm(self, start: StartTimer, owner: Any) -> None:
        # Timer names may be str-valued enums (simvoip.sip.transaction.Timer): key by the text.
        name = start.name
        slot = (name if type(name) is str else _timer_text(name), start.key)
        env = self._env
        delay = start.at - env._now
        timers = self._timers
        previous = timers.get(slot)
        if previous is not None:
            previous.cancel()  # re-armed: the old one must not fire
            self.sim.timer_cancelled()
        timers[slot] = self._lanes.schedule(delay if delay > 0.0 else 0.0, self._fire_cbs,
                                            slot, owner)

    def _cancel(self, name: str, key: Hashable) -> None:
        event = self._timers.pop((name if type(name) is str else _timer_text(name), key), None)
        if event is not None:
            event.cancel()  # frees what it holds now, not when its time comes
            self.sim.timer_cancelled()

    def _fire_event(self, event: Wakeup) -> None:
        slot: tuple[str, Hashable] = event.a
        if self._timers.get(slot) is not event:
            return  # cancelled or re-armed since
        del self._timers[slot]
        owner = event.b
        name, key = slot
        now = self._env._now
        traced = self._trace.enabled
        if isinstance(owner, Transaction):
            if traced:
                info = self._info.get(owner.key)
                meta = info[1] if info is not None else message_meta(owner.request)
                self._trace.records.append((
                    now, "timer", self.name, None, "sip", None, meta[0], None, meta[2],
                    meta[3], meta[4], name, None, None, None, None))
            if not owner.terminated:
                before = owner.state
                self._feed(owner, owner.handle_timer(name, now), now, before)
        elif hasattr(owner, "receive"):
            if traced:
                self._trace_element_timer(owner, name, key, now)
            self.run_element(owner, owner.handle_timer(name, key, now), now)
        else:
            if traced:
                self._trace.record(now, "timer", self.name, None, cause=name,
                                   branch=getattr(key, "branch", None))
            self.run_core(owner, owner.handle_timer(name, key, now), now)

    # -- element cores (UA, proxy): they own their transactions -----------------------
    def run_element(self, core: Any, effects: Iterable[Any] | None, now: float) -> None:
        """Carry out an element core's outputs; other values are user events.

        ``Send`` goes straight to the wire (the core already ran it through its
        own transaction), timers are armed for the core, and every event (call
        started, answered, ended, registered ...) goes to the simulation, which
        traces it as a ``state`` row and updates its call records.
        """
        for out in effects or ():
            kind = type(out)
            if kind is Send:
                self.send(out.message, out.destination)
            elif kind is StartTimer:
                self._arm(out, core)
            elif kind is CancelTimer:
                self._cancel(out.name, out.key)
            else:
                self.sim.element_event(self.name, out)

    def _trace_element_timer(self, core: Any, name: str, key: Hashable, now: float) -> None:
        # A transaction timer of an element core: label the row with its request.
        tx = None
        table = getattr(core, "transactions", None)
        if table is not None:
            tx = table.clients.get(key) or table.servers.get(key)
        request = getattr(tx, "request", None)
        if request is not None:
            meta = message_meta(request)
            self.sim.trace.records.append((
                now, "timer", self.name, None, "sip", None, meta[0], None, meta[2], meta[3],
                meta[4], _timer_text(name), None, None, None, None))
            return
        self.sim.trace.record(now, "timer", self.name, None, cause=_timer_text(name),
                              call_id=getattr(key, "owner", None),
                              branch=getattr(key, "branch", None))
