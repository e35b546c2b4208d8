"""Build the SIP element cores of a topology: a UA per endpoint, a proxy + registrar per proxy.

The cores are the sans-I/O ones of :mod:`simvoip.sip` (:class:`UserAgent`,
:class:`Proxy`, :class:`Registrar`); this module only reads the topology and
fills in their configuration. Identities follow the node attributes:

* an endpoint ``bob`` of domain ``b.example`` has the address-of-record
  ``sip:bob@b.example`` (``user`` overrides the user part) and its own host
  name ``bob`` as Via sent-by and Contact host. When its domain has a proxy,
  it registers there at start-up and uses it as outbound proxy (RFC 3665
  section 3 flows); otherwise it calls peers directly;
* a proxy (or registrar) node serves its domain: REGISTERs for the domain
  land in its location service, which it consults to route requests.

A node's ``params`` mapping tunes its core; every key is checked and a bad
one raises one :class:`~simvoip.sim.schema.TopologyError` naming the field.

>>> from simvoip.sim.topology import Topology
>>> topo = Topology()
>>> topo.add_endpoint("bob", domain="b.example", params={"answer_delay": 2.0})
>>> topo.add_proxy("proxy.b", domain="b.example")
>>> ua_config(topo, "bob").aor, ua_config(topo, "bob").behaviour.answer_delay
('sip:bob@b.example', 2.0)
>>> ua_config(topo, "bob").outbound_proxy
'sip:proxy.b;lr'
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Mapping
from typing import Any

from simvoip.media.jitter_buffer import AdaptiveJitterBuffer, FixedJitterBuffer, JitterBuffer
from simvoip.sim.schema import TopologyError
from simvoip.sim.topology import Topology
from simvoip.sip.location import LocationService
from simvoip.sip.overload import OverloadControlProxy
from simvoip.sip.proxy import Proxy, ProxyConfig
from simvoip.sip.registrar import Registrar, RegistrarConfig
from simvoip.sip.transaction.timers import TimerConfig
from simvoip.sip.trunk import BUSY_CODES, Trunk
from simvoip.sip.ua import UserAgent
from simvoip.sip.ua.config import UABehaviour, UAConfig

__all__ = ["ua_config", "proxy_config", "build_user_agent", "build_proxy", "aor_of_node",
           "build_trunk", "trunk_config", "QueueProbedProxy", "UA_PARAMS", "PROXY_PARAMS",
           "TRUNK_PARAMS", "MEDIA_PARAMS", "media_params"]

#: ``params`` keys of an endpoint: :class:`UABehaviour` fields plus these UAConfig fields.
_UA_CONFIG_PARAMS = ("register_expires", "invite_timeout", "media_port", "display_name",
                     "register")
#: ``params`` keys of an endpoint's media (read by :mod:`simvoip.sim.media`).
MEDIA_PARAMS = ("vad", "jitter_buffer")
UA_PARAMS = (tuple(f.name for f in dataclasses.fields(UABehaviour)) + _UA_CONFIG_PARAMS
             + MEDIA_PARAMS)
#: ``params`` keys of a proxy node.
PROXY_PARAMS = ("record_route", "stateful", "forking", "timer_c", "sequential_timeout",
                "min_expires", "max_expires", "overload_threshold", "retry_after")
#: ``params`` keys of a trunk node: what a full trunk answers, plus the UA ones.
TRUNK_PARAMS = ("busy_code", "retry_after") + UA_PARAMS
#: How a trunk answers an admitted call unless its params say otherwise.
_TRUNK_BEHAVIOUR = {"ring_delay": None, "answer_delay": 0.0}


def _params(topology: Topology, node: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    params = topology.graph.nodes[node].get("params") or {}
    if not isinstance(params, Mapping):
        raise TopologyError(f"{topology.source}: nodes[{node}].params: must be a mapping")
    for key in params:
        if key not in allowed:
            raise TopologyError(
                f"{topology.source}: nodes[{node}].params.{key}: unknown parameter "
                f"(known: {', '.join(allowed)})")
    return dict(params)


def _checked(topology: Topology, node: str, key: str, value: Any, kind: type | tuple[type, ...],
             *, lo: float | None = None, optional: bool = True) -> Any:
    if value is None and optional:
        return None
    if isinstance(value, bool) and kind is not bool:
        ok = False
    else:
        ok = isinstance(value, kind)
    if not ok or (lo is not None and value < lo):
        want = f">= {lo}" if lo is not None else getattr(kind, "__name__", str(kind))
        raise TopologyError(f"{topology.source}: nodes[{node}].params.{key}: must be {want}, "
                            f"got {value!r}")
    return value


def aor_of_node(topology: Topology, node: str) -> str:
    """The address-of-record of endpoint ``node`` (``sip:user@domain``, or the node host)."""
    attrs = topology.graph.nodes[node]
    user = attrs.get("user") or node
    return f"sip:{user}@{attrs.get('domain') or node}"


def ua_config(topology: Topology, node: str, timers: TimerConfig | None = None) -> UAConfig:
    """The :class:`UAConfig` of endpoint ``node`` from its attributes and ``params``."""
    return _ua_config(topology, node, _params(topology, node, UA_PARAMS), timers, {})


def media_params(topology: Topology, node: str) -> tuple[bool, JitterBuffer]:
    """``(vad, jitter buffer)`` of endpoint ``node`` from its ``params``.

    ``vad: true`` makes its RTP follow talkspurts and silences (ITU-T P.59
    conversational speech: exponential talkspurts of mean 1.004 s and pauses
    of mean 1.587 s) with an RFC 3389 comfort-noise packet at each silence.
    ``jitter_buffer`` is ``{type: fixed, delay: s}`` (default 0.060 s) or
    ``{type: adaptive}`` (Ramjee et al. 1994, see
    :class:`~simvoip.media.jitter_buffer.AdaptiveJitterBuffer`).

    >>> from simvoip.sim.topology import Topology
    >>> t = Topology(); t.add_endpoint("a", params={"jitter_buffer": {"type": "fixed", "delay": 0.1}})
    >>> media_params(t, "a")
    (False, FixedJitterBuffer(delay=0.1, _offset=None))
    """
    params = topology.graph.nodes[node].get("params") or {}
    where = f"{topology.source}: nodes[{node}].params"
    vad = params.get("vad", False)
    if not isinstance(vad, bool):
        raise TopologyError(f"{where}.vad: must be true or false, got {vad!r}")
    spec = params.get("jitter_buffer") or {"type": "fixed"}
    if not isinstance(spec, Mapping):
        raise TopologyError(f"{where}.jitter_buffer: must be a mapping with a type, got {spec!r}")
    kind = spec.get("type", "fixed")
    if kind == "fixed":
        unknown = sorted(set(spec) - {"type", "delay"})
        delay = spec.get("delay", 0.060)
        if unknown or isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
            raise TopologyError(f"{where}.jitter_buffer: a fixed buffer takes delay >= 0 "
                                f"seconds, got {dict(spec)!r}")
        return vad, FixedJitterBuffer(float(delay))
    if kind == "adaptive":
        if set(spec) - {"type"}:
            raise TopologyError(f"{where}.jitter_buffer: an adaptive buffer takes no other "
                                f"fields, got {dict(spec)!r}")
        return vad, AdaptiveJitterBuffer()
    raise TopologyError(f"{where}.jitter_buffer.type: must be 'fixed' or 'adaptive', "
                        f"got {kind!r}")


def _ua_config(topology: Topology, node: str, params: dict[str, Any],
               timers: TimerConfig | None, defaults: dict[str, Any]) -> UAConfig:
    attrs = topology.graph.nodes[node]
    media_params(topology, node)  # checked with the rest of the node's params
    behaviour_fields = {f.name for f in dataclasses.fields(UABehaviour)}
    behaviour: dict[str, Any] = dict(defaults)
    for key, value in params.items():
        if key not in behaviour_fields:
            continue
        if key == "redirect_to":
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise TopologyError(f"{topology.source}: nodes[{node}].params.redirect_to: "
                                    f"must be a list of SIP URIs, got {value!r}")
            value = tuple(value)
        elif key in ("early_media", "ignore_ack", "ignore_bye"):
            _checked(topology, node, key, value, bool, optional=False)
        elif key == "reject_code":
            _checked(topology, node, key, value, int, lo=300)
        else:
            _checked(topology, node, key, value, (int, float), lo=0.0)
        behaviour[key] = value
    domain = attrs.get("domain")
    proxy = topology.proxy_for(domain) if domain else None
    extra: dict[str, Any] = {}
    for key in ("register_expires", "media_port"):
        if key in params:
            extra[key] = _checked(topology, node, key, params[key], int, lo=1, optional=False)
    if "invite_timeout" in params:
        extra["invite_timeout"] = _checked(topology, node, "invite_timeout",
                                           params["invite_timeout"], (int, float), lo=0.0)
    if "display_name" in params:
        extra["display_name"] = _checked(topology, node, "display_name", params["display_name"],
                                         str)
    return UAConfig(
        aor=aor_of_node(topology, node),
        host=node,
        media_address=topology.ip_address(node),
        outbound_proxy=f"sip:{proxy};lr" if proxy else None,
        registrar=f"sip:{domain}" if proxy else None,
        timers=timers or TimerConfig(),
        behaviour=UABehaviour(**behaviour),
        **extra,
    )


def proxy_config(topology: Topology, node: str,
                 timers: TimerConfig | None = None) -> tuple[ProxyConfig, RegistrarConfig]:
    """The proxy and registrar configuration of proxy/registrar ``node``."""
    attrs = topology.graph.nodes[node]
    params = _params(topology, node, PROXY_PARAMS)
    for key in ("record_route", "stateful"):
        if key in params:
            _checked(topology, node, key, params[key], bool, optional=False)
    if "forking" in params and params["forking"] not in ("parallel", "sequential"):
        raise TopologyError(f"{topology.source}: nodes[{node}].params.forking: must be "
                            f"'parallel' or 'sequential', got {params['forking']!r}")
    if "timer_c" in params:
        _checked(topology, node, "timer_c", params["timer_c"], (int, float), lo=180.0,
                 optional=False)
    if "sequential_timeout" in params:
        _checked(topology, node, "sequential_timeout", params["sequential_timeout"],
                 (int, float), lo=0.0)
    for key in ("overload_threshold", "retry_after"):
        if key in params:
            _checked(topology, node, key, params.pop(key), int, lo=0, optional=False)
    registrar = RegistrarConfig(
        min_expires=_checked(topology, node, "min_expires", params.pop("min_expires", 60), int,
                             lo=0, optional=False),
        max_expires=_checked(topology, node, "max_expires", params.pop("max_expires", 3600),
                             int, lo=1, optional=False),
        aliases=(node,),
    )
    config = ProxyConfig(host=node, domain=attrs["domain"], timers=timers or TimerConfig(),
                         **params)
    return config, registrar


def build_user_agent(topology: Topology, node: str, rng: random.Random,
                     timers: TimerConfig | None = None) -> UserAgent:
    """A :class:`UserAgent` for endpoint ``node``."""
    return UserAgent(ua_config(topology, node, timers), rng)


class QueueProbedProxy(OverloadControlProxy):
    """An :class:`OverloadControlProxy` that reads its node's queue before each message.

    ``queue_probe(now)`` (set by the simulation) returns the number of messages
    waiting for processing at the node; it becomes ``queue_length``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue_probe: Callable[[float], int] | None = None

    def receive(self, message: Any, source: Any, now: float) -> list[Any]:
        if self.queue_probe is not None:
            self.queue_length = self.queue_probe(now)
        return super().receive(message, source, now)


