"""Unit tests of parse_message / encode and the Headers multimap (RFC 3261 sections 7, 25)."""

from __future__ import annotations

import pytest

from simvoip.sip import Headers, ParseError, Request, Response, canonical_name, parse_message

INVITE = (
    b"INVITE sip:bob@biloxi.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@biloxi.com>\r\n"
    b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@pc33.atlanta.com>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 4\r\n\r\n"
    b"v=0\n"
)


def test_rfc3261_example_invite() -> None:
    m = parse_message(INVITE)
    assert isinstance(m, Request)
    assert (m.method, m.uri, m.version) == ("INVITE", "sip:bob@biloxi.com", "SIP/2.0")
    assert m.top_via.sent_by == ("pc33.atlanta.com", None)
    assert m.branch == "z9hG4bK776asdhds"
    assert m.to.display_name == "Bob" and m.to.tag is None
    assert m.from_.tag == "1928301774"
    assert m.call_id == "a84b4c76e66710@pc33.atlanta.com"
    assert (m.cseq.number, m.cseq.method) == (314159, "INVITE")
    assert m.max_forwards == 70 and m.content_type == "application/sdp"
    assert m.body == b"v=0\n" and m.content_length == 4
    assert "Content-Length" not in m.headers  # framing only, recomputed by encode
    assert parse_message(m.encode()) == m


def test_encode_recomputes_content_length_at_the_end() -> None:
    m = parse_message(INVITE)
    m.body = b"v=0\r\no=x\r\n"
    raw = m.encode()
    assert raw.endswith(b"Content-Length: 10\r\n\r\nv=0\r\no=x\r\n")
    assert raw.count(b"Content-Length") == 1
    m.headers.add("Content-Length", "999")  # stale rows are ignored on encode
    assert m.encode() == raw


def test_compact_forms_and_case_insensitive_names() -> None:
    raw = (b"OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
           b"i: abc\r\nf: <sip:a@b>;tag=1\r\nt: <sip:b@b>\r\nm: <sip:a@h>\r\n"
           b"cSeQ: 1 OPTIONS\r\nk: timer\r\ns: hi\r\nc: text/plain\r\ne: gzip\r\n"
           b"o: presence\r\nu: dialog\r\nr: <sip:x@y>\r\nb: <sip:z@y>\r\nl: 0\r\n\r\n")
    m = parse_message(raw)
    assert [n for n, _ in m.headers] == [
        "Via", "Call-ID", "From", "To", "Contact", "CSeq", "Supported", "Subject",
        "Content-Type", "Content-Encoding", "Event", "Allow-Events", "Refer-To", "Referred-By"]
    assert m.headers.get("call-id") == m.headers.get("I") == "abc"
    assert m.supported == ["timer"]
    assert b"\r\nCall-ID: abc\r\n" in m.encode()
    assert canonical_name("WWW-AUTHENTICATE") == "WWW-Authenticate"
    assert canonical_name("x-my-header") == "X-My-Header"


def test_folding_joins_continuation_lines() -> None:
    raw = (b"OPTIONS sip:a@b SIP/2.0\r\nSubject: one\r\n  two\r\n\tthree\r\n"
           b"Via: SIP/2.0/UDP h\r\n ;branch=z9hG4bK1\r\n\r\n")
    m = parse_message(raw)
    assert m.headers.get("Subject") == "one two three"
    assert m.branch == "z9hG4bK1"
    # Even the start line may be continued (LWS between its elements).
    folded = parse_message(b"SIP/2.0 200\r\n OK\r\nCall-ID:\r\n\tabc\r\n\r\n")
    assert isinstance(folded, Response) and folded.reason == "OK" and folded.call_id == "abc"
    req = parse_message(b"OPTIONS sip:a@b\r\n SIP/2.0\r\n\r\n")
    assert isinstance(req, Request) and req.version == "SIP/2.0"


def test_multiple_values_and_repeated_rows() -> None:
    raw = (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\r\n"
           b"Via: SIP/2.0/TCP c:5061;branch=z9hG4bK3\r\n"
           b'Contact: "Doe, John" <sip:j@d>;q=0.5, <sip:k@d>;expires=10\r\n'
           b"Record-Route: <sip:p1;lr>, <sip:p2;lr>\r\nRecord-Route: <sip:p3;lr>\r\n\r\n")
    m = parse_message(raw)
    assert [(v.host, v.port, v.branch) for v in m.vias] == [
        ("a", None, "z9hG4bK1"), ("b", None, "z9hG4bK2"), ("c", 5061, "z9hG4bK3")]
    assert [c.display_name for c in m.contacts] == ["Doe, John", None]
    assert [c.q for c in m.contacts] == [0.5, None]
    assert [c.expires for c in m.contacts] == [None, 10]
    assert [r.sip_uri.host for r in m.record_routes] == ["p1", "p2", "p3"]


