"""SIP messages: bytes in, typed objects, bytes out (RFC 3261 sections 7, 20, 25).

FOUNDATION SKELETON: the public surface is fixed here; the grammar is filled in
by the message-layer work (issue 3).

>>> raw = (b"OPTIONS sip:bob@b.example SIP/2.0\\r\\n"
...        b"Via: SIP/2.0/UDP a.example;branch=z9hG4bK1\\r\\n"
...        b"To: <sip:bob@b.example>\\r\\nFrom: <sip:alice@a.example>;tag=1\\r\\n"
...        b"Call-ID: c1\\r\\nCSeq: 1 OPTIONS\\r\\nMax-Forwards: 70\\r\\n"
...        b"Content-Length: 0\\r\\n\\r\\n")
>>> msg = parse_message(raw)
>>> msg.method, msg.headers.get("call-id")
('OPTIONS', 'c1')
>>> parse_message(msg.encode()) == msg
True
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from simvoip.sip.errors import ParseError
from simvoip.sip.headers import CSeq, NameAddr, Via

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


def canonical_name(name: str) -> str:
    """The canonical spelling of a header name (compact forms expanded).

    >>> canonical_name("v"), canonical_name("CALL-id"), canonical_name("x-custom-thing")
    ('Via', 'Call-ID', 'X-Custom-Thing')
    """
    low = name.lower()
    if low in COMPACT_FORMS:
        return COMPACT_FORMS[low]
    known = _CANONICAL.get(low)
    if known is not None:
        return known
    return "-".join(p[:1].upper() + p[1:] for p in low.split("-"))


class Headers:
    """Ordered multi-map of header field rows; names are canonicalised.

    Each row keeps its raw value string; typed views parse it on demand.

    >>> h = Headers([("v", "SIP/2.0/UDP a;branch=z9hG4bK1"), ("Call-ID", "x")])
    >>> h.get("Via"), "call-id" in h, h.get_all("via")
    ('SIP/2.0/UDP a;branch=z9hG4bK1', True, ['SIP/2.0/UDP a;branch=z9hG4bK1'])
    """

    __slots__ = ("_rows",)

    def __init__(self, rows: Iterable[tuple[str, str]] = ()) -> None:
        self._rows: list[tuple[str, str]] = [(canonical_name(n), v) for n, v in rows]

    def get(self, name: str, default: str | None = None) -> str | None:
        key = canonical_name(name)
        for n, v in self._rows:
            if n == key:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        key = canonical_name(name)
        return [v for n, v in self._rows if n == key]

    def add(self, name: str, value: str) -> None:
        self._rows.append((canonical_name(name), value))

    def prepend(self, name: str, value: str) -> None:
        """Insert a row before the first row of the same name (or at the top)."""
        key = canonical_name(name)
        for i, (n, _) in enumerate(self._rows):
            if n == key:
                self._rows.insert(i, (key, value))
                return
        self._rows.insert(0, (key, value))

    def set(self, name: str, value: str) -> None:
        """Replace every row of ``name`` by one row, keeping the first position."""
        key = canonical_name(name)
        for i, (n, _) in enumerate(self._rows):
            if n == key:
                self._rows[i] = (key, value)
                self._rows = [r for j, r in enumerate(self._rows) if j <= i or r[0] != key]
                return
        self._rows.append((key, value))

    def remove(self, name: str) -> None:
        key = canonical_name(name)
        self._rows = [r for r in self._rows if r[0] != key]

    def copy(self) -> Headers:
        h = Headers()
        h._rows = list(self._rows)
        return h

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._rows == other._rows

    def __repr__(self) -> str:
        return f"Headers({self._rows!r})"


class _TypedViews:
    """Typed accessors shared by requests and responses (parsed on demand)."""

    __slots__ = ()
    headers: Headers

    @property
    def vias(self) -> list[Via]:
        return [Via.parse(v) for row in self.headers.get_all("Via") for v in _split_commas(row)]

    @property
    def top_via(self) -> Via:
        row = self.headers.get("Via")
        if row is None:
            raise ParseError("missing Via")
        return Via.parse(_split_commas(row)[0])

    @property
    def branch(self) -> str | None:
        return self.top_via.branch

    @property
    def cseq(self) -> CSeq:
        return CSeq.parse(self._required("CSeq"))

    @property
    def call_id(self) -> str:
        return self._required("Call-ID")

    @property
    def from_(self) -> NameAddr:
        return NameAddr.parse(self._required("From"))

    @property
    def to(self) -> NameAddr:
        return NameAddr.parse(self._required("To"))

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise ParseError(f"missing {name}")
        return value


def _split_commas(row: str) -> list[str]:
    """Split a header row at commas outside quotes and angle brackets (RFC 3261 7.3.1)."""
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
class Request(_TypedViews):
    """A SIP request: method, Request-URI (as text), headers, body bytes."""

    method: str
    uri: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    version: str = "SIP/2.0"

    def encode(self) -> bytes:
        start = f"{self.method} {self.uri} {self.version}"
        return _encode(start, self.headers, self.body)


@dataclass(eq=True, slots=True)
class Response(_TypedViews):
    """A SIP response: status code, reason phrase, headers, body bytes."""

    status_code: int
    reason: str = ""
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    version: str = "SIP/2.0"

    def encode(self) -> bytes:
        start = f"{self.version} {self.status_code} {self.reason}"
        return _encode(start, self.headers, self.body)


Message = Request | Response


def _encode(start: str, headers: Headers, body: bytes) -> bytes:
    lines = [start]
    have_length = False
    for name, value in headers:
        if name == "Content-Length":
            value = str(len(body))
            have_length = True
        lines.append(f"{name}: {value}")
    if not have_length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def parse_message(data: bytes) -> Request | Response:
    """Parse one SIP message from ``data``; raise :class:`ParseError` if malformed."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise ParseError("no empty line after the headers")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"header bytes are not UTF-8: {exc}") from None
    raw_lines = text.split("\r\n")
    # RFC 3261 section 7.3.1: a line starting with whitespace continues the previous one.
    lines: list[str] = []
    for line in raw_lines:
        if line[:1] in (" ", "\t") and lines:
            lines[-1] = lines[-1].rstrip() + " " + line.strip()
        else:
            lines.append(line)
    start, *fields = lines
    rows = []
    for i, line in enumerate(fields, start=2):
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise ParseError(f"header line without a name: {line!r}", line=i)
        rows.append((name.strip(), value.strip()))
    headers = Headers(rows)
    parts = start.split(" ", 2)
    if len(parts) != 3:
        raise ParseError(f"bad start line: {start!r}", line=1)
    if parts[0].startswith("SIP/"):
        if not (parts[1].isdigit() and len(parts[1]) == 3):
            raise ParseError(f"bad status code: {parts[1]!r}", line=1)
        return Response(int(parts[1]), parts[2], headers, body, parts[0])
    return Request(parts[0], parts[1], headers, body, parts[2])
