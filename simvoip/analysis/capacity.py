"""Capacity planning studies: trunk blocking against Erlang B, proxy overload collapse.

* :func:`trunk_blocking` offers ``traffic`` Erlangs (Poisson arrivals,
  exponential holding times) to an N-channel trunk and compares the measured
  blocking with :func:`~simvoip.analysis.erlang.erlang_b` through a binomial
  (Wilson) confidence interval.
* :func:`overload_study` drives a proxy of finite capacity (``capacity``
  messages/s, ``queue`` waiting at most) with rising call load, with and
  without 503 + Retry-After overload control
  (:class:`~simvoip.sip.overload.OverloadControlProxy`), and reports the
  goodput: calls answered within ``setup_limit`` seconds, per second. Without
  control the goodput collapses past capacity, because queueing delay beyond
  T1 makes every hop retransmit (RFC 3261 17.1.1.2 Timer A, 13.3.1.4 2xx
  retransmission) and the retransmissions are more load (RFC 6357 section 4).

>>> row = trunk_blocking(2.0, channels=2, mean_duration=5.0, duration=300.0, seeds=[1])
>>> row["channels"], round(row["erlang_b"], 3), row["ci_low"] <= row["measured"] <= row["ci_high"]
(2, 0.4, True)
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from typing import Any

import pandas as pd

from simvoip.analysis.erlang import erlang_b
from simvoip.sim.load import (
    enable_streaming,
    population_topology,
    registration_storm,
    trunk_topology,
)
from simvoip.sim.simulation import Simulation
from simvoip.sim.topology import Topology

__all__ = ["wilson_interval", "design_effect", "trunk_blocking", "trunk_scenario", "storm_run", "overload_run", "overload_study",
           "MESSAGES_PER_CALL"]

#: Messages a stateful proxy receives for one basic call without retransmissions:
#: INVITE, 180, 200, ACK, BYE, 200 (RFC 3665 3.2 flow, one proxy).
MESSAGES_PER_CALL = 6


def wilson_interval(successes: float, trials: float,
                    confidence: float = 0.99) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (counts may be effective, fractional).

    >>> lo, hi = wilson_interval(30, 100, 0.95)
    >>> round(lo, 3), round(hi, 3)
    (0.219, 0.396)
    """
    if trials <= 0:
        return (0.0, 1.0)
    z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def design_effect(batches: list[tuple[int, int]]) -> float:
    """Variance inflation of a blocking estimate from batch means (>= 1).

    ``batches`` are ``(blocked, offered)`` per consecutive time batch. Blocked
    calls come in bursts (a full trunk stays full for a while), so the variance
    of the blocked fraction exceeds the binomial ``p (1 - p) / n``; the ratio
    of the between-batch variance to the binomial one estimates by how much.

    >>> design_effect([(5, 50), (5, 50), (5, 50)])
    1.0
    >>> round(design_effect([(0, 50), (20, 50), (0, 50), (20, 50)]), 1)
    16.7
    """
    used = [(b, n) for b, n in batches if n > 0]
    total = sum(n for _, n in used)
    if len(used) < 2 or total == 0:
        return 1.0
    p = sum(b for b, _ in used) / total
    if p in (0.0, 1.0):
        return 1.0
    between = sum(n * (b / n - p) ** 2 for b, n in used) / (len(used) - 1)
    return max(1.0, between / (p * (1 - p)))


