"""Typed header views: SipUri, Via, CSeq, NameAddr, option tags, auth (RFC 3261 19, 20, 25)."""

from __future__ import annotations

import pytest

from simvoip.sip import Challenge, Credentials, CSeq, NameAddr, ParseError, SipUri, Via
from simvoip.sip.headers import parse_max_forwards, parse_option_tags, split_params
from simvoip.sip.uri import uri_scheme


def test_sip_uri_components() -> None:
    u = SipUri.parse("sips:alice:pw@atlanta.com:5061;transport=TCP;lr;maddr=239.255.255.1?subject=project%20x&priority=urgent")
    assert (u.scheme, u.user, u.password, u.host, u.port) == ("sips", "alice", "pw", "atlanta.com", 5061)
    assert u.params == {"transport": "TCP", "lr": None, "maddr": "239.255.255.1"}
    assert u.transport == "tcp" and u.lr and u.maddr == "239.255.255.1"
    assert u.headers == {"subject": "project x", "priority": "urgent"}
    assert SipUri.parse(str(u)) == u
    assert u.aor == "sips:alice@atlanta.com"


def test_sip_uri_escaping_once() -> None:
    # RFC 4475 3.1.1.3: value%25%41 is value%41 after unescaping, not valueA.
    u = SipUri.parse("sip:cal%6Cer@host;n%61me=v%61lue%25%34%31")
    assert u.user == "caller" and u.params == {"name": "value%41"}
    assert str(u) == "sip:caller@host;name=value%2541"
    assert SipUri.parse(str(u)) == u
    assert SipUri.parse("sip:a%20b@h").user == "a b"
    assert str(SipUri("sip", "a b@c", None, "h")) == "sip:a%20b%40c@h"


def test_ipv6_references() -> None:
    u = SipUri.parse("sip:[2001:db8::10]:5070")
    assert (u.host, u.port) == ("[2001:db8::10]", 5070)
    assert SipUri.parse("sip:[2001:db8::10:5070]").port is None
    with pytest.raises(ParseError):
        SipUri.parse("sip:2001:db8::10")  # RFC 5118 4.2: brackets are required
    with pytest.raises(ParseError):
        SipUri.parse("sip:[2001:db8::10")


def test_tel_uri_and_unknown_schemes() -> None:
    t = SipUri.parse("tel:+1-201-555-0123;phone-context=example.com")
    assert (t.scheme, t.user, t.host, t.params) == ("tel", "+1-201-555-0123", "", {"phone-context": "example.com"})
    assert str(t) == "tel:+1-201-555-0123;phone-context=example.com"
    with pytest.raises(ParseError) as info:
        SipUri.parse("mailto:a@b")
    assert info.value.status_code == 416
    assert uri_scheme("soap.beep://x") == "soap.beep"
    with pytest.raises(ParseError):
        uri_scheme("<sip:a@b>")


@pytest.mark.parametrize("bad", [
    "sip:", "sip:@host", "sip:a@", "sip:a@host:99999", "sip:a@host:x", "sip:a@ho st",
    "sip:a@host;;x", "sip:a@host?x", "sip:a@-host", "nonsense",
])
def test_bad_uris(bad: str) -> None:
    with pytest.raises(ParseError):
        SipUri.parse(bad)


def test_via_params_and_lws() -> None:
    v = Via.parse("SIP / 2.0 / udp  pc33.atlanta.com : 5066 ; branch = z9hG4bK77 ;received=192.0.2.1;rport=5066;maddr=224.2.0.1;ttl=16")
    assert (v.transport, v.host, v.port) == ("UDP", "pc33.atlanta.com", 5066)
    assert (v.branch, v.received, v.rport, v.maddr, v.ttl) == ("z9hG4bK77", "192.0.2.1", 5066, "224.2.0.1", 16)
    assert Via.parse(str(v)) == v
    r = Via.parse("SIP/2.0/UDP [2001:db8::9:1]:5060;rport").with_params(received="[2001:db8::9:255]")
    assert r.sent_by == ("[2001:db8::9:1]", 5060) and r.rport is None and r.received == "[2001:db8::9:255]"


@pytest.mark.parametrize("bad", [
    "SIP/2.0/UDP", "SIP/2.0 host", "SIP/7.0/UDP host", "HTTP/1.1/TCP host", "SIP/2.0/UDP host;;",
    "SIP/2.0/UDP host:70000", "SIP/2.0/UDP host;ttl=300", "SIP/2.0/UDP [::1",
])
def test_bad_vias(bad: str) -> None:
    with pytest.raises(ParseError):
        v = Via.parse(bad)
        v.ttl  # noqa: B018  (ttl is checked on access)


