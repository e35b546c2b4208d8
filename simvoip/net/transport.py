"""Real UDP and TCP sockets for SIP on asyncio (RFC 3261 section 18, transport only).

A :class:`SipTransport` listens on one local ``(host, port)`` with UDP and
TCP, hands every received datagram or framed stream message to a callback as
``(bytes, Address)`` and sends bytes to an :class:`~simvoip.sip.effects.Address`.
It knows nothing of SIP beyond framing (Content-Length on streams, done by
:class:`~simvoip.sip.framing.StreamFramer`): parsing and every protocol
decision belong to the node and its core.

* UDP requests and responses leave from the listening socket, so the source
  port is the port in our Via (RFC 3261 18.1.1 / RFC 3581 symmetric use).
* TCP: one connection per peer ``(ip, port)``, accepted or opened on demand;
  :meth:`SipTransport.alias` lets the node say "messages for this address go
  over that connection" (RFC 3261 18.2.2: a response goes back over the
  connection the request came on).
* Failures (connection refused, ICMP errors, framing lost on a stream) go to
  ``on_error(destination, data, exc)``; the transport keeps running.

>>> import asyncio
>>> async def echo_once():
...     got = []
...     a = SipTransport(lambda data, src: got.append((data, src.transport)))
...     b = SipTransport(lambda data, src: None)
...     await a.start("127.0.0.1", 0)
...     await b.start("127.0.0.1", 0)
...     b.send(b"OPTIONS sip:x SIP/2.0\\r\\n\\r\\n", Address("127.0.0.1", a.port, "UDP"))
...     for _ in range(100):
...         if got:
...             break
...         await asyncio.sleep(0.01)
...     a.close(); b.close()
...     return got
>>> asyncio.run(echo_once())
[(b'OPTIONS sip:x SIP/2.0\\r\\n\\r\\n', 'UDP')]
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import socket
from collections.abc import Callable
from typing import Any

from simvoip.sip.effects import Address
from simvoip.sip.errors import ParseError
from simvoip.sip.framing import StreamFramer

__all__ = ["SipTransport", "MessageHandler", "ErrorHandler"]

log = logging.getLogger(__name__)

#: ``on_message(data, source)``: one datagram or one framed stream message arrived.
MessageHandler = Callable[[bytes, Address], None]
#: ``on_error(destination, data, exc)``: ``data`` could not be sent (or ``None``: a
#: receive-side failure such as lost stream framing).
ErrorHandler = Callable[[Address, "bytes | None", BaseException], None]

_Peer = tuple[str, int]


@functools.lru_cache(maxsize=1024)
def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class _Datagram(asyncio.DatagramProtocol):
    def __init__(self, owner: SipTransport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.owner._deliver(data, Address(addr[0], addr[1], "UDP"))

    def error_received(self, exc: Exception) -> None:
        # An ICMP error for some earlier datagram: the socket cannot say which one.
        self.owner.udp_errors += 1
        log.debug("UDP error: %s", exc)


class _Stream(asyncio.Protocol):
    """One TCP connection: a framer in, a queue of bytes out while connecting."""

    def __init__(self, owner: SipTransport, peer: _Peer | None = None) -> None:
        self.owner = owner
        self.peer = peer
        self.framer = StreamFramer()
        self.transport: asyncio.Transport | None = None
        self.pending: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.peer is None:
            name = transport.get_extra_info("peername")
            self.peer = (name[0], name[1])
        self.owner._connections[self.peer] = self
        for data in self.pending:
            transport.write(data)
        self.pending.clear()

    def data_received(self, data: bytes) -> None:
        assert self.peer is not None
        source = Address(self.peer[0], self.peer[1], "TCP")
        try:
            messages = self.framer.feed(data)
        except ParseError as exc:
            # Framing is lost: the connection cannot be resynchronised (RFC 3261 18.3).
            self.owner._report(source, None, exc)
            self.close()
            return
        for raw in messages:
            self.owner._deliver(raw, source)

    def write(self, data: bytes) -> None:
        if self.transport is None:
            self.pending.append(data)
        else:
            self.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.owner._forget(self)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        self.owner._forget(self)


class SipTransport:
    """UDP + TCP sockets of one SIP element, on the running asyncio loop.

    Parameters
    ----------
    on_message : callable
        ``on_message(data, source)`` for each received message.
    on_error : callable, optional
        ``on_error(destination, data, exc)`` when sending fails.
    udp, tcp : bool
        Which transports to open.
    hosts : dict, optional
        Static name -> IP map tried before DNS for non-literal hosts.
    loopback_only : bool
        Refuse (as a transport error) every destination that is not a loopback
        address after the ``hosts`` map, without asking DNS: for tests and fuzzing,
        where a peer's Via may name any host.
    """

    def __init__(self, on_message: MessageHandler, on_error: ErrorHandler | None = None, *,
                 udp: bool = True, tcp: bool = True, hosts: dict[str, str] | None = None,
                 loopback_only: bool = False) -> None:
        self.on_message = on_message
        self.on_error = on_error
        self.use_udp = udp
        self.use_tcp = tcp
        self.hosts = dict(hosts or {})
        self.loopback_only = loopback_only
        self.host = ""
        self.port = 0
        self.udp_errors = 0
        self.send_errors = 0
        #: Exceptions raised by ``on_message`` (logged and survived; a bug if non-zero).
        self.handler_errors = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.Server | None = None
        self._connections: dict[_Peer, _Stream] = {}
        self._aliases: dict[_Peer, _Peer] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- life cycle --------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Bind UDP and TCP on ``host:port`` (port 0: a free port shared by both)."""
        loop = asyncio.get_running_loop()
        attempts = 20 if port == 0 else 1
        for attempt in range(attempts):
            try:
                await self._bind(loop, host, port)
                return
            except OSError:
                self.close()
                if attempt == attempts - 1:
                    raise

    async def _bind(self, loop: asyncio.AbstractEventLoop, host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        bound = port
        if self.use_udp:
            udp, _ = await loop.create_datagram_endpoint(
                lambda: _Datagram(self), local_addr=(host, port), family=family)
            self._udp = udp
            bound = udp.get_extra_info("sockname")[1]
        if self.use_tcp:
            self._server = await loop.create_server(
                lambda: _Stream(self), host=host, port=bound, family=family, reuse_address=True)
            bound = self._server.sockets[0].getsockname()[1]
        self.host, self.port = host, bound

    def close(self) -> None:
        """Close every socket (idempotent)."""
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in list(self._connections.values()):
            conn.close()
        self._connections.clear()
        for task in list(self._tasks):
            task.cancel()

    @property
    def connections(self) -> list[_Peer]:
        """Peers with an open TCP connection."""
        return sorted(self._connections)

    # -- sending -------------------------------------------------------------------------------

    def alias(self, destination: Address, source: Address) -> None:
        """Send stream messages for ``destination`` over the connection from ``source``."""
        if destination.reliable and source.reliable:
            key = (destination.host, destination.port)
            if key != (source.host, source.port):
                self._aliases[key] = (source.host, source.port)

    def send(self, data: bytes, destination: Address) -> None:
        """Send ``data`` to ``destination`` (never blocks; failures go to ``on_error``)."""
        host = self.hosts.get(destination.host, destination.host)
        if self.loopback_only and not (_is_ip(host) and ipaddress.ip_address(host).is_loopback):
            self._report(destination, data, OSError(f"{host} is not a loopback address"))
            return
        if _is_ip(host):
            self._send_to(data, destination, host)
            return
        task = asyncio.get_running_loop().create_task(self._resolve_and_send(data, destination,
                                                                             host))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resolve_and_send(self, data: bytes, destination: Address, host: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            infos = await loop.getaddrinfo(host, destination.port, family=family,
                                           type=socket.SOCK_DGRAM)
        except OSError as exc:
            self._report(destination, data, exc)
            return
        self._send_to(data, destination, str(infos[0][4][0]))

    def _send_to(self, data: bytes, destination: Address, ip: str) -> None:
        peer = (ip, destination.port)
        if not destination.reliable:
            if self._udp is None:
                self._report(destination, data, OSError("UDP is not open"))
                return
            self._udp.sendto(data, peer)
            return
        conn = self._connections.get(peer)
        if conn is None:
            alias = self._aliases.get(peer)
            conn = self._connections.get(alias) if alias is not None else None
        if conn is not None and not conn.closed:
            conn.write(data)
            return
        self._connect(data, destination, peer)

    def _connect(self, data: bytes, destination: Address, peer: _Peer) -> None:
        stream = _Stream(self, peer)
        stream.pending.append(data)
        # Registered before the connection is up so that further sends queue behind it.
        self._connections[peer] = stream
        loop = asyncio.get_running_loop()

        async def connect() -> None:
            try:
                await loop.create_connection(lambda: stream, peer[0], peer[1])
            except OSError as exc:
                stream.closed = True
                self._forget(stream)
                for queued in stream.pending:
                    self._report(destination, queued, exc)
                stream.pending.clear()

        task = loop.create_task(connect())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- callbacks from the protocols --------------------------------------------------------

    def _deliver(self, data: bytes, source: Address) -> None:
        try:
            self.on_message(data, source)
        except Exception:  # a bug in a handler must not close the socket
            self.handler_errors += 1
            log.exception("message handler failed for %d bytes from %s", len(data), source)

    def _report(self, destination: Address, data: bytes | None, exc: BaseException) -> None:
        self.send_errors += 1
        log.debug("transport error towards %s: %s", destination, exc)
        if self.on_error is not None:
            self.on_error(destination, data, exc)

    def _forget(self, stream: _Stream) -> None:
        peer = stream.peer
        if peer is not None and self._connections.get(peer) is stream:
            del self._connections[peer]
            for key in [k for k, v in self._aliases.items() if v == peer]:
                del self._aliases[key]
