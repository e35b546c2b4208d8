"""Peak memory of many concurrent calls, and flat memory over many calls in sequence.

    python benchmarks/bench_memory.py [--concurrent 10000] [--sequential 30000]
                                      [--step 5000]

1. ``--concurrent`` calls up at the same time (signalling only, 1,000
   phones, one proxy, arrivals within 100 s, 2,000 s holding): tracemalloc
   current/peak at full concurrency, per call.
2. ``--sequential`` calls one after another (50 calls/s, 30 s holding, so
   about 1,500 up at once) in long-run mode
   (:func:`simvoip.sim.load.enable_streaming`, trace ``metrics``): traced
   memory after every ``--step`` calls. Flat means finished calls, dialogs
   and transactions are released. The issue's 1,000,000-call figure is
   ``--sequential 1000000 --step 100000 --rss`` (resident memory instead of
   tracemalloc, which would double the run time).

Figures only; nothing is asserted. tracemalloc slows the run down about 2x.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from simvoip import Simulation
from simvoip.sim.load import enable_streaming, population_topology

MB = 1024 * 1024


def concurrent(calls: int, endpoints: int = 1000) -> None:
    rate = calls / 100.0
    topo = population_topology(endpoints, rate=rate, mean_duration=2000.0, stop=100.0,
                               holding="fixed", ring_delay=0.0, answer_delay=0.5)
    tracemalloc.start()
    sim = Simulation(topo, seed=1, media=False)
    enable_streaming(sim, trace="metrics")
    sim.run(until=1.0)
    base, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    start = time.perf_counter()
    sim.run(until=140.0)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    up = sum(1 for ua in sim.user_agents.values() for c in ua.calls.values()
             if c.role == "uac" and c.state == "confirmed")
    print(f"concurrent: {up} calls up at once ({time.perf_counter() - start:.1f} s wall)")
    print(f"  after registration {base / MB:.1f} MB; with the calls up {current / MB:.1f} MB "
          f"(peak {peak / MB:.1f} MB): {(current - base) / max(up, 1) / 1024:.1f} KiB per call")


def _rss() -> tuple[float, float]:
    """Resident set size now and at its peak (MB), from /proc/self/status (Linux)."""
    now = peak = 0.0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                now = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return now, peak


def sequential(calls: int, step: int, endpoints: int = 1000, rss: bool = False) -> None:
    rate = 50.0
    topo = population_topology(endpoints, rate=rate, mean_duration=30.0, stop=calls / rate,
                               holding="fixed", ring_delay=0.0, answer_delay=0.5)
    if not rss:
        tracemalloc.start()
    sim = Simulation(topo, seed=1, media=False)
    metrics = enable_streaming(sim, trace="metrics")
    sim.run(until=1.0)
    print(f"sequential: {calls} calls at {rate:g} calls/s, 30 s each, streaming metrics")
    start = time.perf_counter()
    for k in range(step, calls + step, step):
        sim.run(until=k / rate)  # cyclic GC on: flat must not depend on switching it off
        if rss:
            current_mb, peak_mb = _rss()
        else:
            current, peak = tracemalloc.get_traced_memory()
            current_mb, peak_mb = current / MB, peak / MB
        live = len(sim.telephony.by_call_id)
        print(f"  {k:>9,} calls placed, {metrics.count:>9,} folded, {live:>5} live: "
              f"{current_mb:7.1f} MB (peak {peak_mb:.1f} MB){' RSS' if rss else ''}, "
              f"{time.perf_counter() - start:.0f} s wall", flush=True)
    if not rss:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrent", type=int, default=10000)
    parser.add_argument("--sequential", type=int, default=30000)
    parser.add_argument("--step", type=int, default=5000)
    parser.add_argument("--rss", action="store_true",
                        help="sequential: measure resident memory instead of tracemalloc "
                             "(no 2x slow-down; for the 1,000,000-call run)")
    args = parser.parse_args()
    if args.concurrent:
        concurrent(args.concurrent)
    if args.sequential:
        sequential(args.sequential, args.step, rss=args.rss)


if __name__ == "__main__":
    main()
