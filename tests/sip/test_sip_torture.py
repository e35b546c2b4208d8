"""RFC 4475 and RFC 5118 torture messages behave as their INDEX.json says.

Expectations (tests/data/*/INDEX.json, see the vectors README):
- ``accept``: parses, and re-parsing the encoded message gives an equal message;
- ``reject_or_flag``: ParseError, or validation names the code the note asks for;
- ``accept_then_element_*``: parses, and validation for the element named in
  the note returns the code the note names (or ``None`` where the element just
  handles it).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from simvoip.sip import ParseError, Request, Response, parse_message
from simvoip.sip.validate import validate_request, validate_response

DATA = Path(__file__).parent.parent / "data"
RFC4475 = json.loads((DATA / "rfc4475" / "INDEX.json").read_text())
RFC5118 = json.loads((DATA / "rfc5118" / "INDEX.json").read_text())


def _raw(folder: str, entry: dict) -> bytes:
    raw = (DATA / folder / entry["file"]).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == entry["sha256"], entry["file"]
    assert len(raw) == entry["size"]
    return raw


def _roundtrips(msg: Request | Response) -> None:
    again = parse_message(msg.encode())
    assert again == msg
    assert again.encode() == msg.encode()


# --- accept -----------------------------------------------------------------

ACCEPT = [e for e in RFC4475 if e["expectation"] == "accept"]


@pytest.mark.parametrize("entry", ACCEPT, ids=lambda e: e["file"])
def test_accept_files_parse_and_roundtrip(entry: dict) -> None:
    msg = parse_message(_raw("rfc4475", entry))
    if entry["kind"] == "request":
        assert isinstance(msg, Request)
        assert msg.method == entry["method"]
    else:
        assert isinstance(msg, Response)
        assert msg.status_code == int(entry["status_code"])
    _roundtrips(msg)
    # Every typed view of a valid message parses; a proxy forwards them all.
    if isinstance(msg, Request):
        assert validate_request(msg, role="proxy") is None
    else:
        assert validate_response(msg) is None


def _msg(name: str) -> Request | Response:
    entry = next(e for e in RFC4475 if e["file"] == name)
    return parse_message(_raw("rfc4475", entry))


def test_wsinv_folding_lws_and_compact_forms() -> None:
    m = _msg("wsinv.dat")
    assert isinstance(m, Request)
    assert m.to.uri == "sip:vivekg@chair-dnrc.example.com" and m.to.tag == "1918181833n"
    assert m.from_.display_name == 'J Rosenberg \\"' and m.from_.tag == "98asjd8"
    assert m.max_forwards == 68
    assert (m.cseq.number, m.cseq.method) == (9, "INVITE")
    assert [(v.transport, v.host, v.branch) for v in m.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert m.headers.get("Subject") == ""
    assert m.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert m.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    contact = m.contacts[0]
    assert contact.display_name == 'Quoted string ""'
    assert contact.params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    assert contact.q == 0.33
    assert m.routes[0].sip_uri.params == {"lr": None, "unknownwith": "value", "unknown-no-value": None}
    assert len(m.body) == 150 and m.sdp is not None


def test_intmeth_unusual_characters() -> None:
    m = _msg("intmeth.dat")
    assert isinstance(m, Request)
    u = m.request_uri
    assert u.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert u.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert m.branch == "z9hG4bK-.!%66*_+`'~"
    assert m.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert m.from_.display_name == "token1~` token2'+_ token3*%!.-"
    assert m.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert m.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff大停電"
    assert validate_request(m, methods={"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"}).status_code == 501


def test_esc01_unescapes_once() -> None:
    m = _msg("esc01.dat")
    assert isinstance(m, Request)
    assert m.request_uri.user == "sips:user@example.com"
    assert m.to.sip_uri.user == "user"
    assert m.from_.sip_uri.user == "I have spaces"
    c = m.contacts[0].sip_uri
    assert c.user == "caller"
    assert c.params == {"lr": None, "name": "value%41"}


def test_escnull_keeps_nul_and_two_contacts() -> None:
    m = _msg("escnull.dat")
    assert m.to.sip_uri.user == "null-\x00-null"
    users = [c.sip_uri.user for c in m.contacts]
    assert users == ["\x00", "\x00\x00"]


def test_esc02_percent_outside_uri_is_literal() -> None:
    m = _msg("esc02.dat")
    assert isinstance(m, Request)
    assert m.method == "RE%47IST%45R" and m.cseq.method == "RE%47IST%45R"
    assert len(m.contacts) == 2
    assert m.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"
    assert validate_request(m, methods={"REGISTER", "OPTIONS"}).status_code == 501


def test_semiuri_user_part() -> None:
    m = _msg("semiuri.dat")
    assert isinstance(m, Request)
    assert m.request_uri.user == "user;par=u@example.net"
    assert m.request_uri.host == "example.com" and m.request_uri.params == {}


def test_dblreq_discards_trailing_octets() -> None:
    m = _msg("dblreq.dat")
    assert isinstance(m, Request)
    assert m.method == "REGISTER" and m.body == b""


def test_transports_unknown_transport_is_a_token() -> None:
    m = _msg("transports.dat")
    assert [v.transport for v in m.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]


def test_mpart01_body_framed_by_content_length() -> None:
    from simvoip.sip.framing import split_multipart

    m = _msg("mpart01.dat")
    ctype = m.headers.get("Content-Type")
    assert ctype is not None and m.content_type == "multipart/mixed"
    assert len(m.body) == int(re.search(rb"Content-Length: (\d+)", _raw("rfc4475", next(
        e for e in RFC4475 if e["file"] == "mpart01.dat"))).group(1))
    parts = split_multipart(m.body, ctype)
    assert [p.content_type for p in parts] == ["text/plain", "application/octet-stream"]
    assert parts[0].body == b"Hello"
    assert b"\x00" in parts[1].body


def test_reason_phrases() -> None:
    unreason, noreason = _msg("unreason.dat"), _msg("noreason.dat")
    assert isinstance(unreason, Response) and isinstance(noreason, Response)
    assert unreason.status_code == 200 and unreason.reason == "= 2**3 * 5**2 но сто девяносто девять - простое"
    assert noreason.status_code == 100 and noreason.reason == ""


def test_inv2543_old_syntax() -> None:
    m = _msg("inv2543.dat")
    assert isinstance(m, Request)
    assert m.branch is None and m.from_.tag is None and m.max_forwards is None
    assert m.body.startswith(b"v=0")  # no Content-Length: body runs to the end of the datagram


# --- reject_or_flag ------------------------------------------------------------

# Code the INDEX note asks for; None = a response, silently discarded.
REJECT_CODES = {
    "badinv01.dat": 400, "clerr.dat": 400, "ncl.dat": 400, "scalar02.dat": 400,
    "scalarlg.dat": None, "quotbal.dat": 400, "ltgtruri.dat": 400, "lwsruri.dat": 400,
    "lwsstart.dat": 400, "trws.dat": 400, "escruri.dat": 400, "baddate.dat": 400,
    "regbadct.dat": 400, "badaspec.dat": 400, "baddn.dat": 400, "badvers.dat": 505,
    "mismatch01.dat": 400, "mismatch02.dat": 400, "bigcode.dat": None, "test.dat": 400,
}
REJECT = [e for e in RFC4475 if e["expectation"] == "reject_or_flag"]


def test_reject_table_covers_index() -> None:
    assert sorted(REJECT_CODES) == sorted(e["file"] for e in REJECT)


@pytest.mark.parametrize("entry", REJECT, ids=lambda e: e["file"])
def test_reject_or_flag(entry: dict) -> None:
    raw = _raw("rfc4475", entry)
    code = REJECT_CODES[entry["file"]]
    try:
        msg = parse_message(raw)
    except ParseError as exc:
        assert exc.status_code == 400
        return
    if isinstance(msg, Request):
        failure = validate_request(msg)
    else:
        failure = validate_response(msg)
    assert failure is not None, entry["file"]
    assert failure.status_code == code


def test_parse_errors_say_where() -> None:
    for name, line in [("lwsstart.dat", 1), ("trws.dat", 1), ("ltgtruri.dat", 1), ("test.dat", 1)]:
        entry = next(e for e in RFC4475 if e["file"] == name)
        with pytest.raises(ParseError) as info:
            parse_message(_raw("rfc4475", entry))
        assert info.value.line == line, name
    raw = b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\nFoobar roobar\r\n\r\n"
    with pytest.raises(ParseError) as info:
        parse_message(raw)
    assert info.value.line == 3


def test_negative_and_oversized_content_length() -> None:
    for name in ("ncl.dat", "clerr.dat"):
        entry = next(e for e in RFC4475 if e["file"] == name)
        with pytest.raises(ParseError, match="Content-Length"):
            parse_message(_raw("rfc4475", entry))


# --- accept_then_element_* -------------------------------------------------------

# file -> (role, keyword arguments, expected status code or None)
ELEMENT = {
    "badbranch.dat": ("uas", {}, 400),
    "insuf.dat": ("uas", {}, 400),
    "unkscm.dat": ("uas", {}, 416),
    "novelsc.dat": ("proxy", {}, 416),
    "unksm2.dat": ("registrar", {}, 400),
    "bext01.dat": ("uas", {"supported": {"100rel"}}, 420),
    "invut.dat": ("uas", {"accept_types": {"application/sdp"}}, 415),
    "regaut01.dat": ("proxy", {}, None),
    "multi01.dat": ("uas", {}, 400),
    "mcl01.dat": ("uas", {}, 400),
    "zeromf.dat": ("proxy", {}, 483),
    "cparam01.dat": ("registrar", {}, None),
    "cparam02.dat": ("registrar", {}, None),
    "regescrt.dat": ("registrar", {}, None),
    "sdp01.dat": ("uas", {}, 406),
}
ELEMENT_ENTRIES = [e for e in RFC4475 if e["expectation"].startswith("accept_then_element")]


def test_element_table_covers_index() -> None:
    assert sorted([*ELEMENT, "bcast.dat"]) == sorted(e["file"] for e in ELEMENT_ENTRIES)


@pytest.mark.parametrize(
    "entry", [e for e in ELEMENT_ENTRIES if e["kind"] == "request"], ids=lambda e: e["file"]
)
def test_accept_then_element(entry: dict) -> None:
    msg = parse_message(_raw("rfc4475", entry))
    assert isinstance(msg, Request)
    role, kwargs, code = ELEMENT[entry["file"]]
    failure = validate_request(msg, role=role, **kwargs)
    if code is None:
        assert failure is None
    else:
        assert failure is not None and failure.status_code == code, failure


def test_element_role_differences() -> None:
    zeromf, unksm2, invut = _msg("zeromf.dat"), _msg("unksm2.dat"), _msg("invut.dat")
    assert isinstance(zeromf, Request) and isinstance(unksm2, Request) and isinstance(invut, Request)
    assert validate_request(zeromf, role="uas") is None  # an endpoint processes Max-Forwards 0
    assert validate_request(unksm2, role="proxy") is None  # a proxy forwards it normally
    assert validate_request(invut, role="proxy") is None
    bext = _msg("bext01.dat")
    assert isinstance(bext, Request)
    uas = validate_request(bext)
    proxy = validate_request(bext, role="proxy")
    assert uas is not None and uas.unsupported == ("nothingSupportsThis", "nothingSupportsThisEither")
    assert proxy is not None and proxy.unsupported == ("noProxiesSupportThis", "norDoAnyProxiesSupportThis")
    assert validate_request(bext, supported={"nothingSupportsThis", "nothingSupportsThisEither"}) is None


def test_bcast_response_is_dropped() -> None:
    m = _msg("bcast.dat")
    assert isinstance(m, Response)
    uac, proxy = validate_response(m, role="uac"), validate_response(m, role="proxy")
    assert uac is not None and uac.status_code is None
    assert proxy is not None and "broadcast" in proxy.reason


def test_contact_params_versus_uri_params() -> None:
    c1, c2 = _msg("cparam01.dat").contacts[0], _msg("cparam02.dat").contacts[0]
    assert c1.params == {"unknownparam": None} and c1.sip_uri.params == {}
    assert c2.params == {} and c2.sip_uri.params == {"unknownparam": None}
    esc = _msg("regescrt.dat").contacts[0]
    assert esc.sip_uri.headers == {"Route": "<sip:sip.example.com>"}
    assert str(esc.sip_uri) == "sip:user@example.com?Route=%3Csip:sip.example.com%3E"


def test_unknown_authorization_scheme_is_opaque() -> None:
    cred = _msg("regaut01.dat").authorization[0]
    assert cred.scheme == "NoOneKnowsThisScheme" and cred.params == {"opaque-data": "here"}
    assert not cred.is_digest


# --- RFC 5118 (IPv6) -------------------------------------------------------------


def _wire(raw: bytes) -> bytes:
    """The vectors README: CRLF line ends, close the headers, recompute Content-Length."""
    text = raw.replace(b"\r\n", b"\n")
    head, _, body = text.partition(b"\n\n")
    lines = [ln for ln in head.split(b"\n") if not re.match(rb"(?i)(content-length|l)\s*:", ln)]
    body = body.replace(b"\n", b"\r\n")
    return b"\r\n".join(lines) + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body


@pytest.mark.parametrize("entry", RFC5118, ids=lambda e: e["file"])
def test_rfc5118(entry: dict) -> None:
    msg = parse_message(_wire(_raw("rfc5118", entry)))
    assert isinstance(msg, Request) and msg.method == entry["method"]
    failure = validate_request(msg, role="proxy")
    if entry["expectation"] == "accept":
        assert failure is None, failure
        _roundtrips(msg)
    else:
        assert failure is not None and failure.status_code == 400


def _v6(name: str) -> Request:
    entry = next(e for e in RFC5118 if e["file"] == name)
    msg = parse_message(_wire(_raw("rfc5118", entry)))
    assert isinstance(msg, Request)
    return msg


def test_rfc5118_ipv6_details() -> None:
    assert _v6("ipv6-good.dat").request_uri.host == "[2001:db8::10]"
    amb = _v6("port-ambiguous.dat").request_uri
    assert (amb.host, amb.port) == ("[2001:db8::10:5070]", None)
    unamb = _v6("port-unambiguous.dat").request_uri
    assert (unamb.host, unamb.port) == ("[2001:db8::10]", 5070)
    assert _v6("via-received-param-with-delim.dat").top_via.received == "[2001:db8::9:255]"
    assert _v6("via-received-param-no-delim.dat").top_via.received == "2001:db8::9:255"
    vias = _v6("mult-ip-in-header.dat").vias
    assert [(v.host, v.port) for v in vias] == [
        ("[2001:db8::9:1]", 6050), ("192.0.2.1", None), ("[2001:db8::9:255]", None)]
    sdp = _v6("mult-ip-in-sdp.dat").sdp
    assert sdp is not None
    assert [sdp.connection_for(m).addrtype for m in sdp.media] == ["IP4", "IP6"]  # type: ignore[union-attr]
    mapped = _v6("ipv4-mapped-ipv6.dat")
    assert mapped.top_via.host == "[::ffff:192.0.2.10]"
    assert mapped.sdp is not None and mapped.sdp.connection is not None
    assert mapped.sdp.connection.address == "::ffff:192.0.2.2"
