"""Session Description Protocol (RFC 4566 / RFC 8866): parse and format.

>>> text = ("v=0\\r\\no=alice 2890844526 2890844526 IN IP4 192.0.2.1\\r\\ns=-\\r\\n"
...         "c=IN IP4 192.0.2.1\\r\\nt=0 0\\r\\nm=audio 49170 RTP/AVP 0 8 101\\r\\n"
...         "a=rtpmap:101 telephone-event/8000\\r\\na=fmtp:101 0-16\\r\\na=ptime:20\\r\\n"
...         "a=sendonly\\r\\n")
>>> sd = SessionDescription.parse(text)
>>> m = sd.media[0]
>>> m.port, m.formats, m.rtpmap(0), m.fmtp[101], m.ptime, m.direction
(49170, ('0', '8', '101'), RtpMap(payload_type=0, encoding='PCMU', clock_rate=8000, channels=None), '0-16', 20, 'sendonly')
>>> str(sd) == text
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simvoip.sip.errors import ParseError
from simvoip.sip.grammar import fast_new, first_sight, remember

__all__ = [
    "SessionDescription", "MediaDescription", "Origin", "Connection", "Timing", "RtpMap",
    "STATIC_PAYLOAD_TYPES", "DIRECTIONS",
]

_SDP_MEMO: dict[bytes | str, SessionDescription] = {}
# Bodies seen once: a body goes into _SDP_MEMO on its second sight
# (grammar.first_sight: most bodies are never parsed again).
_SDP_SEEN_ONCE: set[bytes | str] = set()

#: RFC 4566 6: the direction attributes.
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")

#: RFC 3551 table 4: static audio payload types (encoding, clock rate, channels).
STATIC_PAYLOAD_TYPES: dict[int, tuple[str, int, int | None]] = {
    0: ("PCMU", 8000, None), 3: ("GSM", 8000, None), 4: ("G723", 8000, None),
    5: ("DVI4", 8000, None), 6: ("DVI4", 16000, None), 7: ("LPC", 8000, None),
    8: ("PCMA", 8000, None), 9: ("G722", 8000, None), 10: ("L16", 44100, 2),
    11: ("L16", 44100, None), 12: ("QCELP", 8000, None), 13: ("CN", 8000, None),
    14: ("MPA", 90000, None), 15: ("G728", 8000, None), 18: ("G729", 8000, None),
}


@dataclass(frozen=True, slots=True)
class Origin:
    """``o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>``.

    >>> str(Origin("-", 1, 2, "192.0.2.1"))
    '- 1 2 IN IP4 192.0.2.1'
    """

    username: str
    session_id: int
    session_version: int
    address: str
    nettype: str = "IN"
    addrtype: str = "IP4"

    def __str__(self) -> str:
        return (f"{self.username} {self.session_id} {self.session_version} "
                f"{self.nettype} {self.addrtype} {self.address}")


@dataclass(frozen=True, slots=True)
class Connection:
    """``c=<nettype> <addrtype> <connection-address>`` (address may carry /ttl/count).

    >>> str(Connection("2001:db8::1", addrtype="IP6")), Connection("0.0.0.0").is_null
    ('IN IP6 2001:db8::1', True)
    """

    address: str
    nettype: str = "IN"
    addrtype: str = "IP4"

    @property
    def is_null(self) -> bool:
        """RFC 3264 8.4 legacy hold: ``c=IN IP4 0.0.0.0``."""
        return self.address in ("0.0.0.0", "::")

    def __str__(self) -> str:
        return f"{self.nettype} {self.addrtype} {self.address}"


@dataclass(frozen=True, slots=True)
class Timing:
    """``t=<start> <stop>`` plus its ``r=`` repeat lines (kept verbatim).

    >>> Timing()
    Timing(start=0, stop=0, repeats=())
    """

    start: int = 0
    stop: int = 0
    repeats: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RtpMap:
    """``a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]`` (RFC 4566 6).

    >>> str(RtpMap(96, "opus", 48000, 2))
    '96 opus/48000/2'
    """

    payload_type: int
    encoding: str
    clock_rate: int
    channels: int | None = None

    def __str__(self) -> str:
        ch = f"/{self.channels}" if self.channels is not None else ""
        return f"{self.payload_type} {self.encoding}/{self.clock_rate}{ch}"


Attribute = tuple[str, str | None]


def _attr_values(attributes: tuple[Attribute, ...], name: str) -> list[str]:
    return [v for n, v in attributes if n == name and v is not None]


def _direction(attributes: tuple[Attribute, ...]) -> str | None:
    found = None
    for n, _ in attributes:
        if n in DIRECTIONS:
            found = n
    return found


@dataclass(frozen=True, slots=True)
class MediaDescription:
    """One ``m=`` section: ``m=<media> <port>[/<count>] <proto> <fmt> ...``.

    >>> m = MediaDescription("audio", 4000, "RTP/AVP", ("8",), attributes=(("recvonly", None),))
    >>> str(m), m.rtpmap(8).encoding, m.direction
    ('m=audio 4000 RTP/AVP 8\\r\\na=recvonly\\r\\n', 'PCMA', 'recvonly')
    """

    media: str
    port: int
    proto: str
    formats: tuple[str, ...]
    port_count: int | None = None
    information: str | None = None
    connections: tuple[Connection, ...] = ()
    bandwidths: tuple[str, ...] = ()
    key: str | None = None
    attributes: tuple[Attribute, ...] = ()
    #: The session-level direction, filled in by the parser for :attr:`direction`.
    session_direction: str | None = field(default=None, compare=False, repr=False)

    @property
    def payload_types(self) -> list[int]:
        """The formats as RTP payload type numbers (RTP profiles only)."""
        return [int(f) for f in self.formats if f.isdigit()]

    @property
    def rtpmaps(self) -> dict[int, RtpMap]:
        """``a=rtpmap`` entries by payload type; malformed ones (``31 LPC``) are skipped."""
        out: dict[int, RtpMap] = {}
        for value in _attr_values(self.attributes, "rtpmap"):
            try:
                rm = _parse_rtpmap(value)
            except ParseError:
                continue
            out[rm.payload_type] = rm
        return out

    def rtpmap(self, payload_type: int) -> RtpMap | None:
        """The rtpmap of ``payload_type``, falling back to RFC 3551's static table."""
        rm = self.rtpmaps.get(payload_type)
        if rm is None and payload_type in STATIC_PAYLOAD_TYPES:
            enc, rate, ch = STATIC_PAYLOAD_TYPES[payload_type]
            rm = RtpMap(payload_type, enc, rate, ch)
        return rm

    @property
    def fmtp(self) -> dict[int, str]:
        out: dict[int, str] = {}
        for value in _attr_values(self.attributes, "fmtp"):
            pt, _, params = value.partition(" ")
            if pt.isdigit():
                out[int(pt)] = params.strip()
        return out

    @property
    def ptime(self) -> int | None:
        values = _attr_values(self.attributes, "ptime")
        if not values:
            return None
        try:
            return int(float(values[0]))
        except ValueError:
            raise ParseError(f"bad ptime: {values[0]!r}") from None

    @property
    def direction(self) -> str:
        """Media-level direction, else session-level, else ``sendrecv`` (RFC 4566 6)."""
        return _direction(self.attributes) or self.session_direction or "sendrecv"

    @property
    def is_rejected(self) -> bool:
        """RFC 3264 6: a port of zero rejects (or disables) the stream."""
        return self.port == 0

    def __str__(self) -> str:
        port = f"{self.port}/{self.port_count}" if self.port_count is not None else str(self.port)
        lines = [f"m={self.media} {port} {self.proto} {' '.join(self.formats)}"]
        if self.information is not None:
            lines.append(f"i={self.information}")
        lines += [f"c={c}" for c in self.connections]
        lines += [f"b={b}" for b in self.bandwidths]
        if self.key is not None:
            lines.append(f"k={self.key}")
        lines += [f"a={n}" if v is None else f"a={n}:{v}" for n, v in self.attributes]
        return "".join(line + "\r\n" for line in lines)


