"""Message builders shared by the UA, proxy and registrar cores (RFC 3261 8.1.1, 8.2.6).

>>> from simvoip.sip.message import Headers, Request
>>> req = Request("OPTIONS", "sip:bob@b.example", Headers([
...     ("Via", "SIP/2.0/UDP a.example;branch=z9hG4bK1"), ("From", "<sip:alice@a.example>;tag=1"),
...     ("To", "<sip:bob@b.example>"), ("Call-ID", "c1"), ("CSeq", "1 OPTIONS"),
...     ("Max-Forwards", "70")]))
>>> resp = make_response(req, 200, to_tag="t9")
>>> resp.status_code, resp.reason, resp.to.tag, resp.headers.get("Via")
(200, 'OK', 't9', 'SIP/2.0/UDP a.example;branch=z9hG4bK1')
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from simvoip.sip.errors import ParseError
from simvoip.sip.grammar import remember, split_commas
from simvoip.sip.headers import MAGIC_COOKIE, NameAddr
from simvoip.sip.message import Headers, Request, Response, canonical_name

__all__ = ["REASON_PHRASES", "canonical_headers", "make_response", "new_branch", "new_tag",
           "new_call_id", "reason_phrase", "readable_contacts"]

#: RFC 3261 section 21 reason phrases (the ones the cores send).
REASON_PHRASES = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 200: "OK", 300: "Multiple Choices", 301: "Moved Permanently",
    302: "Moved Temporarily", 305: "Use Proxy", 380: "Alternative Service", 400: "Bad Request",
    401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    407: "Proxy Authentication Required", 408: "Request Timeout", 410: "Gone",
    416: "Unsupported URI Scheme", 420: "Bad Extension", 423: "Interval Too Brief",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
    482: "Loop Detected", 483: "Too Many Hops", 484: "Address Incomplete", 486: "Busy Here",
    487: "Request Terminated", 488: "Not Acceptable Here", 491: "Request Pending",
    500: "Server Internal Error", 501: "Not Implemented", 503: "Service Unavailable",
    504: "Server Time-out", 600: "Busy Everywhere", 603: "Decline",
    604: "Does Not Exist Anywhere", 606: "Not Acceptable",
}

_CLASS_PHRASES = {1: "Trying", 2: "OK", 3: "Redirection", 4: "Client Error", 5: "Server Error",
                  6: "Global Failure"}


def canonical_headers(rows: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> Headers:
    """``Headers(rows)`` for rows whose names are canonical already (no renaming pass).

    The cores build their messages from literal, canonical header names and from
    rows of parsed messages (canonical too), so the per-row ``canonical_name`` of
    ``Headers(...)`` is skipped.

    >>> rows = [("Via", "SIP/2.0/UDP a;branch=z9hG4bK1"), ("CSeq", "1 BYE")]
    >>> canonical_headers(rows) == Headers(rows)
    True
    """
    return Headers._from_canonical(tuple(rows))


def reason_phrase(status: int) -> str:
    """The RFC 3261 section 21 phrase for ``status`` (class default otherwise).

    >>> reason_phrase(486), reason_phrase(499)
    ('Busy Here', 'Client Error')
    """
    phrase = REASON_PHRASES.get(status)
    return phrase if phrase is not None else _CLASS_PHRASES.get(status // 100, "Unknown")


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    extra: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> Response:
    """A response to ``request`` per RFC 3261 8.2.6.2.

    Via (all rows, same order), From, Call-ID and CSeq are copied; To is
    copied and gets ``to_tag`` when it has no tag yet (a 100 Trying is
    never tagged by callers).
    """
    # Rows first, one Headers at the end (each Headers.add copies the row tuple).
    source = request.headers
    get_all = source.get_all
    rows: list[tuple[str, str]] = [("Via", v) for v in get_all("Via")]
    rows.extend([("From", v) for v in get_all("From")])
    values = get_all("To")
    if values and to_tag is not None and status != 100:
        to = request.to
        if to.tag is None:
            base = _untagged_text(values[0], to)
            tagged = f"{base};tag={to_tag}" if base else str(to.with_tag(to_tag))
            values = [tagged] * len(values)
    rows.extend([("To", v) for v in values])
    rows.extend([("Call-ID", v) for v in get_all("Call-ID")])
    rows.extend([("CSeq", v) for v in get_all("CSeq")])
    if status == 100 and "Timestamp" in source:
        # RFC 3261 8.2.6.1: a 100 echoes the Timestamp header.
        rows.append(("Timestamp", source.get("Timestamp") or ""))
    if extra:
        rows.extend([(canonical_name(n), v) for n, v in extra])
    return Response(status, reason if reason is not None else reason_phrase(status),
                    Headers._from_canonical(tuple(rows)), body)


def _untagged_text(row: str, to: NameAddr) -> str:
    """``str(to)`` for the To ``to`` parsed from ``row``, such that
    ``str(to.with_tag(tag)) == f"{_untagged_text(row, to)};tag={tag}"``; ``""`` if
    that does not hold.

    ``with_tag`` puts ``tag`` after the other parameters, so the tagged text is the
    untagged one plus ``;tag=...``, unless a valueless ``tag`` parameter already
    holds its place. A pure function of the row text: remembered.
    """
    text = _UNTAGGED.get(row)
    if text is None:
        text = "" if "tag" in to.params else str(to)
        remember(_UNTAGGED, row, text)
    return text


#: To row text -> its formatted value without tag (see _untagged_text).
_UNTAGGED: dict[str, str] = {}


def new_branch(rng: random.Random) -> str:
    """A fresh RFC 3261 branch (8.1.1.7: magic cookie + random part).

    >>> new_branch(random.Random(0)).startswith("z9hG4bK")
    True
    """
    return f"{MAGIC_COOKIE}{rng.getrandbits(48):012x}"


def new_tag(rng: random.Random) -> str:
    """A From/To tag with at least 32 bits of randomness (RFC 3261 19.3)."""
    return f"{rng.getrandbits(32):08x}"


def new_call_id(rng: random.Random, host: str) -> str:
    """A globally unique Call-ID ``random@host`` (RFC 3261 8.1.1.4)."""
    return f"{rng.getrandbits(64):016x}@{host}"


def readable_contacts(message: Request | Response) -> Iterator[NameAddr]:
    """Every Contact value of ``message`` that parses, in order; the others are skipped.

    For reading what a peer granted (a 200 to REGISTER, a 3xx), where one
    unreadable value must not hide the rest.

    >>> resp = Response(200, "OK", Headers([("Contact", "<sip:a@x>;q=0.5, <>, <sip:b@x>")]))
    >>> [na.uri for na in readable_contacts(resp)]
    ['sip:a@x', 'sip:b@x']
    """
    for row in message.headers.get_all("Contact"):
        for value in split_commas(row):
            try:
                na = NameAddr.parse(value)
            except ParseError:
                continue
            yield na
