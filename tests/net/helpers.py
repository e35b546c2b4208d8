"""Shared helpers of the real-socket tests: run a coroutine with a hard bound, raw sockets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from simvoip.sip.message import Request, Response, parse_message

T = TypeVar("T")

DATA = Path(__file__).resolve().parent.parent / "data"

#: A generous bound on every real-socket test so that a hang fails instead of blocking CI.
TEST_BOUND = 30.0


def run(make: Callable[[], Awaitable[T]], bound: float = TEST_BOUND) -> T:
    async def main() -> T:
        return await asyncio.wait_for(make(), bound)

    return asyncio.run(main())


async def eventually(check: Callable[[], Any], timeout: float = 5.0, step: float = 0.005) -> Any:
    """Poll ``check`` until it returns something truthy (the loop keeps running meanwhile)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(step)


class RawUdp:
    """A plain UDP socket on 127.0.0.1 used from the test loop (non-blocking)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def send(self, data: bytes, port: int) -> None:
        self.sock.sendto(data, ("127.0.0.1", port))

    async def recv(self, timeout: float = 2.0) -> bytes:
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.sock_recv(self.sock, 65535), timeout)

    async def recv_message(self, timeout: float = 2.0) -> Request | Response:
        return parse_message(await self.recv(timeout))

    async def silent(self, window: float) -> bool:
        """True if nothing arrives within ``window`` seconds."""
        try:
            await self.recv(window)
        except TimeoutError:
            return True
        return False

    def close(self) -> None:
        self.sock.close()


def options(port: int, *, branch: str = "z9hG4bKopt1", call_id: str = "opt-1@test",
            via_port: int = 0, extra: str = "") -> bytes:
    """A valid OPTIONS for the server on ``port``, whose Via names ``via_port``."""
    return (
        f"OPTIONS sip:srv@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{via_port};branch={branch}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:tester@127.0.0.1>;tag=t1\r\n"
        f"To: <sip:srv@127.0.0.1:{port}>\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 OPTIONS\r\n"
        f"{extra}"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def check_2xx_retransmissions(oks: list[float], bye: float, t1: float, t2: float,
                              slack: float = 0.3) -> None:
    """RFC 3261 13.3.1.4 on observed send times: 2xx at T1, 2*T1, 4*T1 ... capped at T2,
    none missing before the BYE, and the BYE 64*T1 after the first 2xx.

    Timers never fire early, so lower bounds are tight (2 ms for clock rounding); they may
    fire late on a loaded machine (over 100 ms seen with 16 test workers on 4 cores),
    hence ``slack`` above; :func:`check_2xx_schedule` checks the exact schedule.
    """
    assert len(oks) >= 2, oks
    for i, (a, b) in enumerate(zip(oks, oks[1:], strict=False)):
        expected = min(t1 * 2**i, t2)
        assert expected - 0.002 <= b - a <= expected + slack, (i, b - a)
    assert 64 * t1 - 0.002 <= bye - oks[0] <= 64 * t1 + slack, bye - oks[0]
    # The next retransmission was due at or after the BYE: none is missing.
    assert oks[-1] < bye <= oks[-1] + min(t1 * 2 ** (len(oks) - 1), t2) + 0.002


def check_2xx_schedule(armed: list[tuple[float, Any]], call_id: str, t1: float,
                       t2: float) -> int:
    """The UAS core's own schedule for one call, exact (no wall-clock jitter): each "2xx"
    retransmission timer is armed min(T1 * 2**i, T2) after the step that armed it, and
    "2xx-timeout" 64*T1 after the 2xx. Returns the number of "2xx" timers armed."""
    mine = [(now, st) for now, st in armed if getattr(st.key, "owner", None) == call_id]
    intervals = [st.at - now for now, st in mine if st.name == "2xx"]
    assert intervals, mine
    for i, interval in enumerate(intervals):
        assert abs(interval - min(t1 * 2**i, t2)) < 1e-9, (i, interval)
    timeouts = [st.at - now for now, st in mine if st.name == "2xx-timeout"]
    assert len(timeouts) == 1 and abs(timeouts[0] - 64 * t1) < 1e-9
    return len(intervals)
