"""Ready-made nodes on real sockets: a user agent (UAS / UAC) and a proxy + registrar.

Each helper binds the sockets first (so a port of 0 resolves to a free port),
then builds the unchanged sans-I/O core with that address as its identity and
returns the running :class:`~simvoip.net.node.NetNode`.

>>> import asyncio
>>> async def demo():
...     node = await start_user_agent("bob", host="127.0.0.1", port=0, seed=1)
...     contact = node.core.config.contact
...     node.close()
...     return contact.startswith("sip:bob@127.0.0.1:")
>>> asyncio.run(demo())
True
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from simvoip.net.node import NetNode
from simvoip.sip.location import Binding, LocationService, aor_of
from simvoip.sip.proxy import Proxy, ProxyConfig
from simvoip.sip.registrar import Registrar, RegistrarConfig
from simvoip.sip.transaction.timers import TimerConfig
from simvoip.sip.ua import UABehaviour, UAConfig, UserAgent

__all__ = ["start_user_agent", "start_proxy"]


async def start_user_agent(user: str, *, host: str = "127.0.0.1", port: int = 0,
                           transport: str = "UDP", seed: int = 0, role: str = "uas",
                           timers: TimerConfig | None = None,
                           behaviour: UABehaviour | None = None, domain: str | None = None,
                           outbound_proxy: str | None = None, registrar: str | None = None,
                           keep_events: bool = True, keep_wire: bool = False,
                           on_event: Callable[[Any], None] | None = None,
                           hosts: dict[str, str] | None = None) -> NetNode:
    """Start a :class:`~simvoip.sip.ua.UserAgent` listening on ``host:port``.

    Parameters
    ----------
    user : str
        User part of the address-of-record ``sip:user@domain``.
    host, port : str, int
        Where to listen (UDP and TCP); the UA's Via and Contact use them.
    transport : {"UDP", "TCP"}
        Transport of the UA's own requests (Via, Contact).
    seed : int
        Seed of the UA's ``random.Random`` (tags, branches, Call-IDs).
    role : {"uas", "uac"}
        Validation role of incoming requests (see :class:`NetNode`).
    timers, behaviour : TimerConfig, UABehaviour, optional
        Protocol timers (T1, T2, T4) and how calls are answered.
    domain : str, optional
        Domain of the address-of-record (default: ``host``).
    outbound_proxy, registrar : str, optional
        URIs of the outbound proxy (a preloaded Route) and of the registrar.
    hosts : dict, optional
        Static name -> IP map for destinations given by name (no DNS needed).
    """
    node = NetNode(role="uac" if role == "uac" else "uas", keep_events=keep_events,
                   keep_wire=keep_wire, on_event=on_event, hosts=hosts)
    await node.start(host, port)
    config = UAConfig(
        aor=f"sip:{user}@{domain or host}", host=host, port=node.port, transport=transport,
        outbound_proxy=outbound_proxy, registrar=registrar, timers=timers or TimerConfig(),
        behaviour=behaviour or UABehaviour(), user_agent="simvoip",
    )
    node.core = UserAgent(config, random.Random(seed))
    return node


async def start_proxy(*, host: str = "127.0.0.1", port: int = 0, domain: str | None = None,
                      transport: str = "UDP", seed: int = 0, record_route: bool = True,
                      stateful: bool = True, timers: TimerConfig | None = None,
                      static_routes: dict[str, str] | None = None,
                      keep_events: bool = True, keep_wire: bool = False,
                      hosts: dict[str, str] | None = None) -> NetNode:
    """Start a :class:`~simvoip.sip.proxy.Proxy` with its registrar on ``host:port``.

    ``static_routes`` maps addresses-of-record to contacts, loaded into the
    location service as long-lived bindings (users that never REGISTER, such
    as a SIPp UAS). Requests for other domains go to their Request-URI.
    """
    node = NetNode(role="proxy", keep_events=keep_events, keep_wire=keep_wire)
    await node.start(host, port)
    rng = random.Random(seed)
    location = LocationService()
    for aor, contact in sorted((static_routes or {}).items()):
        location.set(aor_of(aor), Binding(contact, expires_at=float("inf"), call_id="static"))
    dom = domain or host
    config = ProxyConfig(host=host, domain=dom, port=node.port, transport=transport,
                         record_route=record_route, stateful=stateful,
                         timers=timers or TimerConfig())
    registrar = Registrar(dom, location, rng, RegistrarConfig(aliases=(host,)))
    node.core = Proxy(config, rng, location, registrar)
    return node
