"""Complete calls per wall-second, and MOS for many calls on the vectorised media path.

    python benchmarks/bench_calls.py [--calls 5000] [--endpoints 1000] [--trace metrics]
                                     [--profile] [--mos-calls 10000]

1. Signalling only (``media=False``): ``--endpoints`` phones register once at
   one proxy, then Poisson arrivals (``--rate`` calls/s in total) place
   complete calls INVITE / 180 / 200 / ACK, 30 s hold, BYE / 200 through the
   proxy until ``--calls`` calls have been placed. Streaming metrics
   (``simvoip.sim.load.enable_streaming``), trace ``--trace`` (``metrics``:
   none kept, ``full``: every row). Prints calls per wall-second; with
   ``--profile`` the top cProfile hotspots. Target of issue 11: 100,000 calls
   in < 50 s (2,000 calls/s); SIPp does about 8,000 real calls/s on loopback
   with no proxy and no network model.
2. Media: ``--mos-calls`` answered calls of the same kind, 30 s each, MOS per
   call from ``simvoip.media.fastpath.simulate_calls`` for both directions of
   each call's path (access links in 4 classes of delay/jitter/loss).

Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import time

import numpy as np

from simvoip import Simulation
from simvoip.media.codecs import codec_by_name
from simvoip.media.fastpath import LinkModel, simulate_calls
from simvoip.media.loss import GilbertElliott
from simvoip.sim.load import enable_streaming, population_topology


def signalling(calls: int, endpoints: int, rate: float, trace: str,
               profile: bool) -> tuple[float, float, int, float]:
    """Wall and CPU seconds of the run, calls folded, and set-up seconds."""
    t0 = time.perf_counter()
    stop = calls / rate
    topo = population_topology(endpoints, rate=rate, mean_duration=30.0, stop=stop,
                               holding="fixed", ring_delay=0.0, answer_delay=0.5)
    sim = Simulation(topo, seed=1, media=False)
    metrics = enable_streaming(sim, trace=trace)
    sim.run(until=1.0)  # registrations
    setup = time.perf_counter() - t0
    profiler = cProfile.Profile() if profile else None
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    sim.run(until=stop + 80.0)  # the default run: cyclic GC on (see Simulation.run)
    if profiler is not None:
        profiler.disable()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert metrics.outcomes["answered"] == metrics.count, metrics.outcomes
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        print(out.getvalue())
    return wall, cpu, metrics.count, setup


ACCESS = [  # (one-way delay s, jitter s, loss) of an access link class
    (0.005, 0.001, 0.0), (0.010, 0.004, 0.005), (0.020, 0.010, 0.01), (0.040, 0.020, 0.03)]


def media(calls: int, seed: int = 1) -> tuple[float, float, np.ndarray]:
    """Wall seconds to place ``calls`` calls (signalling) and to get their MOS (fast path)."""
    endpoints = 200
    rate = 20.0
    topo = population_topology(endpoints, rate=rate, mean_duration=30.0, stop=calls / rate,
                               holding="fixed", ring_delay=0.0, answer_delay=0.5)
    start = time.perf_counter()
    sim = Simulation(topo, seed=seed, media=False)
    sim.run(until=calls / rate + 60.0)
    answered = [c for c in sim.calls if c.outcome == "answered"]
    signalling_wall = time.perf_counter() - start
    start = time.perf_counter()
    # Group calls by the access classes of their two ends; one batch per group and direction.
    groups: dict[tuple[int, int], list[int]] = {}
    for i, call in enumerate(answered):
        a = int(call.caller[2:]) % len(ACCESS)
        b = int((call.callee or "ep0")[2:]) % len(ACCESS)
        groups.setdefault((a, b), []).append(i)
    codec = codec_by_name("PCMU")
    rng = np.random.default_rng(seed)
    mos = np.empty(len(answered))
    packets = int(30.0 / 0.020)
    for (a, b), idx in sorted(groups.items()):
        (da, ja, la), (db, jb, lb) = ACCESS[a], ACCESS[b]
        link = LinkModel(delay=da + db, jitter=ja + jb,
                         loss=GilbertElliott.bernoulli(1 - (1 - la) * (1 - lb)))
        forward = simulate_calls(link, codec, len(idx), packets, rng)
        backward = simulate_calls(link, codec, len(idx), packets, rng)
        mos[idx] = np.minimum(forward.mos, backward.mos)
    return signalling_wall, time.perf_counter() - start, mos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="calls/s offered in total")
    parser.add_argument("--trace", choices=("metrics", "sampled", "full"), default="metrics")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--mos-calls", type=int, default=10000)
    args = parser.parse_args()

    wall, cpu, done, setup = signalling(args.calls, args.endpoints, args.rate, args.trace,
                                   args.profile)
    print(f"signalling: {done} complete calls through one proxy, {args.endpoints} endpoints, "
          f"trace={args.trace}")
    print(f"  set-up + {args.endpoints} REGISTERs: {setup:.2f} s wall")
    print(f"  calls: {wall:.2f} s wall -> {done / wall:,.0f} calls/s "
          f"(100,000 calls would take {100_000 / (done / wall):.0f} s; target 50 s; "
          "SIPp ~8,000 calls/s on loopback)")
    print(f"  CPU: {cpu:.2f} s -> {done / cpu:,.0f} calls per CPU-second "
          "(wall and CPU differ when the machine is shared)")
    if args.mos_calls:
        sig, fast, mos = media(args.mos_calls)
        print(f"media: {len(mos)} answered calls, signalling {sig:.1f} s wall, "
              f"MOS on the vectorised path {fast:.1f} s wall (both directions, 1500 packets "
              f"each): total {sig + fast:.1f} s (target 60 s)")
        print(f"  MOS mean {mos.mean():.2f}, min {mos.min():.2f}, "
              f"5th percentile {np.percentile(mos, 5):.2f}")


if __name__ == "__main__":
    main()
