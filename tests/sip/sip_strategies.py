"""Hypothesis strategies for SIP values and whole messages (used by the sip tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from simvoip.sip import Headers, NameAddr, Request, Response, SipUri, Via
from simvoip.sip.grammar import TOKEN_CHARS

TOKEN_ALPHABET = "".join(sorted(TOKEN_CHARS))
LOWER_TOKEN_ALPHABET = "".join(sorted({c.lower() for c in TOKEN_CHARS}))

tokens = st.text(TOKEN_ALPHABET, min_size=1, max_size=12)
lower_tokens = st.text(LOWER_TOKEN_ALPHABET, min_size=1, max_size=10)
# Any text a header line can carry: no CR/LF, no lone surrogates.
line_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=40
)
# Header values as they come out of a parser: no surrounding SP/HTAB.
header_values = line_text.map(lambda s: s.strip(" \t"))
any_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)

labels = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
hostnames = st.lists(labels, min_size=1, max_size=3).map(".".join).filter(
    lambda h: h[0].isalnum() and not h.replace(".", "").isdigit()
)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.lists(st.integers(0, 0xFFFF), min_size=8, max_size=8).map(
    lambda g: "[" + ":".join(f"{x:x}" for x in g) + "]"
)
hosts = st.one_of(hostnames, ipv4, ipv6)
ports = st.one_of(st.none(), st.integers(0, 65535))


@st.composite
def sip_uris(draw: st.DrawFn) -> SipUri:
    scheme = draw(st.sampled_from(["sip", "sips"]))
    user = draw(st.one_of(st.none(), any_text))
    password = draw(st.one_of(st.none(), any_text)) if user is not None else None
    params = draw(st.dictionaries(lower_tokens, st.one_of(st.none(), any_text), max_size=3))
    headers = draw(st.dictionaries(any_text, st.text(st.characters(blacklist_categories=("Cs",)), max_size=10), max_size=2))
    return SipUri(scheme, user, password, draw(hosts), draw(ports), params, headers)


tel_uris = st.builds(
    lambda number, params: SipUri("tel", number, None, "", None, params, {}),
    st.text("0123456789-.()", min_size=1, max_size=12).map(lambda s: "+" + s),
    st.dictionaries(lower_tokens, st.one_of(st.none(), any_text), max_size=2),
)

simple_params = st.dictionaries(lower_tokens, st.one_of(st.none(), tokens), max_size=4)


@st.composite
def vias(draw: st.DrawFn) -> Via:
    params = draw(simple_params)
    if draw(st.booleans()):
        params = {"branch": "z9hG4bK" + draw(tokens), **params}
    return Via(draw(tokens).upper(), draw(hosts), draw(ports), params)


@st.composite
def name_addrs(draw: st.DrawFn) -> NameAddr:
    display = draw(st.one_of(st.none(), line_text.filter(bool)))
    return NameAddr(str(draw(sip_uris())), display, draw(simple_params))


_HEADER_NAMES = st.one_of(
    st.sampled_from(["Via", "To", "From", "Call-ID", "CSeq", "Contact", "Route", "Subject",
                     "User-Agent", "X-Custom", "Supported", "v", "i", "m", "CALL-ID"]),
    tokens,
).filter(lambda n: n.lower() not in ("content-length", "l"))

header_rows = st.lists(st.tuples(_HEADER_NAMES, header_values), max_size=12)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    uri = str(draw(st.one_of(sip_uris(), tel_uris)))
    return Request(draw(tokens), uri, Headers(draw(header_rows)), draw(st.binary(max_size=64)))


@st.composite
def responses(draw: st.DrawFn) -> Response:
    reason = draw(line_text)
    return Response(draw(st.integers(100, 699)), reason, Headers(draw(header_rows)),
                    draw(st.binary(max_size=64)))


messages = st.one_of(requests(), responses())
