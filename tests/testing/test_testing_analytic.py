"""Measured NICT success over a Bernoulli-loss link matches the retransmission schedule."""

from __future__ import annotations

import pytest

from simvoip.sim.driver import make_request
from simvoip.sim.simulation import Simulation
from simvoip.sim.topology import Topology
from simvoip.sip.transaction import TimerConfig
from simvoip.testing.analytic import (
    binomial_consistent,
    nict_success_probability,
    retransmit_times,
    wilson_interval,
)


def test_schedules_follow_rfc_3261_table_4() -> None:
    assert retransmit_times(TimerConfig(), invite=False) == [
        0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert retransmit_times(TimerConfig(), invite=True) == [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    # T1 = 100 ms: Timer F = 6.4 s; E doubles 0.1, 0.2, 0.4, 0.8, 1.6, 3.2 (still below T2).
    assert retransmit_times(TimerConfig(t1=0.1), invite=False) == pytest.approx(
        [0.0, 0.1, 0.3, 0.7, 1.5, 3.1, 6.3])


def test_success_probability_closed_form() -> None:
    # 11 independent trials, each needs request and response through: 1 - (1 - q^2)^11.
    for p in (0.1, 0.5, 0.7, 0.9):
        assert nict_success_probability(p, TimerConfig(), rtt=0.02) == pytest.approx(
            1 - (1 - (1 - p) ** 2) ** 11)
    # A round trip too long for the last attempt's answer to make it before Timer F.
    assert nict_success_probability(0.5, TimerConfig(), rtt=0.6) == pytest.approx(
        1 - 0.75 ** 10)


def test_wilson_interval_contains_the_estimate() -> None:
    lo, hi = wilson_interval(30, 100, z=1.96)
    assert lo < 0.3 < hi and hi - lo < 0.2
    assert wilson_interval(0, 50)[0] == 0.0 and wilson_interval(50, 50)[1] == 1.0


def _measure(loss: float, n: int, seed: int) -> int:
    topo = Topology()
    topo.add_endpoint("alice", domain="a.example")
    topo.add_endpoint("bob", domain="b.example")
    topo.add_link("alice", "bob", delay=0.010, loss=loss)
    sim = Simulation(topo, seed=seed)
    sim.serve_options("bob")
    outcomes = []
    for i in range(n):
        # One OPTIONS every 40 s: each transaction is over (Timer F = 32 s) before the next.
        req = make_request("OPTIONS", "alice", "sip:bob@bob", call_id=f"c{i}", branch=f"z9hG4bK{i}")
        outcomes.append(sim.send_request("alice", req, at=40.0 * i))
    sim.run(until=40.0 * n + 40.0)
    assert all(o.outcome in ("answered", "timeout") for o in outcomes)
    return sum(o.outcome == "answered" for o in outcomes)


@pytest.mark.parametrize("loss", [0.6, 0.7, 0.8])
def test_measured_nict_success_matches_the_schedule(loss: float) -> None:
    n = 400
    expected = nict_success_probability(loss, TimerConfig(), rtt=0.02)
    successes = _measure(loss, n, seed=11)
    assert binomial_consistent(successes, n, expected), (successes / n, expected)


def test_the_check_rejects_a_wrong_model() -> None:
    # A model that forgets the response can be lost (1 - p^11) is far off and must be rejected.
    n, loss = 400, 0.7
    successes = _measure(loss, n, seed=11)
    assert not binomial_consistent(successes, n, 1 - loss**11)


def test_ua_options_over_a_lossy_virtual_link_match_the_schedule() -> None:
    # The same property on the pure UA cores: OPTIONS pings answered by the peer UA's NIST.
    import random

    from simvoip.testing import Scenario

    loss, n = 0.7, 300
    net = Scenario(seed=5).build()
    net.set_loss_rate("alice", "bob", loss, random.Random(5))
    for _ in range(n):
        net.api("alice", "options", lambda ua: ua.options("sip:bob@bob", net.now))
        net.advance(40.0)
    results = [e for _, e in net.events["alice"] if type(e).__name__ == "OptionsResult"]
    assert len(results) == n and {r.status for r in results} <= {200, 408}
    successes = sum(r.status == 200 for r in results)
    expected = nict_success_probability(loss, TimerConfig(), rtt=0.02)
    assert binomial_consistent(successes, n, expected), (successes / n, expected)


def test_erlang_b_recursion_reference_values() -> None:
    from simvoip.testing.analytic import erlang_b

    # Textbook values: B(A=1, N=1) = 1/2; B(A=2, N=2) = 2/5; B(A=10, N=10) ~= 0.2146.
    assert erlang_b(1.0, 1) == pytest.approx(0.5)
    assert erlang_b(2.0, 2) == pytest.approx(0.4)
    assert erlang_b(10.0, 10) == pytest.approx(0.21458, abs=1e-5)


def test_measured_blocking_matches_erlang_b() -> None:
    # Poisson INVITEs to a callee with 5 lines (486 when all busy), exponential holding:
    # a loss system, so the blocked fraction is Erlang B of the offered traffic.
    import random

    from simvoip.sip.ua import UABehaviour
    from simvoip.testing import Scenario
    from simvoip.testing.analytic import LimitedLinesUA, erlang_b

    class FiveLines(LimitedLinesUA):
        lines = 5

    holding, traffic, n = 20.0, 4.0, 1500
    # A line is busy from the INVITE's arrival to the BYE's: the holding time plus two
    # one-way delays (200 OK out, BYE back) of 10 ms.
    rate = traffic / (holding + 0.02)
    net = Scenario(seed=3, behaviour=UABehaviour(ring_delay=None, answer_delay=0.0),
                   factories=(("bob", FiveLines),)).build()
    rng = random.Random(3)
    t = 0.0
    for _ in range(n):
        t += rng.expovariate(rate)
        net.advance(t - net.now)
        net.invite("alice", "sip:bob@bob", hangup_after=rng.expovariate(1 / holding))
    net.advance(200.0)
    outcomes = [e for _, e in net.events["alice"]
                if type(e).__name__ in ("CallFailed", "CallAnswered")]
    assert len(outcomes) == n and not net.crashes
    blocked = sum(1 for e in outcomes if type(e).__name__ == "CallFailed" and e.status == 486)
    assert binomial_consistent(blocked, n, erlang_b(traffic, 5)), blocked / n
    # One line more or fewer is a different system, and the check tells them apart.
    assert not binomial_consistent(blocked, n, erlang_b(traffic, 4))
    assert not binomial_consistent(blocked, n, erlang_b(traffic, 6))
