"""Malformed messages against the full UA and proxy cores on real sockets.

From SIPp (a scenario of broken requests and then a good one) and from a raw UDP
socket (bytes no SIP tool would send): each is answered with the RFC's status code or
dropped when nothing can be answered, and the server keeps serving.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from simvoip.net.node import NetNode
from simvoip.net.roles import start_proxy, start_user_agent
from simvoip.sip.message import Response, parse_message

from .sipp import SCENARIOS, base_args, free_port, require_sipp, run, run_sipp

pytestmark = pytest.mark.interop

CALLS = 5


def test_sipp_malformed_requests_answered_then_valid_options_served(tmp_path: Path) -> None:
    require_sipp()

    async def main() -> None:
        uas = await start_user_agent("service")
        args = base_args(f"127.0.0.1:{uas.port}", free_port(), calls=CALLS, rate=20,
                         timeout=15)
        result = await run_sipp(["-sf", str(SCENARIOS / "uac_malformed.xml"), *args], tmp_path)
        assert result.returncode == 0, result.describe()
        assert result.stat("SuccessfulCall") == CALLS, result.describe()
        rejected = uas.core.rejected  # RFC 3261 8.2 validation in the UA core
        assert (rejected.get(400), rejected.get(420), rejected.get(505)) == (CALLS, CALLS, CALLS)
        uas.close()

    run(main)


def _request(port: int, my_port: int, *, method: str = "OPTIONS", n: int = 1,
             first_line: str | None = None, extra: str = "", drop: str = "") -> bytes:
    lines = [
        first_line or f"{method} sip:service@127.0.0.1:{port} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:{my_port};branch=z9hG4bKraw{n}",
        "Max-Forwards: 70",
        "From: <sip:raw@127.0.0.1>;tag=r1",
        f"To: <sip:service@127.0.0.1:{port}>",
        f"Call-ID: raw-{n}@127.0.0.1",
        f"CSeq: {n} {method}",
    ]
    lines = [ln for ln in lines if not (drop and ln.startswith(drop))]
    return ("\r\n".join(lines) + "\r\n" + extra + "Content-Length: 0\r\n\r\n").encode()


CASES = [
    # (label, builder(port, my_port, n) -> bytes, expected status or None for a drop)
    ("garbage", lambda p, m, n: b"\x16\x03\x01 not SIP at all", None),
    # Unparseable, but Via/From/To/Call-ID/CSeq are readable: 400 (RFC 3261 8.2,
    # RFC 4475 3.1.2.3 ncl: "respond with an error").
    ("no-version", lambda p, m, n: _request(p, m, n=n, first_line=f"OPTIONS sip:s@127.0.0.1:{p}"),
     400),
    ("negative-content-length", lambda p, m, n: _request(p, m, n=n).replace(
        b"Content-Length: 0", b"Content-Length: -1"), 400),
    ("missing-call-id", lambda p, m, n: _request(p, m, n=n, drop="Call-ID"), 400),
    ("missing-from", lambda p, m, n: _request(p, m, n=n, drop="From"), 400),
    ("cseq-mismatch", lambda p, m, n: _request(p, m, n=n).replace(
        f"CSeq: {n} OPTIONS".encode(), f"CSeq: {n} BYE".encode()), 400),
    ("bad-max-forwards", lambda p, m, n: _request(p, m, n=n).replace(
        b"Max-Forwards: 70", b"Max-Forwards: seventy"), 400),
    ("unknown-scheme", lambda p, m, n: _request(
        p, m, n=n, first_line="OPTIONS nobodyknowsthisscheme:x@y SIP/2.0"), 416),
    # RFC 3261 8.2.2.3 (UAS: Require) and 16.3 item 5 (proxy: Proxy-Require).
    ("unknown-extension", lambda p, m, n: _request(p, m, n=n, extra="Require: no-such-ext\r\n"
                                                   "Proxy-Require: no-such-ext\r\n"), 420),
    ("bad-version", lambda p, m, n: _request(
        p, m, n=n, first_line=f"OPTIONS sip:service@127.0.0.1:{p} SIP/7.0"), 505),
]


async def _exchange(sock: socket.socket, node: NetNode, data: bytes,
                    wait: float) -> Response | None:
    """Send ``data``; the response, or ``None`` if nothing came within ``wait`` seconds."""
    loop = asyncio.get_running_loop()
    sock.sendto(data, ("127.0.0.1", node.port))
    try:
        raw = await asyncio.wait_for(loop.sock_recv(sock, 65535), wait)
    except TimeoutError:
        return None
    reply = parse_message(raw)
    assert isinstance(reply, Response)
    return reply


@pytest.mark.parametrize("role", ["uas", "proxy"])
def test_raw_socket_malformed_messages_then_options_still_served(role: str) -> None:
    async def main() -> None:
        node = (await start_user_agent("service") if role == "uas"
                else await start_proxy(domain="127.0.0.1"))
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        my_port = sock.getsockname()[1]
        for n, (label, build, expected) in enumerate(CASES, start=1):
            # A drop is observed as silence for 0.3 s; an answer may take up to 5 s.
            reply = await _exchange(sock, node, build(node.port, my_port, n),
                                    0.3 if expected is None else 5.0)
            got = None if reply is None else reply.status_code
            assert got == expected, (label, got)
            if reply is not None:
                assert reply.to.tag, label  # RFC 3261 8.2.6.2: the error response is tagged
            # ... and after every bad message, a valid OPTIONS is still answered.
            ok_n = 100 + n
            probe = (_request(node.port, my_port, n=ok_n) if role == "uas" else
                     _request(node.port, my_port, n=ok_n,
                              first_line=f"OPTIONS sip:127.0.0.1:{node.port} SIP/2.0"))
            reply = await _exchange(sock, node, probe, 5.0)
            assert reply is not None and reply.status_code == 200, (label, reply)
        assert node.stats["parse-error"] == 3
        sock.close()
        node.close()

    run(main)
