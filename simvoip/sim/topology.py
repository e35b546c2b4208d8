"""Network topology: a networkx graph of SIP elements and links, built in code or from YAML.

Nodes carry ``type`` (endpoint, proxy, registrar, router) and plain attributes
(``domain``, ``user``, ``processing_delay``, ``capacity`` ...); links carry their
parameters as plain attribute dicts (see :class:`simvoip.sim.link.LinkParams`).
Everything is checked on the way in; a bad value raises one
:class:`TopologyError` naming the source, the field and the problem.

>>> topo = Topology()
>>> topo.add_endpoint("alice", domain="a.example")
>>> topo.add_proxy("proxy.a", domain="a.example")
>>> topo.add_endpoint("bob", domain="b.example")
>>> topo.add_proxy("proxy.b", domain="b.example")
>>> topo.add_link("alice", "proxy.a", delay=0.010)
>>> topo.add_link("proxy.a", "proxy.b", delay=0.040, jitter=0.005, loss=0.02)
>>> topo.add_link("proxy.b", "bob", delay=0.010)
>>> topo.resolve("b.example"), topo.resolve("bob")
('proxy.b', 'bob')
>>> topo.shortest_path("alice", "bob")
['alice', 'proxy.a', 'proxy.b', 'bob']
>>> topo.add_link("alice", "carol", delay=-1)
Traceback (most recent call last):
...
simvoip.sim.schema.TopologyError: <code>: add_link('alice', 'carol'): unknown node 'carol'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import networkx as nx
import yaml

from simvoip.sim.schema import (
    CallSpec,
    Fault,
    PoissonSource,
    TopologyError,
    _Field,
    check_call,
    check_fault,
    check_link_params,
    check_node_attrs,
    check_source,
)

__all__ = [
    "Topology", "TopologyError", "load_topology", "CallSpec", "PoissonSource", "Fault",
    "link_name", "Weight",
]

TOP_LEVEL = ("name", "description", "seed", "media", "nodes", "links", "calls", "traffic",
             "faults")

#: A weight for routing: an edge attribute name or ``f(u, v, attrs) -> float``.
Weight = str | Callable[[str, str, dict[str, Any]], float]


def link_name(a: str, b: str) -> str:
    """The name of the link between ``a`` and ``b`` as declared (``"a--b"``)."""
    return f"{a}--{b}"


class Topology:
    """SIP elements and links over a :class:`networkx.Graph` (``topo.graph``)."""

    def __init__(self, *, name: str = "topology", seed: int | None = None,
                 source: str = "<code>") -> None:
        self.graph: nx.Graph = nx.Graph()
        self.name = name
        self.seed = seed
        self._ip_cache: dict[str, str] | None = None
        #: host -> node answers of :meth:`resolve`, for the current node count.
        self._resolve_cache: tuple[int, dict[str, str | None]] | None = None
        #: Carry RTP for answered calls (``Simulation(media=...)`` overrides it).
        self.media = True
        self.source = source
        self.calls: list[CallSpec] = []
        self.traffic: list[PoissonSource] = []
        self.faults: list[Fault] = []

    # -- building --------------------------------------------------------------------
    def _add_node(self, kind: str, name: str, attrs: dict[str, Any], path: str) -> None:
        f = _Field(self.source, path)
        if not isinstance(name, str) or not name:
            raise f.fail("name", f"must be a non-empty string, got {name!r}")
        if name in self.graph:
            raise f.fail("name", f"duplicate node {name!r}")
        check_node_attrs(kind, attrs, path, self.source)
        clean = {k: v for k, v in attrs.items() if v is not None}
        self.graph.add_node(name, type=kind, **clean)
        self._ip_cache = None
        self._resolve_cache = None

    def add_endpoint(self, name: str, domain: str | None = None, *, _path: str | None = None,
                     **attrs: Any) -> None:
        """Add a user agent; it registers at its domain's proxy/registrar."""
        self._add_node("endpoint", name, {"domain": domain, **attrs},
                       _path or f"add_endpoint({name!r})")

    def add_proxy(self, name: str, domain: str | None = None, *, _path: str | None = None,
                  **attrs: Any) -> None:
        """Add a proxy that is also the registrar of ``domain``."""
        self._add_node("proxy", name, {"domain": domain, **attrs},
                       _path or f"add_proxy({name!r})")

    def add_registrar(self, name: str, domain: str | None = None, *,
                      _path: str | None = None, **attrs: Any) -> None:
        """Add a stand-alone registrar for ``domain``."""
        self._add_node("registrar", name, {"domain": domain, **attrs},
                       _path or f"add_registrar({name!r})")

    def add_router(self, name: str, *, _path: str | None = None, **attrs: Any) -> None:
        """Add a plain IP router (forwards packets, no SIP)."""
        self._add_node("router", name, attrs, _path or f"add_router({name!r})")

    def add_link(self, a: str, b: str, *, _path: str | None = None, **params: Any) -> None:
        """Connect ``a`` and ``b`` with a bidirectional link (parameters per direction)."""
        path = _path or f"add_link({a!r}, {b!r})"
        f = _Field(self.source, path)
        for end in (a, b):
            if end not in self.graph:
                raise f.fail("", f"unknown node {end!r}")
        if a == b:
            raise f.fail("", f"a link needs two different nodes, got {a!r} twice")
        if self.graph.has_edge(a, b):
            raise f.fail("", f"duplicate link between {a!r} and {b!r}")
        check_link_params(params, path, self.source)
        clean = {k: v for k, v in params.items() if v is not None}
        clean.setdefault("delay", 0.0)
        self.graph.add_edge(a, b, name=link_name(a, b), ends=(a, b), **clean)

    def add_call(self, caller: str, callee: str, at: float, duration: float) -> None:
        """Schedule a call (placed by the UA cores)."""
        spec = check_call({"from": caller, "to": callee, "at": at, "duration": duration},
                          f"add_call({caller!r}, {callee!r})", self.source)
        self._check_caller(spec.caller, f"add_call({caller!r}, {callee!r})", spec.callee)
        self.calls.append(spec)

    def add_fault(self, kind: str, at: float, **fields: Any) -> None:
        """Schedule a fault (link_down, link_up, partition, delay_spike)."""
        item = {"type": kind, "at": at, **fields}
        if isinstance(item.get("link"), tuple):
            item["link"] = list(item["link"])
        self.faults.append(self._fault(item, f"add_fault({kind!r})"))

    def _fault(self, item: Any, path: str) -> Fault:
        check_fault(item, path, self.source)
        f = _Field(self.source, path)
        link = None
        if item.get("link") is not None:
            a, b = item["link"]
            if not self.graph.has_edge(a, b):
                raise f.fail("link", f"no link between {a!r} and {b!r}")
            link = (a, b)
        for n in item.get("nodes") or ():
            if n not in self.graph:
                raise f.fail("nodes", f"unknown node {n!r}")
        return Fault(item["type"], float(item["at"]),
                     None if item.get("until") is None else float(item["until"]),
                     link, tuple(item.get("nodes") or ()), float(item.get("extra_delay", 0.0)))

    def _check_caller(self, caller: str, path: str, callee: str | None = None) -> None:
        f = _Field(self.source, path)
        if self.graph.nodes.get(caller, {}).get("type") != "endpoint":
            raise f.fail("from", f"{caller!r} is not an endpoint")
        if callee is not None:
            target = callee[4:] if callee.startswith("sip:") else callee
            host = target.rsplit("@", 1)[-1]
            if self.resolve(host) is None:
                raise f.fail("to", f"{callee!r}: no node or domain {host!r} in the topology")

    # -- queries ---------------------------------------------------------------------
    def nodes(self, kind: str | None = None) -> list[str]:
        """Node names in insertion order, optionally only of one ``kind``."""
        return [n for n, d in self.graph.nodes(data=True) if kind is None or d["type"] == kind]

    def ip_addresses(self) -> dict[str, str]:
        """An IPv4 address per node: its ``address`` if that is IPv4, else 10.0.x.y.

        Synthetic addresses follow the node order (10.0.0.1, 10.0.0.2 ...) and
        skip any given explicitly. They go into SDP ``c=`` lines and pcap
        headers, so Wireshark ties RTP streams to the SDP that set them up.

        >>> t = Topology(); t.add_endpoint("a"); t.add_proxy("p", domain="x", address="192.0.2.7")
        >>> t.add_endpoint("b")
        >>> t.ip_addresses()
        {'a': '10.0.0.1', 'p': '192.0.2.7', 'b': '10.0.0.2'}
        """
        import ipaddress

        if self._ip_cache is not None and len(self._ip_cache) == len(self.graph):
            return dict(self._ip_cache)
        out: dict[str, str] = {}
        taken: set[str] = set()
        for name, attrs in self.graph.nodes(data=True):
            address = attrs.get("address")
            try:
                if address is not None and ipaddress.ip_address(address).version == 4:
                    out[name] = address
                    taken.add(address)
            except ValueError:
                pass
        counter = 0
        for name in self.nodes():
            if name in out:
                continue
            while True:
                counter += 1
                address = str(ipaddress.IPv4Address(0x0A000000 + counter))
                if address not in taken:
                    break
            out[name] = address
        self._ip_cache = {name: out[name] for name in self.nodes()}
        return dict(self._ip_cache)

    def ip_address(self, node: str) -> str:
        """The IPv4 address of ``node`` (see :meth:`ip_addresses`)."""
        if self._ip_cache is None or len(self._ip_cache) != len(self.graph):
            self.ip_addresses()
        assert self._ip_cache is not None
        return self._ip_cache[node]

    def kind(self, name: str) -> str:
        return str(self.graph.nodes[name]["type"])

    def links(self) -> list[tuple[str, str, dict[str, Any]]]:
        """``(a, b, attrs)`` for every link, ``a``/``b`` as declared."""
        return [(*d["ends"], d) for _, _, d in self.graph.edges(data=True)]

    def proxy_for(self, domain: str) -> str | None:
        """The first proxy (or else registrar) serving ``domain``."""
        for kind in ("proxy", "registrar"):
            for n, d in self.graph.nodes(data=True):
                if d["type"] == kind and d.get("domain") == domain:
                    return str(n)
        return None

    def resolve(self, host: str) -> str | None:
        """The node a SIP URI host names: a node name, an ``address``, or a domain.

        A domain resolves to its proxy (or registrar); a domain with no proxy
        but exactly one node resolves to that node. ``None`` if unknown.
        """
        if host in self.graph:
            return host
        cache = self._resolve_cache
        if cache is not None and cache[0] == len(self.graph) and host in cache[1]:
            return cache[1][host]
        found = self._resolve(host)
        if cache is None or cache[0] != len(self.graph):
            cache = self._resolve_cache = (len(self.graph), {})
        cache[1][host] = found
        return found

    def _resolve(self, host: str) -> str | None:
        for n, d in self.graph.nodes(data=True):
            if d.get("address") == host:
                return str(n)
        proxy = self.proxy_for(host)
        if proxy is not None:
            return proxy
        members = [n for n, d in self.graph.nodes(data=True) if d.get("domain") == host]
        return str(members[0]) if len(members) == 1 else None

    def shortest_path(self, src: str, dst: str, weight: Weight = "delay",
                      down: Iterable[tuple[str, str]] = ()) -> list[str] | None:
        """Shortest path avoiding the ``down`` links, or ``None`` if there is none."""
        down = list(down)
        graph = nx.restricted_view(self.graph, [], down) if down else self.graph
        try:
            return list(nx.shortest_path(graph, src, dst, weight=weight))
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            return None

    # -- loading ---------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> Topology:
        """Build from the YAML schema (``nodes``, ``links``, ``calls``, ``traffic``, ``faults``, ``seed``)."""
        top = _Field(source, "")
        if not isinstance(data, Mapping):
            raise TopologyError(f"{source}: top level must be a mapping, got {type(data).__name__}")
        top.known(data, TOP_LEVEL)
        seed = top.number(data, "seed", integer=True, lo=0)
        topo = cls(name=str(data.get("name") or Path(source).stem), seed=seed, source=source)
        if "media" in data:
            if not isinstance(data["media"], bool):
                raise TopologyError(f"{source}: media: must be true or false, got {data['media']!r}")
            topo.media = data["media"]
        nodes = _list(data, "nodes", source, required=True)
        for i, item in enumerate(nodes):
            path = f"nodes[{i}]"
            if not isinstance(item, Mapping):
                raise TopologyError(f"{source}: {path}: must be a mapping with name and type")
            attrs = dict(item)
            name = attrs.pop("name", None)
            kind = attrs.pop("type", None)
            if name is None:
                raise TopologyError(f"{source}: {path}.name: is required")
            if kind is None:
                raise TopologyError(f"{source}: {path}.type: is required")
            if not isinstance(kind, str):
                raise TopologyError(f"{source}: {path}.type: must be a string, got {kind!r}")
            topo._add_node(kind, name, attrs, path)
        for i, item in enumerate(_list(data, "links", source)):
            path = f"links[{i}]"
            if not isinstance(item, Mapping):
                raise TopologyError(f"{source}: {path}: must be a mapping with 'between'")
            params = dict(item)
            ends = params.pop("between", None)
            if not isinstance(ends, list) or len(ends) != 2:
                raise TopologyError(
                    f"{source}: {path}.between: must be a list of two node names, got {ends!r}"
                )
            topo.add_link(ends[0], ends[1], _path=path, **params)
        for i, item in enumerate(_list(data, "calls", source)):
            spec = check_call(item, f"calls[{i}]", source)
            topo._check_caller(spec.caller, f"calls[{i}]", spec.callee)
            topo.calls.append(spec)
        for i, item in enumerate(_list(data, "traffic", source)):
            src = check_source(item, f"traffic[{i}]", source)
            topo._check_caller(src.caller, f"traffic[{i}]", src.callee)
            topo.traffic.append(src)
        for i, item in enumerate(_list(data, "faults", source)):
            topo.faults.append(topo._fault(item, f"faults[{i}]"))
        return topo


def _list(data: Mapping[str, Any], key: str, source: str, required: bool = False) -> list[Any]:
    value = data.get(key)
    if value is None:
        if required:
            raise TopologyError(f"{source}: {key}: is required")
        return []
    if not isinstance(value, list):
        raise TopologyError(f"{source}: {key}: must be a list, got {type(value).__name__}")
    return value


def load_topology(path: str | Path) -> Topology:
    """Load and validate a topology YAML file.

    >>> from pathlib import Path
    >>> root = Path(__file__).resolve().parents[2]
    >>> topo = load_topology(root / "topologies" / "trapezoid.yaml")
    >>> topo.nodes("proxy")
    ['proxy.a', 'proxy.b']
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TopologyError(f"{source}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TopologyError(f"{source}: not valid YAML: {exc}") from None
    return Topology.from_dict(data, source=source)
