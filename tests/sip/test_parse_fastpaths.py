"""Every parse fast path gives exactly what the general parser gives.

The fast paths (parse_message's header loop with its memos of request lines and
Content-Length values, the Via/NameAddr/CSeq head memos and regexes, the SDP
block memos for LF and CRLF text, the twin-class constructors, the split name
index of Headers, the vias view's inlined cases) are checked against the
general code on valid values, on values built to sit on the edge of each fast
path, and on mutated messages: same value, or the same ParseError.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sip_strategies import hosts, name_addrs, tokens, vias

from simvoip.sip import ParseError, headers, message, parse_message, sdp, validate, views
from simvoip.sip.grammar import MEMO_LIMIT, fast_new, split_commas
from simvoip.sip.headers import CSeq, NameAddr, Via, parse_cseq, parse_name_addr, parse_via
from simvoip.sip.message import Headers, Request, Response, _index
from simvoip.sip.uri import SUPPORTED_SCHEMES, uri_scheme
from simvoip.sip.validate import ValidationFailure
from simvoip.testing import strategies as sst

# Text around the separators the fast paths look for: spaces, tabs, quotes,
# commas, '=' and ';' and non-ASCII, to land just inside and just outside them.
_EDGY = st.text(st.sampled_from(list("aZ09-.;=,\" \t<>:[]@é~%!")), max_size=12)


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return ("ok", fn())
    except ParseError as exc:
        return ("error", str(exc))


@contextmanager
def _cold(*memos: dict[Any, Any] | set[Any]) -> Iterator[None]:
    """Value memos emptied, so the code under test really parses."""
    for memo in memos:
        memo.clear()
    yield
    for memo in memos:
        memo.clear()


def _same(fast: tuple[str, Any], general: tuple[str, Any]) -> None:
    assert fast[0] == general[0], (fast, general)
    if fast[0] == "ok":
        a, b = fast[1], general[1]
        assert a == b and type(a) is type(b)
        assert list(a.params.items()) == list(b.params.items())  # same order too
        assert str(a) == str(b)
    else:
        assert fast[1] == general[1]


# -- Via ------------------------------------------------------------------------
@given(vias())
def test_via_fast_paths_match_general_parser(via: Via) -> None:
    text = str(via)
    with _cold(headers._VIA_MEMO):
        _same(_outcome(lambda: parse_via(text)), _outcome(lambda: Via._parse(text)))


@given(tokens, hosts, st.one_of(st.none(), st.integers(0, 99999)), _EDGY, _EDGY, st.booleans())
def test_via_head_memo_matches_general_parser(
    transport: str, host: str, port: int | None, branch: str, rest: str, with_rest: bool
) -> None:
    head = f"SIP/2.0/{transport} {host}" + ("" if port is None else f":{port}")
    tail = branch + (";" + rest if with_rest else "")
    teacher = head + ";branch=z9hG4bKteach" + (";" + rest if with_rest else "")
    target = head + ";branch=" + tail
    with _cold(headers._VIA_MEMO, headers._VIA_HEADS, headers._PARAM_TAILS):
        _outcome(lambda: parse_via(teacher))  # teaches the head (and rest) memo if it parses
        headers._VIA_MEMO.clear()
        _same(_outcome(lambda: parse_via(target)), _outcome(lambda: Via._parse(target)))


# -- NameAddr -------------------------------------------------------------------
@given(name_addrs())
def test_name_addr_fast_paths_match_general_parser(na: NameAddr) -> None:
    text = str(na)
    with _cold(headers._NAME_ADDR_MEMO):
        _same(_outcome(lambda: parse_name_addr(text)), _outcome(lambda: NameAddr._parse(text)))


@given(st.sampled_from(['"Alice" <sip:a@b.example>', "<sip:a@b.example;lr>", "sip:a@b.example",
                        "Bob <sips:b@[2001:db8::1]:5061>", "*", '"x;tag=y" <sip:a@b>', "sip:a@b ",
                        "<sip:a@b>;x=1", "sip:a@b;lr", '"a\\"b" <tel:+1234>']),
       _EDGY, _EDGY, st.booleans())
def test_name_addr_head_memo_matches_general_parser(head: str, tag: str, rest: str, with_rest: bool) -> None:
    teacher = head + ";tag=teach" + (";" + rest if with_rest else "")
    target = head + ";tag=" + tag + (";" + rest if with_rest else "")
    with _cold(headers._NAME_ADDR_MEMO, headers._NAME_ADDR_HEADS, headers._PARAM_TAILS):
        _outcome(lambda: parse_name_addr(teacher))
        headers._NAME_ADDR_MEMO.clear()
        _same(_outcome(lambda: parse_name_addr(target)), _outcome(lambda: NameAddr._parse(target)))


# -- CSeq -----------------------------------------------------------------------
@given(st.one_of(
    st.builds("{} {}".format, st.integers(0, 2**40), st.sampled_from(["INVITE", "BYE", "FOO", "in vite"])),
    st.text(st.sampled_from(list("0123456789 \tINVITE٣²+-_")), max_size=16),
))
def test_cseq_fast_paths_match_general_parser(text: str) -> None:
    def general() -> CSeq:
        return CSeq._parse(text)

    with _cold(headers._CSEQ_MEMO):
        fast, slow = _outcome(lambda: parse_cseq(text)), _outcome(general)
    assert fast[0] == slow[0] and (fast[0] == "error" or fast[1] == slow[1])


# -- whole messages -------------------------------------------------------------
def _compare_messages(data: bytes) -> None:
    fast = _outcome(lambda: message._parse(data))
    slow = _outcome(lambda: message._parse(data, fast=False))
    assert fast[0] == slow[0], (data, fast, slow)
    if fast[0] == "error":
        assert fast[1] == slow[1]
        return
    a, b = fast[1], slow[1]
    assert a == b and type(a) is type(b) and a.defects == b.defects
    rows = a.headers._rows
    assert rows == b.headers._rows
    assert (a.headers._idx, a.headers._more) == _index(rows) == (b.headers._idx, b.headers._more)
    for name, _ in rows:
        assert a.headers.get_all(name) == [v for n, v in rows if n == name]


@given(sst.messages())
def test_parse_message_fast_path_matches_line_parser(msg: Request | Response) -> None:
    _compare_messages(msg.encode())


@given(sst.mutated_messages())
def test_parse_message_fast_path_matches_line_parser_on_mutations(data: bytes) -> None:
    _compare_messages(data)


@given(st.lists(st.tuples(st.sampled_from(["Via", "v", "Route", "Content-Length", "l", "X-A", "Via "]),
                          st.sampled_from([": ", ":", ":\t"]),
                          st.sampled_from(["1", "2", " 3", "", "SIP/2.0/UDP h;branch=z9hG4bKx"])),
                max_size=6),
       st.sampled_from(["SIP/2.0 200 OK", "OPTIONS sip:a@b.example SIP/2.0"]))
def test_repeated_names_and_content_length(rows: list[tuple[str, str, str]], start: str) -> None:
    head = "".join(f"{n}{colon}{v}\r\n" for n, colon, v in rows).encode()
    _compare_messages(start.encode() + b"\r\n" + head + b"\r\nbody")


def test_fast_path_splits_lines_at_their_first_colon_space() -> None:
    """The fast path splits "name: value" at the first ": "; other spellings (no space, a
    colon in the value before ": ", space before the colon) go to the line parser; both
    give the value RFC 3261 7.3.1 gives (LWS around the colon dropped)."""
    cases = {"Subject: Re: hi": "Re: hi", "Subject:Re: hi": "Re: hi", "Subject :Re": "Re",
             "Subject:  Re \t": "Re", "Subject:": "", "Subject: ": "", "Subject:\tRe": "Re"}
    for start in ("SIP/2.0 200 OK", "OPTIONS sip:a@b.example SIP/2.0"):
        for line, value in cases.items():
            data = f"{start}\r\nCall-ID: c\r\n{line}\r\nContent-Length: 0\r\n\r\n".encode()
            for _ in range(2):  # cold (names not yet known) and warm
                _compare_messages(data)
                assert parse_message(data).headers.get("Subject") == value
        # The usual spelling is the fast path's own (no fallback).
        data = f"{start}\r\nCall-ID: c\r\nSubject: Re: hi\r\nContent-Length: 0\r\n\r\n".encode()
        end = data.find(b"\r\n\r\n")
        fast = message._parse_fast(data[:end].decode().split("\r\n"), data, end)
        assert fast is not None and fast.headers.get("Subject") == "Re: hi"


@given(st.sampled_from(["0", "00", "4", "5", "٣", "²", " 4", "4 ", "99999999999", "-1", "", "4x"]),
       st.sampled_from([b"", b"body", b"bodyX"]))
def test_content_length_values_cold_and_warm(length: str, body: bytes) -> None:
    """The fast path's memo of Content-Length values: same body (or error) as the line parser,
    the first time a value is seen and after."""
    data = f"SIP/2.0 200 OK\r\nCall-ID: x\r\nContent-Length: {length}\r\n\r\n".encode() + body
    for _ in range(2):
        _compare_messages(data)


@given(st.lists(st.sampled_from(["SIP/2.0/UDP a;branch=z9hG4bK1", "SIP/2.0/TCP b:5061;received=192.0.2.1",
                                 "SIP/2.0/UDP c, SIP/2.0/UDP d", "SIP/2.0/UDP", '"x, y"', ""]),
                min_size=1, max_size=4))
def test_vias_view_over_several_rows(rows: list[str]) -> None:
    """The vias view's inlined cases give what the general row parser gives (value or error)."""
    data = ("SIP/2.0 200 OK\r\n" + "".join(f"Via: {r}\r\n" for r in rows) + "\r\n").encode()
    try:
        fast_msg, slow_msg = parse_message(data), parse_message(data)
    except ParseError:
        return
    fast = _outcome(lambda: fast_msg.vias)
    slow = _outcome(lambda: list(views._parse_rows(slow_msg.headers, "vias", "Via", headers.parse_via)))
    assert fast == slow


