"""Malformed bytes on a simulated link: traced, answered where RFC 3261 says, run goes on.

RFC 4475 3.1.2 lists requests an element must answer with 400 even though they
do not parse (an illegal Request-URI, a Content-Length past the end of the
datagram ...); responses and unreadable garbage are only dropped.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from simvoip import Simulation, Topology
from simvoip.sip import ParseError, parse_message
from simvoip.sip.screening import answer_parse_error

DATA = Path(__file__).resolve().parents[1] / "data" / "rfc4475"

#: RFC 4475 messages that do not parse but whose notes say "answer 400".
ANSWERED = ["clerr.dat", "ltgtruri.dat", "lwsruri.dat", "ncl.dat"]


def pointed_at(name: str, host: str) -> bytes:
    """The vector with its top Via sent-by replaced by ``host`` (UDP)."""
    raw = (DATA / name).read_bytes()
    return re.sub(rb"(SIP/[0-9.]+/)[A-Za-z]+([ \t]+)[^;\s]+", rb"\g<1>UDP\g<2>" + host.encode(),
                  raw, count=1)


@pytest.mark.parametrize("name", ANSWERED)
def test_unparseable_request_from_the_vectors_gets_400(name: str) -> None:
    raw = pointed_at(name, "alice")
    with pytest.raises(ParseError):
        parse_message(raw)
    send = answer_parse_error(raw, rng=random.Random(0))
    assert send is not None and send.destination.host == "alice"
    response = send.message
    assert response.status_code == 400 and response.reason == "Bad Request"
    request_lines = raw.split(b"\r\n\r\n")[0].decode("latin-1")
    assert f"Call-ID: {response.call_id}" in request_lines.replace("i:", "Call-ID:")
    assert response.to.tag  # RFC 3261 8.2.6.2


@pytest.mark.parametrize(("data", "why"), [
    ((DATA / "bigcode.dat").read_bytes(), "a response is never answered"),
    (b"ACK sip:x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nCSeq: x\r\n\r\n", "ACK"),
    (b"\x16\x03\x01\x00garbage", "no SIP at all"),
    (b"INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nCSeq: 1 INVITE\r\n\r\n",
     "no From/To/Call-ID to copy"),
])
def test_unanswerable_bytes_are_only_dropped(data: bytes, why: str) -> None:
    assert answer_parse_error(data, rng=random.Random(0)) is None, why


def test_simulated_node_traces_the_drop_answers_400_and_keeps_calling() -> None:
    topo = Topology()
    topo.add_endpoint("alice")
    topo.add_endpoint("bob")
    topo.add_link("alice", "bob", delay=0.01)
    sim = Simulation(topo, seed=2, media=False)
    sim.inject("bob", pointed_at("ltgtruri.dat", "alice"), at=0.5, peer="alice")
    sim.inject("bob", b"\x00\xff not sip", at=0.6, peer="alice")
    call = sim.call("alice", "bob", at=1.0, duration=2.0)
    sim.run(until=60.0)
    drops = sim.trace.where(event="drop", cause="parse-error")
    assert [(r.node, r.time) for r in drops] == [("bob", 0.5), ("bob", 0.6)]
    answers = sim.trace.where(event="send", node="bob", status=400)
    assert [r.time for r in answers] == [0.5]
    assert sim.nodes["bob"].parse_errors == 2
    assert call.outcome == "answered"
