"""Parameter sweeps: every combination of a grid x seeds, in parallel on Dask.

``sweep(scenario_factory, grid, seeds)`` calls ``scenario_factory(**params,
seed=seed)`` for every combination of the ``grid`` values (a dict of lists,
cartesian product in the dict's order) and every seed, and returns one pandas
DataFrame: a row per combination with, for each metric, the mean over seeds
and a Student-t confidence interval (``<metric>_mean``, ``<metric>_ci_low``,
``<metric>_ci_high``) plus ``seeds`` (how many). The per-seed results are in
``result.attrs["raw"]`` (one row per run, in grid order then seed order).

What the factory returns:

* a ``dict`` of numbers (the metrics), or
* a :class:`~simvoip.sim.simulation.Simulation` that has been run: its
  per-call figures are summarised by :func:`summarise_simulation`
  (``calls``, ``answered_ratio``, ``pdd_mean``, ``setup_time_mean``,
  ``retransmissions``, ``mos_mean``; from the streaming metrics when the run
  used :func:`simvoip.sim.load.enable_streaming`).

Where it runs: ``client=False`` (or ``parallel=False``) runs serially in this
process; a ``dask.distributed.Client`` runs there; ``scheduler="tcp://..."``
connects to that scheduler; otherwise a ``LocalCluster`` with ``workers``
processes is started and closed again. The factory must then be picklable
(a module-level function). Every run depends only on its parameters and seed,
so the numbers are the same serially and in parallel.

>>> def factory(rate, seed):
...     return {"blocking": rate / 10 + seed / 100}
>>> df = sweep(factory, {"rate": [1.0, 2.0]}, seeds=[1, 2, 3], client=False, progress=False)
>>> list(df["rate"]), [round(v, 3) for v in df["blocking_mean"]]
([1.0, 2.0], [0.12, 0.22])
>>> round(float(df["blocking_ci_high"][0] - df["blocking_mean"][0]), 4), len(df.attrs["raw"])
(0.0248, 6)
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

__all__ = ["sweep", "summarise", "summarise_simulation", "t_quantile", "run_one"]


def t_quantile(p: float, df: int) -> float:
    """Quantile ``p`` of Student's t with ``df`` degrees of freedom.

    Exact for ``df`` 1 and 2; the Cornish-Fisher expansion (Abramowitz &
    Stegun 26.7.5) from the normal quantile above (error < 1e-3 for df >= 3).

    >>> round(t_quantile(0.975, 1), 3), round(t_quantile(0.975, 4), 3), round(t_quantile(0.975, 30), 3)
    (12.706, 2.776, 2.042)
    """
    if not 0.0 < p < 1.0 or df < 1:
        raise ValueError(f"need 0 < p < 1 and df >= 1, got p={p}, df={df}")
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    z = statistics.NormalDist().inv_cdf(p)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def summarise_simulation(sim: Any) -> dict[str, float]:
    """Metrics of a finished :class:`~simvoip.sim.simulation.Simulation` (see module doc)."""
    metrics = getattr(sim.telephony, "streaming", None)
    if metrics is not None:
        out = metrics.as_dict()
        out["retransmissions"] = out["retransmissions"] / out["calls"] if out["calls"] else 0.0
        return {k: float(v) for k, v in out.items()}
    calls = [c.summary() for c in sim.calls]
    n = len(calls)

    def mean(name: str) -> float:
        values = [c[name] for c in calls if c[name] is not None]
        return float(sum(values) / len(values)) if values else math.nan

    answered = sum(1 for c in calls if c["outcome"] == "answered")
    return {
        "calls": float(n),
        "answered_ratio": answered / n if n else math.nan,
        "pdd_mean": mean("pdd"),
        "setup_time_mean": mean("setup_time"),
        "retransmissions": mean("retransmissions"),
        "mos_mean": mean("mos"),
    }


def run_one(scenario_factory: Callable[..., Any], params: Mapping[str, Any],
            seed: int) -> dict[str, Any]:
    """One run: ``scenario_factory(**params, seed=seed)`` as a metrics dict."""
    result = scenario_factory(**params, seed=seed)
    if not isinstance(result, Mapping):
        result = summarise_simulation(result)
    return dict(result)


def summarise(raw: pd.DataFrame, params: Sequence[str], confidence: float = 0.95,
              bounds: Mapping[str, tuple[float, float]] | None = None) -> pd.DataFrame:
    """Mean and Student-t confidence interval over seeds of every metric column of ``raw``.

    ``raw`` has the ``params`` columns, ``seed``, and metric columns. Rows keep
    the order of first appearance. A metric with one seed (or missing values
    only) gets an interval of NaN. ``bounds`` (metric -> (low, high)) clips a
    metric's interval to the values it can take -- a proportion such as
    ``blocking`` to [0, 1]: with few seeds the t interval reaches past them.

    >>> raw = pd.DataFrame({"load": [1, 1], "seed": [1, 2], "blocking": [0.0, 0.2]})
    >>> row = summarise(raw, ["load"], bounds={"blocking": (0.0, 1.0)}).iloc[0]
    >>> float(row["blocking_ci_low"]), round(float(row["blocking_ci_high"]), 3)
    (0.0, 1.0)
    """
    bounds = bounds or {}
    unknown = [m for m in bounds if m not in raw.columns]
    if unknown:
        raise ValueError(f"bounds for metrics the runs did not report: {', '.join(unknown)}")
    metrics = [c for c in raw.columns if c not in params and c != "seed"]
    rows: list[dict[str, Any]] = []
    groups = raw.groupby(list(params), sort=False, dropna=False) if params else [((), raw)]
    for key, group in groups:
        values = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(params, values, strict=True))
        row["seeds"] = len(group)
        for m in metrics:
            col = pd.to_numeric(group[m], errors="coerce").dropna()
            n = len(col)
            mean = float(col.mean()) if n else math.nan
            if n > 1:
                half = t_quantile(0.5 + confidence / 2, n - 1) * float(col.std(ddof=1)) / math.sqrt(n)
            else:
                half = math.nan
            low, high = mean - half, mean + half
            if m in bounds and n > 1:
                low, high = max(low, bounds[m][0]), min(high, bounds[m][1])
            row[f"{m}_mean"] = mean
            row[f"{m}_ci_low"] = low
            row[f"{m}_ci_high"] = high
        rows.append(row)
    return pd.DataFrame(rows)


def _combinations(grid: Mapping[str, Iterable[Any]]) -> list[dict[str, Any]]:
    names = list(grid)
    values = [list(grid[n]) for n in names]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def sweep(scenario_factory: Callable[..., Any], grid: Mapping[str, Iterable[Any]],
          seeds: Iterable[int], *, client: Any = None, scheduler: str | None = None,
          progress: bool = True, parallel: bool = True, workers: int = 2,
          processes: bool = True, confidence: float = 0.95,
          bounds: Mapping[str, tuple[float, float]] | None = None) -> pd.DataFrame:
    """Run ``scenario_factory`` over ``grid`` x ``seeds``; summary DataFrame (see module doc).

    Parameters
    ----------
    scenario_factory : callable
        ``scenario_factory(**params, seed=seed)`` -> dict of metrics or a run Simulation.
    grid : dict of lists
        Parameter name -> values; every combination is run.
    seeds : iterable of int
        Seeds per combination.
    client : dask.distributed.Client, False or None
        Where to run; ``False`` = serially here; ``None`` = a new local cluster
        (or ``scheduler``).
    scheduler : str, optional
        Address of a running Dask scheduler.
    progress : bool
        Show a tqdm progress bar.
    parallel : bool
        ``False`` is the same as ``client=False``.
    workers, processes : int, bool
        Size and kind of the local cluster started when none is given.
    confidence : float
        Level of the confidence intervals.
    bounds : dict, optional
        Metric -> (low, high): the values it can take; its interval is clipped
        to them (e.g. ``{"blocking": (0.0, 1.0)}``).
    """
    combos = _combinations(grid)
    seed_list = [int(s) for s in seeds]
    jobs = [(combo, seed) for combo in combos for seed in seed_list]
    results: list[dict[str, Any] | None] = [None] * len(jobs)
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), disable=not progress, desc="sweep")
    if client is False or not parallel:
        for i, (combo, seed) in enumerate(jobs):
            results[i] = run_one(scenario_factory, combo, seed)
            bar.update(1)
    else:
        from dask.distributed import Client, LocalCluster, as_completed

        own_cluster = None
        own_client = None
        if client is None:
            if scheduler is not None:
                client = own_client = Client(scheduler)
            else:
                own_cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                           processes=processes, dashboard_address=None)
                client = own_client = Client(own_cluster)
        try:
            futures = [client.submit(run_one, scenario_factory, combo, seed, pure=False)
                       for combo, seed in jobs]
            index = {f.key: i for i, f in enumerate(futures)}
            for future in as_completed(futures):
                results[index[future.key]] = future.result()
                bar.update(1)
        finally:
            if own_client is not None:
                own_client.close()
            if own_cluster is not None:
                own_cluster.close()
    bar.close()
    raw = pd.DataFrame([{**combo, "seed": seed, **(results[i] or {})}
                        for i, (combo, seed) in enumerate(jobs)])
    summary = summarise(raw, list(grid), confidence, bounds)
    summary.attrs["raw"] = raw
    return summary