@dataclass(frozen=True, slots=True)
class SessionDescription:
    """A whole SDP session description (RFC 4566 5).

    >>> sd = SessionDescription(Origin("-", 1, 1, "192.0.2.1"), connection=Connection("192.0.2.1"))
    >>> print(str(sd), end="")
    v=0
    o=- 1 1 IN IP4 192.0.2.1
    s=-
    c=IN IP4 192.0.2.1
    t=0 0
    """

    origin: Origin
    session_name: str = "-"
    connection: Connection | None = None
    times: tuple[Timing, ...] = (Timing(),)
    attributes: tuple[Attribute, ...] = ()
    media: tuple[MediaDescription, ...] = ()
    information: str | None = None
    uri: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    bandwidths: tuple[str, ...] = ()
    zone: str | None = None
    key: str | None = None
    version: int = 0

    @property
    def direction(self) -> str:
        """Session-level direction attribute (default ``sendrecv``)."""
        return _direction(self.attributes) or "sendrecv"

    def connection_for(self, media: MediaDescription) -> Connection | None:
        """Media-level c= if present, else the session-level one (RFC 4566 5.7)."""
        return media.connections[0] if media.connections else self.connection

    @classmethod
    def parse(cls, data: bytes | str) -> SessionDescription:
        """Parse SDP text; malformed input raises :class:`ParseError`.

        Memoized like the header views: the same body text (re-parsed at
        every hop, or in a retransmission) gives the same shared object from
        its second parse on (a body parsed once is only remembered as seen).
        """
        if type(data) is bytes:  # the usual case (a message body), in fewer steps
            hit = _SDP_MEMO.get(data)
            if hit is not None:
                return hit
            try:
                text = data.decode()
            except UnicodeDecodeError:
                pass  # the general path says what is wrong
            else:
                sd = _parse_crlf_blocks(text)
                if sd is not None:
                    if not first_sight(_SDP_SEEN_ONCE, data):
                        remember(_SDP_MEMO, data, sd)
                    return sd
        elif isinstance(data, (bytes, str)):
            hit = _SDP_MEMO.get(data)
            if hit is not None:
                return hit
        try:
            sd = _parse_sdp(data)
            if isinstance(data, (bytes, str)):
                if not first_sight(_SDP_SEEN_ONCE, data):
                    remember(_SDP_MEMO, data, sd)
            return sd
        except ParseError:
            raise
        except Exception as exc:  # defensive: only ParseError escapes
            raise ParseError(f"malformed SDP ({type(exc).__name__})") from None

    def encode(self) -> bytes:
        return str(self).encode()

    def __str__(self) -> str:
        lines = [f"v={self.version}", f"o={self.origin}", f"s={self.session_name}"]
        if self.information is not None:
            lines.append(f"i={self.information}")
        if self.uri is not None:
            lines.append(f"u={self.uri}")
        lines += [f"e={e}" for e in self.emails]
        lines += [f"p={p}" for p in self.phones]
        if self.connection is not None:
            lines.append(f"c={self.connection}")
        lines += [f"b={b}" for b in self.bandwidths]
        for t in self.times:
            lines.append(f"t={t.start} {t.stop}")
            lines += [f"r={r}" for r in t.repeats]
        if self.zone is not None:
            lines.append(f"z={self.zone}")
        if self.key is not None:
            lines.append(f"k={self.key}")
        lines += [f"a={n}" if v is None else f"a={n}:{v}" for n, v in self.attributes]
        return "".join(line + "\r\n" for line in lines) + "".join(str(m) for m in self.media)


