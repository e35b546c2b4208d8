"""Requests and responses a transaction layer builds itself: ACK, CANCEL, 100 Trying.

ACK for a non-2xx final response (RFC 3261 17.1.1.3) and CANCEL (RFC 3261
9.1) are built from the INVITE they belong to; 100 Trying (RFC 3261 17.2.1,
8.2.6.1) from the INVITE it answers. ACK for a 2xx is the UAC core's job (a
new transaction, RFC 3261 13.2.2.4) and is not built here.

>>> from simvoip.sip.message import Headers, Request, Response
>>> invite = Request("INVITE", "sip:bob@b.example", Headers([
...     ("Via", "SIP/2.0/UDP a.example;branch=z9hG4bK74bf9"),
...     ("Max-Forwards", "70"), ("Route", "<sip:p1.example;lr>"),
...     ("From", "<sip:alice@a.example>;tag=9fxced76sl"), ("To", "<sip:bob@b.example>"),
...     ("Call-ID", "3848276298220188511"), ("CSeq", "1 INVITE")]))
>>> busy = Response(486, "Busy Here", Headers([
...     ("Via", "SIP/2.0/UDP a.example;branch=z9hG4bK74bf9"),
...     ("From", "<sip:alice@a.example>;tag=9fxced76sl"), ("To", "<sip:bob@b.example>;tag=8321234356"),
...     ("Call-ID", "3848276298220188511"), ("CSeq", "1 INVITE")]))
>>> ack = make_ack(invite, busy)
>>> ack.method, ack.uri, str(ack.cseq), ack.to.tag, ack.headers.get("Route")
('ACK', 'sip:bob@b.example', '1 ACK', '8321234356', '<sip:p1.example;lr>')
>>> make_cancel(invite).branch == invite.branch
True
"""

from __future__ import annotations

from simvoip.sip.errors import LocalProtocolError
from simvoip.sip.message import Headers, Request, Response

__all__ = ["make_ack", "make_cancel", "make_trying"]

#: Header fields a 100 (Trying) copies from its request (RFC 3261 8.2.6.1, 8.2.6.2).
_TRYING_COPIED = frozenset({"Via", "From", "To", "Call-ID", "CSeq", "Timestamp"})


def _top_via_row(request: Request) -> str:
    row = request.headers.get("Via")
    if row is None:
        raise LocalProtocolError(f"{request.method} request without Via")
    # A row holding several comma-separated values is reduced to its first value.
    return row if "," not in row else str(request.top_via)


def _required(request: Request, name: str) -> str:
    value = request.headers.get(name)
    if value is None:
        raise LocalProtocolError(f"{request.method} request without {name}")
    return value


def _copy_of_invite(invite: Request, method: str, to_row: str) -> Request:
    """Shared part of 17.1.1.3 (ACK) and 9.1 (CANCEL): the fields copied from the INVITE."""
    if invite.method != "INVITE":
        raise LocalProtocolError(f"{method} is built from an INVITE, not {invite.method}")
    # RFC 3261 17.1.1.3 / 9.1: a single Via equal to the top Via of the original request.
    rows = [("Via", _top_via_row(invite)),
            ("Max-Forwards", invite.headers.get("Max-Forwards") or "70")]
    # RFC 3261 17.1.1.3 / 9.1: Route header field values of the INVITE are copied.
    rows.extend(("Route", route) for route in invite.headers.get_all("Route"))
    rows.append(("From", _required(invite, "From")))
    rows.append(("To", to_row))
    rows.append(("Call-ID", _required(invite, "Call-ID")))
    # RFC 3261 17.1.1.3 / 9.1: same CSeq number, method ACK / CANCEL.
    rows.append(("CSeq", f"{invite.cseq.number} {method}"))
    # Literal names and rows of a Headers: canonical already, no renaming pass.
    return Request(method, invite.uri, Headers._from_canonical(tuple(rows)), b"", invite.version)


def make_ack(invite: Request, response: Response) -> Request:
    """The ACK a client transaction sends for a 300-699 response (RFC 3261 17.1.1.3).

    Same Request-URI, Call-ID, From and CSeq number as ``invite`` (method
    ACK), To copied from ``response`` (with its tag), one Via equal to the
    INVITE's top Via (so the same branch), the INVITE's Route values.

    >>> from simvoip.sip.message import parse_message
    >>> inv = parse_message(b"INVITE sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\n"
    ...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>\\r\\nCall-ID: c\\r\\nCSeq: 7 INVITE\\r\\n\\r\\n")
    >>> resp = parse_message(b"SIP/2.0 404 Not Found\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\n"
    ...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>;tag=x\\r\\nCall-ID: c\\r\\nCSeq: 7 INVITE\\r\\n\\r\\n")
    >>> ack = make_ack(inv, resp)
    >>> ack.headers.get("To"), str(ack.cseq), ack.branch
    ('<sip:b@b>;tag=x', '7 ACK', 'z9hG4bK1')
    """
    if 200 <= response.status_code < 300:
        raise LocalProtocolError("the ACK for a 2xx is built by the UAC core (RFC 3261 13.2.2.4)")
    to_row = response.headers.get("To")
    if to_row is None:
        raise LocalProtocolError("response without To")
    return _copy_of_invite(invite, "ACK", to_row)


def make_cancel(invite: Request) -> Request:
    """A CANCEL for ``invite`` (RFC 3261 9.1), to be sent by its own NICT.

    Request-URI, Call-ID, To, From and CSeq number identical to the INVITE's
    (method CANCEL), one Via equal to the INVITE's top Via (same branch), the
    INVITE's Route values, no body.

    >>> from simvoip.sip.message import parse_message
    >>> inv = parse_message(b"INVITE sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\n"
    ...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>\\r\\nCall-ID: c\\r\\nCSeq: 7 INVITE\\r\\n\\r\\n")
    >>> cancel = make_cancel(inv)
    >>> cancel.method, cancel.uri, str(cancel.cseq), cancel.branch
    ('CANCEL', 'sip:b@b', '7 CANCEL', 'z9hG4bK1')
    """
    return _copy_of_invite(invite, "CANCEL", _required(invite, "To"))


def make_trying(request: Request) -> Response:
    """The 100 (Trying) an INVITE server transaction sends (RFC 3261 17.2.1, 8.2.6).

    Via, From, To (without adding a tag), Call-ID and CSeq are copied from the
    request, and a Timestamp too (RFC 3261 8.2.6.1).

    >>> from simvoip.sip.message import parse_message
    >>> inv = parse_message(b"INVITE sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\n"
    ...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>\\r\\nCall-ID: c\\r\\nCSeq: 7 INVITE\\r\\n\\r\\n")
    >>> trying = make_trying(inv)
    >>> trying.status_code, trying.reason, trying.headers.get("To")
    (100, 'Trying', '<sip:b@b>')
    """
    # Rows of a Headers have canonical names already: no renaming pass.
    headers = Headers._from_canonical(
        tuple(row for row in request.headers if row[0] in _TRYING_COPIED))
    return Response(100, "Trying", headers, b"", request.version)
