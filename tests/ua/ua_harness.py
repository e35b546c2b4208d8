"""A tiny deterministic network for the sans-I/O cores (no simpy).

Every core (UserAgent, Proxy) sits at a host name. ``Send`` effects are
encoded to bytes, carried with a fixed delay (optionally dropped by a
predicate or a seeded loss rate), parsed again and fed to the core at the
destination host. ``StartTimer`` / ``CancelTimer`` go to one timer heap.
Everything runs in simulated time, one event at a time, in insertion order
on ties: one seed, one run.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simvoip.sip.effects import Address, CancelTimer, Send, StartTimer
from simvoip.sip.message import Request, Response, parse_message


@dataclass(frozen=True)
class Hop:
    """One message on the wire (kept for assertions, like a trace row)."""

    time: float
    src: str
    dst: str
    message: Request | Response
    dropped: bool

    @property
    def label(self) -> str:
        m = self.message
        if isinstance(m, Request):
            return f"{m.method}"
        return f"{m.status_code}"


class Network:
    def __init__(self, delay: float = 0.01, *, loss: float = 0.0, seed: int = 0,
                 drop: Callable[[str, str, Request | Response, float], bool] | None = None,
                 aliases: dict[str, str] | None = None) -> None:
        self.delay = delay
        self.loss = loss
        self.rng = random.Random(seed)
        self.drop = drop
        self.aliases = dict(aliases or {})
        self.nodes: dict[str, Any] = {}
        self.now = 0.0
        self._heap: list[tuple[float, int, str, tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._timers: dict[tuple[str, str, Any], int] = {}
        self.hops: list[Hop] = []
        self.events: dict[str, list[Any]] = {}

    def add(self, host: str, core: Any) -> Any:
        self.nodes[host] = core
        self.events[host] = []
        return core

    def resolve(self, address: Address) -> str:
        return self.aliases.get(address.host, address.host)

    # -- feeding effects ---------------------------------------------------------------------

    def feed(self, host: str, outputs: list[Any]) -> list[Any]:
        """Carry out ``outputs`` of the core at ``host``; return its user events."""
        events = []
        for o in outputs:
            if isinstance(o, Send):
                dst = self.resolve(o.destination)
                data = o.message.encode()
                lost = (self.drop is not None and self.drop(host, dst, o.message, self.now)) or (
                    self.loss > 0 and self.rng.random() < self.loss)
                self.hops.append(Hop(self.now, host, dst, parse_message(data), lost))
                if not lost and dst in self.nodes:
                    self._push(self.now + self.delay, "deliver", (host, dst, data))
            elif isinstance(o, StartTimer):
                gen = next(self._seq)
                self._timers[(host, o.name, o.key)] = gen
                self._push(o.at, "timer", (host, o.name, o.key, gen))
            elif isinstance(o, CancelTimer):
                self._timers.pop((host, o.name, o.key), None)
            else:
                events.append(o)
                self.events[host].append(o)
        return events

    def _push(self, at: float, kind: str, payload: tuple[Any, ...]) -> None:
        heapq.heappush(self._heap, (at, next(self._seq), kind, payload))

    def at(self, time: float, action: Callable[[], tuple[str, list[Any]]]) -> None:
        """Run ``action()`` (returning (host, outputs)) at simulated ``time``."""
        self._push(time, "action", (action,))

    def call_at(self, time: float, host: str, fn: Callable[[float], list[Any]]) -> None:
        """At simulated ``time``, call ``fn(time)`` (a core method) and carry out its outputs."""
        self.at(time, lambda: (host, fn(time)))

    # -- running ---------------------------------------------------------------------------

    def run(self, until: float = 1e9) -> None:
        while self._heap and self._heap[0][0] <= until:
            at, _, kind, payload = heapq.heappop(self._heap)
            self.now = at
            if kind == "deliver":
                src, dst, data = payload
                core = self.nodes[dst]
                self.feed(dst, core.receive(parse_message(data), Address(src), at))
            elif kind == "timer":
                host, name, key, gen = payload
                if self._timers.get((host, name, key)) != gen:
                    continue
                del self._timers[(host, name, key)]
                self.feed(host, self.nodes[host].handle_timer(name, key, at))
            else:
                host, outputs = payload[0]()
                self.feed(host, outputs)
        self.now = max(self.now, until) if until < 1e9 else self.now

    @property
    def pending_timers(self) -> int:
        return len(self._timers)

    # -- views -----------------------------------------------------------------------------

    def delivered(self, call_id: str | None = None) -> list[Hop]:
        return [h for h in self.hops if not h.dropped
                and (call_id is None or h.message.call_id == call_id)]

    def ladder(self, call_id: str | None = None) -> list[tuple[str, str, str]]:
        """(src, dst, label) of every delivered message, in order."""
        return [(h.src, h.dst, h.label) for h in self.delivered(call_id)]

    def of(self, host: str, kind: type) -> list[Any]:
        return [e for e in self.events[host] if isinstance(e, kind)]