@given(st.lists(st.sampled_from(["Max-Forwards: 70", "Route: <sip:p.example;lr>", "To: <sip:b@b.example>",
                                 "Via: SIP/2.0/UDP a;branch=z9hG4bK1", "Via", "Route:x ", "Route :\tx",
                                 "Contact:  <sip:a@a>\t", "X-New-Name: 1", "l: 0", "Content-Length: 0",
                                 "Supported:", "t: <sip:b@b.example>", "Call-ID: c1", "Via: x"]),
                max_size=8))
def test_request_line_memo_cold_and_warm(lines: list[str]) -> None:
    """Requests' header lines come from _LINE_ROWS once seen: the same message (or error)
    as the line parser, the first time a line is seen and after."""
    data = ("OPTIONS sip:b@b.example SIP/2.0\r\n" + "".join(f"{x}\r\n" for x in lines) + "\r\n").encode()
    with _cold(message._LINE_ROWS):
        for _ in range(2):
            _compare_messages(data)


def test_headers_index_of_built_rows() -> None:
    h = Headers([("Via", "a"), ("To", "t"), ("v", "b"), ("X", "")])
    assert h.get("Via") == "a" and h.get_all("via") == ["a", "b"] and h.count("VIA") == 2
    assert h.get("x") == "" and h.get_all("X") == [""] and h.get("Nope") is None
    assert _index((("A", "1"), ("B", "2"))) == ({"A": "1", "B": "2"}, None)
    assert _index((("A", "1"), ("B", "2"), ("A", "3"))) == ({"A": "1", "B": "2"}, {"A": ("1", "3")})