def test_typed_view_cache_follows_mutation() -> None:
    m = parse_message(INVITE)
    assert m.max_forwards == 70
    m.headers.set("Max-Forwards", "69")
    assert m.max_forwards == 69
    m.headers.prepend("Via", "SIP/2.0/TCP proxy.example;branch=z9hG4bKp")
    assert m.top_via.host == "proxy.example" and len(m.vias) == 2
    assert m.headers.remove_first("Via") == "SIP/2.0/TCP proxy.example;branch=z9hG4bKp"
    assert m.top_via.host == "pc33.atlanta.com"
    m.headers.remove("Contact")
    assert m.contacts == []
    vias = m.vias
    vias.append(vias[0])  # callers get a fresh list: the cache is not affected
    assert len(m.vias) == 1
    m.uri = "sip:carol@chicago.com"
    assert m.request_uri.user == "carol"


def test_copy_is_independent() -> None:
    m = parse_message(INVITE)
    assert isinstance(m, Request)
    c = m.copy()
    c.headers.set("Max-Forwards", "1")
    assert m.max_forwards == 70 and c.max_forwards == 1
    assert c != m


def test_response_status_line() -> None:
    m = parse_message(b"SIP/2.0 486 Busy Here\r\nContent-Length: 0\r\n\r\n")
    assert isinstance(m, Response) and (m.status_code, m.reason) == (486, "Busy Here")
    assert m.encode() == b"SIP/2.0 486 Busy Here\r\nContent-Length: 0\r\n\r\n"


@pytest.mark.parametrize("raw", [
    b"",                                                       # nothing
    b"OPTIONS sip:a@b SIP/2.0\r\n",                            # no empty line
    b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\n\r\n\r\n",            # bare LF
    b"OPTIONS sip:a@b SIP/2.0\r\nSubject: a\rb\nc\r\n\r\n",      # bare CR and bare LF
    b"OPTIONS sip:a@b SIP/2.0 \r\n\r\n",                       # trailing SP
    b"OPTIONS sip:a@b\r\n\r\n",                                # no version
    b"OPTIONS <sip:a@b> SIP/2.0\r\n\r\n",                      # <> around Request-URI
    b"OPT(ONS sip:a@b SIP/2.0\r\n\r\n",                        # method not a token
    b"OPTIONS a@b SIP/2.0\r\n\r\n",                            # not an absolute URI
    b"OPTIONS sip:a@b HTTP/1.1\r\n\r\n",                       # not SIP
    b"SIP/2.0 20 OK\r\n\r\n",                                  # 2-digit code
    b"SIP/2.0 099 Odd\r\n\r\n",                                # below 100
    b"SIP/2.0 700 Odd\r\n\r\n",                                # above 699
    b"SIP/2.0 2x0 OK\r\n\r\n",
    b"SIP/2.0 200 OK\r\nNo colon here\r\n\r\n",
    b"SIP/2.0 200 OK\r\n: empty name\r\n\r\n",
    b"SIP/2.0 200 OK\r\nBad Name: x\r\n\r\n",
    b"SIP/2.0 200 OK\r\nContent-Length: 5\r\n\r\nabc",       # body shorter than declared
    b"SIP/2.0 200 OK\r\nContent-Length: -1\r\n\r\n",
    b"SIP/2.0 200 OK\r\nContent-Length: 1e3\r\n\r\n",
    b"SIP/2.0 200 OK\r\nSubject: \xff\r\n\r\n",               # not UTF-8
])
def test_parse_errors(raw: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_message(raw)
    assert info.value.status_code == 400


def test_version_is_exposed_and_leading_crlf_ignored() -> None:
    m = parse_message(b"\r\n\r\nOPTIONS sip:a@b SIP/3.0\r\n\r\n")
    assert isinstance(m, Request) and m.version == "SIP/3.0"


def test_conflicting_content_length_is_a_defect_not_an_error() -> None:
    m = parse_message(b"SIP/2.0 200 OK\r\nContent-Length: 2\r\nl: 3\r\n\r\nabc")
    assert m.defects == ("conflicting Content-Length header fields",)
    assert m.body == b"abc"
    same = parse_message(b"SIP/2.0 200 OK\r\nContent-Length: 2\r\nl: 2\r\n\r\nabc")
    assert same.defects == () and same.body == b"ab"


def test_missing_required_header_raises_parse_error() -> None:
    m = parse_message(b"SIP/2.0 200 OK\r\n\r\n")
    for attr in ("cseq", "call_id", "from_", "to", "top_via"):
        with pytest.raises(ParseError, match="missing"):
            getattr(m, attr)
    assert m.vias == [] and m.max_forwards is None and m.expires is None and m.sdp is None


def test_headers_multimap() -> None:
    h = Headers([("Route", "<sip:a;lr>"), ("Via", "v1"), ("Route", "<sip:b;lr>")])
    assert h.get_all("route") == ["<sip:a;lr>", "<sip:b;lr>"] and h.count("Route") == 2
    h.set("Route", "<sip:c;lr>")
    assert list(h) == [("Route", "<sip:c;lr>"), ("Via", "v1")]
    h.prepend("Via", "v0")
    assert h.get_all("Via") == ["v0", "v1"]
    h.add("X-Thing", "1")
    assert h.get("x-thing") == "1" and "X-THING" in h and len(h) == 4
    h2 = h.copy()
    h2.remove("Via")
    assert "Via" in h and "Via" not in h2
    assert h.get("Nope", "dflt") == "dflt" and h.get_all("Nope") == []
