"""A registration storm against a registrar of finite capacity: every phone registers in the
end (Timer E retransmissions), and spreading the re-registrations removes the overload."""

from __future__ import annotations

import math

from simvoip.analysis.capacity import storm_run


def test_storm_overloads_a_small_registrar_and_spreading_it_helps() -> None:
    burst = storm_run(200, capacity=100.0, queue=30, spread=0.0)
    spread = storm_run(200, capacity=100.0, queue=30, spread=5.0)
    # All at once: the queue overflows, REGISTERs are lost and retransmitted (RFC 3261
    # 17.1.2.2: Timer E) until every phone is registered.
    assert burst["registered"] == 200 and burst["overload_drops"] > 0
    assert burst["retransmissions"] > 0
    # 200 REGISTERs at 100 messages/s take 2 s of work; losses stretch that well beyond.
    assert burst["time_to_all"] > 2.0
    # Spread over 5 s (40 messages/s on average): no drop, no retransmission.
    assert spread["registered"] == 200
    assert spread["overload_drops"] == 0 and spread["retransmissions"] == 0
    assert spread["time_to_all"] <= 5.0 + 1.0


def test_storm_without_capacity_limit_is_one_round_trip() -> None:
    r = storm_run(50)
    assert r["registered"] == 50 and r["retransmissions"] == 0
    assert math.isclose(r["time_to_all"], 0.010, abs_tol=1e-9)  # 2 x 5 ms
