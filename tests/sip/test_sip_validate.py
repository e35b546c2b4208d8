"""validate_request / validate_response: the response code RFC 3261 8.2 and 16.3 name."""

from __future__ import annotations

import pytest

from simvoip.sip import Request, parse_message
from simvoip.sip.validate import REASON_PHRASES, validate_request, validate_response


def _req(method: str = "OPTIONS", uri: str = "sip:b@b.example", extra: str = "", *,
         cseq_method: str | None = None, body: bytes = b"", version: str = "SIP/2.0") -> Request:
    raw = (f"{method} {uri} {version}\r\nVia: SIP/2.0/UDP a.example;branch=z9hG4bK1\r\n"
           f"To: <sip:b@b.example>\r\nFrom: <sip:a@a.example>;tag=1\r\nCall-ID: c1\r\n"
           f"CSeq: 1 {cseq_method or method}\r\nMax-Forwards: 70\r\n{extra}"
           f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    msg = parse_message(raw)
    assert isinstance(msg, Request)
    return msg


def _code(req: Request, **kwargs: object) -> int | None:
    failure = validate_request(req, **kwargs)  # type: ignore[arg-type]
    return None if failure is None else failure.status_code


def test_valid_request_passes_every_role() -> None:
    for role in ("uas", "proxy", "registrar"):
        assert validate_request(_req(), role=role) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(("extra", "reason"), [
    ("Call-ID: c2\r\n", "duplicate Call-ID"),
    ("Max-Forwards: 69\r\n", "duplicate Max-Forwards"),
    ("Max-Forwards: 256\r\n", "duplicate Max-Forwards"),
    ("Contact: <sip:a@a;;>\r\n", "URI"),
    ("Expires: 4294967296\r\n", "Expires"),
    ("Require: a,,b\r\n", "empty list element"),
    ("Date: Sat, 13 Nov 2010 23:29:00 PST\r\n", "Date"),
    ("Content-Type: text\r\n", "media type"),
])
def test_syntax_problems_are_400(extra: str, reason: str) -> None:
    failure = validate_request(_req(extra=extra))
    assert failure is not None and failure.status_code == 400
    assert reason in failure.reason or failure.reason.startswith("bad")
    assert failure.reason_phrase == REASON_PHRASES[400] == "Bad Request"


def test_missing_headers() -> None:
    raw = b"OPTIONS sip:b@b SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nCSeq: 1 OPTIONS\r\n\r\n"
    msg = parse_message(raw)
    assert isinstance(msg, Request)
    failure = validate_request(msg)
    assert failure is not None and (failure.status_code, failure.reason) == (400, "missing To header")


def test_order_of_checks() -> None:
    # 505 first, then 400 syntax, then 416 scheme, then role specific ones.
    assert _code(_req(version="SIP/3.0", extra="Require: x\r\n")) == 505
    assert _code(_req(cseq_method="INVITE")) == 400
    assert _code(_req(uri="mailto:b@b.example", extra="Require: x\r\n")) == 416
    assert _code(_req(uri="mailto:b@b.example"), schemes={"sip", "mailto"}) is None
    assert _code(_req(uri="sip:b@b.example?Subject=x")) == 400
    assert _code(_req(method="FOO"), methods={"INVITE", "OPTIONS"}) == 501
    assert _code(_req(method="FOO")) is None  # methods=None: not checked


def test_require_rules() -> None:
    assert _code(_req(extra="Require: 100rel, timer\r\n"), supported={"100rel"}) == 420
    assert _code(_req(extra="Require: 100rel\r\n"), supported={"100rel"}) is None
    # RFC 3261 8.2.2.3: not for CANCEL / ACK.
    assert _code(_req(method="ACK", extra="Require: zzz\r\n")) is None
    assert _code(_req(method="CANCEL", extra="Require: zzz\r\n")) is None
    # Proxies look at Proxy-Require only (16.3 step 5).
    assert _code(_req(extra="Require: zzz\r\n"), role="proxy") is None
    failure = validate_request(_req(extra="Proxy-Require: p1\r\n"), role="proxy")
    assert failure is not None and failure.status_code == 420 and failure.unsupported == ("p1",)


def test_max_forwards_only_matters_to_proxies() -> None:
    req = _req()
    req.headers.set("Max-Forwards", "0")
    assert _code(req, role="proxy") == 483
    assert _code(req) is None
    req.headers.set("Max-Forwards", "1")
    assert _code(req, role="proxy") is None


def test_body_types() -> None:
    assert _code(_req(extra="Content-Type: application/x-foo\r\n", body=b"x")) == 415
    assert _code(_req(body=b"x")) == 415  # a body without Content-Type
    assert _code(_req(extra="Content-Type: application/x-foo\r\n", body=b"x"), accept_types=None) is None
    assert _code(_req(extra="Content-Type: text/plain\r\n", body=b"x")) is None
    assert _code(_req("INVITE", extra="Accept: application/*\r\n")) is None
    assert _code(_req("INVITE", extra="Accept: text/html, */*;q=0.1\r\n")) is None
    assert _code(_req("INVITE", extra="Accept: text/html\r\n")) == 406


def test_responses_are_discarded_not_answered() -> None:
    resp = parse_message(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n"
                         b"To: <sip:b@b>;tag=2\r\nFrom: <sip:a@a>;tag=1\r\nCall-ID: c\r\n"
                         b"CSeq: 99999999999 INVITE\r\n\r\n")
    failure = validate_response(resp)  # type: ignore[arg-type]
    assert failure is not None and failure.status_code is None and "CSeq" in failure.reason
    ok = parse_message(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n"
                       b"To: <sip:b@b>;tag=2\r\nFrom: <sip:a@a>;tag=1\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n")
    assert validate_response(ok) is None  # type: ignore[arg-type]
