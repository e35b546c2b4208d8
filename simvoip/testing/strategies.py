"""Hypothesis strategies for SIP: URIs, header values, requests, responses, SDP, malformed bytes.

Every strategy builds the typed objects of :mod:`simvoip.sip` (``SipUri``,
``Via``, ``NameAddr``, ``Request``, ``Response``, ``SessionDescription``);
``.map(str)`` or ``.encode()`` gives the wire text. Valid messages satisfy
``parse_message(m.encode()) == m``; :func:`mutated_messages` derives
malformed ones byte by byte, for "parses or raises ParseError" fuzzing.
Network-level strategies (topologies, fault schedules, workloads) live in
:mod:`simvoip.testing.network_strategies`.

>>> from hypothesis import given, settings
>>> from simvoip.sip import parse_message
>>> @settings(max_examples=10, database=None)
... @given(requests())
... def test_round_trip(request):
...     assert parse_message(request.encode()) == request
>>> test_round_trip()
"""

from __future__ import annotations

import string
from dataclasses import replace
from functools import cache

from hypothesis import strategies as st

from simvoip.sip.headers import MAGIC_COOKIE, CSeq, NameAddr, Via
from simvoip.sip.message import Headers, Request, Response
from simvoip.sip.sdp import Connection, MediaDescription, Origin, SessionDescription
from simvoip.sip.uri import SipUri

__all__ = [
    "METHODS", "tokens", "hostnames", "ipv4_addresses", "ipv6_references", "hosts",
    "sip_uris", "vias", "name_addrs", "cseqs", "call_ids", "branches", "tags",
    "extension_headers", "requests", "responses", "messages", "sdp_offers",
    "mutated_messages", "MUTATIONS",
]

#: Methods of RFC 3261 plus the common extensions.
METHODS = ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO", "UPDATE",
           "MESSAGE", "SUBSCRIBE", "NOTIFY", "REFER", "PRACK", "PUBLISH")

_ALNUM = string.ascii_letters + string.digits
#: RFC 3261 25.1 token characters.
_TOKEN = _ALNUM + "-.!%*_+`'~"
_LOWER_TOKEN = string.ascii_lowercase + string.digits + "-._"
# RFC 3261 25.1 "word" (Call-ID) characters, minus the brackets that confuse name-addr readers.
_WORD = _ALNUM + "-.!%*_+`'~()/:?{}"


@cache
def tokens(min_size: int = 1, max_size: int = 12) -> st.SearchStrategy[str]:
    """RFC 3261 ``token`` strings.

    >>> from hypothesis import given, settings
    >>> from simvoip.sip.grammar import is_token
    >>> @settings(max_examples=10, database=None)
    ... @given(tokens())
    ... def check(x):
    ...     assert is_token(x)
    >>> check()
    """
    return st.text(_TOKEN, min_size=min_size, max_size=max_size)


@cache
def _label() -> st.SearchStrategy[str]:
    inner = st.text(_ALNUM + "-", max_size=8)
    return st.builds(lambda a, mid, b: a + mid + b if mid else a + b,
                     st.sampled_from(string.ascii_lowercase), inner, st.text(_ALNUM, max_size=1))


@cache
def hostnames() -> st.SearchStrategy[str]:
    """DNS names such as ``pc33.atlanta.example`` (RFC 3261 25.1 hostname).

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, database=None)
    ... @given(hostnames())
    ... def check(x):
    ...     assert x.endswith(".example")
    >>> check()
    """
    return st.lists(_label(), min_size=1, max_size=3).map(
        lambda labels: ".".join(labels) + ".example")


@cache
def ipv4_addresses() -> st.SearchStrategy[str]:
    """Dotted-quad IPv4 addresses."""
    return st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))


@cache
def ipv6_references() -> st.SearchStrategy[str]:
    """Bracketed IPv6 references such as ``[2001:db8::1]`` (RFC 5118)."""
    groups = st.lists(st.integers(0, 0xFFFF).map(lambda g: f"{g:x}"), min_size=2, max_size=4)
    return groups.map(lambda gs: "[2001:db8::" + ":".join(gs[1:]) + "]")


@cache
def hosts() -> st.SearchStrategy[str]:
    """Any host: DNS name, IPv4 address or IPv6 reference."""
    return st.one_of(hostnames(), ipv4_addresses(), ipv6_references())


def _params(names: st.SearchStrategy[str], values: st.SearchStrategy[str],
            max_size: int = 3) -> st.SearchStrategy[dict[str, str | None]]:
    return st.dictionaries(names, st.none() | values, max_size=max_size)


