"""First look at a message from the network: answer or drop what breaks RFC 3261.

The UA and proxy cores call :func:`screen_request` / :func:`screen_response`
before anything else, so every adapter (simulator or real sockets) gets the
same RFC behaviour without a protocol rule of its own:

* a request that breaks RFC 3261 8.2 (UAS) or 16.3 (proxy) is answered
  statelessly with the status :func:`~simvoip.sip.validate.validate_request`
  names (400, 415, 416, 420 with ``Unsupported``, 483, 505 ...), never an ACK
  (RFC 3261 17: an ACK is never answered);
* a response that breaks 8.1.3 / 16.7 is discarded.

>>> import random
>>> from simvoip.sip import parse_message
>>> req = parse_message(b"OPTIONS sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\n"
...     b"To: <sip:b@b>\\r\\nFrom: <sip:a@a>;tag=1\\r\\nCall-ID: c\\r\\nCSeq: 1 OPTIONS\\r\\n"
...     b"Max-Forwards: 70\\r\\nRequire: foo\\r\\n\\r\\n")
>>> (send,) = screen_request(req, role="uas", rng=random.Random(0))
>>> send.message.status_code, send.message.headers.get("Unsupported"), send.destination.host
(420, 'foo', 'a')
"""

from __future__ import annotations

import random
from collections.abc import Collection

from simvoip.sip.effects import Send
from simvoip.sip.errors import SipError
from simvoip.sip.message import Headers, Request, Response, canonical_name
from simvoip.sip.validate import Role, validate_request, validate_response

__all__ = ["screen_request", "screen_response", "answer_parse_error"]


def screen_request(request: Request, *, role: Role, rng: random.Random,
                   supported: Collection[str] = ()) -> list[Send] | None:
    """``None`` if ``request`` may go on; else what to send instead (maybe nothing).

    The 4xx/5xx gets a To tag from ``rng`` (RFC 3261 8.2.6.2) when To has none.
    """
    failure = validate_request(request, role=role, supported=supported)
    if failure is None:
        return None
    # Imported here (only when there is something to answer): simvoip.sip.ua itself
    # screens with this module.
    from simvoip.sip.ua.messages import make_response, new_tag
    from simvoip.sip.ua.transactions import response_address
    if failure.status_code is None or request.method == "ACK":
        return []
    extra = [("Unsupported", ", ".join(failure.unsupported))] if failure.unsupported else []
    try:
        destination = response_address(request)
    except SipError:
        return []  # not even a usable Via: nothing can be answered
    code, reason = failure.status_code, failure.reason_phrase or None
    try:
        response = make_response(request, code, reason, to_tag=new_tag(rng), extra=extra)
    except SipError:
        try:
            response = make_response(request, code, reason, extra=extra)
        except SipError:
            return []
    return [Send(response, destination)]


def screen_response(response: Response, *, role: Role) -> bool:
    """True if ``response`` must be discarded (RFC 3261 8.1.3.3, 16.7 item 1)."""
    return validate_response(response, role="proxy" if role == "proxy" else "uac") is not None


#: The headers a 400 must copy (RFC 3261 8.2.6.2), found by a lenient scan.
_ANSWER_HEADERS = ("Via", "From", "To", "Call-ID", "CSeq")
_TOKEN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")


def answer_parse_error(data: bytes, *, rng: random.Random) -> Send | None:
    r"""The 400 Bad Request for bytes that did not parse, when one can be built.

    RFC 3261 8.2 / RFC 4475 3.1.2: a request that is malformed (an illegal
    Request-URI, a Content-Length past the end of a datagram ...) is answered
    400 if its Via, From, To, Call-ID and CSeq can be read, so the sender's
    transaction ends instead of retransmitting. Responses and ACKs are never
    answered; anything less readable is dropped (``None``).

    >>> import random
    >>> raw = (b"INVITE <sip:bob@b> SIP/2.0\r\nVia: SIP/2.0/UDP a:5070;branch=z9hG4bK1\r\n"
    ...        b"To: <sip:bob@b>\r\nFrom: <sip:al@a>;tag=1\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n")
    >>> send = answer_parse_error(raw, rng=random.Random(0))
    >>> send.message.status_code, send.destination
    (400, Address(host='a', port=5070, transport='UDP'))
    >>> answer_parse_error(b"SIP/2.0 4294967301 Huge\r\n\r\n", rng=random.Random(0)) is None
    True
    """
    # Imported here: simvoip.sip.ua itself screens with this module.
    from simvoip.sip.ua.messages import make_response, new_tag
    from simvoip.sip.ua.transactions import response_address

    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    while lines and not lines[0].strip():
        lines.pop(0)  # RFC 3261 7.5: CRLFs before the start line are ignored
    if not lines:
        return None
    method = lines[0].split(" ", 1)[0]
    if not method or method == "ACK" or not set(method) <= _TOKEN or method.startswith("SIP/"):
        return None
    rows: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and rows:
            rows[-1] = (rows[-1][0], rows[-1][1] + " " + line.strip())
            continue
        name, colon, value = line.partition(":")
        if colon:
            rows.append((canonical_name(name.strip()), value.strip()))
    kept = [(n, v) for n, v in rows if n in _ANSWER_HEADERS]
    if {n for n, _ in kept} != set(_ANSWER_HEADERS):
        return None
    try:
        request = Request(method, "sip:invalid", Headers(kept))
        destination = response_address(request)
        response = make_response(request, 400, "Bad Request", to_tag=new_tag(rng))
        response.encode()
    except (SipError, ValueError):
        return None
    return Send(response, destination)
