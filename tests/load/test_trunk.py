"""Trunk/gateway nodes: N channels, 503 + Retry-After (or 486) when full, and the measured
blocking of a trunk group against Erlang B."""

from __future__ import annotations

import random

import pytest

from simvoip import Simulation, Topology
from simvoip.analysis.capacity import design_effect, trunk_blocking, wilson_interval
from simvoip.analysis.erlang import erlang_b
from simvoip.sim.load import trunk_topology
from simvoip.sip.errors import LocalProtocolError
from simvoip.sip.trunk import Trunk
from simvoip.sip.ua import UABehaviour, UAConfig


def _two_channel_trunk(busy_code: int = 503, retry_after: int | None = 30) -> Topology:
    topo = Topology()
    topo.add_endpoint("pbx")
    params = {"busy_code": busy_code}
    if retry_after is not None:
        params["retry_after"] = retry_after
    topo._add_node("trunk", "gw", {"channels": 2, "params": params}, "gw")
    topo.add_link("pbx", "gw", delay=0.005)
    return topo


def test_third_call_is_refused_with_503_and_retry_after_then_a_channel_frees() -> None:
    sim = Simulation(_two_channel_trunk(retry_after=20), seed=1, media=False)
    first = sim.call("pbx", "sip:gw@gw", at=0.0, duration=10.0)
    second = sim.call("pbx", "sip:gw@gw", at=1.0, duration=10.0)
    third = sim.call("pbx", "sip:gw@gw", at=2.0, duration=10.0)
    later = sim.call("pbx", "sip:gw@gw", at=12.0, duration=5.0)  # the first has hung up
    sim.run(until=60.0)
    assert [c.final_status for c in (first, second, third, later)] == [200, 200, 503, 200]
    refusal = [m for _t, d, m in third.messages if d == "received"][-1]
    assert refusal.status_code == 503 and refusal.headers.get("Retry-After") == "20"
    gw = sim.user_agents["gw"]
    assert isinstance(gw, Trunk)
    assert (gw.offered, gw.carried, gw.blocked, gw.peak_channels) == (4, 3, 1, 2)
    assert gw.busy_channels == 0 and gw.blocking() == 0.25
    # Every call ended properly: no transaction or dialog left behind.
    assert gw.transaction_count == 0 and sim.user_agents["pbx"].transaction_count == 0


def test_486_busy_here_without_retry_after() -> None:
    sim = Simulation(_two_channel_trunk(busy_code=486), seed=2, media=False)
    calls = [sim.call("pbx", "gw", at=0.1 * i, duration=5.0) for i in range(3)]
    sim.run(until=40.0)
    assert [c.outcome for c in calls] == ["answered", "answered", "busy"]
    refusal = [m for _t, d, m in calls[2].messages if d == "received"][-1]
    assert refusal.status_code == 486 and refusal.headers.get("Retry-After") is None


def test_trunk_refuses_bad_configuration() -> None:
    config = UAConfig(aor="sip:gw@gw", host="gw", behaviour=UABehaviour(answer_delay=0.0))
    with pytest.raises(LocalProtocolError):
        Trunk(config, random.Random(0), channels=-1)
    with pytest.raises(LocalProtocolError):
        Trunk(config, random.Random(0), channels=1, busy_code=404)


def test_zero_channels_blocks_everything() -> None:
    topo = trunk_topology(1.0, channels=0, mean_duration=5.0, stop=50.0)
    sim = Simulation(topo, seed=3, media=False)
    sim.run(until=60.0)
    assert sim.calls and {c.final_status for c in sim.calls} == {503}


def test_wilson_interval_covers_the_proportion() -> None:
    lo, hi = wilson_interval(0, 50)
    assert lo == 0.0 < hi < 0.15
    lo, hi = wilson_interval(500, 1000, 0.95)
    assert lo == pytest.approx(0.469, abs=1e-3) and hi == pytest.approx(0.531, abs=1e-3)
    # Independent batches: no inflation; bursty ones: the variance ratio.
    assert design_effect([(10, 100)] * 5) == 1.0
    assert design_effect([(0, 100), (40, 100)]) == pytest.approx(2 * 100 * 0.04 / 0.16)


@pytest.mark.parametrize(("traffic", "channels"), [(5.0, 5), (2.0, 4)])
def test_trunk_group_blocking_agrees_with_erlang_b(traffic: float, channels: int) -> None:
    # Offered load A Erlangs (Poisson arrivals, exponential holding times, mean 10 s) on N
    # channels: the blocked fraction is Erlang B (M/M/N/N) within a 99 % binomial interval.
    # Blocked calls come in bursts, so the interval uses the effective sample size
    # (offered / design effect, from batch means); the plain one is checked too.
    row = trunk_blocking(traffic, channels, mean_duration=10.0, duration=1500.0, seeds=[1, 2])
    assert row["erlang_b"] == erlang_b(traffic, channels)
    assert row["offered"] > 0.8 * traffic / 10.0 * (1500.0 - 30.0) * 2
    assert row["ci_low_adj"] <= row["erlang_b"] <= row["ci_high_adj"], row
    assert row["ci_low"] <= row["erlang_b"] <= row["ci_high"], row
    assert row["deff"] >= 1.0 and row["within"]


def test_measured_blocking_tells_trunk_sizes_apart() -> None:
    # The same 5 Erlangs on 3 channels block far more (B = 0.52) than on 8 (B = 0.07):
    # the measurement would catch a trunk that ignores its channel count.
    small = trunk_blocking(5.0, 3, mean_duration=10.0, duration=1000.0, seeds=[4])
    large = trunk_blocking(5.0, 8, mean_duration=10.0, duration=1000.0, seeds=[4])
    assert small["within"] and large["within"]
    assert small["measured"] > 0.4 > 0.15 > large["measured"]
    # ... and the adjusted interval is no looser than needed: it excludes the other size.
    assert not small["ci_low_adj"] <= large["erlang_b"] <= small["ci_high_adj"]
    assert not large["ci_low_adj"] <= small["erlang_b"] <= large["ci_high_adj"]