@cache
def sip_uris(*, schemes: tuple[str, ...] = ("sip", "sips"), with_user: bool | None = None,
             escapes: bool = True) -> st.SearchStrategy[SipUri]:
    """``sip:``/``sips:`` URIs as :class:`SipUri` (``SipUri.parse(str(u)) == u``).

    ``with_user`` forces (True) or forbids (False) a user part; ``escapes``
    allows characters that must be %-escaped in the user part and parameters.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, database=None)
    ... @given(sip_uris())
    ... def check(x):
    ...     assert SipUri.parse(str(x)) == x
    >>> check()
    """
    free: st.SearchStrategy[str] = (
        st.characters(codec="utf-8", exclude_categories=["Cs"]) if escapes
        else st.sampled_from(_ALNUM))
    user_text = st.text(free, min_size=1, max_size=10)
    user: st.SearchStrategy[str | None]
    if with_user is True:
        user = user_text
    elif with_user is False:
        user = st.none()
    else:
        user = st.none() | user_text
    value = st.text(free, max_size=8)
    return st.builds(
        SipUri,
        scheme=st.sampled_from(schemes),
        user=user,
        password=st.none(),
        host=hosts(),
        port=st.none() | st.integers(1, 65535),
        params=_params(st.text(_LOWER_TOKEN, min_size=1, max_size=8), value),
        headers=st.dictionaries(st.text(_ALNUM, min_size=1, max_size=6), value, max_size=2),
    )


@cache
def _simple_uris() -> st.SearchStrategy[SipUri]:
    # Cheap URIs for the many name-addr rows of a message (the Request-URI gets the full one).
    return st.builds(lambda user, host: SipUri("sip", user, None, host),
                     st.none() | st.text(_ALNUM, min_size=1, max_size=6), hostnames())


@cache
def _light_sdp() -> st.SearchStrategy[SessionDescription]:
    # One audio stream: a cheap body for requests and responses (sdp_offers() is the rich one).
    def build(address: str, port: int, pts: list[int], direction: str | None) -> SessionDescription:
        attributes: tuple[tuple[str, str | None], ...] = ((direction, None),) if direction else ()
        media = MediaDescription("audio", port, "RTP/AVP", tuple(map(str, pts)), attributes=attributes)
        return SessionDescription(Origin("-", 1, 1, address), "-", Connection(address), media=(media,))
    return st.builds(build, ipv4_addresses(), st.integers(512, 32767).map(lambda p: 2 * p),
                     st.lists(st.sampled_from([0, 8, 9, 18]), min_size=1, max_size=3, unique=True),
                     st.none() | st.sampled_from(["sendrecv", "sendonly", "recvonly", "inactive"]))


@cache
def branches() -> st.SearchStrategy[str]:
    """RFC 3261 branch IDs (magic cookie ``z9hG4bK`` + token)."""
    return tokens(1, 16).map(lambda t: MAGIC_COOKIE + t)


@cache
def tags() -> st.SearchStrategy[str]:
    """From/To tags (tokens)."""
    return tokens(1, 12)


@cache
def call_ids() -> st.SearchStrategy[str]:
    """Call-IDs: ``word ["@" word]`` (RFC 3261 20.8)."""
    word = st.text(_WORD, min_size=1, max_size=16)
    return st.builds(lambda a, b: a if b is None else f"{a}@{b}", word, st.none() | hostnames())


@cache
def vias(*, transports: tuple[str, ...] = ("UDP", "TCP", "TLS", "SCTP"),
         branch: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Via]:
    """Via values with a branch (and sometimes rport/received/ttl).

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, database=None)
    ... @given(vias())
    ... def check(x):
    ...     assert Via.parse(str(x)) == x
    >>> check()
    """
    extra = st.fixed_dictionaries({}, optional={
        "rport": st.none() | st.integers(1, 65535).map(str),
        "received": ipv4_addresses(),
        "ttl": st.integers(0, 255).map(str),
    })
    return st.builds(
        lambda transport, host, port, b, more: Via(transport, host, port, {"branch": b, **more}),
        st.sampled_from(transports), hosts(), st.none() | st.integers(1, 65535),
        branch or branches(), extra)


@cache
def _display_names() -> st.SearchStrategy[str | None]:
    text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1,
                   max_size=12)
    return st.none() | text


@cache
def name_addrs(*, tag: st.SearchStrategy[str | None] | None = None,
               uri: st.SearchStrategy[SipUri] | None = None) -> st.SearchStrategy[NameAddr]:
    """name-addr values (From, To, Contact, Route) with a quoted display name and params.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, database=None)
    ... @given(name_addrs(tag=tags()))
    ... def check(x):
    ...     assert NameAddr.parse(str(x)) == x and x.tag
    >>> check()
    """
    params = _params(st.text(_LOWER_TOKEN, min_size=1, max_size=6).filter(lambda n: n != "tag"),
                     tokens(1, 8), max_size=2)
    return st.builds(
        lambda u, display, ps, t: NameAddr(str(u), display, {**ps, **({"tag": t} if t else {})}),
        uri if uri is not None else sip_uris(escapes=False), _display_names(), params,
        tag if tag is not None else st.none() | tags())


