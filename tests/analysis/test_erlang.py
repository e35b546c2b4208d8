"""Erlang B / C and inverses against reference_values.json."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simvoip.analysis.erlang import (
    erlang_b,
    erlang_c,
    mean_wait,
    servers_for_blocking,
    traffic_for_blocking,
)


def test_erlang_b_reference(reference_values):
    entry = reference_values["traffic.erlang_b"]
    for row in entry["expected"]:
        got = erlang_b(traffic=row["A_erlangs"], servers=row["N_circuits"])
        assert got == pytest.approx(row["blocking"], abs=entry["tolerance"]), row


def test_erlang_c_reference(reference_values):
    entry = reference_values["traffic.erlang_c"]
    for row in entry["expected"]:
        a, n = row["A_erlangs"], row["N_servers"]
        assert erlang_c(a, n) == pytest.approx(row["P_wait"], abs=entry["tolerance"])
        assert mean_wait(a, n) == pytest.approx(row["mean_wait_in_holding_times"],
                                                abs=entry["tolerance"])


def _erlang_b_direct(a: float, n: int) -> float:
    # (A^N/N!) / sum_k A^k/k!, in log space (lgamma) to stay finite.
    logs = [k * math.log(a) - math.lgamma(k + 1) for k in range(n + 1)]
    top = max(logs)
    return math.exp(logs[-1] - top) / sum(math.exp(v - top) for v in logs)


@pytest.mark.parametrize("a, n", [(3.0, 7), (80.0, 90), (500.0, 520), (2000.0, 1950),
                                  (4500.0, 5000)])
def test_erlang_b_stable_for_large_groups(a, n):
    got = erlang_b(a, n)
    assert got == pytest.approx(_erlang_b_direct(a, n), rel=1e-9)
    assert 0.0 < got < 1.0


def test_edge_cases():
    assert erlang_b(0.0, 5) == 0.0 and erlang_b(5.0, 0) == 1.0
    assert erlang_c(12.0, 10) == 1.0 and mean_wait(12.0, 10) == math.inf
    assert erlang_c(0.0, 3) == 0.0
    with pytest.raises(ValueError):
        erlang_b(-1.0, 3)
    with pytest.raises(ValueError):
        erlang_b(1.0, 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        servers_for_blocking(10.0, 0.0)


def test_inverse_helpers_known_table_values():
    # Classic Erlang B table: 1 % blocking needs 18 circuits at 10 E, 117 at 100 E.
    assert servers_for_blocking(10.0, 0.01) == 18
    assert servers_for_blocking(100.0, 0.01) == 117
    assert traffic_for_blocking(10, 0.214582) == pytest.approx(10.0, abs=1e-4)
    assert traffic_for_blocking(110, 0.027463) == pytest.approx(100.0, abs=1e-3)


@given(st.floats(0.1, 3000.0), st.floats(0.001, 0.5))
def test_servers_for_blocking_is_minimal(traffic, target):
    n = servers_for_blocking(traffic, target)
    assert erlang_b(traffic, n) <= target
    assert n == 0 or erlang_b(traffic, n - 1) > target


@given(st.integers(1, 400), st.floats(0.001, 0.5))
def test_traffic_for_blocking_inverts_erlang_b(servers, target):
    a = traffic_for_blocking(servers, target)
    assert erlang_b(a, servers) == pytest.approx(target, rel=1e-6)


@given(st.floats(0.01, 500.0), st.integers(1, 600))
def test_erlang_c_at_least_erlang_b(traffic, servers):
    b = erlang_b(traffic, servers)
    c = erlang_c(traffic, servers)
    assert 0.0 <= b <= c <= 1.0
    assert erlang_b(traffic, servers + 1) <= b
