"""RFC 3665 2.1 (new registration with a 401 challenge), refresh and un-registration."""

from __future__ import annotations

import random

from ua_harness import Network

from simvoip.sip.digest import DigestServer
from simvoip.sip.headers import NameAddr
from simvoip.sip.location import LocationService
from simvoip.sip.proxy import Proxy, ProxyConfig
from simvoip.sip.registrar import Registrar, RegistrarConfig
from simvoip.sip.ua import Registered, RegistrationFailed, UAConfig, UserAgent

BOB = "client.biloxi.example.com"
SS2 = "ss2.biloxi.example.com"
AOR = "sip:bob@biloxi.example.com"


def setup(password="zanzibar", expires=3600, min_expires=60, nonce_lifetime=300.0):
    net = Network(delay=0.01)
    loc = LocationService()
    server = DigestServer("biloxi.example.com", {"bob": "zanzibar"}, random.Random(7),
                          nonce_lifetime=nonce_lifetime)
    registrar = Registrar("biloxi.example.com", loc, random.Random(8),
                          RegistrarConfig(aliases=(SS2,), min_expires=min_expires),
                          authenticator=server)
    net.add(SS2, Proxy(ProxyConfig(host=SS2, domain="biloxi.example.com"), random.Random(9),
                       loc, registrar))
    bob = net.add(BOB, UserAgent(UAConfig(initial_cseq=1,
        aor=AOR, host=BOB, display_name="Bob", registrar=f"sip:{SS2}",
        register_expires=expires, credentials={"biloxi.example.com": ("bob", password)}),
        random.Random(10)))
    return net, bob, loc, server


def test_2_1_successful_new_registration():
    net, bob, loc, _ = setup()
    net.feed(BOB, bob.register(now=0.0))
    net.run(until=1.0)
    assert net.ladder() == [(BOB, SS2, "REGISTER"), (SS2, BOB, "401"),
                            (BOB, SS2, "REGISTER"), (SS2, BOB, "200")]
    f1, f2, f3, f4 = (h.message for h in net.delivered())
    assert f1.uri == f"sip:{SS2}" and str(f1.cseq) == "1 REGISTER"
    assert NameAddr.parse(f1.headers.get("To")).uri == AOR and f1.to.tag is None
    assert f1.headers.get("Contact") == f"<sip:bob@{BOB}>"
    assert f2.to.tag and 'realm="biloxi.example.com"' in f2.headers.get("WWW-Authenticate")
    # F3: same Call-ID, CSeq 2, a new branch, Authorization answering the challenge.
    assert f3.call_id == f1.call_id and str(f3.cseq) == "2 REGISTER"
    assert f3.branch != f1.branch
    auth = f3.headers.get("Authorization")
    assert 'username="bob"' in auth and f'uri="sip:{SS2}"' in auth and "nc=00000001" in auth
    # F4: all current bindings with their expires parameter.
    assert f4.headers.get_all("Contact") == [f"<sip:bob@{BOB}>;expires=3600"]
    assert [b.contact for b in loc.lookup(AOR, 1.0)] == [f"sip:bob@{BOB}"]
    assert net.of(BOB, Registered) == [Registered(AOR, 3600, net.of(BOB, Registered)[0].at)]
    # Timer J keeps the registrar's server transactions 64*T1 = 32 s (UDP), then all is gone.
    net.run(until=40.0)
    assert bob.transaction_count == 0 and net.nodes[SS2].transaction_count == 0


def test_refresh_before_expiry_with_stale_nonce_and_unregister():
    # 120 s registrations; the nonce lives 60 s, so the refresh meets a stale nonce and is
    # re-challenged with stale=true, answered without asking the user again.
    net, bob, loc, server = setup(expires=120, nonce_lifetime=60.0)
    net.feed(BOB, bob.register(now=0.0))
    net.run(until=200.0)
    registered = net.of(BOB, Registered)
    # Refreshes at 90 s (expires - 30 s margin) after each success: ~0, ~90, ~180 s.
    assert [round(r.at) for r in registered] == [0, 90, 180]
    assert len(loc.lookup(AOR, 199.0)) == 1
    statuses = [h.label for h in net.delivered() if h.src == SS2]
    # Each refresh sends credentials for an expired nonce -> 401 stale=true -> retry -> 200.
    assert statuses == ["401", "200", "401", "200", "401", "200"]
    stale = [h.message for h in net.delivered() if h.label == "401"][1]
    assert "stale=true" in stale.headers.get("WWW-Authenticate")
    cseqs = [h.message.cseq.number for h in net.delivered() if h.label == "REGISTER"]
    assert cseqs == [1, 2, 3, 4, 5, 6]
    # Un-register: Expires 0 removes the binding.
    net.feed(BOB, bob.unregister(now=net.now))
    net.run(until=net.now + 5)
    assert loc.lookup(AOR, net.now) == []
    assert net.of(BOB, Registered)[-1].expires == 0


def test_wrong_password_fails_without_looping():
    net, bob, loc, _ = setup(password="wrong")
    net.feed(BOB, bob.register(now=0.0))
    net.run(until=5.0)
    assert net.ladder() == [(BOB, SS2, "REGISTER"), (SS2, BOB, "401"),
                            (BOB, SS2, "REGISTER"), (SS2, BOB, "403")]
    assert [e.status for e in net.of(BOB, RegistrationFailed)] == [403]
    assert loc.lookup(AOR, 1.0) == []


def test_423_interval_too_brief_is_retried_with_min_expires():
    net, bob, loc, _ = setup(expires=30, min_expires=300)
    net.feed(BOB, bob.register(now=0.0))
    net.run(until=5.0)
    assert [h.label for h in net.delivered()] == [
        "REGISTER", "401", "REGISTER", "423", "REGISTER", "200"]
    last = [h.message for h in net.delivered() if h.label == "REGISTER"][-1]
    assert last.headers.get("Expires") == "300"
    assert net.of(BOB, Registered)[0].expires == 300


def test_no_overlapping_registers():
    # RFC 3261 10.2: a second REGISTER waits for the final response to the first.
    net, bob, loc, _ = setup()
    net.feed(BOB, bob.register(now=0.0))
    net.call_at(0.005, BOB, lambda now: bob.unregister(now))
    net.run(until=5.0)
    sent = [(round(h.time, 3), h.label) for h in net.delivered() if h.src == BOB]
    # REGISTER, (401) REGISTER+credentials, (200) then the un-REGISTER.
    assert sent == [(0.0, "REGISTER"), (0.02, "REGISTER"), (0.04, "REGISTER")]
    last = [h.message for h in net.delivered() if h.label == "REGISTER"][-1]
    assert last.headers.get("Expires") == "0" and str(last.cseq) == "3 REGISTER"
    assert [e.expires for e in net.of(BOB, Registered)] == [3600, 0]
    assert loc.lookup(AOR, 5.0) == []
