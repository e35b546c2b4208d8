"""Sweep speed-up: the same sweep serially and on a local Dask cluster of 2 workers.

    python benchmarks/bench_sweep.py [--workers 2] [--duration 1500]

A grid of trunk-group scenarios (:func:`simvoip.analysis.capacity.trunk_scenario`:
offered load x channels, 2 seeds each, 8 runs) runs once with ``client=False``
and once on a ``LocalCluster`` of ``--workers`` processes (start-up included
and shown separately). Prints both wall times, the speed-up, and whether the
two result frames are identical. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import time
from functools import partial

from simvoip.analysis.capacity import trunk_scenario
from simvoip.analysis.sweep import sweep

#: Blocking is a proportion: its confidence interval stays within [0, 1].
BOUNDS = {"blocking": (0.0, 1.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=float, default=1500.0)
    args = parser.parse_args()
    grid = {"traffic": [3.0, 6.0], "channels": [4, 8]}
    seeds = [1, 2]
    factory = partial(trunk_scenario, duration=args.duration)

    start = time.perf_counter()
    serial = sweep(factory, grid, seeds, client=False, progress=False, bounds=BOUNDS)
    t_serial = time.perf_counter() - start

    from dask.distributed import Client, LocalCluster

    start = time.perf_counter()
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    t_start = time.perf_counter() - start
    start = time.perf_counter()
    parallel = sweep(factory, grid, seeds, client=client, progress=True, bounds=BOUNDS)
    t_parallel = time.perf_counter() - start
    client.close()
    cluster.close()

    runs = len(serial.attrs["raw"])
    print(f"{runs} runs of {args.duration:g} simulated s each")
    print(f"serial:   {t_serial:.1f} s wall")
    print(f"parallel: {t_parallel:.1f} s wall on {args.workers} worker processes "
          f"(+ {t_start:.1f} s cluster start-up)")
    print(f"speed-up: {t_serial / t_parallel:.2f}x (with start-up "
          f"{t_serial / (t_parallel + t_start):.2f}x)")
    same = serial.equals(parallel) and serial.attrs["raw"].equals(parallel.attrs["raw"])
    print(f"identical results: {same}")
    print(serial[["traffic", "channels", "blocking_mean", "blocking_ci_low",
                  "blocking_ci_high", "erlang_b_mean"]].to_string(index=False))


if __name__ == "__main__":
    main()
