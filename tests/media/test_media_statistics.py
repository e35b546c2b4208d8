"""Receiver statistics: RFC 3550 A.1 (sequence), A.3 (loss), A.8 (jitter)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simvoip.media.statistics import ReceptionStatistics


def feed(stats, seqs, clock=8000, ptime=0.02, delay=0.05, base_ts=0):
    for seq in seqs:
        i = (seq - seqs[0]) % 65536
        stats.receive(seq % 65536, (base_ts + 160 * i) % 2**32, i * ptime + delay)


def test_jitter_matches_rfc3550_hand_example(reference_values):
    entry = reference_values["rtp.jitter.rfc3550_example"]
    inputs, exp, tol = entry["inputs"], entry["expected"], entry["tolerance"]
    clock = inputs["clock_rate_hz"]
    stats = ReceptionStatistics(clock_rate=clock, ssrc=1, min_sequential=0)
    after, reported = [], []
    pairs = zip(inputs["send_rtp_timestamps"], inputs["arrival_times_in_timestamp_units"], strict=True)
    for seq, (ts, arrival) in enumerate(pairs):
        stats.receive(seq, ts, arrival / clock)
        if seq:
            after.append(stats.jitter)
            reported.append(stats.jitter_reported)
    assert after == pytest.approx(exp["J_after_each_packet"], abs=tol)
    assert stats.jitter == pytest.approx(exp["J_final"], abs=tol)
    assert stats.jitter_seconds * 1000 == pytest.approx(exp["J_final_ms"], abs=tol)
    assert reported == exp["integer_variant_reported"]


def test_jitter_is_the_same_with_probation_and_timestamp_wrap(reference_values):
    entry = reference_values["rtp.jitter.rfc3550_example"]["inputs"]
    stats = ReceptionStatistics(8000, min_sequential=2)
    base = 2**32 - 300  # RTP timestamps wrap inside the example
    for seq, (ts, arrival) in enumerate(zip(entry["send_rtp_timestamps"],
                                           entry["arrival_times_in_timestamp_units"], strict=True)):
        stats.receive(65533 + seq, (base + ts) % 2**32, arrival / 8000)
    assert stats.jitter == pytest.approx(5.58259, abs=1e-6)
    # A.1: the first packet only served to validate the source.
    assert stats.received == 5 and stats.expected == 5
    assert stats.extended_highest_sequence == 65536 + 2  # one cycle counted


def test_probation_needs_min_sequential_packets():
    stats = ReceptionStatistics(8000, min_sequential=2)
    assert stats.receive(100, 0, 0.0) is False
    assert stats.receive(102, 320, 0.04) is False  # out of sequence: probation restarts
    assert stats.receive(103, 480, 0.06) is True
    assert (stats.received, stats.expected, stats.base_seq) == (1, 1, 103)


def test_loss_counts_and_fraction_lost_a3():
    stats = ReceptionStatistics(8000, min_sequential=0)
    seqs = [s for s in range(200) if s % 10 != 3]  # 20 of 200 lost
    feed(stats, seqs)
    assert stats.expected == 200 and stats.received == 180 and stats.cumulative_lost == 20
    # RFC 3550 A.3: (lost_interval << 8) / expected_interval = 20*256/200 = 25
    assert stats.fraction_lost_interval() == 25
    feed_more = list(range(200, 300))  # next interval: no loss
    for s in feed_more:
        stats.receive(s, 160 * s, s * 0.02 + 0.05)
    assert stats.fraction_lost_interval() == 0
    assert stats.cumulative_lost == 20


def test_duplicates_make_cumulative_loss_negative_and_fraction_zero():
    stats = ReceptionStatistics(8000, min_sequential=0)
    feed(stats, [0, 1, 2, 2, 2, 3])
    assert stats.received == 6 and stats.expected == 4 and stats.cumulative_lost == -2
    assert stats.fraction_lost_interval() == 0  # A.3: lost_interval <= 0 gives 0


def test_reordered_packets_do_not_move_max_seq():
    stats = ReceptionStatistics(8000, min_sequential=0)
    for s in (10, 11, 13, 12, 14):
        stats.receive(s, 160 * s, s * 0.02)
    assert stats.extended_highest_sequence == 14 and stats.cumulative_lost == 0


def test_large_jump_then_restart_resyncs():
    stats = ReceptionStatistics(8000, min_sequential=0)
    feed(stats, list(range(0, 50)))
    assert stats.receive(40000, 0, 2.0) is False   # very large jump: rejected
    assert stats.receive(40001, 160, 2.02) is True  # next in sequence: source restarted
    assert stats.base_seq == 40001 and stats.received == 1


@given(st.lists(st.booleans(), min_size=2, max_size=400), st.integers(0, 65535),
       st.integers(0, 2**32 - 1))
def test_counts_consistent_with_what_was_delivered(lost, first_seq, first_ts):
    lost[0] = False  # the stream's first packet defines base_seq
    stats = ReceptionStatistics(8000, min_sequential=0)
    delivered = [i for i, gone in enumerate(lost) if not gone]
    for i in delivered:
        stats.receive((first_seq + i) % 65536, (first_ts + 160 * i) % 2**32, 0.02 * i + 0.03)
    last = delivered[-1]
    assert stats.received == len(delivered)
    assert stats.expected == last + 1
    assert stats.cumulative_lost == sum(lost[: last + 1])
    assert stats.extended_highest_sequence == first_seq + last
    assert stats.jitter == pytest.approx(0.0, abs=1e-6)  # constant delay: no jitter


def test_jitter_estimates_mean_abs_delay_difference():
    rng = random.Random(4)
    stats = ReceptionStatistics(8000, min_sequential=0)
    for i in range(5000):
        stats.receive(i, 160 * i, 0.02 * i + rng.uniform(0.0, 0.010))
    # For i.i.d. U(0, a) delays E|D| = a/3; J fluctuates around it (in timestamp units).
    assert stats.jitter / 8000 == pytest.approx(0.010 / 3, rel=0.35)