@cache
def cseqs(method: str | None = None) -> st.SearchStrategy[CSeq]:
    """CSeq values (number < 2**31, RFC 3261 8.1.1.5)."""
    methods = st.just(method) if method else st.sampled_from(METHODS)
    return st.builds(CSeq, st.integers(0, 2**31 - 1), methods)


@cache
def extension_headers() -> st.SearchStrategy[list[tuple[str, str]]]:
    """A few ``X-`` extension header rows with printable values (no leading/trailing space)."""
    value = st.text(string.ascii_letters + string.digits + " ;=,./-_", max_size=20).map(str.strip)
    return st.lists(st.tuples(tokens(1, 8).map(lambda t: "X-" + t), value), max_size=3)


@cache
def _maybe_tag() -> st.SearchStrategy[str | None]:
    return st.none() | tags()


def _tag_param(tag: str | None) -> dict[str, str | None]:
    return {"tag": tag} if tag else {}


@cache
def _from_values() -> st.SearchStrategy[NameAddr]:
    return name_addrs(tag=tags(), uri=_simple_uris())


@cache
def _contact_values() -> st.SearchStrategy[NameAddr]:
    return name_addrs(tag=st.none(), uri=_simple_uris())


@cache
def _reasons() -> st.SearchStrategy[str]:
    chars = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp"))
    return st.text(chars, max_size=20).map(str.strip)


@st.composite
def sdp_offers(draw: st.DrawFn) -> SessionDescription:
    """SDP offers (RFC 3264 5): audio streams, static and dynamic payload types, a direction.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, database=None)
    ... @given(sdp_offers())
    ... def check(x):
    ...     assert SessionDescription.parse(x.encode()) == x
    >>> check()
    """
    address = draw(ipv4_addresses())
    session_id = draw(st.integers(0, 2**62))
    origin = Origin(draw(tokens(1, 8).filter(lambda t: t != "")), session_id,
                    draw(st.integers(0, 2**62)), address)
    streams = []
    for _ in range(draw(st.integers(1, 2))):
        static = draw(st.lists(st.sampled_from([0, 3, 8, 9, 18]), min_size=1, max_size=3,
                               unique=True))
        dynamic = draw(st.lists(st.integers(96, 127), max_size=2, unique=True))
        attributes: list[tuple[str, str | None]] = []
        for pt in dynamic:
            encoding = draw(st.sampled_from(["telephone-event", "opus", "speex", "iLBC"]))
            attributes.append(("rtpmap", f"{pt} {encoding}/{draw(st.sampled_from([8000, 16000, 48000]))}"))
            if encoding == "telephone-event":
                attributes.append(("fmtp", f"{pt} 0-16"))
        if draw(st.booleans()):
            attributes.append(("ptime", str(draw(st.sampled_from([10, 20, 30, 40])))))
        direction = draw(st.none() | st.sampled_from(["sendrecv", "sendonly", "recvonly", "inactive"]))
        if direction:
            attributes.append((direction, None))
        streams.append(MediaDescription(
            "audio", draw(st.integers(1024, 65534).map(lambda p: p & ~1)), "RTP/AVP",
            tuple(str(pt) for pt in [*static, *dynamic]), attributes=tuple(attributes)))
    return SessionDescription(origin, "-", Connection(address), media=tuple(streams))


@st.composite
def requests(draw: st.DrawFn, method: str | st.SearchStrategy[str] | None = None,
             *, body: bool | None = None) -> Request:
    """Valid requests (RFC 3261 8.1.1): Via, Max-Forwards, From (tag), To, Call-ID, CSeq ...

    INVITEs carry a Contact and, unless ``body=False``, an SDP offer.
    """
    if method is None:
        m = draw(st.sampled_from(METHODS))
    elif isinstance(method, str):
        m = method
    else:
        m = draw(method)
    # RFC 3261 19.1.5: no headers component in a Request-URI.
    uri = replace(draw(sip_uris(with_user=True)), headers={})
    headers = Headers()
    for via in draw(st.lists(vias(), min_size=1, max_size=2)):
        headers.add("Via", str(via))
    headers.add("Max-Forwards", str(draw(st.integers(0, 255))))
    headers.add("From", str(draw(_from_values())))
    to = NameAddr(str(uri), draw(_display_names()),
                  {} if m in ("INVITE", "REGISTER") else _tag_param(draw(_maybe_tag())))
    headers.add("To", str(to))
    headers.add("Call-ID", draw(call_ids()))
    headers.add("CSeq", str(CSeq(draw(st.integers(0, 2**31 - 1)), m)))
    if m in ("INVITE", "SUBSCRIBE", "REFER") or draw(st.booleans()):
        headers.add("Contact", str(draw(_contact_values())))
    for name, value in draw(extension_headers()):
        headers.add(name, value)
    payload = b""
    with_body = body if body is not None else (m == "INVITE" or draw(st.booleans()))
    if with_body and m not in ("CANCEL", "BYE"):
        payload = draw(_light_sdp()).encode()
        headers.add("Content-Type", "application/sdp")
    return Request(m, str(uri), headers, payload)