# -- SDP ------------------------------------------------------------------------
def _sdp_outcomes(text: str) -> tuple[tuple[str, Any], tuple[str, Any]]:
    with _cold(sdp._SDP_MEMO):
        fast = _outcome(lambda: sdp._parse_sdp(text))
    lf = text.replace("\r\n", "\n")
    slow = _outcome(lambda: sdp._parse_lines(lf) if "\r" not in lf else sdp._parse_sdp(text))
    return fast, slow


@given(sst.sdp_offers(), st.integers(0, 2**64), st.integers(0, 99999), st.data())
def test_sdp_block_memo_matches_line_parser(offer: sdp.SessionDescription, session_id: int, port: int,
                                            data: st.DataObject) -> None:
    teacher = str(offer)
    sdp._parse_sdp(teacher)  # teaches the block memos
    lines = teacher.split("\r\n")
    lines[1] = f"o={offer.origin.username} {session_id} {session_id} IN IP4 {offer.origin.address}"
    m_at = [i for i, line in enumerate(lines) if line.startswith("m=")]
    for i in m_at:
        parts = lines[i][2:].split(" ", 2)
        lines[i] = f"m={parts[0]} {port} {parts[2]}"
    if data.draw(st.booleans()):  # and sometimes an odd line somewhere
        at = data.draw(st.integers(1, len(lines) - 1))
        lines.insert(at, data.draw(st.sampled_from(["", "m=audio", "c=IN IP4", "x=1", "a=x", "o=a 1 1 IN IP4 h"])))
    text = "\r\n".join(lines)
    fast, slow = _sdp_outcomes(text)
    assert fast == slow
    if fast[0] == "ok":
        assert str(fast[1]) == str(slow[1])
        assert [m.session_direction for m in fast[1].media] == [m.session_direction for m in slow[1].media]


