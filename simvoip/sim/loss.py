"""Packet loss models: Bernoulli, Gilbert-Elliott and trace-driven replay.

Each model answers one question per packet, ``lost(rng)``, drawing from the
``random.Random`` of the link direction it belongs to. Models with state
(Gilbert-Elliott, trace replay) keep it per link direction: build one model
per direction with :func:`make_loss_model`.

>>> import random
>>> model = GilbertElliott.from_mean_loss(0.05, mean_burst=2.0)
>>> round(model.mean_loss, 6), model.mean_burst
(0.05, 2.0)
>>> rng = random.Random(1)
>>> losses = sum(model.lost(rng) for _ in range(20000))
>>> 800 < losses < 1200
True
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

__all__ = ["LossModel", "NoLoss", "Bernoulli", "GilbertElliott", "TraceLoss", "make_loss_model"]


class LossModel(Protocol):
    """Decides, packet by packet, whether the link loses it."""

    def lost(self, rng: random.Random) -> bool: ...


class NoLoss:
    """Never loses (draws nothing, so adding it changes no stream).

    >>> NoLoss().lost(random.Random(0))
    False
    """

    __slots__ = ()

    def lost(self, rng: random.Random) -> bool:
        return False


class Bernoulli:
    """Independent loss with probability ``p`` per packet.

    >>> Bernoulli(1.0).lost(random.Random(0)), Bernoulli(0.0).lost(random.Random(0))
    (True, False)
    """

    __slots__ = ("p",)

    def __init__(self, p: float) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"loss probability must be in [0, 1], got {p}")
        self.p = p

    def lost(self, rng: random.Random) -> bool:
        if self.p <= 0.0:
            return False
        if self.p >= 1.0:
            return True
        return rng.random() < self.p


class GilbertElliott:
    """Two-state Markov loss (Gilbert-Elliott), in the Linux netem ``gemodel`` notation.

    Parameters
    ----------
    p : float
        P(good -> bad) per packet.
    r : float
        P(bad -> good) per packet.
    h : float
        P(packet **delivered** | bad state). ``1 - h`` is the loss rate in
        the bad state (netem's third argument is ``1-h``). Default 0: every
        packet in the bad state is lost (the plain Gilbert model).
    k : float
        P(packet delivered | good state). Default 1: no loss in the good state.

    Each packet first moves the chain one step, then is lost with the loss
    probability of the state it landed in. With ``h=0, k=1`` the stationary
    loss is ``p / (p + r)`` and the mean loss-burst length is ``1 / r``
    (ITU-T G.107 BurstR ``= 1 / (p + r)``).

    >>> ge = GilbertElliott(p=0.01, r=0.5)
    >>> round(ge.mean_loss, 5), ge.mean_burst, round(ge.burst_ratio, 3)
    (0.01961, 2.0, 1.961)
    """

    __slots__ = ("p", "r", "h", "k", "bad")

    def __init__(self, p: float, r: float, h: float = 0.0, k: float = 1.0) -> None:
        for name, value in (("p", p), ("r", r), ("h", h), ("k", k)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if p + r <= 0.0:
            raise ValueError("p + r must be > 0")
        self.p, self.r, self.h, self.k = p, r, h, k
        self.bad = False

    @classmethod
    def from_mean_loss(cls, mean_loss: float, mean_burst: float) -> GilbertElliott:
        """The plain Gilbert model (h=0, k=1) with this stationary loss and burst length.

        ``r = 1 / mean_burst`` and ``p = r * mean_loss / (1 - mean_loss)``.

        >>> ge = GilbertElliott.from_mean_loss(0.1, mean_burst=4.0)
        >>> ge.r, round(ge.p, 6)
        (0.25, 0.027778)
        """
        if not 0.0 <= mean_loss < 1.0:
            raise ValueError(f"mean_loss must be in [0, 1), got {mean_loss}")
        if mean_burst < 1.0:
            raise ValueError(f"mean_burst must be >= 1 packet, got {mean_burst}")
        r = 1.0 / mean_burst
        p = r * mean_loss / (1.0 - mean_loss)
        if p > 1.0:
            raise ValueError(
                f"mean_loss={mean_loss} with mean_burst={mean_burst} needs p={p:.3f} > 1"
            )
        return cls(p=p, r=r)

    @property
    def mean_loss(self) -> float:
        """Stationary loss probability."""
        pi_bad = self.p / (self.p + self.r)
        return pi_bad * (1.0 - self.h) + (1.0 - pi_bad) * (1.0 - self.k)

    @property
    def mean_burst(self) -> float:
        """Mean sojourn in the bad state in packets (= mean loss burst when h=0, k=1)."""
        return 1.0 / self.r if self.r > 0 else float("inf")

    @property
    def burst_ratio(self) -> float:
        """ITU-T G.107 BurstR for the plain Gilbert model: ``1 / (p + r)``."""
        return 1.0 / (self.p + self.r)

    def lost(self, rng: random.Random) -> bool:
        if self.bad:
            if rng.random() < self.r:
                self.bad = False
        elif rng.random() < self.p:
            self.bad = True
        deliver = self.h if self.bad else self.k
        if deliver >= 1.0:
            return False
        if deliver <= 0.0:
            return True
        return rng.random() >= deliver


class TraceLoss:
    """Replay a recorded 0/1 loss pattern (1 = lost), cycling when ``repeat``.

    >>> t = TraceLoss([0, 1, 1], repeat=True)
    >>> [t.lost(random.Random(0)) for _ in range(5)]
    [False, True, True, False, True]
    """

    __slots__ = ("pattern", "repeat", "index")

    def __init__(self, pattern: Sequence[int], repeat: bool = True) -> None:
        if not pattern:
            raise ValueError("pattern must not be empty")
        if any(v not in (0, 1) for v in pattern):
            raise ValueError("pattern entries must be 0 or 1")
        self.pattern = tuple(bool(v) for v in pattern)
        self.repeat = repeat
        self.index = 0

    def lost(self, rng: random.Random) -> bool:
        if self.index >= len(self.pattern):
            if not self.repeat:
                return False
            self.index = 0
        value = self.pattern[self.index]
        self.index += 1
        return value


def make_loss_model(loss: float, loss_model: Mapping[str, Any] | None) -> LossModel:
    """A fresh model from link parameters (``loss`` and an optional ``loss_model`` dict).

    ``loss_model`` has a ``type`` of ``bernoulli`` (``p``, defaults to
    ``loss``), ``gilbert_elliott`` (``p, r, h, k`` or ``mean_loss,
    mean_burst``) or ``trace`` (``pattern``, ``repeat``).

    >>> make_loss_model(0.0, None).__class__.__name__
    'NoLoss'
    >>> make_loss_model(0.0, {"type": "gilbert_elliott", "mean_loss": 0.02, "mean_burst": 3}).mean_burst
    3.0
    """
    if loss_model is None:
        return Bernoulli(loss) if loss > 0 else NoLoss()
    kind = loss_model.get("type", "bernoulli")
    if kind == "bernoulli":
        return Bernoulli(float(loss_model.get("p", loss)))
    if kind == "gilbert_elliott":
        if "mean_loss" in loss_model:
            return GilbertElliott.from_mean_loss(
                float(loss_model["mean_loss"]), float(loss_model["mean_burst"])
            )
        return GilbertElliott(
            float(loss_model["p"]),
            float(loss_model["r"]),
            float(loss_model.get("h", 0.0)),
            float(loss_model.get("k", 1.0)),
        )
    if kind == "trace":
        return TraceLoss(list(loss_model["pattern"]), bool(loss_model.get("repeat", True)))
    raise ValueError(f"unknown loss model type {kind!r}")