def trunk_blocking(traffic: float, channels: int, *, mean_duration: float = 60.0,
                   duration: float = 3600.0, seeds: Iterable[int] = (1,),
                   warmup: float | None = None, busy_code: int = 503,
                   confidence: float = 0.99, batches: int = 10) -> dict[str, Any]:
    """Measured blocking of an N-channel trunk offered ``traffic`` Erlangs, vs Erlang B.

    Calls arriving in the first ``warmup`` seconds (default: 3 mean holding
    times, while the trunk fills from empty) are not counted. Blocked calls are
    those answered ``busy_code``. Signalling only (``media=False``).

    Returns ``offered``, ``blocked``, ``measured``, ``erlang_b``; ``ci_low``,
    ``ci_high``: the binomial (Wilson) interval at ``confidence``; ``deff``: the
    design effect from ``batches`` batch means per seed (:func:`design_effect`)
    and ``ci_low_adj``, ``ci_high_adj``: the Wilson interval with the effective
    sample size ``offered / deff``; ``within`` says Erlang B lies in the
    adjusted interval.
    """
    warm = 3 * mean_duration if warmup is None else warmup
    offered = blocked = 0
    batch_counts: list[tuple[int, int]] = []
    width = (duration - warm) / batches
    for seed in seeds:
        topo = trunk_topology(traffic, channels, mean_duration=mean_duration, stop=duration,
                              busy_code=busy_code)
        sim = Simulation(topo, seed=seed, media=False)
        sim.run(until=duration + 10.0, pause_gc=True)
        per_batch = [[0, 0] for _ in range(batches)]
        for call in sim.calls:
            if call.at < warm:
                continue
            hit = call.final_status == busy_code
            offered += 1
            blocked += hit
            slot = per_batch[min(batches - 1, int((call.at - warm) / width))]
            slot[0] += hit
            slot[1] += 1
        batch_counts.extend((b, n) for b, n in per_batch)
    expected = erlang_b(traffic, channels)
    lo, hi = wilson_interval(blocked, offered, confidence)
    deff = design_effect(batch_counts)
    lo_adj, hi_adj = wilson_interval(blocked / deff, offered / deff, confidence)
    measured = blocked / offered if offered else math.nan
    return {"traffic": traffic, "channels": channels, "offered": offered, "blocked": blocked,
            "measured": measured, "erlang_b": expected, "ci_low": lo, "ci_high": hi,
            "deff": deff, "ci_low_adj": lo_adj, "ci_high_adj": hi_adj,
            "within": lo_adj <= expected <= hi_adj}


def trunk_scenario(traffic: float, channels: int, seed: int, *, mean_duration: float = 10.0,
                   duration: float = 600.0) -> dict[str, float]:
    """A sweep scenario (:func:`simvoip.analysis.sweep.sweep`): one trunk-group run's figures.

    >>> r = trunk_scenario(2.0, 2, seed=1, duration=200.0)
    >>> sorted(r), r["erlang_b"] == 0.4
    (['blocking', 'carried_erlangs', 'erlang_b', 'offered'], True)
    """
    topo = trunk_topology(traffic, channels, mean_duration=mean_duration, stop=duration)
    sim = Simulation(topo, seed=seed, media=False)
    sim.run(until=duration + 10.0, pause_gc=True)
    gw = sim.user_agents["gw"]
    carried = 0.0
    for call in sim.calls:
        record = call.record
        if record is not None and record.answered_at is not None:
            end = record.ended_at if record.ended_at is not None else sim.now
            carried += end - record.answered_at
    return {"offered": float(gw.offered), "blocking": gw.blocking(),
            "erlang_b": erlang_b(traffic, channels), "carried_erlangs": carried / duration}