def _parse_rtpmap(value: str) -> RtpMap:
    pt, _, rest = value.partition(" ")
    bits = rest.strip().split("/")
    if not pt.isdigit() or len(bits) not in (2, 3) or not bits[0] or not bits[1].isdigit():
        raise ParseError(f"bad rtpmap: {value[:60]!r}")
    channels = None
    if len(bits) == 3:
        if not bits[2].isdigit():
            raise ParseError(f"bad rtpmap channels: {value[:60]!r}")
        channels = int(bits[2])
    return RtpMap(int(pt), bits[0], int(bits[1]), channels)


def _parse_uint(text: str, what: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        raise ParseError(f"bad SDP {what}: {text[:30]!r}")
    return int(text)




_new_origin = fast_new(Origin)
_new_connection = fast_new(Connection)
_new_timing = fast_new(Timing)
_new_media = fast_new(MediaDescription)
_new_session = fast_new(SessionDescription)


class _MediaBuilder:
    """Collects one m= section while parsing."""

    __slots__ = ("media", "port", "proto", "formats", "port_count", "fields", "attrs", "conns", "bw")

    def __init__(self, value: str) -> None:
        self.media, self.port, self.proto, self.formats, self.port_count = _media_line(value)
        self.fields: dict[str, str] = {}
        self.attrs: list[Attribute] = []
        self.conns: list[Connection] = []
        self.bw: list[str] = []

    def build(self, session_direction: str | None) -> MediaDescription:
        return _new_media(  # type: ignore[no-any-return]
            self.media, self.port, self.proto, self.formats, self.port_count,
            self.fields.get("i"), tuple(self.conns), tuple(self.bw), self.fields.get("k"),
            tuple(self.attrs), session_direction,
        )


def _parse_sdp(data: bytes | str) -> SessionDescription:
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            text = (data if type(data) is bytes else bytes(data)).decode()
        except UnicodeDecodeError as exc:
            raise ParseError(f"SDP is not UTF-8 at offset {exc.start}") from None
    else:
        text = data
    # RFC 4566 5: lines end in CRLF, but parsers should accept a bare LF.
    crlf = None
    if "\r" in text:
        sd = _parse_crlf_blocks(text)
        if sd is not None:
            return sd
        crlf = text
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            raise ParseError("bare CR in SDP")
    sd = _parse_blocks(text)
    if sd is None:
        sd = _parse_lines(text)
        _learn_blocks(text, sd)
    if crlf is not None:
        _learn_crlf_blocks(crlf, sd)
    return sd


def _origin(value: str) -> Origin:
    o = value.split(" ")
    if len(o) != 6 or not all(o):
        raise ParseError(f"bad o= line: {'o=' + value[:58]!r}", line=2)
    return _new_origin(  # type: ignore[no-any-return]
        o[0], _parse_uint(o[1], "sess-id"), _parse_uint(o[2], "sess-version"), o[5], o[3], o[4])


def _media_line(value: str) -> tuple[str, int, str, tuple[str, ...], int | None]:
    """``m=`` value -> (media, port, proto, formats, port count)."""
    parts = value.split(" ")
    if len(parts) < 4 or not all(parts):
        raise ParseError(f"bad m= line: {value[:60]!r}")
    port_text, slash, count = parts[1].partition("/")
    port = _parse_uint(port_text, "port")
    if port > 65535:
        raise ParseError(f"bad m= port: {port_text!r}")
    port_count = _parse_uint(count, "port count") if slash else None
    return parts[0], port, parts[2], tuple(parts[3:]), port_count


def _parse_lines(text: str) -> SessionDescription:
    """The general parser: one line at a time (``text`` has LF line ends)."""
    lines = text.split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    if len(lines) < 4 or lines[0] != "v=0":
        raise ParseError("SDP must start with v=0 and hold o=, s=, t=", line=1)
    o_line, s_line = lines[1], lines[2]
    if not o_line.startswith("o="):
        raise ParseError("SDP o= line must follow v=", line=2)
    origin = _origin(o_line[2:])
    if not s_line.startswith("s="):
        raise ParseError("SDP s= line must follow o=", line=3)
    session: dict[str, str] = {}
    connection: Connection | None = None
    times: list[Timing] = []
    s_attrs: list[Attribute] = []
    emails: list[str] = []
    phones: list[str] = []
    s_bw: list[str] = []
    builders: list[_MediaBuilder] = []
    cur: _MediaBuilder | None = None
    attrs = s_attrs  # where a= lines go: the session, then the current media section
    for lineno, line in enumerate(lines[3:], start=4):
        if line[1:2] != "=":
            raise ParseError(f"bad SDP line: {line[:60]!r}", line=lineno)
        kind = line[0]
        value = line[2:]
        if kind == "a":
            name, colon, v = value.partition(":")
            if not name or " " in name:
                raise ParseError(f"bad a= line: {value[:60]!r}", line=lineno)
            attrs.append((name, v if colon else None))
        elif kind == "m":
            cur = _MediaBuilder(value)
            attrs = cur.attrs
            builders.append(cur)
        elif kind == "c":
            parts = value.split(" ")
            if len(parts) != 3 or not all(parts):
                raise ParseError(f"bad c= line: {value[:60]!r}", line=lineno)
            conn = _new_connection(parts[2], parts[0], parts[1])
            if cur is not None:
                cur.conns.append(conn)
            elif connection is not None:
                raise ParseError("duplicate session c= line", line=lineno)
            else:
                connection = conn
        elif kind == "b":
            (cur.bw if cur is not None else s_bw).append(value)
        elif cur is not None:
            if kind not in "ik" or kind in cur.fields:
                raise ParseError(f"unexpected {kind}= line in a media section", line=lineno)
            cur.fields[kind] = value
        elif kind == "t":
            bits = value.split(" ")
            if len(bits) != 2:
                raise ParseError(f"bad t= line: {value[:60]!r}", line=lineno)
            times.append(_new_timing(_parse_uint(bits[0], "start time"), _parse_uint(bits[1], "stop time"), ()))
        elif kind == "r":
            if not times:
                raise ParseError("r= before t=", line=lineno)
            times[-1] = Timing(times[-1].start, times[-1].stop, (*times[-1].repeats, value))
        elif kind == "e":
            emails.append(value)
        elif kind == "p":
            phones.append(value)
        elif kind in "iuzk" and kind not in session:
            session[kind] = value
        else:
            raise ParseError(f"unexpected {kind}= line at session level", line=lineno)
    if not times:
        raise ParseError("SDP has no t= line")
    s_attr_tuple = tuple(s_attrs)
    s_dir = _direction(s_attr_tuple)
    media = []
    for b in builders:
        # RFC 4566 5.7: c= at session level or in every media description.
        if connection is None and not b.conns:
            raise ParseError(f"no connection data for m={b.media}")
        media.append(b.build(s_dir))
    return _new_session(  # type: ignore[no-any-return]
        origin, s_line[2:], connection, tuple(times), s_attr_tuple, tuple(media),
        session.get("i"), session.get("u"), tuple(emails), tuple(phones), tuple(s_bw),
        session.get("z"), session.get("k"), 0,
    )


# The block-memo fast paths build the types above, so they are imported last.
from simvoip.sip.sdp_blocks import (  # noqa: E402
    _learn_blocks,
    _learn_crlf_blocks,
    _parse_blocks,
    _parse_crlf_blocks,
)
