"""Registrar rules of RFC 3261 section 10.3 and the location service lookup order."""

from __future__ import annotations

import random

from simvoip.sip.digest import Challenge, DigestClient, DigestServer
from simvoip.sip.headers import NameAddr
from simvoip.sip.location import LocationService
from simvoip.sip.message import Headers, Request
from simvoip.sip.registrar import Registrar, RegistrarConfig

DOMAIN = "biloxi.example.com"
AOR = "sip:bob@biloxi.example.com"


def register(contacts, *, expires=None, call_id="call-1", cseq=1, auth=None, require=None):
    h = Headers([
        ("Via", "SIP/2.0/UDP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7"),
        ("Max-Forwards", "70"), ("To", f"Bob <{AOR}>"), ("From", f"Bob <{AOR}>;tag=456248"),
        ("Call-ID", call_id), ("CSeq", f"{cseq} REGISTER"),
    ])
    for c in contacts:
        h.add("Contact", c)
    if expires is not None:
        h.add("Expires", str(expires))
    if auth:
        h.add("Authorization", auth)
    if require:
        h.add("Require", require)
    return Request("REGISTER", f"sip:{DOMAIN}", h)


def make(**cfg):
    loc = LocationService()
    return Registrar(DOMAIN, loc, random.Random(0), RegistrarConfig(**cfg)), loc


def contacts_of(resp):
    return {NameAddr.parse(c).uri: NameAddr.parse(c).params for c in resp.headers.get_all("Contact")}


def test_register_binds_and_returns_all_bindings_with_expires():
    reg, loc = make()
    r1 = reg.handle_register(register(["<sip:bob@192.0.2.4>"], expires=600), 0.0)
    assert r1.status_code == 200 and r1.to.tag
    assert contacts_of(r1) == {"sip:bob@192.0.2.4": {"expires": "600"}}
    # A second device with its own Call-ID: both bindings listed, remaining lifetimes shown.
    r2 = reg.handle_register(register(["<sip:bob@192.0.2.5>;expires=120"], call_id="c2"), 100.0)
    assert contacts_of(r2) == {"sip:bob@192.0.2.4": {"expires": "500"},
                               "sip:bob@192.0.2.5": {"expires": "120"}}
    # Expiry: at t=221 the 120 s binding is gone.
    assert [b.contact for b in loc.lookup(AOR, 221.0)] == ["sip:bob@192.0.2.4"]
    # Query (no Contact) lists current bindings without changing them.
    r3 = reg.handle_register(register([], call_id="c3"), 300.0)
    assert contacts_of(r3) == {"sip:bob@192.0.2.4": {"expires": "300"}}


def test_default_and_maximum_expiry():
    reg, _ = make(default_expires=1800, max_expires=3600)
    assert contacts_of(reg.handle_register(register(["<sip:bob@h1>"]), 0))["sip:bob@h1"] == {
        "expires": "1800"}
    r = reg.handle_register(register(["<sip:bob@h1>"], expires=7200, cseq=2), 0)
    assert contacts_of(r)["sip:bob@h1"] == {"expires": "3600"}


def test_refresh_keeps_one_binding():
    reg, loc = make()
    reg.handle_register(register(["<sip:bob@h1>"], expires=100), 0.0)
    reg.handle_register(register(["<sip:bob@h1>"], expires=100, cseq=2), 90.0)
    assert [b.expires_at for b in loc.bindings(AOR, 150.0)] == [190.0]


def test_q_values_order_lookup():
    reg, loc = make()
    r = reg.handle_register(register(["<sip:bob@low>;q=0.1", "<sip:bob@high>;q=0.9",
                                      "<sip:bob@default>"], expires=600), 0.0)
    assert r.status_code == 200
    assert [b.contact for b in loc.lookup(AOR, 1.0)] == [
        "sip:bob@default", "sip:bob@high", "sip:bob@low"]
    assert contacts_of(r)["sip:bob@low"] == {"q": "0.1", "expires": "600"}