def overload_run(rate: float, *, control: bool, seed: int = 1, capacity: float = 60.0,
                 queue: int = 300, threshold: int = 10, retry_after: int = 5,
                 members: int = 20, duration: float = 20.0, holding: float = 2.0,
                 setup_limit: float = 2.0) -> dict[str, Any]:
    """One overload run: ``members`` phones offer ``rate`` calls/s through one proxy.

    The proxy serves ``capacity`` messages/s (``queue`` waiting at most); with
    ``control`` it answers new INVITEs 503 + Retry-After while more than
    ``threshold`` messages wait. Calls last ``holding`` s (fixed), arrivals stop
    at ``duration``; the run goes on until they have all finished.
    """
    params: dict[str, Any] = {}
    if control:
        params = {"overload_threshold": threshold, "retry_after": retry_after}
    topo = population_topology(members, rate=rate, mean_duration=holding, stop=duration,
                               holding="fixed", answer_delay=0.05,
                               proxy={"capacity": capacity, "queue": queue, "params": params})
    sim = Simulation(topo, seed=seed, media=False)
    metrics = enable_streaming(sim, trace="metrics", linger=5.0, setup_limit=setup_limit)
    sim.run(until=duration + 60.0, pause_gc=True)
    proxy = sim.proxies["proxy"]
    return {
        "offered": rate, "control": control, "seed": seed,
        "load": rate * MESSAGES_PER_CALL / capacity,
        "calls": metrics.count, "answered": metrics.outcomes["answered"], "good": metrics.good,
        "goodput": metrics.good / duration,
        "retransmissions": metrics.retransmissions,
        "overload_drops": sim.nodes["proxy"].overload_drops,
        "rejected_503": getattr(proxy, "rejected", 0),
    }


def overload_study(rates: Iterable[float], *, seeds: Iterable[int] = (1,),
                   controls: Iterable[bool] = (False, True), **options: Any) -> pd.DataFrame:
    """:func:`overload_run` for every offered rate x control x seed: one row each.

    ``load`` is the offered message load relative to the proxy's capacity
    (``rate * MESSAGES_PER_CALL / capacity``): 1.0 is the nominal capacity.

    >>> df = overload_study([2.0], seeds=[1], controls=[False], duration=5.0)
    >>> list(df.columns[:4]), bool(df["good"][0] == df["calls"][0] > 0)
    (['offered', 'control', 'seed', 'load'], True)
    """
    rows = [overload_run(rate, control=control, seed=seed, **options)
            for rate in rates for control in controls for seed in seeds]
    return pd.DataFrame(rows)


def storm_run(phones: int, *, capacity: float | None = None, queue: int | None = None,
              spread: float = 0.0, seed: int = 1, at: float = 10.0,
              horizon: float = 120.0) -> dict[str, Any]:
    """A registration storm: ``phones`` phones all REGISTER at ``at`` (within ``spread`` s).

    The phones did not register before (as after a registrar restart) and
    reach a registrar of ``capacity`` messages/s with ``queue`` waiting at
    most. Returns how many got registered within ``horizon`` s, the time the
    last one took (``time_to_all``, NaN if not all did), the 95th percentile,
    the REGISTER retransmissions (RFC 3261 17.1.2.2 Timer E) and the
    registrar's overload drops.

    >>> r = storm_run(20)
    >>> r["registered"], r["retransmissions"], round(r["time_to_all"], 3)
    (20, 0, 0.01)
    """
    topo = Topology(name="storm")
    topo.add_proxy("registrar", domain="reg.example", capacity=capacity, queue=queue)
    for i in range(phones):
        topo.add_endpoint(f"ph{i}", domain="reg.example", params={"register": False})
        topo.add_link(f"ph{i}", "registrar", delay=0.005)
    sim = Simulation(topo, seed=seed, media=False)
    registration_storm(sim, at=at, spread=spread)
    sim.run(until=at + spread + horizon, pause_gc=True)
    rows = sim.trace.records
    sends = sum(1 for r in rows if r[1] == "send" and r[6] == "REGISTER" and r[7] is None
                and r[2] != "registrar")
    done = sorted(r[0] - at for r in rows if r[1] == "state" and r[11] == "Registered")
    registered = sum(1 for ua in sim.user_agents.values() if ua.registered_until is not None)
    p95 = done[min(len(done) - 1, int(0.95 * len(done)))] if done else math.nan
    return {"phones": phones, "spread": spread, "registered": registered,
            "time_to_all": done[-1] if registered == phones else math.nan, "p95": p95,
            "retransmissions": sends - phones,
            "overload_drops": sim.nodes["registrar"].overload_drops}
