"""Digest authentication: RFC 7616 3.9.1 vectors, challenge/response, stale nonces."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from simvoip.sip.digest import (
    Challenge,
    Credentials,
    DigestClient,
    DigestServer,
    Verdict,
    compute_response,
)
from simvoip.sip.message import Headers, Request

RFC7616 = Path("/work/shared/rfc/rfc7616.txt")

# RFC 7616 section 3.9.1 inputs.
EXAMPLE = dict(
    username="Mufasa", realm="http-auth@example.org", password="Circle of Life",
    method="GET", uri="/dir/index.html", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    nc="00000001", cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop="auth",
)


def test_rfc7616_md5_example():
    assert compute_response(algorithm="MD5", **EXAMPLE) == "8ca523f5e9506fed4657c9700eebdbec"


def test_rfc7616_sha256_example():
    assert compute_response(algorithm="SHA-256", **EXAMPLE) == (
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    )


@pytest.mark.skipif(not RFC7616.exists(), reason="RFC text not available")
def test_values_match_the_rfc_text():
    # The two response= values printed in section 3.9.1 (the SHA-256 one is wrapped).
    text = RFC7616.read_text()
    section = text[text.index("3.9.1.  Example with SHA-256 and MD5\n\n   The following"):]
    section = section[: section.index("3.9.2.")]
    values = [re.sub(r"\s+", "", v) for v in re.findall(r'response="([^"]+)"', section)]
    assert values == [
        compute_response(algorithm="MD5", **EXAMPLE),
        compute_response(algorithm="SHA-256", **EXAMPLE),
    ]


def test_rfc3261_style_without_qop():
    # RFC 2069 compatibility: response = H(H(A1):nonce:H(A2)).
    import hashlib

    ha1 = hashlib.md5(b"bob:biloxi.com:zanzibar").hexdigest()
    ha2 = hashlib.md5(b"REGISTER:sip:biloxi.com").hexdigest()
    expected = hashlib.md5(f"{ha1}:n0nce:{ha2}".encode()).hexdigest()
    got = compute_response(algorithm="MD5", username="bob", realm="biloxi.com",
                           password="zanzibar", method="REGISTER", uri="sip:biloxi.com",
                           nonce="n0nce")
    assert got == expected


def test_challenge_parses_rfc3665_header():
    # RFC 3665 2.1 F2.
    c = Challenge.parse('Digest realm="atlanta.example.com", qop="auth", '
                        'nonce="ea9c8e88df84f1cec4341ae6cbe5a359", opaque="", stale=FALSE, '
                        'algorithm=MD5')
    assert (c.realm, c.nonce, c.qop, c.opaque, c.stale, c.algorithm) == (
        "atlanta.example.com", "ea9c8e88df84f1cec4341ae6cbe5a359", ("auth",), "", False, "MD5")


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_client_server_round_trip(algorithm):
    server = DigestServer("biloxi.com", {"bob": "zanzibar"}, random.Random(1), algorithm=algorithm)
    client = DigestClient({"biloxi.com": ("bob", "zanzibar")}, random.Random(2))
    ch = Challenge.parse(str(server.challenge(0.0)))
    c1 = Credentials.parse(str(client.authorize(ch, "REGISTER", "sip:biloxi.com")))
    c2 = client.authorize(ch, "REGISTER", "sip:biloxi.com")
    assert (c1.nc, c2.nc) == ("00000001", "00000002")
    assert c1.cnonce != c2.cnonce
    assert server.verify(c1, "REGISTER", 1.0) is Verdict.OK
    assert server.verify(c2, "REGISTER", 1.0) is Verdict.OK
    assert server.verify(c1, "REGISTER", 1.0) is Verdict.REJECTED  # nc replay


def test_wrong_password_rejected_and_stale_nonce_detected():
    server = DigestServer("biloxi.com", {"bob": "zanzibar"}, random.Random(1), nonce_lifetime=30)
    ch = server.challenge(0.0)
    wrong = DigestClient({"*": ("bob", "guess")}, random.Random(3)).authorize(ch, "INVITE", "sip:x")
    assert server.verify(wrong, "INVITE", 1.0) is Verdict.REJECTED
    good = DigestClient({"*": ("bob", "zanzibar")}, random.Random(3))
    late = good.authorize(ch, "INVITE", "sip:x")
    assert server.verify(late, "INVITE", 31.0) is Verdict.STALE  # right password, old nonce
    assert server.outstanding_nonces == 0


def _register(auth: str | None = None) -> Request:
    h = Headers([("Via", "SIP/2.0/UDP pc;branch=z9hG4bK1"), ("From", "<sip:bob@biloxi.com>;tag=1"),
                 ("To", "<sip:bob@biloxi.com>"), ("Call-ID", "c"), ("CSeq", "1 REGISTER")])
    if auth:
        h.add("Authorization", auth)
    return Request("REGISTER", "sip:biloxi.com", h)


def test_check_request_statuses():
    server = DigestServer("biloxi.com", {"bob": "zanzibar"}, random.Random(1), nonce_lifetime=30)
    first = server.check_request(_register(), 0.0)
    assert first.status == 401 and first.header is not None
    assert first.header[0] == "WWW-Authenticate"
    ch = Challenge.parse(first.header[1])
    client = DigestClient({"*": ("bob", "zanzibar")}, random.Random(5))
    ok = server.check_request(_register(str(client.authorize(ch, "REGISTER", "sip:biloxi.com"))), 1)
    assert (ok.username, ok.status) == ("bob", None)
    stale = server.check_request(_register(str(client.authorize(ch, "REGISTER", "sip:biloxi.com"))), 60)
    assert stale.status == 401 and stale.header is not None
    assert Challenge.parse(stale.header[1]).stale
    bad = DigestClient({"*": ("bob", "nope")}, random.Random(5))
    ch2 = server.challenge(61.0)
    assert server.check_request(_register(str(bad.authorize(ch2, "REGISTER", "sip:biloxi.com"))),
                                62).status == 403
    proxy = server.check_request(_register(), 70.0, proxy=True)
    assert proxy.status == 407 and proxy.header is not None
    assert proxy.header[0] == "Proxy-Authenticate"
