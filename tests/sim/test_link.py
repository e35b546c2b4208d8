"""Link model: delay laws, FIFO, reordering, duplication, serialisation and queueing theory."""

from __future__ import annotations

import random
import statistics

import pytest

from simvoip.sim.link import LinkDirection, LinkParams, mean_jitter_variance
from simvoip.sim.seeding import derive_rng


def _direction(seed: int = 1, **params: object) -> LinkDirection:
    return LinkDirection("a->b", LinkParams(**params), random.Random(seed))  # type: ignore[arg-type]


@pytest.mark.parametrize("dist", ["uniform", "normal", "exponential", "pareto"])
def test_delay_distribution_mean_and_variance(dist: str) -> None:
    params = {"delay": 0.100, "jitter": 0.010, "jitter_dist": dist, "jitter_shape": 4.5}
    link = _direction(5, **params)
    n = 50_000
    # Packets 1 s apart: FIFO never binds, so the delays follow the law exactly.
    delays = [link.transmit(200, float(i))[1] - i for i in range(n)]
    mean, var = mean_jitter_variance(LinkParams(**params))  # type: ignore[arg-type]
    assert statistics.fmean(delays) == pytest.approx(0.100 + mean, abs=4 * (var / n) ** 0.5)
    assert statistics.pvariance(delays) == pytest.approx(var, rel=0.10 if dist == "pareto" else 0.04)
    assert min(delays) >= 0.0


def test_normal_jitter_is_truncated_at_zero_delay() -> None:
    link = _direction(2, delay=0.001, jitter=0.010, jitter_dist="normal")
    delays = [link.transmit(100, float(i))[1] - i for i in range(5000)]
    assert min(delays) >= 0.0
    assert statistics.fmean(delays) > 0.001  # truncation moves the mean up


def test_jitter_keeps_fifo_order_unless_reordering_is_asked() -> None:
    fifo = _direction(3, delay=0.05, jitter=0.04)
    arrivals = [fifo.transmit(100, i * 0.001)[1] for i in range(5000)]
    assert arrivals == sorted(arrivals)
    mixed = _direction(3, delay=0.05, jitter=0.04, reorder=0.1, reorder_delay=0.02)
    arrivals = [mixed.transmit(100, i * 0.001)[1] for i in range(5000)]
    inversions = sum(1 for x, y in zip(arrivals, arrivals[1:], strict=False) if y < x)
    assert 250 < inversions < 750  # about one packet in ten is held back


def test_duplication_probability() -> None:
    link = _direction(4, delay=0.01, duplicate=0.05)
    n = 40_000
    dups = sum(link.transmit(100, i * 0.01)[2] is not None for i in range(n))
    assert dups / n == pytest.approx(0.05, abs=4 * (0.05 * 0.95 / n) ** 0.5)


def test_serialisation_delay_from_bandwidth_and_size() -> None:
    link = _direction(delay=0.002, bandwidth=1_000_000)
    # Back-to-back: 1500 bytes at 1 Mbit/s take 12 ms each on the wire.
    out = [link.transmit(1500, 0.0)[1] for _ in range(3)]
    assert out == pytest.approx([0.014, 0.026, 0.038])


def test_dd1_overflow_matches_rate_mismatch() -> None:
    # D/D/1/K: arrivals every 1 ms, service 1.25 ms -> a fraction 1 - mu/lambda = 0.2 is lost.
    k, n = 10, 20_000
    link = _direction(bandwidth=8_000_000, queue=k)  # 1250 B take 1.25 ms
    causes = [link.transmit(1250, i * 0.001)[0] for i in range(n)]
    drops = causes.count("queue")
    assert causes[: k + 1].count("queue") == 0
    assert drops / n == pytest.approx(0.2, abs=(k + 2) / n)


@pytest.mark.parametrize(("rho", "k"), [(0.5, 3), (0.9, 5), (1.2, 8)])
def test_mm1k_blocking_probability(rho: float, k: int) -> None:
    # M/M/1/K: Poisson arrivals, exponential service; P_block = (1-rho) rho^K / (1 - rho^(K+1)).
    rng = random.Random(11)
    bandwidth = 8_000_000.0  # 1000 bytes -> 1 ms mean service
    lam = rho / 0.001
    link = _direction(9, bandwidth=bandwidth, queue=k, mtu=None)
    n = 150_000
    t = 0.0
    blocked = 0
    for _ in range(n):
        t += rng.expovariate(lam)
        size = max(1, round(rng.expovariate(1 / 1000)))
        blocked += link.transmit(size, t)[0] == "queue"
    expected = (1 - rho) * rho**k / (1 - rho ** (k + 1))
    assert blocked / n == pytest.approx(expected, abs=0.01)


def test_red_drops_early_before_the_queue_is_full() -> None:
    red = {"min_th": 2, "max_th": 8, "max_p": 0.2, "weight": 0.2}
    link = _direction(6, bandwidth=8_000_000, queue=20, red=red)
    causes = [link.transmit(1000, i * 0.0008)[0] for i in range(20_000)]
    assert causes.count("red") > 0
    assert causes.count("queue") < causes.count("red")


def test_link_down_and_mtu() -> None:
    link = _direction(delay=0.01, mtu=576)
    assert link.transmit(600, 0.0)[0] == "mtu"
    assert link.transmit(600, 0.0, datagram=False)[0] is None  # a stream is segmented
    link.up = False
    assert link.transmit(100, 0.0)[0] == "link-down"
    assert link.drops == {"mtu": 1, "link-down": 1}


def test_each_direction_has_its_own_stream() -> None:
    a = derive_rng(7, "link", "x--y", "x->y")
    b = derive_rng(7, "link", "x--y", "y->x")
    assert [a.random() for _ in range(3)] != [b.random() for _ in range(3)]
