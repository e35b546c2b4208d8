"""Loss models measured against their own theory over many packets (seeded, exact)."""

from __future__ import annotations

import random

import pytest

from simvoip.sim.loss import Bernoulli, GilbertElliott, NoLoss, TraceLoss, make_loss_model

N = 200_000


def _bursts(pattern: list[bool]) -> list[int]:
    out, run = [], 0
    for lost in pattern:
        if lost:
            run += 1
        elif run:
            out.append(run)
            run = 0
    if run:
        out.append(run)
    return out


@pytest.mark.parametrize("p", [0.01, 0.05, 0.3])
def test_bernoulli_rate_and_geometric_bursts(p: float) -> None:
    rng = random.Random(42)
    model = Bernoulli(p)
    pattern = [model.lost(rng) for _ in range(N)]
    rate = sum(pattern) / N
    sigma = (p * (1 - p) / N) ** 0.5
    assert abs(rate - p) < 5 * sigma
    # Independent losses: bursts are geometric with mean 1 / (1 - p).
    bursts = _bursts(pattern)
    assert sum(bursts) / len(bursts) == pytest.approx(1 / (1 - p), rel=0.03)


@pytest.mark.parametrize(("mean_loss", "mean_burst"), [(0.02, 2.0), (0.05, 4.0), (0.10, 1.5)])
def test_gilbert_elliott_from_mean_loss(mean_loss: float, mean_burst: float) -> None:
    model = GilbertElliott.from_mean_loss(mean_loss, mean_burst)
    rng = random.Random(7)
    pattern = [model.lost(rng) for _ in range(N)]
    bursts = _bursts(pattern)
    assert sum(pattern) / N == pytest.approx(mean_loss, rel=0.08)
    assert sum(bursts) / len(bursts) == pytest.approx(mean_burst, rel=0.06)


def test_gilbert_elliott_reference_values(reference_values: dict) -> None:
    ref = reference_values["emodel.BurstR.gilbert"]
    model = GilbertElliott(p=ref["inputs"]["p"], r=ref["inputs"]["q"])
    expected = ref["expected"]
    tol = ref["tolerance"]
    assert model.burst_ratio == pytest.approx(expected["BurstR"], abs=tol)
    assert 100 * model.mean_loss == pytest.approx(expected["Ppl_percent"], abs=tol)
    assert model.mean_burst == pytest.approx(expected["mean_burst_length_packets"], abs=tol)


def test_gilbert_elliott_four_parameters() -> None:
    # Loss in both states: stationary loss pi_G (1 - k) + pi_B (1 - h).
    model = GilbertElliott(p=0.05, r=0.25, h=0.3, k=0.98)
    expected = (0.25 / 0.30) * 0.02 + (0.05 / 0.30) * 0.7
    assert model.mean_loss == pytest.approx(expected)
    rng = random.Random(3)
    measured = sum(model.lost(rng) for _ in range(N)) / N
    assert measured == pytest.approx(expected, rel=0.05)


def test_trace_loss_replays_exactly() -> None:
    model = TraceLoss([0, 0, 1, 1, 0], repeat=True)
    rng = random.Random(0)
    assert [int(model.lost(rng)) for _ in range(12)] == [0, 0, 1, 1, 0] * 2 + [0, 0]
    once = TraceLoss([1, 1], repeat=False)
    assert [once.lost(rng) for _ in range(4)] == [True, True, False, False]


def test_make_loss_model_dispatch() -> None:
    assert isinstance(make_loss_model(0.0, None), NoLoss)
    assert isinstance(make_loss_model(0.1, None), Bernoulli)
    ge = make_loss_model(0.0, {"type": "gilbert_elliott", "p": 0.1, "r": 0.5, "h": 0.2})
    assert isinstance(ge, GilbertElliott) and ge.h == 0.2
    with pytest.raises(ValueError, match="mean_burst"):
        GilbertElliott.from_mean_loss(0.1, 0.5)
    with pytest.raises(ValueError, match="needs p"):
        GilbertElliott.from_mean_loss(0.9, 1.0)
