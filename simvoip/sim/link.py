"""One direction of a link: queue, serialisation, propagation, jitter, loss, faults.

:class:`LinkDirection` is pure arithmetic on simulated time (no SimPy): the
transport offers it a packet of ``wire_size`` bytes at time ``now`` and gets
back either a drop cause or an arrival time (plus a second arrival time when
the packet is duplicated). The order of operations for one packet is:

1. link down -> drop ``link-down``; datagram larger than the MTU -> drop ``mtu``;
2. finite FIFO queue in front of the serialiser (``queue`` packets in the
   system, including the one being sent): full -> drop ``queue`` (tail drop),
   or with ``red`` an early random drop -> ``red``;
3. serialisation ``8 * wire_size / bandwidth`` after the previous packet;
4. loss on the wire (loss model) -> drop ``loss``;
5. propagation ``delay`` + jitter + any active delay spike. Arrivals keep FIFO
   order (a packet never overtakes the previous one) unless it is picked for
   reordering (probability ``reorder``): then it is held back by
   ``reorder_delay`` and later packets may overtake it;
6. duplication (probability ``duplicate``): a second copy arrives right after.

Jitter (``jitter`` is a scale in seconds, ``jitter_dist`` picks the law):
``uniform`` delay + U(-jitter, +jitter); ``normal`` delay + N(0, jitter)
truncated so the total stays >= 0; ``exponential`` delay + Exp(mean jitter);
``pareto`` delay + Lomax(mean jitter, shape ``jitter_shape``).

>>> import random
>>> params = LinkParams(delay=0.010, bandwidth=1_000_000)
>>> d = LinkDirection("a->b", params, random.Random(1))
>>> d.transmit(1250, now=0.0)          # 10 ms serialisation + 10 ms propagation
(None, 0.02, None)
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from simvoip.sim.loss import LossModel, make_loss_model

__all__ = ["LinkParams", "LinkDirection", "JITTER_DISTS", "DropCause", "mean_jitter_variance"]

#: Supported jitter laws.
JITTER_DISTS = ("uniform", "normal", "exponential", "pareto")

DropCause = str


@dataclass(frozen=True, slots=True)
class LinkParams:
    """Parameters of a link (both directions), in SI units: seconds, bit/s, bytes.

    >>> LinkParams(delay=0.04, jitter=0.005, loss=0.02).mtu
    1500
    """

    delay: float = 0.0
    jitter: float = 0.0
    jitter_dist: str = "uniform"
    jitter_shape: float = 3.0
    bandwidth: float | None = None
    queue: int | None = None
    red: Mapping[str, float] | None = None
    loss: float = 0.0
    loss_model: Mapping[str, Any] | None = None
    duplicate: float = 0.0
    reorder: float = 0.0
    reorder_delay: float | None = None
    mtu: int | None = 1500
    faults: tuple[Mapping[str, Any], ...] = field(default=())

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any]) -> LinkParams:
        """From a (validated) link attribute dict; unknown keys are ignored."""
        names = cls.__dataclass_fields__
        kwargs = {k: v for k, v in attrs.items() if k in names}
        if "faults" in kwargs:
            kwargs["faults"] = tuple(kwargs["faults"] or ())
        return cls(**kwargs)


class LinkDirection:
    """The state of one direction of one link (see the module docstring)."""

    __slots__ = (
        "name", "params", "rng", "loss_model", "up", "extra_delay", "busy_until",
        "backlog", "last_arrival", "red_avg", "sent", "delivered", "drops",
        "queued", "busy_time", "max_backlog", "_per_bit", "_jitter",
    )

    def __init__(self, name: str, params: LinkParams, rng: random.Random) -> None:
        self.name = name
        self.params = params
        self.rng = rng
        self.loss_model: LossModel = make_loss_model(params.loss, params.loss_model)
        self.up = True
        self.extra_delay = 0.0
        self.busy_until = 0.0
        self.backlog: deque[float] = deque()
        self.last_arrival = 0.0
        self.red_avg = 0.0
        self.sent = 0
        self.delivered = 0
        self.drops: dict[str, int] = {}
        #: Packets that waited behind others, seconds spent sending, deepest backlog.
        self.queued = 0
        self.busy_time = 0.0
        self.max_backlog = 0
        self._per_bit = 8.0 / params.bandwidth if params.bandwidth else 0.0
        self._jitter = params.jitter > 0.0

    def transmit(
        self, wire_size: int, now: float, datagram: bool = True
    ) -> tuple[DropCause | None, float, float | None]:
        """Offer a packet; return ``(drop cause or None, arrival, duplicate arrival or None)``."""
        self.sent += 1
        p = self.params
        if not self.up:
            return self._drop("link-down")
        if datagram and p.mtu is not None and wire_size > p.mtu:
            return self._drop("mtu")
        start = now
        if self._per_bit:
            backlog = self.backlog
            while backlog and backlog[0] <= now:
                backlog.popleft()
            if p.queue is not None:
                if len(backlog) >= p.queue:
                    return self._drop("queue")
                if p.red is not None and self._red_drop(len(backlog)):
                    return self._drop("red")
            if self.busy_until > now:
                start = self.busy_until
                self.queued += 1
            else:
                start = now
            serialisation = wire_size * self._per_bit
            finish = start + serialisation
            self.busy_until = finish
            self.busy_time += serialisation
            backlog.append(finish)
            if len(backlog) > self.max_backlog:
                self.max_backlog = len(backlog)
            start = finish
        if self.loss_model.lost(self.rng):
            return self._drop("loss")
        arrival = start + p.delay + self.extra_delay
        if self._jitter:
            arrival += self._jitter_sample()
            if arrival < start:
                arrival = start
        held_back = p.reorder > 0.0 and self.rng.random() < p.reorder
        if held_back:
            hold = p.reorder_delay if p.reorder_delay is not None else max(p.delay, 0.001)
            arrival += hold
        elif arrival < self.last_arrival:
            arrival = self.last_arrival  # keep FIFO: no overtaking unless asked
        else:
            self.last_arrival = arrival
        duplicate = None
        if p.duplicate > 0.0 and self.rng.random() < p.duplicate:
            duplicate = arrival
        self.delivered += 1
        return None, arrival, duplicate

    def _drop(self, cause: str) -> tuple[DropCause, float, None]:
        self.drops[cause] = self.drops.get(cause, 0) + 1
        return cause, 0.0, None

    def _red_drop(self, queue_len: int) -> bool:
        # Random Early Detection (Floyd & Jacobson 1993), without the count term.
        red = self.params.red or {}
        weight = red.get("weight", 0.002)
        self.red_avg = (1.0 - weight) * self.red_avg + weight * queue_len
        lo, hi, max_p = red["min_th"], red["max_th"], red.get("max_p", 0.1)
        if self.red_avg < lo:
            return False
        if self.red_avg >= hi:
            return True
        return self.rng.random() < max_p * (self.red_avg - lo) / (hi - lo)

    def _jitter_sample(self) -> float:
        p = self.params
        j = p.jitter
        dist = p.jitter_dist
        rng = self.rng
        if dist == "uniform":
            return rng.uniform(-j, j)
        if dist == "normal":
            # Truncated at 0 total delay by rejection (bounded), then clamped.
            floor = -(p.delay + self.extra_delay)
            for _ in range(16):
                x = rng.gauss(0.0, j)
                if x >= floor:
                    return x
            return floor
        if dist == "exponential":
            return rng.expovariate(1.0 / j)
        if dist == "pareto":
            # Lomax (Pareto II): xm * (U**(-1/a) - 1), mean xm / (a - 1) = jitter.
            shape = p.jitter_shape
            xm = j * (shape - 1.0)
            return xm * (rng.paretovariate(shape) - 1.0)
        raise ValueError(f"unknown jitter_dist {dist!r}")

    @property
    def queue_length(self) -> int:
        """Packets in the system at the time of the last offer."""
        return len(self.backlog)


def mean_jitter_variance(params: LinkParams) -> tuple[float, float]:
    """Theoretical mean and variance of the jitter term (untruncated).

    >>> mean_jitter_variance(LinkParams(jitter=0.01, jitter_dist="exponential"))
    (0.01, 0.0001)
    """
    j, dist = params.jitter, params.jitter_dist
    if dist == "uniform":
        return 0.0, (2 * j) ** 2 / 12.0
    if dist == "normal":
        return 0.0, j * j
    if dist == "exponential":
        return j, j * j
    if dist == "pareto":
        a = params.jitter_shape
        xm = j * (a - 1.0)
        var = xm * xm * a / ((a - 1.0) ** 2 * (a - 2.0)) if a > 2 else math.inf
        return j, var
    raise ValueError(f"unknown jitter_dist {dist!r}")