def build_proxy(topology: Topology, node: str, rng: random.Random,
                timers: TimerConfig | None = None) -> Proxy:
    """A stateful proxy with a registrar (its own location service) for ``node``'s domain.

    With ``params.overload_threshold`` it is a :class:`QueueProbedProxy`: new
    INVITEs get 503 + ``Retry-After: params.retry_after`` (default 10) while
    more than that many messages wait at the node.
    """
    config, registrar_config = proxy_config(topology, node, timers)
    location = LocationService()
    registrar = Registrar(config.domain, location, rng, registrar_config)
    params = topology.graph.nodes[node].get("params") or {}
    if "overload_threshold" in params:
        return QueueProbedProxy(config, rng, location, registrar,
                                threshold=params["overload_threshold"],
                                retry_after=params.get("retry_after", 10))
    return Proxy(config, rng, location, registrar)


def trunk_config(topology: Topology, node: str,
                 timers: TimerConfig | None = None) -> tuple[UAConfig, dict[str, Any]]:
    """The :class:`UAConfig` of trunk ``node`` and its :class:`Trunk` keyword arguments.

    >>> topo = Topology()
    >>> topo.add_endpoint("alice")
    >>> topo._add_node("trunk", "gw", {"channels": 4, "params": {"busy_code": 486}}, "gw")
    >>> config, extra = trunk_config(topo, "gw")
    >>> extra, config.behaviour.answer_delay, config.aor
    ({'channels': 4, 'busy_code': 486}, 0.0, 'sip:gw@gw')
    """
    params = _params(topology, node, TRUNK_PARAMS)
    extra: dict[str, Any] = {"channels": int(topology.graph.nodes[node]["channels"])}
    if "busy_code" in params:
        code = params.pop("busy_code")
        if code not in BUSY_CODES:
            raise TopologyError(f"{topology.source}: nodes[{node}].params.busy_code: must be "
                                f"one of {', '.join(map(str, BUSY_CODES))}, got {code!r}")
        extra["busy_code"] = code
    if "retry_after" in params:
        extra["retry_after"] = _checked(topology, node, "retry_after", params.pop("retry_after"),
                                        int, lo=0)
    return _ua_config(topology, node, params, timers, _TRUNK_BEHAVIOUR), extra


def build_trunk(topology: Topology, node: str, rng: random.Random,
                timers: TimerConfig | None = None) -> Trunk:
    """A :class:`~simvoip.sip.trunk.Trunk` for trunk ``node`` (``channels`` circuits)."""
    config, extra = trunk_config(topology, node, timers)
    return Trunk(config, rng, **extra)
