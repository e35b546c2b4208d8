"""NetNode with a tiny OPTIONS core (NIST) on real UDP: parse, validate, timers, effects."""

from __future__ import annotations

import asyncio

from simvoip.net.node import NetNode
from simvoip.sip.message import Response
from simvoip.sip.transaction import TimerConfig

from .helpers import RawUdp, eventually, options, run
from .options_core import OptionsCore

T1 = 0.02  # RFC 3261 timers scaled down: Timer J = 64*T1 = 1.28 s on UDP


async def _server() -> tuple[NetNode, OptionsCore]:
    core = OptionsCore(TimerConfig(t1=T1, t2=0.16))
    node = NetNode(core, role="uas", keep_wire=True)
    await node.start("127.0.0.1", 0)
    return node, core


def test_options_answered_and_retransmission_absorbed_by_the_nist() -> None:
    async def main() -> None:
        node, core = await _server()
        raw = RawUdp()
        request = options(node.port, via_port=raw.port)
        raw.send(request, node.port)
        first = await raw.recv_message()
        raw.send(request, node.port)  # a retransmission (same branch)
        second = await raw.recv_message()
        assert isinstance(first, Response) and first.status_code == 200
        assert second.encode() == first.encode()  # RFC 3261 17.2.2: the NIST resends it
        assert len(core.requests) == 1  # the core saw the request once
        # Timer J (64*T1 on UDP) was armed through loop.call_at and terminates the NIST.
        assert [name for name, _ in node.armed_timers] == ["J"]
        armed_at = node.wire[-1].at
        await eventually(lambda: core.terminated == 1, timeout=3.0)
        assert node.now - armed_at >= 64 * T1 - 0.01
        assert node.armed_timers == [] and len(core.transactions) == 0
        node.close()
        raw.close()

    run(main)


def test_source_and_now_come_from_the_socket_and_the_loop_clock() -> None:
    async def main() -> None:
        node, core = await _server()
        raw = RawUdp()
        loop = asyncio.get_running_loop()
        before = loop.time()
        raw.send(options(node.port, via_port=raw.port), node.port)
        await raw.recv_message()
        now, request, source = core.requests[0]
        assert before <= now <= loop.time()
        assert (source.host, source.port, source.transport) == ("127.0.0.1", raw.port, "UDP")
        node.close()
        raw.close()

    run(main)


def test_response_goes_to_the_via_sent_by_port() -> None:
    async def main() -> None:
        node, _ = await _server()
        sender, listener = RawUdp(), RawUdp()
        # RFC 3261 18.2.2: the response goes to the sent-by port of the top Via, not to
        # the datagram's source port (the core decides; the adapter just sends).
        sender.send(options(node.port, via_port=listener.port), node.port)
        reply = await listener.recv_message()
        assert isinstance(reply, Response) and reply.status_code == 200
        assert await sender.silent(0.1)
        node.close()
        sender.close()
        listener.close()

    run(main)


def test_timers_rearm_replace_and_cancel() -> None:
    async def main() -> None:
        fired: list[tuple[str, object, float]] = []

        class TimerCore:
            def receive(self, message: object, source: object, now: float) -> list[object]:
                return []

            def handle_timer(self, name: str, key: object, now: float) -> list[object]:
                fired.append((name, key, now))
                return []

        from simvoip.sip.effects import CancelTimer, StartTimer

        node = NetNode(TimerCore())
        await node.start("127.0.0.1", 0)
        t0 = node.now
        node.execute([StartTimer("A", t0 + 0.05, "k1"), StartTimer("B", t0 + 0.05, "k1"),
                      StartTimer("A", t0 + 0.10, "k1"),  # replaces the first A
                      StartTimer("C", t0 + 0.02, "k2"), CancelTimer("C", "k2")])
        await asyncio.sleep(0.2)
        assert [(n, k) for n, k, _ in fired] == [("B", "k1"), ("A", "k1")]
        assert fired[1][2] >= t0 + 0.10
        assert node.armed_timers == []
        node.close()

    run(main)


def test_transport_failure_is_reported_to_a_core_that_takes_it() -> None:
    async def main() -> None:
        import socket

        from simvoip.sip.effects import Address, Send
        from simvoip.sip.message import parse_message

        reported: list[tuple[object, Address, float]] = []

        class Core:
            def receive(self, message: object, source: object, now: float) -> list[object]:
                return []

            def handle_timer(self, name: str, key: object, now: float) -> list[object]:
                return []

            def transport_error(self, message: object, destination: Address,
                                now: float) -> list[object]:
                reported.append((message, destination, now))
                return []

        node = NetNode(Core())
        await node.start("127.0.0.1", 0)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
        probe.close()
        request = parse_message(options(closed))
        destination = Address("127.0.0.1", closed, "TCP")
        node.execute([Send(request, destination)])
        await eventually(lambda: reported)
        assert reported[0][0] == request and reported[0][1] == destination
        assert node.stats["transport-error"] == 1
        node.close()

    run(main)
