"""SipTransport on loopback: UDP datagrams, TCP framing, connection reuse, failures."""

from __future__ import annotations

import asyncio
import socket

from simvoip.net.transport import SipTransport
from simvoip.sip.effects import Address

from .helpers import eventually, options, run

MSG = options(5060)


def test_udp_both_ways_from_the_listening_port() -> None:
    async def main() -> None:
        got_a: list[tuple[bytes, Address]] = []
        got_b: list[tuple[bytes, Address]] = []
        a = SipTransport(lambda d, s: got_a.append((d, s)))
        b = SipTransport(lambda d, s: got_b.append((d, s)))
        await a.start("127.0.0.1", 0)
        await b.start("127.0.0.1", 0)
        a.send(MSG, Address("127.0.0.1", b.port, "UDP"))
        await eventually(lambda: got_b)
        # The datagram left from a's listening port (symmetric use, RFC 3581).
        assert got_b == [(MSG, Address("127.0.0.1", a.port, "UDP"))]
        b.send(b"pong", got_b[0][1])
        await eventually(lambda: got_a)
        assert got_a == [(b"pong", Address("127.0.0.1", b.port, "UDP"))]
        a.close()
        b.close()

    run(main)


def test_tcp_frames_split_and_joined_writes_by_content_length() -> None:
    async def main() -> None:
        got: list[tuple[bytes, Address]] = []
        server = SipTransport(lambda d, s: got.append((d, s)))
        await server.start("127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        body = b"v=0\r\n"
        second = MSG.replace(b"Content-Length: 0", b"Content-Length: 5") + body
        wire = b"\r\n\r\n" + MSG + second  # keep-alive CRLFs, then two messages
        for i in range(0, len(wire), 7):  # in odd-sized pieces
            writer.write(wire[i:i + 7])
            await writer.drain()
        await eventually(lambda: len(got) == 2)
        local_port = writer.get_extra_info("sockname")[1]
        assert [d for d, _ in got] == [MSG, second]
        assert got[0][1] == Address("127.0.0.1", local_port, "TCP")
        # A reply to that source reuses the accepted connection.
        server.send(b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", got[0][1])
        data = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2.0)
        assert data.startswith(b"SIP/2.0 200 OK")
        assert server.connections == [("127.0.0.1", local_port)]
        writer.close()
        server.close()

    run(main)


def test_tcp_alias_sends_to_the_via_address_over_the_existing_connection() -> None:
    async def main() -> None:
        got: list[tuple[bytes, Address]] = []
        server = SipTransport(lambda d, s: got.append((d, s)))
        await server.start("127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(MSG)
        await eventually(lambda: got)
        # The client's Via names a port nobody listens on; RFC 3261 18.2.2 says use the
        # connection the request came on.
        via_address = Address("127.0.0.1", 9, "TCP")
        server.alias(via_address, got[0][1])
        server.send(b"SIP/2.0 200 OK\r\n\r\n", via_address)
        data = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2.0)
        assert data == b"SIP/2.0 200 OK\r\n\r\n"
        assert server.send_errors == 0
        writer.close()
        server.close()

    run(main)


def test_tcp_client_connects_once_and_queues_while_connecting() -> None:
    async def main() -> None:
        got: list[tuple[bytes, Address]] = []
        server = SipTransport(lambda d, s: got.append((d, s)))
        client = SipTransport(lambda d, s: None)
        await server.start("127.0.0.1", 0)
        await client.start("127.0.0.1", 0)
        dst = Address("127.0.0.1", server.port, "TCP")
        client.send(MSG, dst)
        client.send(MSG, dst)  # before the connection is up
        await eventually(lambda: len(got) == 2)
        assert got[0][1] == got[1][1]  # same connection
        assert client.connections == [("127.0.0.1", server.port)]
        client.close()
        server.close()

    run(main)


def test_tcp_connect_refused_is_reported_with_the_data() -> None:
    async def main() -> None:
        errors: list[tuple[Address, bytes | None, BaseException]] = []
        client = SipTransport(lambda d, s: None, lambda dst, d, e: errors.append((dst, d, e)))
        await client.start("127.0.0.1", 0)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
        probe.close()  # nobody listens there now
        dst = Address("127.0.0.1", closed_port, "TCP")
        client.send(MSG, dst)
        await eventually(lambda: errors)
        assert errors[0][0] == dst and errors[0][1] == MSG
        assert isinstance(errors[0][2], OSError)
        assert client.connections == []
        client.close()

    run(main)


def test_lost_stream_framing_closes_only_that_connection() -> None:
    async def main() -> None:
        got: list[tuple[bytes, Address]] = []
        errors: list[tuple[Address, bytes | None, BaseException]] = []
        server = SipTransport(lambda d, s: got.append((d, s)),
                              lambda dst, d, e: errors.append((dst, d, e)))
        await server.start("127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        # RFC 4475 3.1.2.2 style: a negative Content-Length makes framing impossible.
        writer.write(MSG.replace(b"Content-Length: 0", b"Content-Length: -999"))
        assert await asyncio.wait_for(reader.read(), 2.0) == b""  # closed by the server
        await eventually(lambda: errors)
        assert errors[0][1] is None and got == []
        # The listener still serves new connections.
        _, writer2 = await asyncio.open_connection("127.0.0.1", server.port)
        writer2.write(MSG)
        await eventually(lambda: got)
        writer.close()
        writer2.close()
        server.close()

    run(main)


def test_names_are_resolved_through_the_hosts_map() -> None:
    async def main() -> None:
        got: list[tuple[bytes, Address]] = []
        b = SipTransport(lambda d, s: got.append((d, s)))
        a = SipTransport(lambda d, s: None, hosts={"bob.example": "127.0.0.1"})
        await a.start("127.0.0.1", 0)
        await b.start("127.0.0.1", 0)
        a.send(MSG, Address("bob.example", b.port, "UDP"))
        a.send(MSG, Address("localhost", b.port, "UDP"))  # through the resolver
        await eventually(lambda: len(got) == 2)
        a.close()
        b.close()

    run(main)
