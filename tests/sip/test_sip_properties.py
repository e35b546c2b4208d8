"""Property tests: round trips of generated values, and no crash on any input.

``parse_message`` may return a message or raise ``ParseError`` — nothing else —
for any bytes; validation of whatever parses never raises at all.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st
from sip_strategies import messages, name_addrs, sip_uris, tel_uris, vias

from simvoip.sip import NameAddr, ParseError, Request, SipUri, Via, parse_message
from simvoip.sip.sdp import SessionDescription
from simvoip.sip.validate import validate_request, validate_response

DATA = Path(__file__).parent.parent / "data" / "rfc4475"
SEEDS = [
    (DATA / e["file"]).read_bytes()
    for e in json.loads((DATA / "INDEX.json").read_text())
    if e["expectation"] != "reject_or_flag"
]


@given(messages)
def test_generated_messages_roundtrip(msg: Request) -> None:
    raw = msg.encode()
    again = parse_message(raw)
    assert again == msg
    assert again.encode() == raw


@given(st.one_of(sip_uris(), tel_uris))
def test_uri_roundtrip(uri: SipUri) -> None:
    assert SipUri.parse(str(uri)) == uri


@given(vias())
def test_via_roundtrip(via: Via) -> None:
    assert Via.parse(str(via)) == via


@given(name_addrs())
def test_name_addr_roundtrip(na: NameAddr) -> None:
    assert NameAddr.parse(str(na)) == na


def _exercise(data: bytes) -> None:
    """Parse; on success every typed view is reachable and validation never raises."""
    try:
        msg = parse_message(data)
    except ParseError:
        return
    if isinstance(msg, Request):
        for role in ("uas", "proxy", "registrar"):
            validate_request(msg, role=role)  # type: ignore[arg-type]
        try:
            msg.request_uri  # noqa: B018
        except ParseError:
            pass
    else:
        validate_response(msg)
        validate_response(msg, role="proxy")
    try:
        msg.sdp  # noqa: B018
    except ParseError:
        pass
    # Whatever parsed encodes and parses again.
    assert parse_message(msg.encode()) == msg


@given(st.binary(max_size=300))
@example(b"\r\n\r\n")
@example(b"SIP/2.0 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n")
@example(b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP [::1\r\n\r\n")
def test_arbitrary_bytes_parse_or_parse_error(data: bytes) -> None:
    _exercise(data)


_mutation = st.tuples(
    st.sampled_from(["flip", "insert", "delete", "truncate", "dup"]),
    st.integers(0, 10_000),
    st.integers(0, 255),
)


@given(st.sampled_from(SEEDS) | messages.map(lambda m: m.encode()), st.lists(_mutation, min_size=1, max_size=4))
def test_mutated_messages_parse_or_parse_error(seed: bytes, mutations: list[tuple[str, int, int]]) -> None:
    data = bytearray(seed)
    for op, pos, byte in mutations:
        i = pos % (len(data) + 1)
        if op == "flip" and i < len(data):
            data[i] = byte
        elif op == "insert":
            data[i:i] = bytes([byte])
        elif op == "delete":
            del data[i:i + 1 + byte % 8]
        elif op == "truncate":
            del data[i:]
        elif op == "dup":
            data[i:i] = data[i:i + byte]
    _exercise(bytes(data))


_SDP_SEED = (
    b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
    b"m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n"
)


@given(st.binary(max_size=200) | st.binary(max_size=20).map(lambda b: _SDP_SEED[:len(_SDP_SEED) // 2] + b))
def test_sdp_parse_or_parse_error(data: bytes) -> None:
    try:
        sd = SessionDescription.parse(data)
    except ParseError:
        return
    assert SessionDescription.parse(sd.encode()) == sd
