"""Gilbert–Elliott loss, BurstR measurement and the BurstR effect on R."""

from __future__ import annotations

import random

import numpy as np
import pytest

from simvoip.media.codecs import codec_by_name
from simvoip.media.emodel import EModel
from simvoip.media.fastpath import LinkModel, simulate_calls
from simvoip.media.loss import GilbertElliott, burst_r, burst_r_array, gilbert_parameters
from simvoip.sip.errors import LocalProtocolError


def test_helpers_from_mean_loss_and_burst_length(reference_values):
    entry = reference_values["emodel.BurstR.gilbert"]
    p, q = entry["inputs"]["p"], entry["inputs"]["q"]
    loss = entry["expected"]["Ppl_percent"] / 100
    got_p, got_r = gilbert_parameters(loss, entry["expected"]["mean_burst_length_packets"])
    assert (got_p, got_r) == pytest.approx((p, q), abs=1e-5)
    with pytest.raises(LocalProtocolError):
        gilbert_parameters(0.6, 1.0)  # would need p > 1
    with pytest.raises(LocalProtocolError):
        GilbertElliott(p=1.5, r=0.5)


def test_four_parameter_stationary_loss():
    ge = GilbertElliott(p=0.05, r=0.25, h=0.4, k=0.99)
    pi_bad = 0.05 / 0.30
    assert ge.mean_loss == pytest.approx((1 - pi_bad) * 0.01 + pi_bad * 0.6)
    lost = ge.losses_array((400, 2500), np.random.default_rng(2))
    assert lost.mean() == pytest.approx(ge.mean_loss, rel=0.03)
    ref = ge.losses(200_000, random.Random(2))
    assert np.mean(ref) == pytest.approx(ge.mean_loss, rel=0.05)


@pytest.mark.parametrize("loss, burst", [(0.01, 1.0), (0.02, 2.0), (0.05, 4.0), (0.1, 8.0)])
def test_vectorised_and_stepped_generators_match_theory(loss, burst):
    ge = GilbertElliott.from_loss_and_burst(loss, burst)
    vec = ge.losses_array((200, 5000), np.random.default_rng(7))
    step = np.array(ge.losses(200_000, random.Random(7)))[None, :]
    for pattern in (vec, step):
        assert pattern.mean() == pytest.approx(loss, rel=0.08)
        measured = float(np.median(burst_r_array(pattern))) if pattern.shape[0] > 1 \
            else burst_r(pattern[0])
        assert measured == pytest.approx(ge.burst_r, rel=0.1)
    # Mean run length of losses = 1/r for the simple Gilbert model.
    flat = vec.ravel()
    starts = np.count_nonzero(flat[1:] & ~flat[:-1])
    assert flat.sum() / starts == pytest.approx(burst, rel=0.08)


def test_degenerate_chains():
    rng = np.random.default_rng(0)
    assert not GilbertElliott.bernoulli(0.0).losses_array((3, 100), rng).any()
    assert GilbertElliott(p=1.0, r=0.0).losses_array((3, 100), rng)[:, 1:].all()
    assert burst_r([1, 1, 1]) == 1.0 and burst_r([0, 1]) == 1.0


def test_burst_r_of_gilbert_pattern(reference_values):
    entry = reference_values["emodel.BurstR.gilbert"]
    ge = GilbertElliott(p=entry["inputs"]["p"], r=entry["inputs"]["q"])
    pattern = ge.losses_array((1, 2_000_000), np.random.default_rng(1))[0]
    assert burst_r(pattern) == pytest.approx(entry["expected"]["BurstR"], rel=0.03)


def test_longer_bursts_lower_r_for_plc_codec():
    """Same mean loss (8 %), longer bursts -> higher BurstR -> lower R for G.711 + PLC."""
    codec = codec_by_name("PCMU")
    assert codec.plc
    rows = []
    for burst in (1.0 / 0.92, 2.0, 4.0, 8.0):  # 1/0.92: Bernoulli (r = 1 - p)
        link = LinkModel(delay=0.03, jitter=0.0, loss=GilbertElliott.from_loss_and_burst(0.08, burst))
        res = simulate_calls(link, codec, calls=300, packets=3000,
                             rng=np.random.default_rng(5), buffer_delay=0.02)
        rows.append((burst, res.ppl.mean(), res.burst_r.mean(), res.r.mean()))
    ppl = [r[1] for r in rows]
    assert max(ppl) - min(ppl) < 0.4  # same mean loss (in percent) ...
    burst_rs = [r[2] for r in rows]
    rs = [r[3] for r in rows]
    assert burst_rs == sorted(burst_rs) and burst_rs[0] == pytest.approx(1.0, abs=0.05)
    assert rs == sorted(rs, reverse=True)  # ... but R falls as bursts lengthen
    assert rs[0] - rs[-1] > 4.0
    # G.107 with the measured Ppl and BurstR gives the same drop.
    for _, ppl_i, burst_i, r_i in rows:
        assert r_i == pytest.approx(
            EModel(ie=codec.ie, bpl=codec.bpl, ppl=ppl_i, burst_r=burst_i, ta=60.0).r, abs=0.5)
