"""Message framing on stream transports (RFC 3261 18.3) and multipart bodies.

:class:`StreamFramer` turns a TCP/TLS byte stream into whole messages using
Content-Length; it copes with partial reads and ignores the CRLF keep-alives
of RFC 5626 4.4.1 between messages. :func:`split_multipart` splits a
``multipart/*`` body (RFC 2046 5.1) into its parts.

>>> f = StreamFramer()
>>> f.feed(b"\\r\\n\\r\\nOPTIONS sip:a@b SIP/2.0\\r\\nl: 2\\r\\n\\r\\nh")
[]
>>> f.feed(b"iSIP/2.0 200 OK\\r\\n\\r\\n")
[b'OPTIONS sip:a@b SIP/2.0\\r\\nl: 2\\r\\n\\r\\nhi', b'SIP/2.0 200 OK\\r\\n\\r\\n']
>>> f.keepalive_crlfs
2
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simvoip.sip.errors import ParseError
from simvoip.sip.grammar import parse_params, unquote

__all__ = ["StreamFramer", "BodyPart", "split_multipart", "multipart_boundary"]

# Content-Length (or its compact form "l") at the start of a header line.
_CL_RE = re.compile(rb"\r\n(?:content-length|l)[ \t]*:[ \t]*([^\r]*)", re.IGNORECASE)


class StreamFramer:
    """Incremental splitter of a SIP byte stream into complete messages.

    ``feed`` returns the complete messages (raw bytes, for
    :func:`~simvoip.sip.message.parse_message`) that the new data finished.
    A missing Content-Length counts as 0 (RFC 3261 18.3 makes it mandatory on
    streams). A negative, non-numeric or conflicting Content-Length, or a
    header section longer than ``max_header_size``, raises :class:`ParseError`:
    framing is lost and the connection must be closed (RFC 4475 3.1.2.3).

    >>> f = StreamFramer()
    >>> f.feed(b"SIP/2.0 200 OK\\r\\nl: 0\\r\\n"), f.feed(b"\\r\\n")
    ([], [b'SIP/2.0 200 OK\\r\\nl: 0\\r\\n\\r\\n'])
    """

    __slots__ = ("_buffer", "_scan_from", "max_header_size", "max_body_size", "keepalive_crlfs")

    def __init__(self, max_header_size: int = 65536, max_body_size: int = 2**24) -> None:
        self._buffer = bytearray()
        self._scan_from = 0
        self.max_header_size = max_header_size
        self.max_body_size = max_body_size
        #: CRLFs ignored between messages (an RFC 5626 ping is two, a pong one).
        self.keepalive_crlfs = 0

    @property
    def pending(self) -> int:
        """Octets buffered but not yet part of a complete message."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buffer
        buf += data
        out: list[bytes] = []
        while True:
            # RFC 5626 4.4.1: CRLFCRLF is a ping, CRLF a pong; RFC 3261 7.5 ignores CRLF
            # before a start line. Drop them, counting pings.
            skip = 0
            while buf.startswith(b"\r\n", skip):
                skip += 2
            if skip:
                self.keepalive_crlfs += skip // 2
                del buf[:skip]
                self._scan_from = 0
            if not buf:
                return out
            end = buf.find(b"\r\n\r\n", max(self._scan_from - 3, 0))
            if end < 0:
                if len(buf) > self.max_header_size:
                    raise ParseError("header section too long on stream", offset=len(buf))
                self._scan_from = len(buf)
                return out
            head = bytes(buf[:end])
            length = _content_length(b"\r\n" + head)
            if length > self.max_body_size:
                raise ParseError(f"Content-Length {length} too large for a stream")
            total = end + 4 + length
            if len(buf) < total:
                self._scan_from = end  # header already found; wait for the body
                return out
            out.append(bytes(buf[:total]))
            del buf[:total]
            self._scan_from = 0


def _content_length(head: bytes) -> int:
    values = {m.group(1).strip(b" \t") for m in _CL_RE.finditer(head)}
    if not values:
        return 0
    if len(values) > 1:
        raise ParseError("conflicting Content-Length header fields on a stream")
    v = values.pop()
    if not v.isdigit() or len(v) > 10:
        raise ParseError(f"bad Content-Length on a stream: {v[:20]!r}")
    return int(v)


@dataclass(frozen=True, slots=True)
class BodyPart:
    """One part of a multipart body: its MIME header rows and content.

    >>> BodyPart((("Content-Type", "text/plain; charset=utf-8"),), b"hi").content_type
    'text/plain'
    """

    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def content_type(self) -> str | None:
        for name, value in self.headers:
            if name.lower() == "content-type":
                return value.partition(";")[0].strip().lower()
        return None


def multipart_boundary(content_type: str) -> str:
    """The ``boundary`` parameter of a multipart Content-Type value.

    >>> multipart_boundary('multipart/mixed; boundary="simple boundary"')
    'simple boundary'
    """
    mtype, semi, ptext = content_type.partition(";")
    if not mtype.strip().lower().startswith("multipart/"):
        raise ParseError(f"not a multipart type: {content_type[:60]!r}")
    params = parse_params(";" + ptext) if semi else {}
    b = params.get("boundary")
    if not b:
        raise ParseError("multipart Content-Type without boundary")
    return unquote(b) if b.startswith('"') else b


def split_multipart(body: bytes, content_type: str) -> list[BodyPart]:
    """Split a multipart body at its boundary (RFC 2046 5.1.1).

    Parts are binary-safe: only the delimiter lines are interpreted.

    >>> body = b"--X\\r\\nContent-Type: text/plain\\r\\n\\r\\nhi\\r\\n--X\\r\\n\\r\\nyo\\r\\n--X--\\r\\n"
    >>> [(p.content_type, p.body) for p in split_multipart(body, "multipart/mixed;boundary=X")]
    [('text/plain', b'hi'), (None, b'yo')]
    """
    delim = b"--" + multipart_boundary(content_type).encode()
    # The first delimiter may start the body; later ones are preceded by CRLF.
    if body.startswith(delim):
        pos = 0
    else:
        pos = body.find(b"\r\n" + delim)
        if pos < 0:
            raise ParseError("multipart body without its boundary")
        pos += 2
    parts: list[BodyPart] = []
    while True:
        after = pos + len(delim)
        if body.startswith(b"--", after):
            return parts  # close-delimiter
        eol = body.find(b"\r\n", after)
        if eol < 0:
            raise ParseError("truncated multipart delimiter line")
        start = eol + 2
        nxt = body.find(b"\r\n" + delim, start - 2)
        if nxt < 0:
            raise ParseError("multipart body without a close delimiter")
        parts.append(_body_part(body[start:nxt]))
        pos = nxt + 2


def _body_part(raw: bytes) -> BodyPart:
    if raw.startswith(b"\r\n"):
        return BodyPart((), raw[2:])
    head, sep, content = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ParseError("multipart part without an empty line after its headers")
    try:
        lines = head.decode().split("\r\n")
    except UnicodeDecodeError:
        raise ParseError("multipart part headers are not UTF-8") from None
    rows = []
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            raise ParseError(f"bad multipart header line {line[:40]!r}")
        rows.append((name.strip(), value.strip()))
    return BodyPart(tuple(rows), content)
