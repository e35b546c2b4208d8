"""Sweeps: every grid combination x seed, the same numbers serially and on Dask."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import simvoip.analysis
from simvoip.analysis.capacity import trunk_scenario
from simvoip.analysis.sweep import summarise, sweep, t_quantile
from simvoip.sim.load import enable_streaming, population_topology
from simvoip.sim.simulation import Simulation

GRID = {"traffic": [1.0, 3.0], "channels": [2, 4]}
SEEDS = [1, 2]


def _short_trunk(traffic: float, channels: int, seed: int) -> dict[str, float]:
    return trunk_scenario(traffic, channels, seed, duration=150.0)


def test_serial_sweep_summarises_every_combination() -> None:
    df = sweep(_short_trunk, GRID, SEEDS, client=False, progress=False)
    raw = df.attrs["raw"]
    assert list(zip(df["traffic"], df["channels"], strict=True)) == [
        (1.0, 2), (1.0, 4), (3.0, 2), (3.0, 4)]
    assert len(raw) == 8 and list(raw["seed"]) == [1, 2] * 4
    assert (df["seeds"] == 2).all()
    for (traffic, channels), group in raw.groupby(["traffic", "channels"], sort=False):
        row = df[(df["traffic"] == traffic) & (df["channels"] == channels)].iloc[0]
        values = group["blocking"]
        assert row["blocking_mean"] == pytest.approx(values.mean())
        half = t_quantile(0.975, 1) * values.std(ddof=1) / math.sqrt(2)
        assert row["blocking_ci_high"] == pytest.approx(values.mean() + half)
        assert row["blocking_ci_low"] == pytest.approx(values.mean() - half)
    # More load, more blocking; more channels, less.
    means = df.set_index(["traffic", "channels"])["blocking_mean"]
    assert means[(3.0, 2)] > means[(1.0, 2)] and means[(3.0, 2)] > means[(3.0, 4)]


def test_parallel_sweep_gives_the_same_numbers_as_serial() -> None:
    from dask.distributed import Client, LocalCluster

    serial = sweep(_short_trunk, GRID, SEEDS, parallel=False, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        parallel = sweep(_short_trunk, GRID, SEEDS, scheduler=cluster.scheduler_address,
                         progress=False)
        with Client(cluster) as client:
            on_client = sweep(_short_trunk, GRID, SEEDS, client=client, progress=False)
            assert client.status == "running"  # a given client is left open
    pd.testing.assert_frame_equal(serial, parallel)
    pd.testing.assert_frame_equal(serial.attrs["raw"], parallel.attrs["raw"])
    pd.testing.assert_frame_equal(serial, on_client)


def _population(rate: float, seed: int) -> Simulation:
    sim = Simulation(population_topology(4, rate=rate, mean_duration=2.0, stop=10.0),
                     seed=seed, media=False)
    sim.run(until=30.0)
    return sim


def _streamed(rate: float, seed: int) -> Simulation:
    sim = Simulation(population_topology(4, rate=rate, mean_duration=2.0, stop=10.0),
                     seed=seed, media=False)
    enable_streaming(sim, linger=5.0)
    sim.run(until=60.0)  # the INVITE transactions linger 64*T1 after the 2xx (Timer M)
    return sim


def test_a_factory_may_return_the_simulation() -> None:
    df = simvoip.analysis.sweep(_population, {"rate": [0.5, 2.0]}, [3], client=False,
                                progress=False)
    raw = df.attrs["raw"]
    assert list(raw["answered_ratio"]) == [1.0, 1.0]
    assert raw["calls"][1] > raw["calls"][0] > 0
    assert raw["setup_time_mean"][0] == pytest.approx(0.02, abs=1e-6)  # 4 x 5 ms hops
    assert math.isnan(df["calls_ci_low"][0])  # one seed: no interval
    streamed = sweep(_streamed, {"rate": [0.5, 2.0]}, [3], client=False, progress=False)
    assert list(streamed.attrs["raw"]["calls"]) == list(raw["calls"])
    assert list(streamed.attrs["raw"]["answered_ratio"]) == [1.0, 1.0]


def test_summarise_and_t_quantiles() -> None:
    raw = pd.DataFrame({"x": [1, 1, 1, 2], "seed": [1, 2, 3, 1], "m": [1.0, 2.0, 3.0, 5.0]})
    df = summarise(raw, ["x"], confidence=0.95)
    assert list(df["m_mean"]) == [2.0, 5.0]
    assert df["m_ci_high"][0] == pytest.approx(2.0 + 4.302653 / math.sqrt(3), rel=1e-3)
    # Student t table values (two-sided 95 %, 99 %).
    assert t_quantile(0.975, 5) == pytest.approx(2.5706, abs=2e-3)
    assert t_quantile(0.995, 10) == pytest.approx(3.1693, abs=2e-3)
    assert t_quantile(0.975, 1000) == pytest.approx(1.9623, abs=1e-3)
    with pytest.raises(ValueError):
        t_quantile(1.5, 3)


def test_bounds_keep_a_proportion_interval_within_its_range() -> None:
    raw = pd.DataFrame({"traffic": [3.0] * 3 + [6.0] * 3, "seed": [1, 2, 3] * 2,
                        "blocking": [0.0, 0.02, 0.5, 0.9, 0.99, 1.0], "pdd": [1.0, 2.0, 30.0] * 2})
    plain = summarise(raw, ["traffic"])
    bounded = summarise(raw, ["traffic"], bounds={"blocking": (0.0, 1.0)})
    # The t interval (2 degrees of freedom) runs below 0 and above 1 ...
    assert plain["blocking_ci_low"][0] < 0.0 and plain["blocking_ci_high"][1] > 1.0
    # ... the bounded one is clipped there, and is unchanged inside the range.
    assert bounded["blocking_ci_low"][0] == 0.0 and bounded["blocking_ci_high"][1] == 1.0
    assert bounded["blocking_ci_high"][0] == plain["blocking_ci_high"][0]
    assert bounded["blocking_ci_low"][1] == plain["blocking_ci_low"][1]
    # Metrics without bounds are left alone; means never move.
    assert bounded["pdd_ci_low"].equals(plain["pdd_ci_low"])
    assert bounded["blocking_mean"].equals(plain["blocking_mean"])
    with pytest.raises(ValueError, match="did not report: mos"):
        summarise(raw, ["traffic"], bounds={"mos": (1.0, 5.0)})
    df = sweep(_short_trunk, {"traffic": [3.0], "channels": [2]}, SEEDS, client=False,
               progress=False, bounds={"blocking": (0.0, 1.0)})
    assert 0.0 <= df["blocking_ci_low"][0] <= df["blocking_mean"][0] <= df["blocking_ci_high"][0] <= 1.0
