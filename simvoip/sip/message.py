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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from simvoip.sip.errors import ParseError
from simvoip.sip.grammar import fast_new, is_token
from simvoip.sip.uri import SipUri, parse_uri
from simvoip.sip.views import TypedViews

__all__ = ["Headers", "Request", "Response", "Message", "parse_message", "canonical_name"]

# RFC 3261 section 7.3.3 compact forms (plus RFC 3515 r, RFC 4028 x, RFC 3892 b).
COMPACT_FORMS = {
    "i": "Call-ID", "m": "Contact", "e": "Content-Encoding", "l": "Content-Length",
    "c": "Content-Type", "f": "From", "s": "Subject", "k": "Supported", "t": "To",
    "v": "Via", "o": "Event", "u": "Allow-Events", "r": "Refer-To", "b": "Referred-By",
    "x": "Session-Expires",
}

_CANONICAL = {
    n.lower(): n
    for n in (
        "Accept", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
        "Authentication-Info", "Authorization", "Call-ID", "Call-Info", "Contact",
        "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
        "Content-Type", "CSeq", "Date", "Error-Info", "Expires", "From", "In-Reply-To",
        "Max-Forwards", "Min-Expires", "MIME-Version", "Organization", "Priority",
        "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "Record-Route",
        "Reply-To", "Require", "Retry-After", "Route", "Server", "Subject", "Supported",
        "Timestamp", "To", "Unsupported", "User-Agent", "Via", "Warning",
        "WWW-Authenticate", "RSeq", "RAck", "Event", "Allow-Events", "Refer-To",
        "Referred-By", "Session-Expires", "Min-SE", "Reason", "P-Asserted-Identity",
        "Path", "Flow-Timer", "Privacy",
    )
}

# raw spelling -> canonical name; bounded so hostile input cannot grow it forever.
_NAME_MEMO: dict[str, str] = {}
_MEMO_LIMIT = 4096
# raw header names seen on the wire and already validated -> canonical name.
_WIRE_NAMES: dict[str, str] = {}


def canonical_name(name: str) -> str:
    """The canonical spelling of a header name (compact forms expanded).

    >>> canonical_name("v"), canonical_name("CALL-id"), canonical_name("x-custom-thing")
    ('Via', 'Call-ID', 'X-Custom-Thing')
    """
    known = _NAME_MEMO.get(name)
    if known is not None:
        return known
    low = name.lower()
    if low in COMPACT_FORMS:
        out = COMPACT_FORMS[low]
    else:
        out = _CANONICAL.get(low) or "-".join(p[:1].upper() + p[1:] for p in low.split("-"))
    if len(_NAME_MEMO) < _MEMO_LIMIT:
        _NAME_MEMO[name] = out
    return out


class Headers:
    """Ordered multi-map of header field rows; names are canonicalised.

    Each row keeps its raw value string; typed views parse it on demand and
    cache the result here until the next mutation.

    >>> h = Headers([("v", "SIP/2.0/UDP a;branch=z9hG4bK1"), ("Call-ID", "x")])
    >>> h.get("Via"), "call-id" in h, h.get_all("via")
    ('SIP/2.0/UDP a;branch=z9hG4bK1', True, ['SIP/2.0/UDP a;branch=z9hG4bK1'])
    """

    # Rows are tuples of str, not lists: such tuples (and dicts holding only
    # str) are untracked by the cyclic garbage collector, which matters when
    # many messages stay alive (transactions in Completed). The name index is
    # split in two so that the common case costs one dict lookup: ``_idx`` maps
    # each name to its first value, ``_more`` each name with several rows to
    # all of its values (``None``: no name has several rows).
    __slots__ = ("_rows", "_cache", "_idx", "_more")

    def __init__(self, rows: Iterable[tuple[str, str]] = ()) -> None:
        self._rows: tuple[tuple[str, str], ...] = tuple((canonical_name(n), v) for n, v in rows)
        self._cache: dict[Any, Any] = {}
        self._idx: dict[str, str] | None = None
        self._more: dict[str, tuple[str, ...]] | None = None

    @classmethod
    def _from_canonical(
        cls, rows: tuple[tuple[str, str], ...], index: dict[str, str] | None = None,
        more: dict[str, tuple[str, ...]] | None = None,
    ) -> Headers:
        h = cls.__new__(cls)
        h._rows = rows
        h._cache = {}
        h._idx = index
        h._more = more
        return h

    def _changed(self) -> None:
        # Every mutation drops the typed-view cache and the name index.
        self._cache.clear()
        self._idx = None
        self._more = None

    def _build_index(self) -> dict[str, str]:
        self._idx, self._more = _index(self._rows)
        return self._idx

    def _values(self, name: str) -> tuple[str, ...]:
        idx = self._idx
        if idx is None:
            idx = self._build_index()
        first = idx.get(name)
        if first is None:
            key = _NAME_MEMO.get(name) or canonical_name(name)
            if key == name:
                return ()
            first = idx.get(key)
            if first is None:
                return ()
            name = key
        more = self._more
        if more is not None and name in more:
            return more[name]
        return (first,)

    def get(self, name: str, default: str | None = None) -> str | None:
        idx = self._idx
        if idx is None:
            idx = self._build_index()
        value = idx.get(name)  # fast path: callers mostly pass canonical names
        if value is None:
            if _NAME_MEMO.get(name) == name:
                return default  # a canonical name that is not there
            value = idx.get(canonical_name(name))
            if value is None:
                return default
        return value

    def get_all(self, name: str) -> list[str]:
        idx = self._idx
        if idx is None:
            idx = self._build_index()
        value = idx.get(name)
        if value is None:
            return list(self._values(name))
        more = self._more
        if more is not None and name in more:
            return list(more[name])
        return [value]

    def count(self, name: str) -> int:
        """Number of rows named ``name``."""
        return len(self._values(name))

    def add(self, name: str, value: str) -> None:
        self._changed()
        self._rows += ((canonical_name(name), value),)

    def prepend(self, name: str, value: str) -> None:
        """Insert a row before the first row of the same name (or at the top)."""
        self._changed()
        key = canonical_name(name)
        rows = self._rows
        for i, (n, _) in enumerate(rows):
            if n == key:
                self._rows = (*rows[:i], (key, value), *rows[i:])
                return
        self._rows = ((key, value), *rows)

    def set(self, name: str, value: str) -> None:
        """Replace every row of ``name`` by one row, keeping the first position."""
        self._changed()
        key = canonical_name(name)
        rows = self._rows
        for i, (n, _) in enumerate(rows):
            if n == key:
                self._rows = (*rows[:i], (key, value), *(r for r in rows[i + 1:] if r[0] != key))
                return
        self._rows = (*rows, (key, value))

    def remove(self, name: str) -> None:
        self._changed()
        key = canonical_name(name)
        self._rows = tuple(r for r in self._rows if r[0] != key)

    def remove_first(self, name: str) -> str | None:
        """Remove the first row of ``name`` (e.g. a proxy popping its Route); return its value."""
        key = canonical_name(name)
        rows = self._rows
        for i, (n, v) in enumerate(rows):
            if n == key:
                self._changed()
                self._rows = rows[:i] + rows[i + 1:]
                return v
        return None

    def copy(self) -> Headers:
        return Headers._from_canonical(self._rows, self._idx, self._more)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._rows == other._rows

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({list(self._rows)!r})"


