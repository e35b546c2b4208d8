"""Simulation core throughput and memory (run on demand; prints figures, asserts nothing).

    python benchmarks/bench_sim.py [--hops 40000] [--rounds 3]

1. Message hops per wall-second through the full stack (encode, link model,
   parse, transaction layer, node adapter, trace), side by side with a bare
   SimPy ping-pong of the same number of hops (the lower bound). The two take
   turns for ``--rounds`` rounds and the best round of each counts; every
   timed run starts after ``gc.collect()``, so neither pays for the garbage
   the other left (a finished simulation is a reference cycle: until a full
   collection frees it, that collection's cost lands on whatever runs next).
2. Memory per idle endpoint and per in-flight transaction (tracemalloc).
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import simpy

from simvoip import Simulation, Topology
from simvoip.sim.driver import make_request


def bare_simpy(hops: int, delay: float = 0.01) -> tuple[float, float]:
    """Wall and CPU seconds for ``hops`` messages bounced between two SimPy processes."""
    env = simpy.Environment()
    boxes = [simpy.Store(env), simpy.Store(env)]
    count = [0]

    def player(me: int) -> simpy.events.ProcessGenerator:
        while True:
            msg = yield boxes[me].get()
            count[0] += 1
            if count[0] >= hops:
                return
            yield env.timeout(delay)
            boxes[1 - me].put(msg)

    env.process(player(0))
    env.process(player(1))
    boxes[0].put(b"ping")
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    env.run()
    return time.perf_counter() - start, time.process_time() - cpu


def full_stack(hops: int, pause_gc: bool = False) -> tuple[float, float, int]:
    """Wall and CPU seconds, and hops done, for OPTIONS transactions totalling about ``hops`` hops (request + 200)."""
    topo = Topology()
    topo.add_endpoint("alice", domain="a.example")
    topo.add_endpoint("bob", domain="b.example")
    topo.add_link("alice", "bob", delay=0.01, jitter=0.002)
    sim = Simulation(topo, seed=1)
    sim.serve_options("bob")
    n = hops // 2

    def source() -> simpy.events.ProcessGenerator:
        # One new OPTIONS transaction every 2 ms, built when it is sent.
        for i in range(n):
            request = make_request("OPTIONS", "alice", "sip:bob@bob", call_id=f"c{i}",
                                   branch=f"z9hG4bK{i}", cseq=i + 1)
            sim.send_request("alice", request, at=sim.now)
            yield sim.env.timeout(0.002)

    sim.env.process(source())
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    sim.run(pause_gc=pause_gc)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    done = sum(1 for r in sim.trace.records if r[1] == "recv")
    return wall, cpu, done


def collector_time(hops: int) -> tuple[tuple[float, float, int], int, float]:
    """One :func:`full_stack` run: its result, its collections and the CPU seconds inside them.

    Timed in ``gc.callbacks`` (start/stop of each collection), so it does not
    depend on comparing two noisy runs.
    """
    spent = [0, 0.0, 0.0]  # collections, seconds, start of the current one

    def clock(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            spent[2] = time.process_time()
        else:
            spent[0] += 1
            spent[1] += time.process_time() - spent[2]

    gc.callbacks.append(clock)
    try:
        result = full_stack(hops)
    finally:
        gc.callbacks.remove(clock)
    return result, int(spent[0]), spent[1]


def sip_only(hops: int) -> float:
    """CPU seconds for the same protocol work without the simulator (the sans-I/O floor).

    Per OPTIONS transaction: build, NICT start, encode, parse, NIST, 200 response,
    encode, parse, match, and the K / J timers.
    """
    from simvoip.sip import Request, Response, parse_message
    from simvoip.sip.effects import Address
    from simvoip.sip.transaction.client import NonInviteClientTransaction
    from simvoip.sip.transaction.keys import client_key, server_key
    from simvoip.sip.transaction.server import NonInviteServerTransaction
    from simvoip.sip.ua.messages import make_response

    gc.collect()
    start = time.process_time()
    for i in range(hops // 2):
        request = make_request("OPTIONS", "alice", "sip:bob@bob", call_id=f"c{i}",
                               branch=f"z9hG4bK{i}", cseq=i + 1)
        client = NonInviteClientTransaction(request, Address("bob"), now=0.0)
        wire = client.start(0.0)[0].message.encode()
        received = parse_message(wire)
        assert isinstance(received, Request)
        server_key(received)
        server = NonInviteServerTransaction(received, Address("alice"), now=0.01)
        server.start(0.01)
        out = server.send_response(make_response(received, 200, to_tag="t"), 0.01)
        answer = parse_message(out[0].message.encode())
        assert isinstance(answer, Response)
        client_key(answer)
        client.receive_response(answer, 0.02)
        client.handle_timer("K", 5.02)
        server.handle_timer("J", 32.01)
    return time.process_time() - start


def _measure(build: object) -> int:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    keep = build()  # type: ignore[operator]
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    size = sum(s.size_diff for s in after.compare_to(before, "filename"))
    del keep
    return size


def memory_per_endpoint(n: int = 2000) -> float:
    def build(count: int) -> object:
        topo = Topology()
        topo.add_router("core")
        for i in range(count):
            topo.add_endpoint(f"ep{i}", domain="x.example")
            topo.add_link(f"ep{i}", "core", delay=0.001)
        return Simulation(topo, seed=1)

    return (_measure(lambda: build(n)) - _measure(lambda: build(0))) / n


def memory_per_transaction(n: int = 5000) -> tuple[float, float]:
    """Bytes per in-flight NICT (request never answered), with and without its trace rows."""
    topo = Topology()
    topo.add_endpoint("alice", domain="a.example")
    topo.add_endpoint("bob", domain="b.example")
    topo.add_link("alice", "bob", delay=0.01, loss=1.0)
    sim = Simulation(topo, seed=1)
    requests = [make_request("OPTIONS", "alice", "sip:bob@bob", call_id=f"c{i}",
                             branch=f"z9hG4bK{i}", cseq=i + 1) for i in range(n)]
    for request in requests:
        sim.send_request("alice", request, at=0.0)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    sim.run(until=0.1)  # every transaction is in Trying with Timers E and F armed
    gc.collect()
    with_trace = tracemalloc.take_snapshot()
    trace_rows = len(sim.trace.records)
    sim.trace.records.clear()
    gc.collect()
    without_trace = tracemalloc.take_snapshot()
    tracemalloc.stop()
    assert len(sim.nodes["alice"].client_transactions) == n and trace_rows == 3 * n
    total = sum(s.size_diff for s in with_trace.compare_to(before, "filename"))
    bare = sum(s.size_diff for s in without_trace.compare_to(before, "filename"))
    return total / n, bare / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hops", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    full_runs, bare_runs, paused_runs = [], [], []
    for _ in range(args.rounds):  # interleaved, best of each
        # (each full-stack run also times its collector; the last round's is printed)
        (wall, cpu, hops), collections, in_gc = collector_time(args.hops)
        full_runs.append((wall, cpu))
        bare_runs.append(bare_simpy(hops))
        paused_runs.append(full_stack(hops, pause_gc=True)[:2])
    (wall_full, cpu_full), (wall_bare, cpu_bare) = min(full_runs), min(bare_runs)
    wall_paused, cpu_nogc = min(paused_runs)
    for label, wall, cpu in (("full stack", wall_full, cpu_full), ("bare SimPy", wall_bare, cpu_bare)):
        print(f"{label} : {hops} hops in {wall:.3f} s wall ({cpu:.3f} s CPU) = "
              f"{hops / wall:,.0f} hops per wall-second")
    print(f"ratio      : full stack is {wall_full / wall_bare:.1f}x slower than bare SimPy "
          f"per wall-second ({cpu_full / cpu_bare:.1f}x in CPU time; target: within 10x)")
    print(f"run(pause_gc=True): {hops / wall_paused:,.0f} hops per wall-second, "
          f"{wall_paused / wall_bare:.1f}x bare SimPy ({cpu_nogc / cpu_bare:.1f}x in CPU time)")
    cpu_sip = min(sip_only(hops) for _ in range(args.rounds))
    per_hop = 1e6 / hops
    print(f"breakdown  : per hop {cpu_full * per_hop:.1f} us CPU = "
          f"{cpu_sip * per_hop:.1f} us protocol work (simvoip.sip, no simulator) + "
          f"{(cpu_nogc - cpu_sip) * per_hop:.1f} us simulator (SimPy, links, node adapter, "
          f"trace) + {(cpu_full - cpu_nogc) * per_hop:.1f} us cyclic GC; bare SimPy "
          f"{cpu_bare * per_hop:.1f} us")
    print(f"cyclic GC  : {collections} collections in a full-stack run, {in_gc * per_hop:.1f} us "
          f"per hop inside the collector (timed in gc.callbacks; the breakdown's GC term is the "
          f"difference of two runs and also holds the cache misses a collection causes)")
    print(f"memory     : {memory_per_endpoint():,.0f} bytes per idle endpoint (node + link)")
    total, bare = memory_per_transaction()
    print(f"memory     : {bare:,.0f} bytes per in-flight NICT "
          f"({total:,.0f} including its 3 trace rows)")


if __name__ == "__main__":
    main()