def test_unregister_one_contact_and_wildcard():
    reg, loc = make()
    reg.handle_register(register(["<sip:bob@h1>", "<sip:bob@h2>"], expires=600), 0.0)
    r = reg.handle_register(register(["<sip:bob@h1>;expires=0"], cseq=2), 1.0)
    assert contacts_of(r) == {"sip:bob@h2": {"expires": "599"}}
    r = reg.handle_register(register(["*"], expires=0, cseq=3), 2.0)
    assert r.status_code == 200 and r.headers.get_all("Contact") == []
    assert loc.lookup(AOR, 2.0) == []


def test_wildcard_rules_400():
    reg, _ = make()
    assert reg.handle_register(register(["*"], expires=60), 0).status_code == 400
    assert reg.handle_register(register(["*"]), 0).status_code == 400
    assert reg.handle_register(register(["*", "<sip:bob@h1>"], expires=0), 0).status_code == 400


def test_423_interval_too_brief():
    reg, loc = make(min_expires=60)
    r = reg.handle_register(register(["<sip:bob@h1>"], expires=30), 0.0)
    assert r.status_code == 423 and r.reason == "Interval Too Brief"
    assert r.headers.get("Min-Expires") == "60"
    assert loc.lookup(AOR, 0.0) == []
    # Expires 0 is never "too brief".
    assert reg.handle_register(register(["<sip:bob@h1>"], expires=0), 0.0).status_code == 200


def test_call_id_cseq_ordering():
    reg, loc = make()
    reg.handle_register(register(["<sip:bob@h1>"], expires=600, cseq=5), 0.0)
    # Same Call-ID, CSeq not higher: out of order, aborted, binding unchanged.
    stale = reg.handle_register(register(["<sip:bob@h1>"], expires=0, cseq=5), 1.0)
    assert stale.status_code == 500
    assert len(loc.lookup(AOR, 1.0)) == 1
    # A different Call-ID (e.g. the phone rebooted) may update regardless of CSeq.
    other = reg.handle_register(register(["<sip:bob@h1>"], expires=0, cseq=1, call_id="new"), 2)
    assert other.status_code == 200 and loc.lookup(AOR, 2.0) == []


def test_all_or_nothing_commit():
    reg, loc = make()
    reg.handle_register(register(["<sip:bob@h1>"], expires=600, cseq=5), 0.0)
    r = reg.handle_register(register(["<sip:bob@h2>", "<sip:bob@h1>"], expires=600, cseq=4), 1)
    assert r.status_code == 500
    assert [b.contact for b in loc.lookup(AOR, 1.0)] == ["sip:bob@h1"]


def test_foreign_domain_404_and_require_420():
    reg, _ = make()
    req = register(["<sip:bob@h1>"])
    req.headers.set("To", "<sip:bob@atlanta.example.com>")
    assert reg.handle_register(req, 0).status_code == 404
    r = reg.handle_register(register(["<sip:bob@h1>"], require="100rel, foo"), 0)
    assert r.status_code == 420 and r.headers.get("Unsupported") == "100rel, foo"


def test_authenticated_registration():
    loc = LocationService()
    server = DigestServer(DOMAIN, {"bob": "zanzibar", "eve": "x"}, random.Random(9))
    reg = Registrar(DOMAIN, loc, random.Random(0), authenticator=server)
    r1 = reg.handle_register(register(["<sip:bob@h1>"], expires=600), 0.0)
    assert r1.status_code == 401 and loc.lookup(AOR, 0.0) == []
    ch = Challenge.parse(r1.headers.get("WWW-Authenticate") or "")
    bob = DigestClient({DOMAIN: ("bob", "zanzibar")}, random.Random(1))
    auth = str(bob.authorize(ch, "REGISTER", f"sip:{DOMAIN}"))
    r2 = reg.handle_register(register(["<sip:bob@h1>"], expires=600, cseq=2, auth=auth), 0.1)
    assert r2.status_code == 200 and len(loc.lookup(AOR, 1.0)) == 1
    # Eve has valid credentials but is not authorised for Bob's AOR (step 4): 403.
    eve = DigestClient({DOMAIN: ("eve", "x")}, random.Random(1))
    ch = Challenge.parse(reg.handle_register(register([], cseq=3), 1.0).headers.get(
        "WWW-Authenticate") or "")
    auth = str(eve.authorize(ch, "REGISTER", f"sip:{DOMAIN}"))
    assert reg.handle_register(register([], cseq=4, auth=auth), 1.0).status_code == 403
