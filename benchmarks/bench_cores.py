"""The SIP protocol cores alone: complete calls UAC -> proxy -> UAS without the simulator.

    python benchmarks/bench_cores.py [--calls 3000] [--endpoints 1000] [--profile] [--digest]

``--endpoints`` phones (``UserAgent``) register once with one stateful proxy
(``Proxy`` + ``Registrar``), then ``--calls`` calls are placed at ``--rate``
calls/s between random pairs: INVITE / 100 / 180 / 200 / ACK, 30 s hold,
BYE / 200, as in ``bench_calls.py`` but driven by hand: every ``Send`` is
encoded, carried with a fixed delay and parsed at the receiver; timers sit in
one heap and are fired by hand. No simpy, no trace, no network model: what
is left is the cores, the transactions and the message codec.

Prints calls per wall-second and per CPU-second for the whole loop, and the
CPU time spent inside the cores (``receive`` / ``handle_timer`` / ``invite``)
versus encoding and parsing (CPU time: the machine may be shared), and the
CancelTimer effects per call with how many of them named a timer that was not
armed (a no-op for the adapter: the cores should send none). With
``--profile`` the top cProfile hotspots; with ``--digest`` a SHA-256 over every
output of every core in order, which must not change when the cores are only
made faster (same seed, same outputs). Figures only; nothing is asserted except
that every call was answered and ended.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import heapq
import io
import itertools
import pstats
import random
import time
from typing import Any

from simvoip.sip.effects import Address, CancelTimer, Send, StartTimer
from simvoip.sip.location import LocationService
from simvoip.sip.message import parse_message
from simvoip.sip.proxy import Proxy, ProxyConfig
from simvoip.sip.registrar import Registrar, RegistrarConfig
from simvoip.sip.ua.config import UABehaviour, UAConfig
from simvoip.sip.ua.core import UserAgent
from simvoip.sip.ua.events import CallAnswered, CallEnded

DOMAIN = "pop.example"
PROXY = "proxy"
DELAY = 0.005


class Bench:
    """Elements by host, one event heap (deliveries and timers), time spent per part."""

    def __init__(self, endpoints: int, seed: int = 1) -> None:
        rng = random.Random(seed)
        location = LocationService()
        registrar = Registrar(DOMAIN, location, random.Random(rng.getrandbits(32)),
                              RegistrarConfig(aliases=(PROXY,)))
        self.proxy = Proxy(ProxyConfig(host=PROXY, domain=DOMAIN),
                           random.Random(rng.getrandbits(32)), location, registrar)
        behaviour = UABehaviour(ring_delay=0.0, answer_delay=0.5)
        self.elements: dict[str, Any] = {PROXY: self.proxy}
        self.phones: list[str] = []
        for i in range(endpoints):
            host = f"ep{i}"
            self.phones.append(host)
            self.elements[host] = UserAgent(UAConfig(
                aor=f"sip:{host}@{DOMAIN}", host=host, outbound_proxy=f"sip:{PROXY};lr",
                registrar=f"sip:{DOMAIN}", behaviour=behaviour),
                random.Random(rng.getrandbits(32)))
        self.rng = rng
        self.now = 0.0
        self._heap: list[tuple[float, int, int, Any, Any, Any]] = []
        self._seq = itertools.count()
        self._timers: dict[tuple[str, Any, Any], int] = {}
        self.core_seconds = 0.0
        self.codec_seconds = 0.0
        self.messages = 0
        self.timer_firings = 0
        self.answered = 0
        self.ended = 0
        #: CancelTimer effects, and how many of them named a timer that was not armed.
        self.cancels = 0
        self.idle_cancels = 0
        #: With ``--digest``: a hash over every output in order (same seed, same digest).
        self.digest: Any = None

    # -- effects -------------------------------------------------------------------------

    def feed(self, host: str, outputs: list[Any]) -> None:
        if self.digest is not None:
            self.digest.update(repr((self.now, host, [
                o.message.encode() if isinstance(o, Send) else o for o in outputs])).encode())
        for o in outputs:
            if isinstance(o, Send):
                t0 = time.process_time()
                data = o.message.encode()
                self.codec_seconds += time.process_time() - t0
                dst = DOMAIN_HOSTS.get(o.destination.host, o.destination.host)
                heapq.heappush(self._heap, (self.now + DELAY, next(self._seq), 0, host, dst, data))
            elif isinstance(o, StartTimer):
                seq = next(self._seq)
                self._timers[(host, o.name, o.key)] = seq
                heapq.heappush(self._heap, (o.at, seq, 1, host, o.name, o.key))
            elif isinstance(o, CancelTimer):
                self.cancels += 1
                if self._timers.pop((host, o.name, o.key), None) is None:
                    self.idle_cancels += 1
            elif isinstance(o, CallAnswered):
                self.answered += 1
            elif isinstance(o, CallEnded):
                self.ended += 1

    def place_call(self, caller: str, callee: str, hold: float) -> None:
        ua = self.elements[caller]
        t0 = time.process_time()
        _, outputs = ua.invite(f"sip:{callee}@{DOMAIN}", self.now, hangup_after=hold)
        self.core_seconds += time.process_time() - t0
        self.feed(caller, outputs)

    def run(self, until: float, arrivals: list[tuple[float, str, str, float]] | None = None) -> None:
        heap = self._heap
        pending = list(arrivals or [])
        pending.reverse()
        elements = self.elements
        clock = time.process_time  # CPU seconds: the machine may be shared
        sources: dict[str, Address] = {}
        while heap or pending:
            if pending and (not heap or pending[-1][0] <= heap[0][0]):
                at, caller, callee, hold = pending.pop()
                self.now = at
                self.place_call(caller, callee, hold)
                continue
            at, seq, kind, host, a, b = heapq.heappop(heap)
            if at > until:
                heapq.heappush(heap, (at, seq, kind, host, a, b))
                break
            self.now = at
            if kind == 0:
                source = sources.get(host)
                if source is None:
                    source = sources[host] = Address(host)
                t0 = clock()
                message = parse_message(b)
                t1 = clock()
                outputs = elements[a].receive(message, source, at)
                t2 = clock()
                self.codec_seconds += t1 - t0
                self.core_seconds += t2 - t1
                self.messages += 1
                self.feed(a, outputs)
            else:
                if self._timers.get((host, a, b)) != seq:
                    continue  # cancelled or re-armed
                del self._timers[(host, a, b)]
                t0 = clock()
                outputs = elements[host].handle_timer(a, b, at)
                self.core_seconds += clock() - t0
                self.timer_firings += 1
                self.feed(host, outputs)


DOMAIN_HOSTS = {DOMAIN: PROXY}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="calls/s offered in total")
    parser.add_argument("--hold", type=float, default=30.0)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--digest", action="store_true",
                        help="print a hash of every output (to check behaviour is unchanged)")
    args = parser.parse_args()

    bench = Bench(args.endpoints)
    if args.digest:
        bench.digest = hashlib.sha256()
    for host in bench.phones:
        bench.feed(host, bench.elements[host].register(0.0))
    bench.run(until=1.0)
    rng = random.Random(7)
    arrivals = []
    at = 1.0
    for _ in range(args.calls):
        at += rng.expovariate(args.rate)
        caller, callee = rng.sample(bench.phones, 2)
        arrivals.append((at, caller, callee, args.hold))
    bench.core_seconds = bench.codec_seconds = 0.0
    bench.messages = bench.timer_firings = bench.cancels = bench.idle_cancels = 0
    profiler = cProfile.Profile() if args.profile else None
    gc.collect()
    gc.disable()
    start, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    bench.run(until=at + 80.0, arrivals=arrivals)
    if profiler is not None:
        profiler.disable()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    gc.enable()
    # Both ends report CallAnswered and CallEnded.
    assert bench.answered == bench.ended == 2 * args.calls, (bench.answered, bench.ended)
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue())
    calls = args.calls
    print(f"cores: {calls} complete calls, {args.endpoints} endpoints, one proxy; "
          f"{bench.messages} messages ({bench.messages / calls:.1f}/call), "
          f"{bench.timer_firings} timer firings ({bench.timer_firings / calls:.1f}/call), "
          f"{bench.cancels / calls:.1f} CancelTimer/call ({bench.idle_cancels / calls:.1f} of "
          "them for timers not armed)")
    print(f"  loop: {wall:.2f} s wall -> {calls / wall:,.0f} calls/s; {cpu:.2f} s CPU -> "
          f"{calls / cpu:,.0f} calls per CPU-second")
    print(f"  CPU in the cores (receive/handle_timer/invite): {bench.core_seconds:.2f} s -> "
          f"{calls / bench.core_seconds:,.0f} calls/s, "
          f"{1e6 * bench.core_seconds / (bench.messages + bench.timer_firings):.1f} us per "
          "message or timer")
    print(f"  CPU in encode + parse: {bench.codec_seconds:.2f} s; rest (heap, dispatch, "
          f"clock reads): {cpu - bench.core_seconds - bench.codec_seconds:.2f} s")
    if bench.digest is not None:
        print(f"  digest of all outputs: {bench.digest.hexdigest()}")


if __name__ == "__main__":
    main()
