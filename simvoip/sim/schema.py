"""Field-by-field validation of topology data, with errors that name the field.

Every check raises :class:`TopologyError` with ``"<source>: <path>: <what is
wrong>"``, e.g. ``"topologies/x.yaml: links[2].delay: must be >= 0, got -0.1"``.
The field list of each section is documented in ``topologies/README.md``.

>>> try:
...     check_link_params({"delay": -0.1}, "links[2]", "x.yaml")
... except TopologyError as err:
...     print(err)
x.yaml: links[2].delay: must be >= 0, got -0.1
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simvoip.sim.link import JITTER_DISTS
from simvoip.sim.loss import make_loss_model

__all__ = [
    "TopologyError", "CallSpec", "PoissonSource", "PopulationSource", "RegistrationStorm",
    "TrafficSource", "Fault", "NODE_KINDS", "NODE_FIELDS", "LINK_FIELDS", "TRAFFIC_TYPES",
    "HOLDING_KINDS", "check_node_attrs", "check_link_params", "check_call", "check_source",
    "check_fault",
]

NODE_KINDS = ("endpoint", "proxy", "registrar", "router", "trunk")
#: Node attributes accepted besides ``name`` and ``type``. ``params`` is a free
#: mapping for the core that runs on the node (UA, proxy ...), checked by it.
#: ``channels`` is the number of simultaneous calls of a ``trunk`` node.
NODE_FIELDS = ("domain", "user", "address", "processing_delay", "capacity", "queue", "params",
               "channels")
#: ``traffic[i].type`` values.
TRAFFIC_TYPES = ("poisson", "population", "register_storm")
#: Holding-time distributions of a call source (``holding``).
HOLDING_KINDS = ("exponential", "fixed", "list")
LINK_FIELDS = (
    "delay", "jitter", "jitter_dist", "jitter_shape", "bandwidth", "queue", "red", "loss",
    "loss_model", "duplicate", "reorder", "reorder_delay", "mtu", "faults",
)
FAULT_TYPES = ("link_down", "link_up", "partition", "delay_spike")
LINK_FAULT_TYPES = ("down", "delay_spike")


class TopologyError(ValueError):
    """A topology (YAML or code) is invalid; the message names source and field."""


@dataclass(frozen=True, slots=True)
class CallSpec:
    """One scheduled call: ``from`` endpoint calls ``to`` at ``at`` for ``duration`` s."""

    caller: str
    callee: str
    at: float
    duration: float


@dataclass(frozen=True, slots=True)
class PoissonSource:
    """Poisson call arrivals (``rate`` calls/s) from ``caller`` to ``callee``.

    ``holding`` is ``exponential`` (mean ``mean_duration``), ``fixed`` (every call
    lasts ``mean_duration``) or ``list`` (each call draws one of ``durations``
    uniformly). ``profile`` (busy-hour profile) is a tuple of ``(from_time, rate)``
    steps: the arrival rate is piecewise constant, ``rate`` before the first step.
    """

    caller: str
    callee: str
    rate: float
    mean_duration: float
    start: float = 0.0
    stop: float = math.inf
    holding: str = "exponential"
    durations: tuple[float, ...] = ()
    profile: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class PopulationSource:
    """A calling population: ``members`` (endpoints) call at ``rate`` calls/s in total.

    Each arrival picks its caller uniformly among ``members`` and its callee
    uniformly among ``targets`` (``()``: the other members). Holding times and
    the busy-hour ``profile`` work as in :class:`PoissonSource`.
    """

    members: tuple[str, ...]
    rate: float
    mean_duration: float
    targets: tuple[str, ...] = ()
    start: float = 0.0
    stop: float = math.inf
    holding: str = "exponential"
    durations: tuple[float, ...] = ()
    profile: tuple[tuple[float, float], ...] = ()

    @property
    def caller(self) -> str:
        """The first member (what topology checks look at)."""
        return self.members[0]

    @property
    def callee(self) -> str | None:
        """The first target, if any (what topology checks look at)."""
        return self.targets[0] if self.targets else None


@dataclass(frozen=True, slots=True)
class RegistrationStorm:
    """Every one of ``members`` sends REGISTER at ``at`` (spread uniformly over ``spread`` s).

    ``clear_bindings`` first empties the location service of the members'
    registrars, as after a registrar restart.
    """

    members: tuple[str, ...]
    at: float
    spread: float = 0.0
    clear_bindings: bool = False
    start: float = 0.0
    stop: float = math.inf

    @property
    def caller(self) -> str:
        return self.members[0]

    @property
    def callee(self) -> None:
        return None


#: Any ``traffic`` entry.
TrafficSource = PoissonSource | PopulationSource | RegistrationStorm


@dataclass(frozen=True, slots=True)
class Fault:
    """A scheduled fault. ``kind``: link_down, link_up, partition, delay_spike."""

    kind: str
    at: float
    until: float | None = None
    link: tuple[str, str] | None = None
    nodes: tuple[str, ...] = ()
    extra_delay: float = 0.0


class _Field:
    """Check helpers bound to one source name and one path prefix."""

    def __init__(self, source: str, path: str) -> None:
        self.source, self.path = source, path

    def fail(self, name: str, message: str) -> TopologyError:
        where = f"{self.path}.{name}" if self.path and name else (self.path or name)
        return TopologyError(f"{self.source}: {where}: {message}")

    def number(
        self, data: Mapping[str, Any], name: str, *, lo: float | None = None,
        lo_open: bool = False, hi: float | None = None, optional: bool = True,
        integer: bool = False,
    ) -> Any:
        if name not in data or data[name] is None:
            if optional:
                return data.get(name)
            raise self.fail(name, "is required")
        value = data[name]
        kind = "an integer" if integer else "a number"
        if isinstance(value, bool) or not isinstance(value, int | float) or (
            integer and not isinstance(value, int)
        ):
            raise self.fail(name, f"must be {kind}, got {value!r}")
        if isinstance(value, float) and math.isnan(value):
            raise self.fail(name, "must be a number, got nan")
        if lo is not None and (value <= lo if lo_open else value < lo):
            raise self.fail(name, f"must be {'>' if lo_open else '>='} {lo:g}, got {value}")
        if hi is not None and value > hi:
            raise self.fail(name, f"must be <= {hi:g}, got {value}")
        return value

    def string(self, data: Mapping[str, Any], name: str, *, optional: bool = True) -> Any:
        value = data.get(name)
        if value is None:
            if optional:
                return None
            raise self.fail(name, "is required")
        if not isinstance(value, str) or not value:
            raise self.fail(name, f"must be a non-empty string, got {value!r}")
        return value

    def known(self, data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
        if not isinstance(data, Mapping):
            raise self.fail("", f"must be a mapping, got {type(data).__name__}")
        for key in data:
            if key not in allowed:
                raise self.fail(
                    str(key), f"unknown field (allowed: {', '.join(allowed)})"
                )


def check_node_attrs(kind: str, attrs: Mapping[str, Any], path: str, source: str) -> None:
    """Validate the attributes of one node."""
    f = _Field(source, path)
    if kind not in NODE_KINDS:
        raise f.fail("type", f"must be one of {', '.join(NODE_KINDS)}, got {kind!r}")
    f.known(attrs, NODE_FIELDS)
    for name in ("domain", "user", "address"):
        f.string(attrs, name)
    if kind in ("proxy", "registrar") and attrs.get("domain") is None:
        raise f.fail("domain", f"is required for a {kind}")
    f.number(attrs, "processing_delay", lo=0.0)
    f.number(attrs, "capacity", lo=0.0, lo_open=True)
    f.number(attrs, "queue", lo=0, integer=True)
    if kind == "trunk":
        f.number(attrs, "channels", lo=0, integer=True, optional=False)
    elif attrs.get("channels") is not None:
        raise f.fail("channels", f"only a trunk has channels, not a {kind}")
    if attrs.get("params") is not None and not isinstance(attrs["params"], Mapping):
        raise f.fail("params", "must be a mapping")


def check_link_params(params: Mapping[str, Any], path: str, source: str) -> None:
    """Validate link parameters (see :class:`simvoip.sim.link.LinkParams`)."""
    f = _Field(source, path)
    f.known(params, LINK_FIELDS)
    f.number(params, "delay", lo=0.0)
    f.number(params, "jitter", lo=0.0)
    dist = params.get("jitter_dist")
    if dist is not None and dist not in JITTER_DISTS:
        raise f.fail("jitter_dist", f"must be one of {', '.join(JITTER_DISTS)}, got {dist!r}")
    f.number(params, "jitter_shape", lo=2.0, lo_open=True)
    f.number(params, "bandwidth", lo=0.0, lo_open=True)
    f.number(params, "queue", lo=1, integer=True)
    for name in ("loss", "duplicate", "reorder"):
        f.number(params, name, lo=0.0, hi=1.0)
    f.number(params, "reorder_delay", lo=0.0)
    f.number(params, "mtu", lo=68, integer=True)
    red = params.get("red")
    if red is not None:
        r = _Field(source, f"{path}.red")
        r.known(red, ("min_th", "max_th", "max_p", "weight"))
        lo = r.number(red, "min_th", lo=0.0, optional=False)
        r.number(red, "max_th", lo=lo, lo_open=True, optional=False)
        r.number(red, "max_p", lo=0.0, lo_open=True, hi=1.0)
        r.number(red, "weight", lo=0.0, lo_open=True, hi=1.0)
        if params.get("bandwidth") is None or params.get("queue") is None:
            raise f.fail("red", "needs bandwidth and queue on the same link")
    model = params.get("loss_model")
    if model is not None:
        _check_loss_model(model, f"{path}.loss_model", source, params.get("loss", 0.0))
    faults = params.get("faults")
    if faults is not None:
        if not isinstance(faults, list):
            raise f.fail("faults", "must be a list")
        for i, item in enumerate(faults):
            check_fault(item, f"{path}.faults[{i}]", source, link_level=True)


def _check_loss_model(model: Any, path: str, source: str, loss: float) -> None:
    f = _Field(source, path)
    if not isinstance(model, Mapping):
        raise f.fail("", "must be a mapping with a type")
    kind = model.get("type", "bernoulli")
    allowed = {
        "bernoulli": ("type", "p"),
        "gilbert_elliott": ("type", "p", "r", "h", "k", "mean_loss", "mean_burst"),
        "trace": ("type", "pattern", "repeat"),
    }
    if not isinstance(kind, str) or kind not in allowed:
        raise f.fail("type", f"must be one of {', '.join(allowed)}, got {kind!r}")
    f.known(model, allowed[kind])
    if kind == "gilbert_elliott":
        if "mean_loss" in model or "mean_burst" in model:
            f.number(model, "mean_loss", lo=0.0, hi=1.0, optional=False)
            f.number(model, "mean_burst", lo=1.0, optional=False)
        else:
            for name in ("p", "r"):
                f.number(model, name, lo=0.0, hi=1.0, optional=False)
            for name in ("h", "k"):
                f.number(model, name, lo=0.0, hi=1.0)
    elif kind == "bernoulli":
        f.number(model, "p", lo=0.0, hi=1.0)
    elif kind == "trace":
        pattern = model.get("pattern")
        if not isinstance(pattern, list) or not pattern or any(
            isinstance(v, bool) or v not in (0, 1) for v in pattern
        ):
            raise f.fail("pattern", "must be a non-empty list of 0 and 1")
    try:
        make_loss_model(float(loss or 0.0), model)
    except (ValueError, KeyError, TypeError) as exc:
        raise f.fail("", str(exc)) from None


def check_fault(
    item: Any, path: str, source: str, *, link_level: bool = False
) -> None:
    """Validate one fault entry (top-level ``faults`` or a link's ``faults``)."""
    f = _Field(source, path)
    if link_level:
        f.known(item, ("type", "at", "until", "extra_delay"))
        types: tuple[str, ...] = LINK_FAULT_TYPES
    else:
        f.known(item, ("type", "at", "until", "link", "nodes", "extra_delay"))
        types = FAULT_TYPES
    kind = item.get("type")
    if kind not in types:
        raise f.fail("type", f"must be one of {', '.join(types)}, got {kind!r}")
    at = f.number(item, "at", lo=0.0, optional=False)
    f.number(item, "until", lo=at, lo_open=True)
    if kind == "delay_spike":
        f.number(item, "extra_delay", lo=0.0, optional=False)
        if item.get("until") is None:
            raise f.fail("until", f"is required for {kind}")
    if not link_level:
        if kind == "partition":
            nodes = item.get("nodes")
            if not isinstance(nodes, list) or not nodes or not all(
                isinstance(n, str) for n in nodes
            ):
                raise f.fail("nodes", "must be a non-empty list of node names")
        else:
            link = item.get("link")
            if not isinstance(link, list) or len(link) != 2 or not all(
                isinstance(n, str) for n in link
            ):
                raise f.fail("link", "must be a list of two node names")


def check_call(item: Any, path: str, source: str) -> CallSpec:
    """Validate one ``calls`` entry: ``{from, to, at, duration}``."""
    f = _Field(source, path)
    f.known(item, ("from", "to", "at", "duration"))
    caller = f.string(item, "from", optional=False)
    callee = f.string(item, "to", optional=False)
    at = f.number(item, "at", lo=0.0, optional=False)
    duration = f.number(item, "duration", lo=0.0, lo_open=True, optional=False)
    return CallSpec(caller, callee, float(at), float(duration))


def _names(f: _Field, item: Mapping[str, Any], name: str, *, optional: bool) -> tuple[str, ...]:
    value = item.get(name)
    if value is None and optional:
        return ()
    if isinstance(value, str) and value:
        return (value,)
    if not isinstance(value, list) or not value or not all(
        isinstance(v, str) and v for v in value
    ):
        raise f.fail(name, f"must be a node name or a non-empty list of them, got {value!r}")
    return tuple(value)


def _holding(f: _Field, item: Mapping[str, Any]) -> dict[str, Any]:
    holding = item.get("holding", "exponential")
    if holding not in HOLDING_KINDS:
        raise f.fail("holding", f"must be one of {', '.join(HOLDING_KINDS)}, got {holding!r}")
    durations: tuple[float, ...] = ()
    if holding == "list":
        raw = item.get("durations")
        if not isinstance(raw, list) or not raw or any(
            isinstance(v, bool) or not isinstance(v, int | float) or not v > 0
            or not math.isfinite(v) for v in raw
        ):
            raise f.fail("durations", f"must be a non-empty list of durations > 0, got {raw!r}")
        durations = tuple(float(v) for v in raw)
        mean = f.number(item, "mean_duration", lo=0.0, lo_open=True)
        mean = sum(durations) / len(durations) if mean is None else mean
    else:
        if item.get("durations") is not None:
            raise f.fail("durations", "needs holding: list")
        mean = f.number(item, "mean_duration", lo=0.0, lo_open=True, optional=False)
    profile: list[tuple[float, float]] = []
    raw_profile = item.get("profile")
    if raw_profile is not None:
        if not isinstance(raw_profile, list) or not raw_profile:
            raise f.fail("profile", "must be a non-empty list of [from_time, rate] steps")
        last = -math.inf
        for step in raw_profile:
            if (not isinstance(step, list | tuple) or len(step) != 2
                    or any(isinstance(v, bool) or not isinstance(v, int | float)
                           or not math.isfinite(v) for v in step)
                    or step[0] < 0 or step[1] < 0 or step[0] <= last):
                raise f.fail("profile", "must be [from_time, rate] steps with increasing "
                             f"times >= 0 and rates >= 0, got {step!r}")
            last = step[0]
            profile.append((float(step[0]), float(step[1])))
    return {"holding": holding, "durations": durations, "mean_duration": float(mean),
            "profile": tuple(profile)}


def check_source(item: Any, path: str, source: str) -> Any:
    """Validate one ``traffic`` entry (see ``topologies/README.md``, ``traffic[i]``).

    ``{type: poisson, from, to, rate, mean_duration, start, stop, holding, durations,
    profile}``, ``{type: population, from: [members], to: [targets], rate, ...}`` or
    ``{type: register_storm, from: [members], at, spread, clear_bindings}``.
    """
    f = _Field(source, path)
    if not isinstance(item, Mapping):
        raise f.fail("", f"must be a mapping, got {type(item).__name__}")
    kind = item.get("type", "poisson")
    if kind not in TRAFFIC_TYPES:
        raise f.fail("type", f"must be {', '.join(TRAFFIC_TYPES)}, got {kind!r}")
    if kind == "register_storm":
        f.known(item, ("type", "from", "at", "spread", "clear_bindings"))
        members = _names(f, item, "from", optional=False)
        at = f.number(item, "at", lo=0.0, optional=False)
        spread = f.number(item, "spread", lo=0.0) or 0.0
        clear = item.get("clear_bindings", False)
        if not isinstance(clear, bool):
            raise f.fail("clear_bindings", f"must be true or false, got {clear!r}")
        return RegistrationStorm(members, float(at), float(spread), clear)
    common = ("type", "from", "to", "rate", "mean_duration", "start", "stop", "holding",
              "durations", "profile")
    f.known(item, common)
    profiled = item.get("profile") is not None
    rate = f.number(item, "rate", lo=0.0, lo_open=True, optional=profiled)
    hold = _holding(f, item)
    start = f.number(item, "start", lo=0.0) or 0.0
    stop = f.number(item, "stop", lo=start, lo_open=True)
    end = math.inf if stop is None else float(stop)
    rate = 0.0 if rate is None else float(rate)
    if kind == "population":
        members = _names(f, item, "from", optional=False)
        targets = _names(f, item, "to", optional=True)
        if not targets and len(members) < 2:
            raise f.fail("from", "a population calling itself needs two members or more")
        return PopulationSource(members, rate, hold["mean_duration"], targets, float(start), end,
                                hold["holding"], hold["durations"], hold["profile"])
    caller = f.string(item, "from", optional=False)
    callee = f.string(item, "to", optional=False)
    return PoissonSource(caller, callee, rate, hold["mean_duration"], float(start), end,
                         hold["holding"], hold["durations"], hold["profile"])
