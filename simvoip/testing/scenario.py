"""What a property test runs: phones (UA cores), an optional registrar, links, timers, seed.

A :class:`Scenario` is plain frozen data; :meth:`Scenario.build` turns it into
a :class:`~simvoip.testing.network.VirtualNetwork` with one
:class:`~simvoip.sip.ua.UserAgent` per phone (or any core class with the same
interface, e.g. the planted-bug UAs of :mod:`simvoip.testing.buggy`), every
phone linked to every other phone and to the registrar. Phone ``alice`` has
AOR ``sip:alice@alice`` (``sip:alice@<registrar>`` with a registrar) and is
reached at host ``alice`` (``sip:alice@alice``).

>>> net = Scenario(phones=("alice", "bob"), registrar="registrar").build()
>>> sorted(net.nodes), sorted(net.links)
(['alice', 'bob', 'registrar'], [('alice', 'bob'), ('alice', 'registrar'), ('bob', 'registrar')])
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simvoip.sip.effects import Send
from simvoip.sip.location import LocationService
from simvoip.sip.message import Request, Response
from simvoip.sip.registrar import Registrar, RegistrarConfig
from simvoip.sip.transaction.timers import TimerConfig
from simvoip.sip.ua import UABehaviour, UAConfig, UserAgent
from simvoip.sip.ua.messages import make_response
from simvoip.sip.ua.transactions import TransactionTable, is_effect, stamp_received
from simvoip.testing.network import VirtualNetwork

__all__ = ["Scenario", "RegistrarCore", "UAFactory"]

#: Builds the core of one phone from its configuration and random stream.
UAFactory = Callable[[UAConfig, random.Random], Any]


class RegistrarCore:
    """A registrar node: NIST per REGISTER (RFC 3261 17.2.2) around :class:`Registrar`.

    >>> core = RegistrarCore("registrar", random.Random(0))
    >>> core.receive(Response(200, "OK"), None, 0.0)
    []
    """

    def __init__(self, domain: str, rng: random.Random, *,
                 config: RegistrarConfig | None = None, timers: TimerConfig | None = None) -> None:
        self.location = LocationService()
        self.registrar = Registrar(domain, self.location, rng,
                                   config or RegistrarConfig(min_expires=1))
        self.transactions = TransactionTable(timers or TimerConfig())

    def receive(self, message: Request | Response, source: Any, now: float) -> list[Any]:
        if isinstance(message, Response):
            return []
        tx = self.transactions.find_server(message)
        if tx is not None:
            return [o for o in self.transactions.receive_request(tx, message, now) if is_effect(o)]
        if message.method == "ACK":
            return []
        request = stamp_received(message, source) if source is not None else message
        tx, out = self.transactions.start_server(request, now)
        if request.method == "REGISTER":
            response = self.registrar.handle_register(request, now)
        else:
            response = make_response(request, 405, to_tag="reg", extra=[("Allow", "REGISTER")])
        out = out + self.transactions.send_response(tx, response, now)
        return [o for o in out if is_effect(o)]

    def handle_timer(self, name: str, key: Any, now: float) -> list[Any]:
        _, out = self.transactions.handle_timer(name, key, now)
        return [o for o in out if is_effect(o) or isinstance(o, Send)]


@dataclass(frozen=True, slots=True)
class Scenario:
    """Phones, registrar, link delay, timers and seed of a network property test.

    Parameters
    ----------
    phones : tuple of str
        Phone (node) names; each is its own host and AOR domain.
    behaviour : UABehaviour
        How every phone answers calls (ring at once, answer after 1 s by default).
    behaviours : tuple of (str, UABehaviour)
        Per-phone overrides of ``behaviour``.
    ua_factory : callable
        ``factory(config, rng) -> core`` for every phone (default :class:`UserAgent`).
    factories : tuple of (str, callable)
        Per-phone overrides of ``ua_factory``.
    registrar : str, optional
        Name of a registrar node; phones then register there (``register`` rule).
    register_expires : int
        Expires the phones ask for.
    delay : float
        One-way delay of every link (seconds).
    timers : TimerConfig
        T1, T2, T4 of every phone and of the registrar.
    seed : int
        Seeds each node's ``random.Random`` (``seed`` and node name).
    loss_tolerance : int
        A call that lost at most this many packets must still complete (liveness).
    """

    phones: tuple[str, ...] = ("alice", "bob")
    behaviour: UABehaviour = field(default_factory=UABehaviour)
    behaviours: tuple[tuple[str, UABehaviour], ...] = ()
    ua_factory: UAFactory = UserAgent
    factories: tuple[tuple[str, UAFactory], ...] = ()
    registrar: str | None = None
    register_expires: int = 120
    delay: float = 0.01
    timers: TimerConfig = field(default_factory=TimerConfig)
    seed: int = 0
    loss_tolerance: int = 3

    def config(self, phone: str) -> UAConfig:
        """The :class:`UAConfig` of ``phone``."""
        behaviour = dict(self.behaviours).get(phone, self.behaviour)
        return UAConfig(
            aor=f"sip:{phone}@{self.registrar or phone}", host=phone, timers=self.timers, behaviour=behaviour,
            registrar=f"sip:{self.registrar}" if self.registrar else None,
            register_expires=self.register_expires,
            refresh_margin=min(30.0, self.register_expires / 4),
        )

    def rng(self, node: str) -> random.Random:
        """The random stream of ``node`` (independent of the other nodes)."""
        return random.Random(f"{self.seed}/{node}")

    def build(self) -> VirtualNetwork:
        """A fresh network running this scenario at time 0."""
        net = VirtualNetwork(default_delay=self.delay)
        factories = dict(self.factories)
        for phone in self.phones:
            factory = factories.get(phone, self.ua_factory)
            net.add_node(phone, factory(self.config(phone), self.rng(phone)))
        for i, a in enumerate(self.phones):
            for b in self.phones[i + 1:]:
                net.add_link(a, b)
        if self.registrar:
            net.add_node(self.registrar, RegistrarCore(self.registrar, self.rng(self.registrar),
                                                       timers=self.timers))
            for phone in self.phones:
                net.add_link(phone, self.registrar)
        return net
