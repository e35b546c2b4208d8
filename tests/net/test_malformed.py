"""Malformed input on real UDP: answered per RFC 3261 8.2 / RFC 4475 or dropped; serving goes on."""

from __future__ import annotations

import json
import re

import pytest

from simvoip.net.node import NetNode
from simvoip.sip.message import Response

from .helpers import DATA, RawUdp, options, run
from .options_core import OptionsCore

INDEX = json.loads((DATA / "rfc4475" / "INDEX.json").read_text())
# RFC 4475 3.1.2 / 3.3: requests a UAS must reject, with the code the RFC names.
REJECTED = {"insuf.dat": 400, "mismatch01.dat": 400, "multi01.dat": 400,
            "unkscm.dat": 416, "novelsc.dat": 416, "escruri.dat": 400, "scalar02.dat": 400,
            "badbranch.dat": 400, "bext01.dat": 420, "mcl01.dat": 400}


def _with_via(raw: bytes, port: int) -> bytes:
    """Point the first Via of an RFC 4475 message at our raw socket (UDP, 127.0.0.1:port)."""
    return re.sub(rb"(SIP/[0-9.]+/)[A-Z]+([ \t]+)[^;\s]+", rb"\g<1>UDP\g<2>127.0.0.1:%d" % port,
                  raw, count=1)


async def _still_serving(node: NetNode, raw: RawUdp, n: int) -> None:
    raw.send(options(node.port, via_port=raw.port, branch=f"z9hG4bKok{n}",
                     call_id=f"ok{n}"), node.port)
    reply = await raw.recv_message()
    assert isinstance(reply, Response) and reply.status_code == 200


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_rfc4475_invalid_request_answered_then_valid_options_served(name: str) -> None:
    entry = next(e for e in INDEX if e["file"] == name)
    assert entry["valid"] is False or entry["category"] != "syntax-valid"

    async def main() -> None:
        core = OptionsCore()
        node = NetNode(core, role="uas")
        await node.start("127.0.0.1", 0)
        raw = RawUdp()
        raw.send(_with_via((DATA / "rfc4475" / name).read_bytes(), raw.port), node.port)
        reply = await raw.recv_message()
        assert isinstance(reply, Response)
        assert reply.status_code == REJECTED[name]
        if reply.status_code == 420:
            assert reply.headers.get("Unsupported")
        assert core.requests == []  # validation answered; the core never saw it
        await _still_serving(node, raw, 1)
        node.close()
        raw.close()

    run(main)


def test_unsupported_version_gets_505() -> None:
    # RFC 3261 8.2 / RFC 4475 3.1.2.15. (badvers.dat itself also has a SIP/7.0 Via, which the
    # Via parser rejects, so no response address exists for it; this copy keeps Via 2.0.)
    async def main() -> None:
        node = NetNode(OptionsCore(), role="uas")
        await node.start("127.0.0.1", 0)
        raw = RawUdp()
        raw.send(options(node.port, via_port=raw.port).replace(b"SIP/2.0\r\n", b"SIP/7.0\r\n", 1),
                 node.port)
        reply = await raw.recv_message()
        assert isinstance(reply, Response) and reply.status_code == 505
        await _still_serving(node, raw, 5)
        node.close()
        raw.close()

    run(main)


@pytest.mark.parametrize("garbage", [
    b"\x00\xff\xfe garbage",
    b"INVITE sip:user@example.com\r\n\r\n",  # RFC 4475 3.1.2.14 style: no SIP-Version
    b"SIP/2.0 4294967301 Big\r\n\r\n",  # 3.1.2.20 bigcode
    b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -999\r\n\r\n",  # 3.1.2.3 ncl
    b"",
])
def test_unparseable_bytes_are_dropped_and_serving_continues(garbage: bytes) -> None:
    async def main() -> None:
        node = NetNode(OptionsCore(), role="uas")
        await node.start("127.0.0.1", 0)
        raw = RawUdp()
        raw.send(garbage, node.port)
        assert await raw.silent(0.15)  # nothing to answer to: dropped
        assert node.stats["parse-error"] == 1
        await _still_serving(node, raw, 2)
        node.close()
        raw.close()

    run(main)


def test_bad_ack_is_never_answered() -> None:
    async def main() -> None:
        core = OptionsCore()
        node = NetNode(core, role="uas")
        await node.start("127.0.0.1", 0)
        raw = RawUdp()
        ack = options(node.port, via_port=raw.port).replace(b"OPTIONS", b"ACK", 1)  # CSeq mismatch
        raw.send(ack, node.port)
        assert await raw.silent(0.15)  # RFC 3261 17: no response to an ACK
        assert core.rejected == [0]  # refused by validation, dropped without an answer
        await _still_serving(node, raw, 3)
        node.close()
        raw.close()

    run(main)
