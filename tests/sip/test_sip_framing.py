"""Stream framing (RFC 3261 18.3, RFC 5626 4.4.1) and multipart bodies (RFC 2046 5.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simvoip.sip import ParseError, StreamFramer, parse_message, split_multipart
from simvoip.sip.framing import multipart_boundary

INVITE = (
    b"INVITE sip:bob@biloxi.com SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n"
    b"To: <sip:bob@biloxi.com>\r\nFrom: <sip:alice@atlanta.com>;tag=1\r\n"
    b"Call-ID: x@y\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
    b"Content-Type: application/sdp\r\nContent-Length: 31\r\n\r\n"
    b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n"
)
TRYING = b"SIP/2.0 100 Trying\r\nl: 0\r\n\r\n"


def test_split_at_every_byte_boundary() -> None:
    for i in range(len(INVITE) + 1):
        f = StreamFramer()
        out = f.feed(INVITE[:i]) + f.feed(INVITE[i:])
        assert out == [INVITE], i
        assert f.pending == 0


def test_two_back_to_back_messages_with_keepalives_at_every_boundary() -> None:
    stream = b"\r\n\r\n" + INVITE + b"\r\n" + TRYING + b"\r\n\r\n"
    for i in range(len(stream) + 1):
        for j in range(i, len(stream) + 1, 7):
            f = StreamFramer()
            out = f.feed(stream[:i]) + f.feed(stream[i:j]) + f.feed(stream[j:])
            assert out == [INVITE, TRYING], (i, j)
            assert f.pending == 0
    f = StreamFramer()
    f.feed(stream)
    assert f.keepalive_crlfs == 5


def test_byte_by_byte() -> None:
    f = StreamFramer()
    out: list[bytes] = []
    for b in INVITE + TRYING:
        out += f.feed(bytes([b]))
    assert out == [INVITE, TRYING]
    assert [parse_message(m).encode() for m in out] == [parse_message(INVITE).encode(), parse_message(TRYING).encode()]


@given(st.lists(st.integers(0, len(INVITE) * 2 + len(TRYING)), max_size=8))
def test_any_chunking(cuts: list[int]) -> None:
    stream = INVITE + TRYING + INVITE
    bounds = sorted({0, len(stream), *[c % (len(stream) + 1) for c in cuts]})
    f = StreamFramer()
    out: list[bytes] = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        out += f.feed(stream[a:b])
    assert out == [INVITE, TRYING, INVITE]


def test_waits_for_the_body_clerr() -> None:
    # RFC 4475 3.1.2.2: on a stream a too-large Content-Length just means "wait".
    f = StreamFramer()
    assert f.feed(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 9999\r\n\r\nshort") == []
    assert f.pending > 0


@pytest.mark.parametrize("head", [
    b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -999\r\n\r\n",
    b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 13\r\nl: 5\r\n\r\n",
    b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: ten\r\n\r\n",
])
def test_unrecoverable_framing_raises(head: bytes) -> None:
    with pytest.raises(ParseError):
        StreamFramer().feed(head)


def test_header_size_limit() -> None:
    f = StreamFramer(max_header_size=100)
    with pytest.raises(ParseError):
        f.feed(b"OPTIONS sip:a@b SIP/2.0\r\nSubject: " + b"x" * 200)


def test_missing_content_length_means_empty_body() -> None:
    f = StreamFramer()
    assert f.feed(b"SIP/2.0 200 OK\r\n\r\nSIP/2.0 180 Ringing\r\n\r\n") == [
        b"SIP/2.0 200 OK\r\n\r\n", b"SIP/2.0 180 Ringing\r\n\r\n"]


def test_multipart_split() -> None:
    body = (b"preamble\r\n--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n\r\n"
            b"--b1\r\nContent-Type: application/octet-stream\r\n\r\n\x00\r\x01\n--b1x\r\n"
            b"--b1--\r\nepilogue")
    parts = split_multipart(body, 'multipart/mixed; boundary="b1"')
    assert [p.content_type for p in parts] == ["application/sdp", "application/octet-stream"]
    assert parts[0].body == b"v=0\r\n"
    assert parts[1].body == b"\x00\r\x01\n--b1x"  # binary-safe; "--b1x" is not at a line start + CRLF
    assert multipart_boundary("multipart/signed;protocol=x;boundary=abc") == "abc"
    for ctype, data in [("text/plain", body), ("multipart/mixed", body),
                        ("multipart/mixed;boundary=zz", body),
                        ("multipart/mixed;boundary=b1", b"--b1\r\nno end")]:
        with pytest.raises(ParseError):
            split_multipart(data, ctype)
