"""SIP messages: bytes in, typed objects, bytes out (RFC 3261 sections 7, 20, 25).

``parse_message`` checks the start line and the header-field framing eagerly
and keeps every header value as its raw (unfolded) string; typed views
(``msg.vias``, ``msg.cseq``, ``msg.contacts`` ...) parse on first access and
are cached on the :class:`Headers` object, whose mutators drop the cache.

``Content-Length`` is framing, not content: ``parse_message`` uses it to cut
the body and drops the row; ``encode`` always writes one computed from the
body. So ``parse_message(m.encode()) == m`` for any message built in code.

>>> raw = (b"OPTIONS sip:bob@b.example SIP/2.0\\r\\n"
...        b"Via: SIP/2.0/UDP a.example;branch=z9hG4bK1\\r\\n"
...        b"To: <sip:bob@b.example>\\r\\nFrom: <sip:alice@a.example>;tag=1\\r\\n"
...        b"Call-ID: c1\\r\\nCSeq: 1 OPTIONS\\r\\nMax-Forwards: 70\\r\\n"
...        b"Content-Length: 0\\r\\n\\r\\n")
>>> msg = parse_message(raw)
>>> msg.method, msg.headers.get("call-id"), msg.max_forwards, msg.request_uri.user
('OPTIONS', 'c1', 70, 'bob')
>>> parse_message(msg.encode()) == msg
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from simvoip.sip.errors import ParseError
from simvoip.sip.grammar import fast_new, is_token
from simvoip.sip.header_fields import (
    _MEMO_LIMIT,
    _WIRE_NAMES,
    Headers,
    _index,
    _index_repeated,
    canonical_name,
)
from simvoip.sip.uri import SipUri, parse_uri
from simvoip.sip.views import TypedViews

__all__ = ["Headers", "Request", "Response", "Message", "parse_message", "canonical_name"]


@dataclass(eq=True, slots=True)
class Request(TypedViews):
    """A SIP request: method, Request-URI (as text), headers, body bytes.

    ``defects`` lists framing problems found while parsing that still let
    the message through (e.g. conflicting Content-Length rows, RFC 4475
    3.3.12); :func:`simvoip.sip.validate.validate_request` turns them into 400.

    >>> r = Request("BYE", "sip:bob@192.0.2.4", Headers([("Call-ID", "a84b")]))
    >>> r.encode()
    b'BYE sip:bob@192.0.2.4 SIP/2.0\\r\\nCall-ID: a84b\\r\\nContent-Length: 0\\r\\n\\r\\n'
    >>> r.request_uri.host
    '192.0.2.4'
    """

    method: str
    uri: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    version: str = "SIP/2.0"
    defects: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def encode(self) -> bytes:
        return _encode(f"{self.method} {self.uri} {self.version}", self.headers, self.body)

    @property
    def request_uri(self) -> SipUri:
        """The Request-URI parsed (ParseError with status 416 for non sip/sips/tel schemes)."""
        return parse_uri(self.uri)  # memoized by text

    def copy(self) -> Request:
        """A copy with its own :class:`Headers` (safe to rewrite, e.g. in a proxy)."""
        return Request(self.method, self.uri, self.headers.copy(), self.body, self.version)


@dataclass(eq=True, slots=True)
class Response(TypedViews):
    """A SIP response: status code, reason phrase, headers, body bytes.

    >>> Response(180, "Ringing", Headers([("CSeq", "1 INVITE")])).cseq.method
    'INVITE'
    """

    status_code: int
    reason: str = ""
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    version: str = "SIP/2.0"
    defects: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def encode(self) -> bytes:
        return _encode(f"{self.version} {self.status_code} {self.reason}", self.headers, self.body)

    def copy(self) -> Response:
        return Response(self.status_code, self.reason, self.headers.copy(), self.body, self.version)


Message = Request | Response


def _new_headers(
    rows: tuple[tuple[str, str], ...], index: dict[str, str], more: dict[str, tuple[str, ...]] | None,
    cache: dict[Any, Any], _new: Any = object.__new__,
) -> Headers:
    h: Headers = _new(Headers)
    h._rows = rows
    h._idx = index
    h._more = more
    h._cache = cache
    return h


_new_request = fast_new(Request)
_object_new = object.__new__
_new_response = fast_new(Response)


def _encode(start: str, headers: Headers, body: bytes) -> bytes:
    rows = headers._rows
    idx = headers._idx
    if idx is None or "Content-Length" in idx:
        rows = tuple(r for r in rows if r[0] != "Content-Length")  # always computed from the body
    if not rows:
        return f"{start}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    head = "\r\n".join(map(": ".join, rows))  # ": ".join((name, value)) runs at C speed
    return f"{start}\r\n{head}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


# RFC 3261 25.1: Request-URI = SIP-URI / SIPS-URI / absoluteURI; no LWS, no <>".
_RURI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*:[!#-;=?-~]+")
_VERSION_RE = re.compile(r"[Ss][Ii][Pp]/[0-9]{1,5}\.[0-9]{1,5}")
_FOLD_RE = re.compile(r"[ \t]*\r\n[ \t]+")


class _Folded(Exception):
    """Internal: a continuation line was met; parse again with the lines unfolded."""


def _checked_name(raw: str, colon: str, lines: list[str], line: str, folded: bool) -> str:
    """Validate a header name not seen before (RFC 3261 25.1: token, then HCOLON)."""
    if not folded and line[:1] in (" ", "\t"):
        raise _Folded
    name = raw.rstrip(" \t")
    if not colon or not is_token(name):
        raise ParseError(f"malformed header line: {line[:60]!r}", line=lines.index(line, 1) + 1)
    canonical = canonical_name(name)
    if len(_WIRE_NAMES) < _MEMO_LIMIT:
        _WIRE_NAMES[raw] = canonical
    return canonical


def parse_message(data: bytes) -> Request | Response:
    """Parse one SIP message (one datagram's worth) from ``data``.

    Raises :class:`ParseError` — and nothing else — for any malformed input.
    Octets after the Content-Length body are discarded (RFC 3261 18.3,
    RFC 4475 3.1.1.8); without Content-Length the body runs to the end.

    >>> parse_message(b"SIP/2.0 100 \\r\\nl: 0\\r\\n\\r\\n")
    Response(status_code=100, reason='', headers=Headers([]), body=b'', version='SIP/2.0')
    >>> parse_message(b"INVITE  sip:a@b SIP/2.0\\r\\n\\r\\n")
    Traceback (most recent call last):
    ...
    simvoip.sip.errors.ParseError: line 1: bad request line: 'INVITE  sip:a@b SIP/2.0'
    """
    try:
        return _parse(data)
    except ParseError:
        raise
    except Exception as exc:  # defensive: the contract is "ParseError or a message"
        raise ParseError(f"malformed message ({type(exc).__name__})") from None


def _parse(data: bytes, fast: bool = True) -> Request | Response:
    # ``fast=False`` skips the fast path (tests compare both).
    if type(data) is not bytes:
        data = bytes(data)
    start = 0
    # RFC 3261 7.5: ignore CRLFs before the start-line (also RFC 5626 keep-alives).
    while data.startswith(b"\r\n", start):
        start += 2
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        raise ParseError("no empty line after the header section", offset=len(data))
    head = data[start:end]
    try:
        text = head.decode()
    except UnicodeDecodeError as exc:
        if head.count(b"\n") != head.count(b"\r"):  # (said first, as below)
            raise ParseError("bare CR or LF in the header section", offset=start) from None
        raise ParseError("header section is not UTF-8", offset=start + exc.start) from None
    lines = text.split("\r\n")
    # No CR or LF left once split at CRLF (memchr on the lines joined: faster than counting).
    joined = "".join(lines)
    if "\n" in joined or "\r" in joined:
        raise ParseError("bare CR or LF in the header section", offset=start)
    msg = _parse_fast(lines, data, end) if fast else None
    if msg is not None:
        return msg
    try:
        return _parse_lines(lines, data, end, False)
    except _Folded:
        # RFC 3261 7.3.1: a line starting with whitespace continues the previous one.
        return _parse_lines(_FOLD_RE.sub(" ", text).split("\r\n"), data, end, True)


# The fast path: the start line matched by one regex, every header line
# "name: value" with a name already known (validated once by _checked_name,
# then kept in _WIRE_NAMES). Anything else -- a new name, a line without a
# colon, a continuation line, several Content-Length rows, an odd start line --
# goes to the line-by-line parser, which gives the same message or says what is
# wrong. (A regex over the whole header block is slower than str methods.)
_REQUEST_LINE_RE = re.compile(
    r"([A-Za-z0-9\-.!%*_+`'~]+) ([A-Za-z][A-Za-z0-9+\-.]*:[!#-;=?-~]+) ([Ss][Ii][Pp]/[0-9]{1,5}\.[0-9]{1,5})"
)
# start line -> (version, status code, reason) or (method, Request-URI, version), for lines that matched.
_START_LINES: dict[str, tuple[str, Any, str]] = {}
# Content-Length values already checked (1*DIGIT, at most 10 digits) -> their int (bounded
# like _START_LINES: emptied when full).
_LENGTHS: dict[str, int] = {}
_STATUS_LINE_RE = re.compile(r"(SIP/[0-9]{1,5}\.[0-9]{1,5}) ([1-6][0-9][0-9])(?: (.*))?", re.S)


# Whole header lines of requests -> their row (canonical name, stripped value):
# most lines of a request come back unchanged in the next ones (Max-Forwards,
# Route, To, Contact, Content-Type ...). A row depends on the line's text alone
# (_WIRE_NAMES only ever grows), so a hit is what splitting the line would give.
# Lines of the headers that are new in (nearly) every request are not kept: they
# would only push the others out.
_LINE_ROWS: dict[str, tuple[str, str]] = {}
_FRESH_NAMES = frozenset({"Via", "From", "Call-ID", "CSeq"})


def _parse_fast(lines: list[str], data: bytes, end: int) -> Request | Response | None:
    start_line = lines[0]
    start = _START_LINES.get(start_line)  # start lines repeat: "SIP/2.0 200 OK", "INVITE sip:bob@..."
    if start is None:
        response = start_line.startswith("SIP/")
        m = (_STATUS_LINE_RE if response else _REQUEST_LINE_RE).fullmatch(start_line)
        if m is None:
            return None
        a, b, c = m.groups()
        start = (a, int(b), c or "") if response else (a, b, c)
        if len(_START_LINES) >= _MEMO_LIMIT:
            _START_LINES.clear()
        _START_LINES[start_line] = start
    memo = _WIRE_NAMES
    rows: list[Any]
    try:
        if type(start[1]) is int:
            # A response: its Via, From, To, Call-ID and CSeq lines (most of it) are
            # new, so _LINE_ROWS would cost more than it saves: split every line at
            # its first ": " (the usual spelling; the value then needs no copy to
            # strip). A line without ": " raises ValueError, and a name that had a
            # colon before its ": " (``a:b: c``) is no known name (KeyError): both
            # go to the line parser. (``for ... in [x]`` in a comprehension is a
            # plain assignment since Python 3.9.)
            rows = [(memo[n], v.strip(" \t")) for line in lines[1:] for n, v in [line.split(": ", 1)]]
        else:
            line_rows = _LINE_ROWS
            if len(line_rows) + len(lines) > _MEMO_LIMIT:  # bounded: emptied when it could overflow
                if len(lines) > _MEMO_LIMIT:
                    return None
                line_rows.clear()
            get = line_rows.get
            learn = line_rows.setdefault
            fresh = _FRESH_NAMES
            # A line seen before, else "name: value" split at its first ": " as above
            # (no ": ": IndexError or KeyError, and the line parser takes over).
            rows = [
                get(line)
                or (row if (row := (memo[(p := line.split(": ", 1))[0]], p[1].strip(" \t")))[0] in fresh
                    else learn(line, row))
                for line in lines[1:]
            ]
    except (KeyError, ValueError, IndexError):
        return None  # a header name not seen (and checked) before, or a line without ": "
    index = dict(rows)  # right unless a name repeats (_index)
    more: dict[str, tuple[str, ...]] | None = None
    if len(index) != len(rows):
        index, more = _index_repeated(rows, index)
    at = end + 4  # where the body starts
    length = index.pop("Content-Length", None)
    if length is None:
        body = data[at:]
    else:
        if more is not None and "Content-Length" in more:
            return None
        if rows[-1][0] == "Content-Length":  # where it usually is
            del rows[-1]
        else:
            rows.remove(("Content-Length", length))
        n = _LENGTHS.get(length)  # lengths repeat ("0" above all)
        if n is None and length.isdigit() and length.isascii() and len(length) <= 10:
            n = int(length)
            if len(_LENGTHS) >= _MEMO_LIMIT:
                _LENGTHS.clear()
            _LENGTHS[length] = n
        if n is not None and n <= len(data) - at:
            body = data[at:at + n]  # (one copy: not the rest, then its first n octets)
        else:
            body = _cut_body(data[at:], length, end)  # raises the line parser's error
    headers: Headers = _object_new(Headers)  # _new_headers, inlined
    headers._rows = tuple(rows)
    headers._idx = index
    headers._more = more
    headers._cache = {}
    a, b, c = start
    msg: Request | Response
    if type(b) is int:  # _new_response / _new_request, inlined
        msg = _object_new(Response)
        msg.status_code = b
        msg.reason = c
    else:
        msg = _object_new(Request)
        msg.method = a
        msg.uri = b  # type: ignore[assignment]  # a str: the int is the status code
        a = c
    msg.headers = headers
    msg.body = body
    msg.version = a
    msg.defects = ()
    return msg


def _cut_body(body: bytes, length: str, end: int) -> bytes:
    """``body`` cut to one ``Content-Length`` value (RFC 3261 18.3)."""
    if not length.isascii() or not length.isdigit() or len(length) > 10:
        raise ParseError(f"bad Content-Length: {length[:20]!r}")
    n = int(length)
    if n > len(body):
        raise ParseError(f"Content-Length {n} larger than the {len(body)} body octets present", offset=end + 4)
    return body[:n]


def _parse_lines(lines: list[str], data: bytes, end: int, folded: bool) -> Request | Response:
    start_line = lines[0]
    response = start_line.startswith("SIP/")
    if response:
        parts = start_line.split(" ", 2)
        if len(parts) < 2 or _VERSION_RE.fullmatch(parts[0]) is None:
            raise ParseError(f"bad status line: {start_line[:60]!r}", line=1)
        code = parts[1]
        # RFC 3261 25.1: Status-Code = 3DIGIT; classes 1xx-6xx (7.2).
        if len(code) != 3 or not code.isascii() or not code.isdigit() or not "100" <= code <= "699":
            raise ParseError(f"bad status code: {code[:20]!r}", line=1)
    else:
        parts = start_line.split(" ")
        if (
            len(parts) != 3
            or not is_token(parts[0])
            or _RURI_RE.fullmatch(parts[1]) is None
            or _VERSION_RE.fullmatch(parts[2]) is None
        ):
            if not folded and len(lines) > 1 and lines[1][:1] in (" ", "\t"):
                raise _Folded  # the start line itself is continued (odd, but legal LWS)
            raise ParseError(f"bad request line: {start_line[:60]!r}", line=1)
    rows: list[tuple[str, str]] = []
    lengths: list[str] = []
    memo = _WIRE_NAMES
    for i in range(1, len(lines)):
        raw, colon, value = lines[i].partition(":")
        name = memo.get(raw)
        if name is None:
            name = _checked_name(raw, colon, lines, lines[i], folded)
        value = value.strip(" \t")
        if name == "Content-Length":
            lengths.append(value)
            continue
        rows.append((name, value))
    index, more = _index(rows)
    headers = Headers._from_canonical(tuple(rows), index, more)
    body = data[end + 4:]
    defects: tuple[str, ...] = ()
    if lengths:
        if any(v != lengths[0] for v in lengths):
            # RFC 4475 3.3.12 (mcl01): the parser keeps going, validation answers 400.
            defects = ("conflicting Content-Length header fields",)
        else:
            body = _cut_body(body, lengths[0], end)
    if response:
        return _new_response(  # type: ignore[no-any-return]
            int(parts[1]), parts[2] if len(parts) == 3 else "", headers, body, parts[0], defects)
    return _new_request(parts[0], parts[1], headers, body, parts[2], defects)  # type: ignore[no-any-return]
