"""Vectorised fast path vs per-packet reference path, and the quality report."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from simvoip.media.codecs import codec_by_name
from simvoip.media.emodel import EModel
from simvoip.media.fastpath import LinkModel, simulate_calls, simulate_calls_per_packet
from simvoip.media.jitter_buffer import FixedJitterBuffer, run_playout
from simvoip.media.loss import GilbertElliott
from simvoip.media.quality import build_quality_report
from simvoip.media.statistics import ReceptionStatistics

LINKS = {
    "bernoulli-normal": LinkModel(delay=0.060, jitter=0.008, jitter_distribution="normal",
                                  loss=GilbertElliott.bernoulli(0.02)),
    "gilbert-exponential": LinkModel(delay=0.040, jitter=0.010,
                                     loss=GilbertElliott.from_loss_and_burst(0.04, 3.0)),
    "ge4-uniform": LinkModel(delay=0.120, jitter=0.015, jitter_distribution="uniform",
                             loss=GilbertElliott(p=0.02, r=0.3, h=0.5, k=0.995)),
}
FIELDS = ("lost", "discarded", "jitter_ms", "mouth_to_ear_ms", "ppl", "burst_r", "r", "mos")


@pytest.mark.parametrize("name", sorted(LINKS))
def test_fast_path_agrees_with_per_packet_path(name):
    link = LINKS[name]
    codec = codec_by_name("G729") if name == "ge4-uniform" else codec_by_name("PCMU")
    packets = 500
    fast = simulate_calls(link, codec, calls=3000, packets=packets,
                          rng=np.random.default_rng(21), buffer_delay=0.03)
    slow = simulate_calls_per_packet(link, codec, calls=150, packets=packets,
                                     rng=random.Random(21), buffer_delay=0.03)
    assert fast.packets_sent == slow.packets_sent == packets
    for field in FIELDS:
        a = np.asarray(getattr(fast, field), dtype=float)
        b = np.asarray(getattr(slow, field), dtype=float)
        se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        # Means agree within 4.5 standard errors (false-failure rate ~1e-5 per check).
        assert abs(a.mean() - b.mean()) <= 4.5 * se + 1e-9, (field, a.mean(), b.mean(), se)
    # And both match the link model's own numbers.
    loss = link.loss.mean_loss
    for batch in (fast, slow):
        assert batch.lost.mean() / packets == pytest.approx(loss, rel=0.2)


def test_fast_path_exact_cases():
    codec = codec_by_name("PCMU")
    # No jitter, no loss: nothing discarded, R from delay alone.
    link = LinkModel(delay=0.150, jitter=0.0)
    res = simulate_calls(link, codec, calls=4, packets=100, rng=np.random.default_rng(0),
                         buffer_delay=0.040)
    assert (res.lost == 0).all() and (res.discarded == 0).all() and (res.jitter_ms == 0).all()
    assert res.mouth_to_ear_ms == pytest.approx([210.0] * 4)  # 150 + 40 + 20 ms
    assert res.r == pytest.approx([EModel(ie=0, bpl=25.1, ta=210.0).r] * 4)
    # Chunking does not change the result for the same generator state.
    link = LINKS["gilbert-exponential"]
    one = simulate_calls(link, codec, 50, 200, np.random.default_rng(3), chunk_packets=10**7)
    again = simulate_calls(link, codec, 50, 200, np.random.default_rng(3), chunk_packets=10**7)
    assert np.array_equal(one.r, again.r)
    chunked = simulate_calls(link, codec, 50, 200, np.random.default_rng(3), chunk_packets=2000)
    assert chunked.calls == 50


def test_fast_path_jitter_equals_rfc3550_receiver():
    """The closed-form jitter of the fast path equals ReceptionStatistics on the same draws."""
    rng = np.random.default_rng(8)
    link = LINKS["gilbert-exponential"]
    packets = 300
    lossless = LinkModel(delay=link.delay, jitter=link.jitter)
    # The fast path draws the delays first: reproduce them from the same seed.
    delay = lossless.delays((1, packets), np.random.default_rng(8))[0]
    res = simulate_calls(lossless, codec_by_name("PCMU"), calls=1, packets=packets, rng=rng,
                         buffer_delay=0.03)
    stats = ReceptionStatistics(8000, min_sequential=0)
    send = np.arange(packets) * 0.02
    for i in np.argsort(send + delay, kind="stable"):
        stats.receive(int(i), int(160 * i), float(send[i] + delay[i]))
    assert res.jitter_ms[0] == pytest.approx(stats.jitter_seconds * 1000, rel=1e-9)


def test_quality_report_from_receiver_and_buffer():
    codec = codec_by_name("G729")
    send = np.arange(500) * 0.02
    delay = 0.05 + 0.01 * (np.arange(500) % 3 == 1)  # every third packet 10 ms later
    arrival = send + delay
    arrival[[100, 101, 102, 300]] = np.nan            # a burst of 3 and a single loss
    stats = ReceptionStatistics(codec.clock_rate, min_sequential=0)
    for i in np.argsort(arrival):
        if not math.isnan(arrival[i]):
            stats.receive(int(i), int(160 * i), float(arrival[i]))
    playout = run_playout(FixedJitterBuffer(0.005), send, arrival)
    report = build_quality_report(codec, stats, playout)
    late = int(np.sum((delay > 0.055) & ~np.isnan(arrival)))
    assert report.packets_sent == 500 and report.packets_lost == 4
    assert report.packets_received == 496 == stats.received
    assert report.packets_discarded == late > 100
    assert report.ppl == pytest.approx(100 * (4 + late) / 500)
    # Periodic discards are less bursty than random loss: BurstR clamps at 1.
    assert report.burst_r == 1.0
    # mouth-to-ear = network + packetisation (20 ms + 5 ms look-ahead) + buffer.
    assert report.mouth_to_ear_ms == pytest.approx(50 + 25 + 5)
    assert report.network_delay_ms + report.buffer_delay_ms == pytest.approx(55.0)
    assert report.jitter_ms == pytest.approx(stats.jitter_seconds * 1000)
    model = EModel(ie=11, bpl=19, ppl=report.ppl, burst_r=report.burst_r, ta=80.0)
    assert (report.r, report.mos) == pytest.approx((model.r, model.mos))
