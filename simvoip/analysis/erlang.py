"""Erlang B and Erlang C (M/M/N/N loss and M/M/N delay systems), with inverses.

Erlang B uses the recurrence ``B(0) = 1, B(n) = A B(n-1) / (n + A B(n-1))``,
which never forms ``A**N`` or ``N!`` and stays accurate for thousands of
servers. Erlang C follows from it: ``C = N B / (N - A (1 - B))`` for ``A < N``.
Pure standard-library math.
"""

from __future__ import annotations

import math

__all__ = [
    "erlang_b",
    "erlang_c",
    "mean_wait",
    "servers_for_blocking",
    "traffic_for_blocking",
]


def _check(traffic: float, servers: int) -> None:
    if traffic < 0 or not math.isfinite(traffic):
        raise ValueError(f"offered traffic must be a finite number >= 0, got {traffic}")
    if servers < 0 or int(servers) != servers:
        raise ValueError(f"servers must be a non-negative integer, got {servers}")


def erlang_b(traffic: float, servers: int) -> float:
    """Blocking probability of ``servers`` circuits offered ``traffic`` erlangs.

    Parameters
    ----------
    traffic : float
        Offered load A in erlangs (arrival rate x mean holding time).
    servers : int
        Number of circuits N.

    Examples
    --------
    >>> round(erlang_b(traffic=10.0, servers=10), 6)
    0.214582
    >>> round(erlang_b(1000.0, 1050), 6) < 0.01
    True
    """
    _check(traffic, servers)
    b = 1.0
    for n in range(1, int(servers) + 1):
        b = traffic * b / (n + traffic * b)
    return b


def erlang_c(traffic: float, servers: int) -> float:
    """Probability that an arrival waits in an M/M/N queue (Erlang C).

    Returns 1.0 when ``traffic >= servers`` (the queue is unstable).

    Examples
    --------
    >>> round(erlang_c(traffic=10.0, servers=12), 6)
    0.449388
    """
    _check(traffic, servers)
    n = int(servers)
    if traffic >= n:
        return 1.0
    if traffic == 0:
        return 0.0
    b = erlang_b(traffic, n)
    return n * b / (n - traffic * (1 - b))


def mean_wait(traffic: float, servers: int) -> float:
    """Mean waiting time of all arrivals, in mean holding times: ``C / (N - A)``.

    >>> round(mean_wait(8.0, 10), 5)
    0.20459
    """
    n = int(servers)
    if traffic >= n:
        return math.inf
    return erlang_c(traffic, n) / (n - traffic)


def servers_for_blocking(traffic: float, target: float) -> int:
    """Smallest number of circuits whose Erlang B blocking is at most ``target``.

    Runs the recurrence upwards once, so the cost is O(answer).

    Examples
    --------
    >>> servers_for_blocking(10.0, 0.01)
    18
    >>> erlang_b(10.0, 18) <= 0.01 < erlang_b(10.0, 17)
    True
    """
    if not 0 < target <= 1:
        raise ValueError("target blocking must be in (0, 1]")
    _check(traffic, 0)
    b = 1.0
    n = 0
    while b > target:
        n += 1
        b = traffic * b / (n + traffic * b)
    return n


def traffic_for_blocking(servers: int, target: float, tolerance: float = 1e-9) -> float:
    """Largest offered traffic (erlangs) that ``servers`` circuits carry at ``target`` blocking.

    Erlang B grows strictly with the traffic, so bisection converges.

    Examples
    --------
    >>> a = traffic_for_blocking(10, 0.214582)
    >>> round(a, 3)
    10.0
    """
    if not 0 < target < 1:
        raise ValueError("target blocking must be in (0, 1)")
    _check(0.0, servers)
    if servers == 0:
        return 0.0
    low, high = 0.0, float(servers)
    while erlang_b(high, servers) < target:
        high *= 2.0
    while high - low > tolerance * max(1.0, high):
        mid = (low + high) / 2.0
        if erlang_b(mid, servers) <= target:
            low = mid
        else:
            high = mid
    return low