@st.composite
def responses(draw: st.DrawFn, status: int | st.SearchStrategy[int] | None = None,
              *, to: Request | None = None) -> Response:
    """Valid responses (RFC 3261 8.2.6): status line, copied Via/From/To/Call-ID/CSeq.

    ``to`` answers that request; otherwise a request is drawn first.
    """
    if status is None:
        code = draw(st.integers(100, 699))
    elif isinstance(status, int):
        code = status
    else:
        code = draw(status)
    request = to if to is not None else draw(requests(
        st.sampled_from([m for m in METHODS if m != "ACK"]), body=False))
    reason = draw(_reasons())
    headers = Headers()
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        for value in request.headers.get_all(name):
            if name == "To" and code != 100 and request.to.tag is None:
                value = str(request.to.with_tag(draw(tags())))
            headers.add(name, value)
    if 200 <= code < 300 and request.method == "INVITE":
        headers.add("Contact", str(draw(_contact_values())))
    for name, value in draw(extension_headers()):
        headers.add(name, value)
    payload = b""
    if request.method == "INVITE" and code in (183, 200) and draw(st.booleans()):
        payload = draw(_light_sdp()).encode()
        headers.add("Content-Type", "application/sdp")
    return Response(code, reason, headers, payload)


@cache
def messages() -> st.SearchStrategy[Request | Response]:
    """Any valid request or response."""
    return st.one_of(requests(), responses())


#: Byte-level mutation operators of :func:`mutated_messages`.
MUTATIONS = ("flip", "delete", "insert", "truncate", "duplicate-line", "swap-lines",
             "content-length", "case", "strip-crlf")

_INTERESTING = [b"\r\n", b"\r", b"\n", b":", b";", b",", b"<", b">", b"\"", b"%", b"%zz",
                b"\x00", b"\xff", b" ", b"\t", b"\r\n ", b"SIP/2.0", b"@", b"=", b"[", b"]",
                b"99999999999", b"-1", "\u00e9".encode()]


def _mutate(data: bytes, op: str, draw: st.DrawFn) -> bytes:
    n = len(data)
    if n == 0:
        return data
    at = draw(st.integers(0, n - 1))
    if op == "flip":
        return data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1:]
    if op == "delete":
        length = draw(st.integers(1, 8))
        return data[:at] + data[at + length:]
    if op == "insert":
        piece = draw(st.sampled_from(_INTERESTING) | st.binary(min_size=1, max_size=4))
        return data[:at] + piece + data[at:]
    if op == "truncate":
        return data[:at]
    if op == "case":
        return data[:at] + data[at:at + 4].swapcase() + data[at + 4:]
    if op == "strip-crlf":
        return data.replace(b"\r\n", b"\n", 1 + draw(st.integers(0, 3)))
    lines = data.split(b"\r\n")
    i = draw(st.integers(0, len(lines) - 1))
    if op == "duplicate-line":
        lines.insert(i, lines[i])
    elif op == "swap-lines":
        j = draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
    else:  # content-length
        value = draw(st.sampled_from([b"-1", b"0", b"1", b"4294967296", b"abc", b" 5 ", b""]))
        lines.insert(max(1, i), b"Content-Length: " + value)
    return b"\r\n".join(lines)


@st.composite
def mutated_messages(draw: st.DrawFn, base: st.SearchStrategy[Request | Response] | None = None,
                     max_mutations: int = 3) -> bytes:
    """Bytes of a valid message after 1..``max_mutations`` byte-level mutations (:data:`MUTATIONS`).

    >>> from hypothesis import given, settings
    >>> from simvoip.sip import ParseError, parse_message
    >>> @settings(max_examples=10, database=None)
    ... @given(mutated_messages())
    ... def check(data):
    ...     try:
    ...         parse_message(data)
    ...     except ParseError:
    ...         pass
    >>> check()
    """
    data = draw(base if base is not None else messages()).encode()
    for _ in range(draw(st.integers(1, max_mutations))):
        data = _mutate(data, draw(st.sampled_from(MUTATIONS)), draw)
    return data
