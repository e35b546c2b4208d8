"""The asyncio node adapter: one sans-I/O core on real sockets.

:class:`NetNode` is the real-network sibling of :class:`simvoip.sim.node.Node`.
It hosts one core with the UA / proxy interface -- ``receive(message, source,
now)`` and ``handle_timer(name, key, now)``, each returning a list of effects
and events -- and only carries out what the core returns:

* bytes in: :func:`~simvoip.sip.message.parse_message`; unparseable bytes
  are counted and dropped (no Via to answer to). Everything that parses goes
  to the core, which validates it itself (RFC 3261 8.2 / 16.3, see
  :mod:`simvoip.sip.screening`) exactly as in the simulator.
* a request that came over TCP makes its response address (top Via) an alias
  of its connection, so responses go back over it (RFC 3261 18.2.2).
* ``now`` is always ``loop.time()``; :class:`~simvoip.sip.effects.StartTimer`
  becomes ``loop.call_at(at, ...)`` keyed by ``(name, key)`` (re-arming
  replaces), :class:`~simvoip.sip.effects.CancelTimer` cancels it;
* :class:`~simvoip.sip.effects.Send` encodes the message and hands it to
  :class:`~simvoip.net.transport.SipTransport`;
* anything else a core returns is a user event: appended to :attr:`NetNode.events`
  (when ``keep_events``), counted in :attr:`NetNode.event_counts` and passed
  to ``on_event``.

>>> import asyncio, random
>>> from simvoip.sip.ua import UAConfig, UserAgent
>>> async def options_ping():
...     bob = NetNode(role="uas")
...     await bob.start("127.0.0.1", 0)
...     bob.core = UserAgent(UAConfig(aor="sip:bob@127.0.0.1", host="127.0.0.1",
...                                   port=bob.port), random.Random(1))
...     alice = NetNode(role="uac")
...     await alice.start("127.0.0.1", 0)
...     alice.core = UserAgent(UAConfig(aor="sip:alice@127.0.0.1", host="127.0.0.1",
...                                     port=alice.port), random.Random(2))
...     alice.execute(alice.core.options(f"sip:bob@127.0.0.1:{bob.port}", alice.now))
...     result = await alice.wait_for(lambda e: type(e).__name__ == "OptionsResult", 5.0)
...     alice.close(); bob.close()
...     return result.status
>>> asyncio.run(options_ping())
200
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from simvoip.net.transport import SipTransport
from simvoip.sip.effects import Address, CancelTimer, Send, StartTimer
from simvoip.sip.errors import ParseError, SipError
from simvoip.sip.message import Request, Response, parse_message
from simvoip.sip.screening import answer_parse_error
from simvoip.sip.transport_choice import mtu_requires_tcp, via_to_tcp
from simvoip.sip.ua.transactions import response_address

__all__ = ["NetNode", "WireRecord"]

log = logging.getLogger(__name__)

Role = Literal["uas", "uac", "proxy", "registrar"]


@dataclass(frozen=True, slots=True)
class WireRecord:
    """One message on the wire as the node saw it (``direction`` ``sent`` / ``received``).

    ``at`` is on the core's clock: arrival time for a received message, the ``now`` of
    the step that produced it for a sent one (the send itself follows within that step).
    """

    at: float
    direction: str
    message: Request | Response
    peer: Address


class NetNode:
    """A SIP element on real sockets: transport + one core.

    Parameters
    ----------
    core : object, optional
        The core (``UserAgent``, ``Proxy`` ...); may be set after :meth:`start`,
        once the bound port is known.
    role : {"uas", "uac", "proxy", "registrar"}
        Which RFC 3261 checks :func:`~simvoip.sip.validate.validate_request` applies
        to requests before the core sees them.
    supported : tuple of str
        Option tags the core understands (420 otherwise).
    keep_events, keep_wire : bool
        Keep user events in :attr:`events`, and every message sent or received
        in :attr:`wire` and every timer armed in :attr:`armed` (tests; off for
        long runs).
    on_event : callable, optional
        Called with each user event.
    hosts : dict, optional
        Static name -> IP map for destinations given by name.
    loopback_only : bool
        Send nowhere but to loopback addresses (see :class:`SipTransport`).
    path_mtu : int, optional
        MTU of the path to peers, when known. RFC 3261 18.1.1: a request within
        200 bytes of it -- or, with the MTU unknown (``None``), over 1300
        bytes -- that would go over UDP is sent over TCP instead, its top Via
        saying so; if the TCP attempt fails it is sent again over UDP
        ("the element SHOULD retry the request, using UDP"). Counted in
        ``stats["mtu-tcp"]`` and ``stats["mtu-tcp-fallback"]``.
    """

    def __init__(self, core: Any = None, *, role: Role = "uas", supported: tuple[str, ...] = (),
                 keep_events: bool = True, keep_wire: bool = False,
                 on_event: Callable[[Any], None] | None = None,
                 hosts: dict[str, str] | None = None, udp: bool = True,
                 tcp: bool = True, loopback_only: bool = False,
                 path_mtu: int | None = None) -> None:
        self.core = core
        self.path_mtu = path_mtu
        self.role = role
        self.supported = supported
        self.keep_events = keep_events
        self.keep_wire = keep_wire
        self.on_event = on_event
        self.transport = SipTransport(self._on_bytes, self._on_transport_error, udp=udp,
                                      tcp=tcp, hosts=hosts, loopback_only=loopback_only)
        self.events: list[Any] = []
        self.event_counts: Counter[str] = Counter()
        self.wire: list[WireRecord] = []
        #: With ``keep_wire``: every StartTimer carried out, with the ``now`` of its step.
        self.armed: list[tuple[float, StartTimer]] = []
        #: Received bytes that did not parse (dropped), requests rejected by validation,
        #: responses discarded by validation, transport failures, core exceptions.
        self.stats: Counter[str] = Counter()
        self._timers: dict[tuple[str, Hashable], asyncio.TimerHandle] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        # Bytes sent over TCP only because of their size -> the UDP bytes to fall back to.
        self._switched: dict[bytes, bytes] = {}

    # -- life cycle ------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Open the sockets (port 0 picks a free one; see :attr:`port`)."""
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        await self.transport.start(host, port)

    def close(self) -> None:
        """Cancel every timer and close the sockets."""
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self.transport.close()

    @property
    def host(self) -> str:
        return self.transport.host

    @property
    def port(self) -> int:
        return self.transport.port

    @property
    def now(self) -> float:
        """The loop clock the cores run on (seconds, monotonic)."""
        loop = self._loop or asyncio.get_running_loop()
        return loop.time()

    @property
    def armed_timers(self) -> list[tuple[str, Hashable]]:
        return list(self._timers)

    # -- inputs ---------------------------------------------------------------------------------

    def _on_bytes(self, data: bytes, source: Address) -> None:
        try:
            message = parse_message(data)
        except ParseError as exc:
            self.stats["parse-error"] += 1
            log.debug("unparseable message from %s: %s", source, exc)
            # RFC 3261 8.2 / RFC 4475: a readable-enough malformed request gets a 400.
            rng = getattr(self.core, "rng", None)
            answer = answer_parse_error(data, rng=rng) if rng is not None else None
            if answer is not None:
                self.transport.alias(answer.destination, source)
                self.send(answer.message, answer.destination, self.now)
            return
        now = self.now
        if self.keep_wire:
            self.wire.append(WireRecord(now, "received", message, source))
        if isinstance(message, Request):
            try:
                # A stream request's responses go back over its connection (RFC 3261 18.2.2).
                self.transport.alias(response_address(message), source)
            except SipError:
                pass
        if self.core is None:
            self.stats["no-core"] += 1
            return
        self._run(lambda: self.core.receive(message, source, now), now)

    def _on_transport_error(self, destination: Address, data: bytes | None,
                            exc: BaseException) -> None:
        if data is not None and data in self._switched:
            # RFC 3261 18.1.1: the TCP attempt for a large request failed: retry over UDP.
            self.stats["mtu-tcp-fallback"] += 1
            self.transport.send(self._switched.pop(data),
                                Address(destination.host, destination.port, "UDP"))
            return
        self.stats["transport-error"] += 1
        handler = getattr(self.core, "transport_error", None)
        if handler is None or data is None:
            return
        try:
            message = parse_message(data)
        except ParseError:
            return
        now = self.now
        self._run(lambda: handler(message, destination, now), now)

    def _fire(self, slot: tuple[str, Hashable]) -> None:
        self._timers.pop(slot, None)
        if self.core is None:
            return
        name, key = slot
        now = self.now
        self._run(lambda: self.core.handle_timer(name, key, now), now)

    def _run(self, step: Callable[[], Iterable[Any] | None], now: float) -> None:
        try:
            outputs = step()
        except SipError as exc:
            # A peer's message broke a core assumption: count it and keep serving.
            self.stats["core-error"] += 1
            log.warning("core rejected input: %s", exc)
            return
        self.execute(outputs, now)

    # -- outputs --------------------------------------------------------------------------------

    def execute(self, outputs: Iterable[Any] | None, now: float | None = None) -> None:
        """Carry out a core's outputs (also for calls made by the user: ``ua.invite``).

        ``now`` is the time the core was given for the step that produced them (it
        stamps :attr:`wire`); by default the loop clock.
        """
        loop = self._loop or asyncio.get_running_loop()
        if now is None:
            now = loop.time()
        for out in outputs or ():
            if isinstance(out, Send):
                self.send(out.message, out.destination, now)
            elif isinstance(out, StartTimer):
                if self.keep_wire:
                    self.armed.append((now, out))
                slot = (str(out.name), out.key)
                old = self._timers.pop(slot, None)
                if old is not None:
                    old.cancel()
                self._timers[slot] = loop.call_at(out.at, self._fire, slot)
            elif isinstance(out, CancelTimer):
                handle = self._timers.pop((str(out.name), out.key), None)
                if handle is not None:
                    handle.cancel()
            else:
                self._event(out)

    def send(self, message: Request | Response, destination: Address,
             now: float | None = None) -> None:
        """Encode ``message`` and send it to ``destination`` (``now``: see :meth:`execute`)."""
        if self.keep_wire:
            at = self.now if now is None else now
            self.wire.append(WireRecord(at, "sent", message, destination))
        data = message.encode()
        if (isinstance(message, Request) and not destination.reliable and self.transport.use_tcp
                and mtu_requires_tcp(len(data), self.path_mtu)):
            # RFC 3261 18.1.1: too large for UDP; the top Via names the transport used.
            wire = via_to_tcp(data)
            if len(self._switched) >= 1024:
                self._switched.clear()  # bounded: only failures in flight need it
            self._switched[wire] = data
            self.stats["mtu-tcp"] += 1
            self.transport.send(wire, Address(destination.host, destination.port, "TCP"))
            return
        self.transport.send(data, destination)

    def _event(self, event: Any) -> None:
        self.event_counts[type(event).__name__] += 1
        if self.keep_events:
            self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)
        if self._changed is not None:
            self._changed.set()

    async def wait_for(self, predicate: Callable[[Any], bool], timeout: float) -> Any:
        """The first kept event (past or future) for which ``predicate`` is true.

        Raises :class:`TimeoutError` after ``timeout`` seconds.
        """
        assert self._changed is not None, "start() the node first"
        seen = 0

        async def scan() -> Any:
            nonlocal seen
            while True:
                assert self._changed is not None
                self._changed.clear()
                for event in self.events[seen:]:
                    if predicate(event):
                        return event
                seen = len(self.events)
                await self._changed.wait()

        return await asyncio.wait_for(scan(), timeout)
