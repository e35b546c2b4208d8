"""Gilbert–Elliott packet loss for the media fast path, and BurstR from a loss pattern.

Four-parameter Gilbert–Elliott model (notation of Hasslinger & Hohlfeld, "The
Gilbert-Elliott model for packet loss in real time services on the Internet",
MMB 2008): a two-state Markov chain, Good and Bad, with

* ``p`` = P(Good -> Bad), ``r`` = P(Bad -> Good) per packet,
* ``k`` = P(packet delivered | Good), ``h`` = P(packet delivered | Bad).

``k = 1, h = 0`` is the simple Gilbert model (loss exactly in Bad), ``p = 1 - r``
with ``k = 1, h = 0`` is Bernoulli loss. This is the media layer's own NumPy
version (media must not import :mod:`simvoip.sim`); the simulator's link
models live in ``simvoip/sim/loss.py``.

BurstR (G.107): for a 2-state loss process with ``p`` = P(loss | previous
delivered), ``q`` = P(delivered | previous lost), ``BurstR = 1 / (p + q)``; it
is estimated from a measured 0/1 loss pattern by counting transitions.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simvoip.media.errors import LocalProtocolError

__all__ = [
    "GilbertElliott",
    "burst_r",
    "burst_r_array",
    "gilbert_parameters",
]

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class GilbertElliott:
    """Gilbert–Elliott loss parameters (all per packet).

    Examples
    --------
    >>> ge = GilbertElliott.from_loss_and_burst(mean_loss=0.02, mean_burst=4.0)
    >>> round(ge.mean_loss, 6), round(ge.mean_burst_length, 6), round(ge.burst_r, 4)
    (0.02, 4.0, 3.92)
    >>> GilbertElliott.bernoulli(0.05).burst_r
    1.0
    """

    p: float
    r: float
    h: float = 0.0
    k: float = 1.0

    def __post_init__(self) -> None:
        for name in ("p", "r", "h", "k"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise LocalProtocolError(f"Gilbert-Elliott {name}={value} is not a probability")
        if self.p + self.r == 0.0:
            raise LocalProtocolError("Gilbert-Elliott p + r must be positive")

    @classmethod
    def bernoulli(cls, loss: float) -> GilbertElliott:
        """Independent loss with probability ``loss`` (Bad state = lost packet)."""
        if loss <= 0.0:
            return cls(p=0.0, r=1.0)
        return cls(p=loss, r=1.0 - loss)

    @classmethod
    def from_loss_and_burst(cls, mean_loss: float, mean_burst: float) -> GilbertElliott:
        """Simple Gilbert model (k=1, h=0) with the given stationary loss and mean burst length.

        ``r = 1/mean_burst`` and ``p = mean_loss * r / (1 - mean_loss)``.
        """
        p, r = gilbert_parameters(mean_loss, mean_burst)
        return cls(p=p, r=r)

    @classmethod
    def from_mean_loss(cls, mean_loss: float, mean_burst: float) -> GilbertElliott:
        """Alias of :meth:`from_loss_and_burst` (the name used by ``simvoip.sim.loss``)."""
        return cls.from_loss_and_burst(mean_loss, mean_burst)

    @property
    def mean_burst(self) -> float:
        """Alias of :attr:`mean_burst_length` (the name used by ``simvoip.sim.loss``)."""
        return self.mean_burst_length

    @property
    def bad_probability(self) -> float:
        """Stationary P(Bad) = p / (p + r)."""
        return self.p / (self.p + self.r)

    @property
    def mean_loss(self) -> float:
        """Stationary loss probability."""
        pb = self.bad_probability
        return (1 - pb) * (1 - self.k) + pb * (1 - self.h)

    @property
    def mean_burst_length(self) -> float:
        """Mean sojourn in Bad, 1/r (the loss-burst length when k=1, h=0)."""
        return math.inf if self.r == 0 else 1.0 / self.r

    @property
    def burst_r(self) -> float:
        """G.107 BurstR of the simple Gilbert model, 1/(p + r) (valid for k=1, h=0)."""
        return 1.0 / (self.p + self.r)

    def losses(self, n: int, rng: random.Random) -> list[bool]:
        """Loss pattern of ``n`` packets, one Markov step per packet (reference path).

        >>> sum(GilbertElliott(p=0.0, r=1.0).losses(100, random.Random(1)))
        0
        """
        bad = rng.random() < self.bad_probability
        out = []
        for _ in range(n):
            out.append(rng.random() >= (self.h if bad else self.k))
            bad = rng.random() >= self.r if bad else rng.random() < self.p
        return out

    def losses_array(self, shape: tuple[int, int], rng: np.random.Generator) -> BoolArray:
        """Loss matrix of ``shape = (calls, packets)`` (True = lost), vectorised.

        The state sequence is built from alternating geometric sojourn times
        (Good ~ Geom(p), Bad ~ Geom(r)), so no Python loop runs per packet.

        >>> ge = GilbertElliott.from_loss_and_burst(0.05, 3.0)
        >>> lost = ge.losses_array((200, 5000), np.random.default_rng(1))
        >>> lost.shape, round(float(lost.mean()), 2)
        ((200, 5000), 0.05)
        """
        calls, n = shape
        bad = _state_matrix(calls, n, self.p, self.r, self.bad_probability, rng)
        if self.k == 1.0 and self.h == 0.0:
            return bad
        u = rng.random((calls, n))
        return u >= np.where(bad, self.h, self.k)


def _state_matrix(calls: int, n: int, p: float, r: float, pi_bad: float,
                  rng: np.random.Generator) -> BoolArray:
    """Boolean (calls, n) matrix of Bad states of the Markov chain."""
    start_bad = rng.random(calls) < pi_bad
    if p == 0.0 or r == 0.0:
        # Absorbing chain: once Good (p=0) or Bad (r=0) it never leaves.
        if p == 0.0 and r == 0.0:
            return np.repeat(start_bad[:, None], n, axis=1)
        if p == 0.0:
            first_good = np.minimum(rng.geometric(r, calls), n) if r < 1 else np.ones(calls, int)
            bad = np.arange(n)[None, :] < first_good[:, None]
            return bad & start_bad[:, None]
        first_bad = np.minimum(rng.geometric(p, calls), n) if p < 1 else np.ones(calls, int)
        good = np.arange(n)[None, :] < first_bad[:, None]
        return ~(good & ~start_bad[:, None])
    toggles = np.zeros((calls, n + 1), dtype=np.int8)
    cycle = 1.0 / p + 1.0 / r
    runs = int(math.ceil(n / cycle * 1.3)) + 4
    pending = np.arange(calls)
    while pending.size:
        m = pending.size
        good_runs = rng.geometric(p, (m, runs))
        bad_runs = rng.geometric(r, (m, runs))
        # Sojourns alternate starting with the initial state of each call.
        lengths = np.empty((m, 2 * runs), dtype=np.int64)
        first_bad = start_bad[pending]
        lengths[:, 0::2] = np.where(first_bad[:, None], bad_runs, good_runs)
        lengths[:, 1::2] = np.where(first_bad[:, None], good_runs, bad_runs)
        ends = np.cumsum(lengths, axis=1)
        covered = ends[:, -1] >= n
        ok = pending[covered]
        ends_ok = ends[covered]
        rows, cols = np.nonzero(ends_ok < n)
        toggles[ok[rows], ends_ok[rows, cols]] = 1
        pending = pending[~covered]
    state = np.cumsum(toggles[:, :n], axis=1) & 1
    return (state == 1) ^ start_bad[:, None]


def gilbert_parameters(mean_loss: float, mean_burst: float) -> tuple[float, float]:
    """``(p, r)`` of a simple Gilbert model from mean loss (0-1) and mean burst length.

    >>> gilbert_parameters(0.01961, 2.0)
    (0.01000..., 0.5)
    """
    if not 0.0 <= mean_loss < 1.0:
        raise LocalProtocolError("mean loss must be in [0, 1)")
    if mean_burst < 1.0:
        raise LocalProtocolError("mean burst length is at least one packet")
    r = 1.0 / mean_burst
    p = mean_loss * r / (1.0 - mean_loss)
    if p > 1.0:
        raise LocalProtocolError("loss and burst length are not reachable (p > 1)")
    return p, r


def burst_r(lost: list[bool] | npt.ArrayLike) -> float:
    """G.107 BurstR measured from a 0/1 loss pattern (in sequence order).

    ``p`` = P(lost | previous delivered), ``q`` = P(delivered | previous lost),
    ``BurstR = 1 / (p + q)``. No loss gives 1; the estimate is clamped below
    at 1 because G.107 defines BurstR >= 1 (1 = random loss).

    >>> round(burst_r([0, 0, 1, 1, 0, 0, 0, 1, 1, 0]), 4)  # p = 2/5, q = 2/4
    1.1111
    >>> burst_r([0] * 20)
    1.0
    """
    return float(burst_r_array(np.asarray(lost, dtype=bool)[None, :])[0])


def burst_r_array(lost: BoolArray) -> FloatArray:
    """Row-wise :func:`burst_r` of a (calls, packets) boolean matrix."""
    lost = np.asarray(lost, dtype=bool)
    prev, nxt = lost[:, :-1], lost[:, 1:]
    from_good = (~prev).sum(axis=1)
    from_bad = prev.sum(axis=1)
    good_to_bad = (~prev & nxt).sum(axis=1)
    bad_to_good = (prev & ~nxt).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(from_good > 0, good_to_bad / np.maximum(from_good, 1), 0.0)
        q = np.where(from_bad > 0, bad_to_good / np.maximum(from_bad, 1), 1.0)
        out = np.where(p + q > 0, 1.0 / (p + q), 1.0)
    return np.maximum(out, 1.0)