def test_cseq() -> None:
    assert CSeq.parse("0009\t INVITE") == CSeq(9, "INVITE")
    assert str(CSeq(4294967295, "BYE")) == "4294967295 BYE"
    for bad in ("1", "INVITE 1", "4294967296 INVITE", "-1 INVITE", "1 INV ITE", "1 IN(VITE"):
        with pytest.raises(ParseError):
            CSeq.parse(bad)


def test_name_addr_forms() -> None:
    assert NameAddr.parse("sip:a@b;tag=x") == NameAddr("sip:a@b", None, {"tag": "x"})
    assert NameAddr.parse("A. Bell <sip:a@b>").display_name == "A. Bell"
    assert NameAddr.parse("caller<sip:caller@example.com>;tag=323").display_name == "caller"
    star = NameAddr.parse("*")
    assert star.is_star and str(star) == "*"
    q = NameAddr.parse(r'"with \"escapes\" and \\" <sip:a@b>')
    assert q.display_name == 'with "escapes" and \\'
    assert NameAddr.parse(str(q)) == q
    t = NameAddr.parse("<sip:a@b>").with_tag("abc")
    assert str(t) == "<sip:a@b>;tag=abc"
    assert NameAddr.parse('"x" <tel:+123>').sip_uri.scheme == "tel"


@pytest.mark.parametrize("bad", [
    '"unterminated <sip:a@b>', "<sip:a@b", "< sip:a@b >", "Bad, Name <sip:a@b>",
    "sip:a@b?Route=x", "<sip:a@b>;;", "<sip:a@b>junk", "", "<nocolon>",
])
def test_bad_name_addrs(bad: str) -> None:
    with pytest.raises(ParseError):
        NameAddr.parse(bad)


def test_contact_expires_and_q() -> None:
    c = NameAddr.parse("<sip:a@b>;expires=3600;q=0.7")
    assert (c.expires, c.q) == (3600, 0.7)
    with pytest.raises(ParseError):
        NameAddr.parse("<sip:a@b>;q=1.5").q  # noqa: B018
    with pytest.raises(ParseError):
        NameAddr.parse("<sip:a@b>;expires=280297596632815").expires  # noqa: B018  RFC 4475 scalar02


def test_scalars_and_option_tags() -> None:
    assert parse_max_forwards("70") == 70
    for bad in ("256", "-1", "x", ""):
        with pytest.raises(ParseError):
            parse_max_forwards(bad)
    assert parse_option_tags("100rel,timer , replaces") == ["100rel", "timer", "replaces"]
    with pytest.raises(ParseError):
        parse_option_tags("100rel,,timer")
    assert split_params("a=1;B;c = 2") == {"a": "1", "b": None, "c": "2"}
    assert split_params(';x="quoted;value"') == {"x": '"quoted;value"'}


def test_digest_challenge_and_credentials() -> None:
    # RFC 3261 22.4 / RFC 7616 example shapes.
    c = Challenge.parse('Digest realm="biloxi.com", qop="auth,auth-int", '
                        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41", '
                        "algorithm=MD5, stale=FALSE")
    assert c.is_digest and c.realm == "biloxi.com" and c.params["qop"] == "auth,auth-int"
    assert c.params["algorithm"] == "MD5" and c.params["stale"] == "FALSE"
    assert Challenge.parse(str(c)) == c
    assert 'qop="auth,auth-int"' in str(c) and "algorithm=MD5" in str(c)
    cred = Credentials.parse('Digest username="bob", realm="biloxi.com", nonce="dcd98b", '
                             'uri="sip:bob@biloxi.com", qop=auth, nc=00000001, cnonce="0a4f113b", '
                             'response="6629fae49393a05397450978507c4ef1", opaque="5ccc"')
    assert cred.username == "bob" and cred.params["nc"] == "00000001" and cred.params["qop"] == "auth"
    assert Credentials.parse(str(cred)) == cred
    assert "qop=auth," in str(cred) and 'uri="sip:bob@biloxi.com"' in str(cred)
    with pytest.raises(ParseError):
        Credentials.parse('Digest username="bob", realm')
    with pytest.raises(ParseError):
        Challenge.parse('Digest realm="unterminated')


def test_parse_memo_is_bounded_and_transparent() -> None:
    from simvoip.sip import headers as headers_module
    from simvoip.sip.grammar import MEMO_LIMIT

    texts = [f"SIP/2.0/UDP h{i}.example;branch=z9hG4bK{i}" for i in range(MEMO_LIMIT + 10)]
    parsed = [Via.parse(t) for t in texts]
    assert len(headers_module._VIA_MEMO) <= MEMO_LIMIT
    # Same text, same (shared, equal) value, whether or not it is still cached.
    assert [Via.parse(t) for t in texts] == parsed
    assert Via.parse(texts[-1]) is Via.parse(texts[-1])
    with pytest.raises(ParseError):
        Via.parse("SIP/2.0/UDP")  # errors are never cached
    with pytest.raises(ParseError):
        Via.parse("SIP/2.0/UDP")
