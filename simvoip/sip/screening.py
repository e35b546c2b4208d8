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
from simvoip.sip.message import Request, Response
from simvoip.sip.ua.messages import make_response, new_tag
from simvoip.sip.ua.transactions import response_address
from simvoip.sip.validate import Role, validate_request, validate_response

__all__ = ["screen_request", "screen_response"]


def screen_request(request: Request, *, role: Role, rng: random.Random,
                   supported: Collection[str] = ()) -> list[Send] | None:
    """``None`` if ``request`` may go on; else what to send instead (maybe nothing).

    The 4xx/5xx gets a To tag from ``rng`` (RFC 3261 8.2.6.2) when To has none.
    """
    failure = validate_request(request, role=role, supported=supported)
    if failure is None:
        return None
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
