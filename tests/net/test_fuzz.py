"""Mutated SIP bytes on a real UDP socket: the UA and proxy cores never fall over.

Every mutant is either answered or dropped; right after it a valid OPTIONS is still
answered 200, and no exception escaped into the transport. Responses to a mutant go
where its (possibly mutated) Via says, so the node sends to loopback addresses only.
"""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simvoip.net.node import NetNode
from simvoip.sip.location import LocationService
from simvoip.sip.message import Response, parse_message
from simvoip.sip.proxy import Proxy, ProxyConfig
from simvoip.sip.ua import UAConfig, UserAgent
from simvoip.testing.strategies import mutated_messages

from .helpers import RawUdp, options, run

# Responses to the mutants go to port 9 (discard) on loopback, never back to the prober.
TEMPLATE = parse_message(
    b"INVITE sip:srv@127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKfuzz1\r\n"
    b"Max-Forwards: 70\r\nFrom: <sip:fuzz@127.0.0.1>;tag=f1\r\nTo: <sip:srv@127.0.0.1>\r\n"
    b"Call-ID: fuzz-1@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:fuzz@127.0.0.1:9>\r\n"
    b"Content-Type: application/sdp\r\nContent-Length: 51\r\n\r\n"
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n")


def _core(role: str, port: int) -> object:
    if role == "uas":
        return UserAgent(UAConfig(aor="sip:srv@127.0.0.1", host="127.0.0.1", port=port),
                         random.Random(1))
    return Proxy(ProxyConfig(host="127.0.0.1", domain="example.test", port=port),
                 random.Random(1), LocationService())


@pytest.mark.parametrize("role", ["uas", "proxy"])
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=mutated_messages(base=st.just(TEMPLATE)))
def test_mutants_never_break_the_node(role: str, data: bytes) -> None:
    async def main() -> None:
        node = NetNode(role="proxy" if role == "proxy" else "uas", loopback_only=True)
        await node.start("127.0.0.1", 0)
        node.core = _core(role, node.port)
        raw = RawUdp()
        raw.send(data, node.port)
        uri = f"sip:127.0.0.1:{node.port}" if role == "proxy" else None
        probe = options(node.port, via_port=raw.port, branch="z9hG4bKprobe", call_id="probe")
        if uri is not None:
            probe = probe.replace(f"OPTIONS sip:srv@127.0.0.1:{node.port} ".encode(),
                                  f"OPTIONS {uri} ".encode())
        await asyncio.sleep(0)  # the mutant is read first (one datagram per loop turn)
        raw.send(probe, node.port)
        reply = await raw.recv_message(timeout=5.0)
        assert isinstance(reply, Response) and reply.status_code == 200
        assert reply.call_id == "probe"
        assert node.transport.handler_errors == 0
        raw.close()
        node.close()

    run(main)
