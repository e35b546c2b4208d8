"""The RFC 3665 cast on the in-memory network: Alice, Bob, proxies ss1/ss2."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ua_harness import Network

from simvoip.sip.digest import DigestServer
from simvoip.sip.location import Binding, LocationService
from simvoip.sip.proxy import Proxy, ProxyConfig
from simvoip.sip.registrar import Registrar, RegistrarConfig
from simvoip.sip.ua import UABehaviour, UAConfig, UserAgent

ALICE = "client.atlanta.example.com"
BOB = "client.biloxi.example.com"
SS1 = "ss1.atlanta.example.com"
SS2 = "ss2.biloxi.example.com"
ALICE_AOR = "sip:alice@atlanta.example.com"
BOB_AOR = "sip:bob@biloxi.example.com"


@dataclass
class Trapezoid:
    net: Network
    alice: UserAgent
    bob: UserAgent
    ss1: Proxy
    ss2: Proxy

    def cores(self):
        return [self.alice, self.bob, self.ss1, self.ss2]

    def idle(self) -> bool:
        """No transaction, dialog or response context left anywhere."""
        return (all(ua.transaction_count == 0 and ua.dialog_count == 0 and not ua.calls
                    for ua in (self.alice, self.bob))
                and all(p.transaction_count == 0 and p.context_count == 0
                        for p in (self.ss1, self.ss2)))


DEFAULT = UABehaviour()


def trapezoid(*, bob: UABehaviour = DEFAULT, alice: UABehaviour = DEFAULT,
              delay: float = 0.01, loss: float = 0.0, seed: int = 0, auth: bool = False,
              alice_invite_timeout: float | None = None, register_bob: bool = True,
              stateful: bool = True, drop=None) -> Trapezoid:
    net = Network(delay=delay, loss=loss, seed=seed, drop=drop,
                  aliases={"atlanta.example.com": SS1, "biloxi.example.com": SS2})
    rng = random.Random(seed)
    a = net.add(ALICE, UserAgent(UAConfig(initial_cseq=1,
        aor=ALICE_AOR, host=ALICE, display_name="Alice", outbound_proxy=f"sip:{SS1};lr",
        credentials={"atlanta.example.com": ("alice", "secret")},
        invite_timeout=alice_invite_timeout, behaviour=alice), random.Random(rng.random())))
    b = net.add(BOB, UserAgent(UAConfig(initial_cseq=1,
        aor=BOB_AOR, host=BOB, display_name="Bob", registrar=f"sip:{SS2}",
        credentials={"biloxi.example.com": ("bob", "zanzibar")}, behaviour=bob),
        random.Random(rng.random())))
    authenticator = DigestServer("atlanta.example.com", {"alice": "secret"},
                                 random.Random(rng.random())) if auth else None
    p1 = net.add(SS1, Proxy(ProxyConfig(host=SS1, domain="atlanta.example.com", stateful=stateful),
                            random.Random(rng.random()), authenticator=authenticator))
    loc = LocationService()
    if register_bob:
        loc.set(BOB_AOR, Binding(f"sip:bob@{BOB}", expires_at=1e9))
    registrar = Registrar("biloxi.example.com", loc, random.Random(rng.random()),
                          RegistrarConfig(aliases=(SS2,)))
    p2 = net.add(SS2, Proxy(ProxyConfig(host=SS2, domain="biloxi.example.com", stateful=stateful),
                            random.Random(rng.random()), loc, registrar))
    return Trapezoid(net, a, b, p1, p2)


def dial(t: Trapezoid, at: float = 0.0, target: str = BOB_AOR, **kw) -> str:
    call_id, out = t.alice.invite(target, now=at, **kw)
    t.net.now = at
    t.net.feed(ALICE, out)
    return call_id


def values(message, name: str) -> list[str]:
    """All values of header ``name`` (rows split at commas)."""
    from simvoip.sip.grammar import split_commas

    return [v for row in message.headers.get_all(name) for v in split_commas(row)]


#: Call flows (RFC 3665 2.x-style) for tests that compare a shortcut with the general path:
#: keyword arguments of :func:`trapezoid` by name.
CALL_SCENARIOS = {
    "answered": dict(alice=UABehaviour(auto_hangup_after=5.0),
                     bob=UABehaviour(ring_delay=0.0, answer_delay=1.0)),
    "busy": dict(bob=UABehaviour(reject_code=486, reject_delay=0.5)),
    "no-answer-cancelled": dict(bob=UABehaviour(answer_delay=None), alice_invite_timeout=3.0),
    "authenticated": dict(bob=UABehaviour(answer_delay=1.0, auto_hangup_after=2.0), auth=True),
    "lossy": dict(bob=UABehaviour(answer_delay=1.0, auto_hangup_after=4.0), loss=0.2, seed=7),
    "ignores-ack": dict(bob=UABehaviour(answer_delay=0.5, ignore_ack=True)),
    "callee-hangs-up": dict(bob=UABehaviour(answer_delay=0.5, auto_hangup_after=1.0)),
}