@given(st.text(st.sampled_from(list("vosctmaIN P4 0-9=\r\n/é")), max_size=60))
def test_sdp_fast_path_on_noise(text: str) -> None:
    fast, slow = _sdp_outcomes("v=0\r\no=a 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 h\r\nt=0 0\r\n" + text)
    assert fast == slow


def _crlf_outcomes(body: bytes) -> tuple[tuple[str, Any], tuple[str, Any]]:
    """(SessionDescription.parse on the bytes, the line parser on the same text)."""
    with _cold(sdp._SDP_MEMO, sdp._SDP_SEEN_ONCE):
        fast = _outcome(lambda: sdp.SessionDescription.parse(body))

    def general() -> sdp.SessionDescription:
        try:
            text = body.decode()
        except UnicodeDecodeError:
            return sdp._parse_sdp(body)  # the decoding error
        lf = text.replace("\r\n", "\n")
        return sdp._parse_lines(lf) if "\r" not in lf else sdp._parse_sdp(text)

    return fast, _outcome(general)


@given(sst.sdp_offers(), st.integers(0, 2**64), st.integers(0, 99999), st.data())
def test_sdp_crlf_block_memo_matches_line_parser(offer: sdp.SessionDescription, session_id: int, port: int,
                                                 data: st.DataObject) -> None:
    """Bodies in bytes with CRLF line ends take the CRLF block memos: same result as the
    line parser, also with a bare CR or LF, an empty line or odd bytes put anywhere."""
    teacher = offer.encode()
    sdp.SessionDescription.parse(teacher)  # teaches the CRLF block memos
    lines = teacher.decode().split("\r\n")
    lines[1] = f"o={offer.origin.username} {session_id} {session_id} IN IP4 {offer.origin.address}"
    for i, line in enumerate(lines):
        if line.startswith("m="):
            parts = line[2:].split(" ", 2)
            lines[i] = f"m={parts[0]} {port} {parts[2]}"
    body = "\r\n".join(lines).encode()
    if data.draw(st.booleans()):  # and sometimes something odd somewhere
        at = data.draw(st.integers(0, len(body)))
        odd = data.draw(st.sampled_from([b"\r", b"\n", b"\r\n", b"\r\n\r\n", b" ", b"m=", b"\r\nm=audio 1 RTP/AVP 0",
                                         b"\xc3\xa9", b"\xff", b"\r\na=x", b"\r\nc=IN IP4 h", b"/2"]))
        body = body[:at] + odd + body[at:]
    fast, slow = _crlf_outcomes(body)
    assert fast == slow, body
    if fast[0] == "ok":
        assert str(fast[1]) == str(slow[1])
        assert [m.session_direction for m in fast[1].media] == [m.session_direction for m in slow[1].media]