def _index(
    rows: tuple[tuple[str, str], ...] | list[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, tuple[str, ...]] | None]:
    """``(first value of each name, all values of each name with several rows)``."""
    idx = dict(rows)  # C speed; the values are the *last* ones, so right unless a name repeats
    if len(idx) == len(rows):
        return idx, None
    idx = {}
    more: dict[str, tuple[str, ...]] = {}
    for n, v in rows:
        if n in idx:
            more[n] = more.get(n, (idx[n],)) + (v,)
        else:
            idx[n] = v
    return idx, more


def _split_commas(row: str) -> list[str]:
    """Lenient comma split (RFC 3261 7.3.1) that drops empty elements; never raises.

    Typed views use the strict :func:`simvoip.sip.grammar.split_commas`.
    """
    out, depth, quoted, start = [], 0, False, 0
    i = 0
    while i < len(row):
        ch = row[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(row[start:i].strip())
            start = i + 1
        i += 1
    out.append(row[start:].strip())
    return [v for v in out if v]


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
    n_lf = head.count(b"\n")
    if n_lf != head.count(b"\r"):
        raise ParseError("bare CR or LF in the header section", offset=start)
    try:
        text = head.decode()
    except UnicodeDecodeError as exc:
        raise ParseError("header section is not UTF-8", offset=start + exc.start) from None
    lines = text.split("\r\n")
    if len(lines) - 1 != n_lf:
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
_STATUS_LINE_RE = re.compile(r"(SIP/[0-9]{1,5}\.[0-9]{1,5}) ([1-6][0-9][0-9])(?: (.*))?", re.S)


def _parse_fast(lines: list[str], data: bytes, end: int) -> Request | Response | None:
    memo = _WIRE_NAMES
    try:
        # (``for ... in [x]`` in a comprehension is a plain assignment since Python 3.9)
        rows = [(memo[n], v.strip(" \t")) for line in lines[1:] for n, colon, v in [line.partition(":")]
                if colon]
    except KeyError:
        return None
    if len(rows) != len(lines) - 1:
        return None  # a line without a colon
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
    index = dict(rows)  # right unless a name repeats (_index)
    more = None
    if len(index) != len(rows):
        index, more = _index(rows)
    body = data[end + 4:]
    length = index.get("Content-Length")
    if length is not None:
        if more is not None and "Content-Length" in more:
            return None
        del index["Content-Length"]
        if rows[-1][0] == "Content-Length":  # where it usually is
            del rows[-1]
        else:
            rows.remove(("Content-Length", length))
        if length.isdigit() and length.isascii() and len(length) <= 10 and (n := int(length)) <= len(body):
            body = body[:n]
        else:
            body = _cut_body(body, length, end)  # raises the line parser's error
    headers: Headers = _object_new(Headers)  # _new_headers, inlined
    headers._rows = tuple(rows)
    headers._idx = index
    headers._more = more
    headers._cache = {}
    a, b, c = start
    if type(b) is int:
        return _new_response(b, c, headers, body, a, ())  # type: ignore[no-any-return]
    return _new_request(a, b, headers, body, c, ())  # type: ignore[no-any-return]


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
