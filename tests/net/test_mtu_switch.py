"""RFC 3261 18.1.1 on real sockets: a large request goes over TCP, and back to UDP if TCP fails."""

from __future__ import annotations

from simvoip.net.node import NetNode
from simvoip.sip.effects import Address
from simvoip.sip.message import Request, parse_message
from simvoip.sip.transaction import TimerConfig

from .helpers import eventually, options, run
from .options_core import OptionsCore

PADDING = "X-Padding: " + "p" * 1400 + "\r\n"  # pushes the request over 1300 bytes


async def _pair(server_tcp: bool) -> tuple[NetNode, NetNode, OptionsCore]:
    core = OptionsCore(TimerConfig(t1=0.02, t2=0.16))
    server = NetNode(core, role="uas", tcp=server_tcp)
    await server.start("127.0.0.1", 0)
    client = NetNode(role="uac")
    await client.start("127.0.0.1", 0)
    return server, client, core


def _request(server: NetNode, client: NetNode, extra: str) -> Request:
    message = parse_message(options(server.port, via_port=client.port, extra=extra))
    assert isinstance(message, Request)
    return message


def test_a_large_request_goes_over_tcp_with_a_tcp_via() -> None:
    async def main() -> None:
        server, client, core = await _pair(server_tcp=True)
        big = _request(server, client, PADDING)
        assert len(big.encode()) > 1300
        client.send(big, Address("127.0.0.1", server.port, "UDP"))
        await eventually(lambda: core.requests)
        _, received, source = core.requests[0]
        assert source.transport == "TCP"
        assert received.top_via.transport == "TCP"  # "the top Via ... MUST" name it
        assert client.stats["mtu-tcp"] == 1 and client.stats["mtu-tcp-fallback"] == 0
        # A small one stays on UDP.
        small = _request(server, client, "")
        small.headers.set("Via", f"SIP/2.0/UDP 127.0.0.1:{client.port};branch=z9hG4bKsmall")
        client.send(small, Address("127.0.0.1", server.port, "UDP"))
        await eventually(lambda: len(core.requests) == 2)
        assert core.requests[1][2].transport == "UDP"
        assert client.stats["mtu-tcp"] == 1
        server.close()
        client.close()

    run(main)


def test_a_failed_tcp_attempt_is_retried_over_udp() -> None:
    async def main() -> None:
        server, client, core = await _pair(server_tcp=False)  # nothing listens on TCP
        client.send(_request(server, client, PADDING), Address("127.0.0.1", server.port, "UDP"))
        await eventually(lambda: core.requests)
        _, received, source = core.requests[0]
        assert source.transport == "UDP" and received.top_via.transport == "UDP"
        assert client.stats["mtu-tcp"] == 1 and client.stats["mtu-tcp-fallback"] == 1
        assert client.stats["transport-error"] == 0  # the transaction never saw a failure
        server.close()
        client.close()

    run(main)


def test_a_known_large_path_mtu_keeps_udp() -> None:
    async def main() -> None:
        server, client, core = await _pair(server_tcp=True)
        client.path_mtu = 65535  # loopback: 1,600 bytes are far from the MTU
        client.send(_request(server, client, PADDING), Address("127.0.0.1", server.port, "UDP"))
        await eventually(lambda: core.requests)
        assert core.requests[0][2].transport == "UDP"
        assert client.stats["mtu-tcp"] == 0
        server.close()
        client.close()

    run(main)