def test_sdp_crlf_block_memo_edges() -> None:
    """The spellings the CRLF path must leave to the line parser, after teaching it the blocks."""
    body = (b"v=0\r\no=a 7 7 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
            b"m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
    sdp.SessionDescription.parse(body)
    assert sdp._parse_crlf_blocks(body.decode().replace("7 7", "8 9")) is not None  # learned
    for odd in (body + b"\r\n", body[:-2], body.replace(b"4000", b"4000/2"), body.replace(b"7 7", b"7\n7"),
                body.replace(b"audio 4000", b"audio 99999"), body.replace(b"a=rtp", b"\r\na=rtp"),
                body.replace(b"m=audio 4000 RTP/AVP 0", b"m=audio 4000 RTP/AVP 0\r"),
                body.replace(b"v=0", b"v=1"), body.replace(b"o=a 7 7", b"o=a 7 x7"),
                body + b"m=video 0 RTP/AVP 31\r\n", body + b"m=video 0 RTP/AVP 31",
                body.replace(b"\r\nm=audio", b"\r\n\r\nm=audio")):
        fast, slow = _crlf_outcomes(odd)
        assert fast == slow, odd
    # A block learned at the end with a trailing empty line (which the line parser drops)
    # must not be taken where an m= line follows it: that is an empty line before an m=.
    two = body + b"m=video 0 RTP/AVP 31\r\na=inactive\r\n"
    sdp.SessionDescription.parse(body + b"\r\n")
    sdp.SessionDescription.parse(two.replace(b"a=inactive\r\n", b"a=inactive\r\n\r\n"))
    sdp.SessionDescription.parse(two)
    sdp.SessionDescription.parse(two + b"m=text 0 RTP/AVP 98\r\n")
    gap = two.replace(b"a=inactive\r\n", b"a=inactive\r\n\r\n") + b"m=text 0 RTP/AVP 98\r\n"
    assert sdp._parse_crlf_blocks(gap.decode()) is None
    for odd in (two.replace(b"PCMU/8000\r\n", b"PCMU/8000\r\n\r\n"), body + b"\r\n", gap,
                two.replace(b"a=inactive\r\n", b"a=inactive\r\n\r\n"), two):
        fast, slow = _crlf_outcomes(odd)
        assert fast == slow, odd
    assert sdp._parse_crlf_blocks(two.decode()) is not None


# -- what the memos keep -----------------------------------------------------------
def test_fresh_branch_tag_and_cseq_values_from_the_head_memo() -> None:
    """A value built around a new branch/tag (and a plain CSeq) through the head memo
    gives the general result on every sight, and is remembered from its second sight:
    in a simulation the same From/To and Via text comes back on every hop and
    retransmission, while most values of a stream of new calls never come back."""
    cases: list[tuple[Callable[[str], Any], Callable[[str], Any], dict[str, Any], str, str]] = [
        (parse_via, Via._parse, headers._VIA_MEMO,
         "SIP/2.0/UDP h.example:5060;branch=z9hG4bKteach;rport",
         "SIP/2.0/UDP h.example:5060;branch=z9hG4bKnew1;rport"),
        (parse_via, Via._parse, headers._VIA_MEMO,  # a branch that is not alphanumeric, no rest
         "SIP/2.0/UDP h.example:5060;branch=z9hG4bKteach", "SIP/2.0/UDP h.example:5060;branch=z9hG4bK.1-x"),
        (parse_name_addr, NameAddr._parse, headers._NAME_ADDR_MEMO,
         '"Bob" <sip:bob@b.example>;tag=teach', '"Bob" <sip:bob@b.example>;tag=new1'),
        (parse_name_addr, NameAddr._parse, headers._NAME_ADDR_MEMO,
         "<sip:b@b.example>;tag=teach;x=1", "<sip:b@b.example>;tag=a.b-c;x=1"),
        (parse_cseq, CSeq._parse, headers._CSEQ_MEMO, "1 INVITE", "314159 INVITE"),
    ]
    for fast, general, memo, teacher, target in cases:
        with _cold(memo, headers._VIA_HEADS, headers._NAME_ADDR_HEADS, headers._PARAM_TAILS):
            headers._SEEN_ONCE.clear()
            fast(teacher)  # teaches the head memo
            first = fast(target)
            assert target not in memo and target in headers._SEEN_ONCE
            second, third = fast(target), fast(target)
            assert memo[target] is second is third
            expected = general(target)
            for got in (first, second):
                assert got == expected and type(got) is type(expected) and str(got) == str(expected)
                if hasattr(got, "params"):
                    assert list(got.params.items()) == list(expected.params.items())


def test_first_sights_are_bounded() -> None:
    """The first sights are emptied when MEMO_LIMIT texts wait there; a text whose
    first sight was forgotten is only parsed once more (same value)."""
    headers._SEEN_ONCE.clear()
    with _cold(headers._CSEQ_MEMO):
        first = parse_cseq("0 BYE")
        for n in range(1, MEMO_LIMIT):
            parse_cseq(f"{n} BYE")
        assert len(headers._SEEN_ONCE) == MEMO_LIMIT and not headers._CSEQ_MEMO
        parse_cseq(f"{MEMO_LIMIT} BYE")  # full: emptied, then this one kept
        assert headers._SEEN_ONCE == {f"{MEMO_LIMIT} BYE"}
        again = parse_cseq("0 BYE")  # forgotten: a first sight again
        assert again == first == CSeq(0, "BYE") and "0 BYE" not in headers._CSEQ_MEMO
        assert parse_cseq("0 BYE") is headers._CSEQ_MEMO["0 BYE"]


def test_sdp_body_memoized_from_its_second_sight() -> None:
    body = (b"v=0\r\no=a 7 7 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
            b"m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
    expected = sdp._parse_lines(body.decode().replace("\r\n", "\n"))
    with _cold(sdp._SDP_MEMO, sdp._SDP_SEEN_ONCE):
        first = sdp.SessionDescription.parse(body)
        assert body not in sdp._SDP_MEMO and body in sdp._SDP_SEEN_ONCE
        second = sdp.SessionDescription.parse(body)
        assert sdp._SDP_MEMO[body] is second
        third = sdp.SessionDescription.parse(body)
        assert third is second and first == second == expected and str(first) == str(expected)
        # bodies of the same shape, but fresh: the block memos, never the body memo
        fresh = body.replace(b"o=a 7 7", b"o=a 8 9").replace(b"audio 4000", b"audio 4002")
        got = sdp.SessionDescription.parse(fresh)
        assert got == sdp._parse_lines(fresh.decode().replace("\r\n", "\n")) and fresh not in sdp._SDP_MEMO
        assert (got.origin.session_id, got.media[0].port) == (8, 4002)


_VIEWS = ("vias", "cseq", "call_id", "from_", "to", "contacts", "routes", "record_routes", "max_forwards",
          "expires", "require", "supported", "content_type")


def _views(data: bytes) -> list[tuple[str, Any]]:
    msg = parse_message(data)
    return [_outcome(lambda name=name: getattr(msg, name)) for name in _VIEWS]


@given(st.one_of(sst.messages().map(lambda m: m.encode()), sst.mutated_messages()))
def test_views_from_warm_memos_match_cold_parse(data: bytes) -> None:
    """The views' memo shortcuts (a row parsed before) give what a cold parse gives."""
    try:
        parse_message(data)
    except ParseError:
        return
    _views(data)  # warms every memo
    warm = _views(data)
    memos = [headers._VIA_MEMO, headers._NAME_ADDR_MEMO, headers._CSEQ_MEMO, headers._VIA_HEADS,
             headers._NAME_ADDR_HEADS, headers._PARAM_TAILS, *views._VALUE_MEMOS.values()]
    with _cold(*memos):
        cold = _views(data)
    assert warm == cold


# -- constructors ---------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class _Frozen:
    a: int
    b: str = "x"
    c: tuple[int, ...] = ()


@dataclasses.dataclass(slots=True)
class _Plain:
    a: int
    b: list[int] = dataclasses.field(default_factory=list)


@given(st.integers(), st.text(max_size=5))
def test_fast_new_builds_the_same_objects(a: int, b: str) -> None:
    made = fast_new(_Frozen)(a, b, (a,))
    assert made == _Frozen(a, b, (a,)) and type(made) is _Frozen and hash(made) == hash(_Frozen(a, b, (a,)))
    plain = fast_new(_Plain)(a, [a])
    assert plain == _Plain(a, [a]) and type(plain) is _Plain
    for cls in (Via, NameAddr, CSeq, sdp.Origin, sdp.SessionDescription, Request, Response):
        assert fast_new(cls) is not None
    try:
        made.a = 1  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:  # pragma: no cover - the class must stay frozen
        raise AssertionError("a fast_new object lost its frozen __setattr__")


# -- validation -----------------------------------------------------------------
def _reference_common(msg: Request | Response, code: int | None) -> ValidationFailure | None:
    """validate._common as it was before it used the name index (one view at a time)."""
    if msg.version.upper() != "SIP/2.0":
        return ValidationFailure(505 if code else None, f"unsupported version {msg.version}")
    if msg.defects:
        return ValidationFailure(code, msg.defects[0])
    h = msg.headers
    for name in ("To", "From", "Call-ID", "CSeq"):
        n = h.count(name)
        if n != 1:
            return ValidationFailure(code, f"{'missing' if n == 0 else 'duplicate'} {name} header")
    if "Via" not in h:
        return ValidationFailure(code, "missing Via header")
    if h.count("Max-Forwards") > 1:
        return ValidationFailure(code, "duplicate Max-Forwards header")
    try:
        msg.vias, msg.cseq, msg.call_id, msg.from_, msg.to  # noqa: B018
        present = {name for name, _ in h}
        for name, view in validate._OPTIONAL_VIEWS:
            if name in present:
                getattr(msg, view)
        for row in h.get_all("Content-Type") + h.get_all("Accept"):
            split_commas(row)
        addresses = [msg.from_, msg.to]
        for name, view in (("Contact", "contacts"), ("Route", "routes"), ("Record-Route", "record_routes")):
            if name in present:
                addresses.extend(getattr(msg, view))
        for na in addresses:
            if not na.is_star and uri_scheme(na.uri) in SUPPORTED_SCHEMES:
                na.sip_uri  # noqa: B018
    except ParseError as exc:
        return ValidationFailure(code, exc.reason)
    date = h.get("Date")
    if date is not None and validate._DATE_RE.fullmatch(date) is None:
        return ValidationFailure(code, f"bad Date {date[:40]!r}")
    return None


@given(st.one_of(sst.mutated_messages(), sst.messages().map(lambda m: m.encode())))
def test_validation_common_checks_unchanged(data: bytes) -> None:
    try:
        msg = parse_message(data)
        again = parse_message(data)
    except ParseError:
        return
    code = 400 if isinstance(msg, Request) else None
    assert validate._common(msg, code) == _reference_common(again, code)


# -- the header section's framing checks ---------------------------------------------
def _framing_error(data: bytes) -> str | None:
    """The framing checks of the header section, as counts (the reference for _parse's)."""
    start = 0
    while data.startswith(b"\r\n", start):
        start += 2
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        return None
    head = data[start:end]
    if head.count(b"\n") != head.count(b"\r"):
        return str(ParseError("bare CR or LF in the header section", offset=start))
    try:
        text = head.decode()
    except UnicodeDecodeError as exc:
        return str(ParseError("header section is not UTF-8", offset=start + exc.start))
    if len(text.split("\r\n")) - 1 != head.count(b"\n"):
        return str(ParseError("bare CR or LF in the header section", offset=start))
    return None


@given(st.lists(st.sampled_from([b"\r\n", b"\r", b"\n", b"\n\r", b"\xff", b"\xc3\xa9", b"Via: a", b"l: 0",
                                 b"SIP/2.0 200 OK", b":", b" "]), max_size=10))
def test_bare_cr_lf_and_utf8_checks(parts: list[bytes]) -> None:
    """_parse says the same as counting CR and LF would (bare CR/LF first, then UTF-8)."""
    data = b"SIP/2.0 200 OK\r\n" + b"".join(parts) + b"\r\n\r\n"
    expected = _framing_error(data)
    got = _outcome(lambda: message._parse(data))
    if expected is not None:
        assert got == ("error", expected)
    else:
        assert got[0] == "ok" or "bare CR" not in got[1] and "UTF-8" not in got[1]


def test_sdp_view_of_empty_and_typed_bodies() -> None:
    """No body, no SDP (whatever Content-Type says, even a malformed one); a body is SDP
    only under ``application/sdp``; a malformed Content-Type over a body is an error."""
    def msg(ctype: str, body: bytes) -> Response:
        data = f"SIP/2.0 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
        got = parse_message(data.encode() + body)
        assert isinstance(got, Response)
        return got

    offer = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
    assert msg("application/sdp", b"").sdp is None and msg("bad", b"").sdp is None
    assert msg("text/plain", offer).sdp is None
    sdp_view = msg("application/sdp", offer).sdp
    assert sdp_view is not None and sdp_view.media[0].port == 4000
    try:
        msg("bad", offer).sdp  # noqa: B018
    except ParseError as exc:
        assert "media type" in str(exc)
    else:
        raise AssertionError("a malformed Content-Type over a body must be a ParseError")
