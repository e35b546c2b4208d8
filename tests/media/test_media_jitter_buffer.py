"""Fixed vs adaptive (Ramjee et al. 1994, algorithm 1) playout buffers."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simvoip.media.codecs import codec_by_name
from simvoip.media.jitter_buffer import AdaptiveJitterBuffer, FixedJitterBuffer, run_playout
from simvoip.media.rtp import RtpSender


def talkspurt_stream(seed: int, seconds: float, jitter: float, loss: float = 0.0):
    """A VAD voice stream from RtpSender: talkspurts of 1-2 s, silences of 0.4-1 s.

    Returns send times, arrival times (NaN = lost) and talkspurt index (from the
    RTP marker bit) per packet; delay = 40 ms + Exp(mean ``jitter``).
    """
    rng = random.Random(seed)
    sender = RtpSender(codec_by_name("PCMU"), rng)
    ts0 = sender.timestamp
    send, arrival, spurt = [], [], []
    talkspurt = -1
    while not send or send[-1] < seconds:
        for _ in range(int(rng.uniform(1.0, 2.0) / 0.02)):
            packet = sender.audio_packet()
            talkspurt += packet.marker
            t = ((packet.timestamp - ts0) % 2**32) / 8000
            send.append(t)
            spurt.append(talkspurt)
            lost = rng.random() < loss
            arrival.append(math.nan if lost else t + 0.040 + rng.expovariate(1 / jitter))
        sender.silence(int(rng.uniform(0.4, 1.0) / 0.02))
    return send, arrival, spurt


def test_adaptive_discards_fewer_than_small_fixed_at_the_cost_of_delay():
    send, arrival, spurt = talkspurt_stream(seed=11, seconds=120.0, jitter=0.015, loss=0.02)
    fixed = run_playout(FixedJitterBuffer(delay=0.020), send, arrival, spurt)
    adaptive = run_playout(AdaptiveJitterBuffer(), send, arrival, spurt)
    n = len(send)
    assert n > 4000
    # Network losses are the same packets for both buffers, counted apart from discards.
    assert fixed.network_losses == adaptive.network_losses
    assert 0.01 * n < fixed.network_losses < 0.03 * n
    print(f"\n{n} packets, {fixed.network_losses} lost in the network")
    for name, res in (("fixed 20 ms", fixed), ("adaptive", adaptive)):
        print(f"{name:12s} late discards {res.late_discards:4d} "
              f"({100 * res.late_discards / n:.1f} %), mean buffer delay "
              f"{1000 * res.buffer_delay:.1f} ms, mouth-to-ear {1000 * res.mouth_to_ear(0.02):.1f} ms")
    # With this seed: fixed ~15 % late, adaptive ~5 %; buffer delay ~19 ms vs ~41 ms.
    assert adaptive.late_discards < 0.7 * fixed.late_discards
    assert fixed.late_discards > 0.05 * n
    assert adaptive.buffer_delay > fixed.buffer_delay + 0.008
    assert adaptive.mouth_to_ear(0.02) > fixed.mouth_to_ear(0.02) + 0.008


def test_adaptive_estimates_follow_ramjee_algorithm_1():
    buf = AdaptiveJitterBuffer()
    delays = [0.05, 0.07, 0.04, 0.09]
    d, v = delays[0], 0.0
    for i, n in enumerate(delays):
        buf.arrive(send_time=0.02 * i, arrival=0.02 * i + n, talkspurt=0)
        if i:
            d = 0.998002 * d + 0.001998 * n
            v = 0.998002 * v + 0.001998 * abs(d - n)
    assert (buf.d, buf.v) == pytest.approx((d, v))
    # A new talkspurt starts at t + d + 4 v; later packets keep the sender's spacing.
    start = buf.arrive(send_time=5.0, arrival=5.0 + 0.01, talkspurt=1)
    d = 0.998002 * d + 0.001998 * 0.01
    v = 0.998002 * v + 0.001998 * abs(d - 0.01)
    assert start == pytest.approx(5.0 + d + 4 * v)
    assert buf.arrive(send_time=5.02, arrival=5.03, talkspurt=1) == pytest.approx(start + 0.02)


def test_fixed_buffer_schedule_and_duplicates():
    send = [0.0, 0.02, 0.04, 0.06, 0.08]
    arrival = [0.030, 0.080, math.nan, 0.100, 0.095]
    res = run_playout(FixedJitterBuffer(0.02), send, arrival,
                      duplicate_arrivals=[(0, 0.031), (3, 0.2)])
    # Anchor: first arrival 0.030 -> offset 0.050; deadlines 0.05, 0.07, 0.09, 0.11, 0.13.
    assert res.playout_times[[0, 3, 4]] == pytest.approx([0.05, 0.11, 0.13])
    assert res.late.tolist() == [False, True, False, False, False]
    assert res.lost.tolist() == [False, False, True, False, False]
    assert res.duplicates == 2 and res.packets_played == 3


@given(st.lists(st.tuples(st.floats(0, 0.2), st.booleans()), min_size=1, max_size=200),
       st.floats(0.0, 0.1), st.booleans())
def test_counts_partition_and_delay_identity(packets, delay, adaptive):
    send = np.arange(len(packets)) * 0.02
    arrival = np.array([s + d if not lost else np.nan for s, (d, lost) in zip(send, packets, strict=True)])
    buf = AdaptiveJitterBuffer() if adaptive else FixedJitterBuffer(delay)
    res = run_playout(buf, send, arrival, talkspurt=np.arange(len(packets)) // 25)
    assert res.network_losses + res.late_discards + res.packets_played == len(packets)
    assert not (res.lost & res.late).any()
    assert (res.buffer_delays >= -1e-12).all()
    if res.packets_played:
        # mouth-to-ear = network + packetisation + buffer, packet by packet.
        played = res.played
        network = (res.arrival_times - res.send_times)[played].mean()
        assert res.mouth_to_ear(0.02) == pytest.approx(network + 0.02 + res.buffer_delay)
