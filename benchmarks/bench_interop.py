"""Calls per second of the simvoip UAS on loopback against SIPp ``uac``, beside SIPp ``uas``.

In one run, SIPp's built-in ``uac`` scenario (INVITE, 180/200, ACK, BYE, 200)
places the same load -- ``--calls`` calls, at most ``--limit`` at once, at up
to ``--rate`` new calls per second -- first against SIPp's own built-in
``uas`` and then against the simvoip UAS (the sans-I/O UserAgent core on
:class:`simvoip.net.node.NetNode`, answering 180 then 200 like SIPp's uas).
Both servers are measured by the same SIPp client: successful calls divided
by the wall time of the SIPp client run. The ratio simvoip / SIPp is printed last.

Everything stays on 127.0.0.1. Requires ``sipp`` (Debian package sip-tester).

Run: ``python benchmarks/bench_interop.py [--calls 2000] [--limit 50] [--rate 5000]
[--transport udp|tcp] [--repeat 1]``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from simvoip.net.roles import start_user_agent
from simvoip.sip.transaction import TimerConfig
from simvoip.sip.ua import UABehaviour


@dataclass
class Run:
    server: str
    calls: int
    successful: int
    failed: int
    elapsed: float
    returncode: int

    @property
    def cps(self) -> float:
        return self.successful / self.elapsed if self.elapsed > 0 else 0.0


def free_port() -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


async def run_uac(sipp: str, port: int, args: argparse.Namespace, workdir: Path,
                  label: str) -> Run:
    workdir.mkdir(parents=True, exist_ok=True)
    stat = workdir / f"{label}.csv"
    flag = "u1" if args.transport == "udp" else "t1"
    cmd = [sipp, f"127.0.0.1:{port}", "-sn", "uac", "-t", flag, "-i", "127.0.0.1",
           "-p", str(free_port()), "-m", str(args.calls), "-l", str(args.limit),
           "-r", str(args.rate), "-timeout", f"{args.timeout}s", "-recv_timeout", "10s",
           "-nostdin", "-trace_stat", "-stf", str(stat)]
    began = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(*cmd, cwd=workdir,
                                                stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    wall = time.perf_counter() - began
    rows = [r for r in csv.reader(stat.read_text().splitlines(), delimiter=";") if r] \
        if stat.exists() else []
    if len(rows) < 2:
        print(f"{label}: no SIPp statistics; stderr: {err.decode()[-500:]}", file=sys.stderr)
        return Run(label, args.calls, 0, args.calls, wall, proc.returncode or -1)
    stats = dict(zip(rows[0], rows[-1], strict=False))
    # The statistics file has whole seconds only: the wall time of the SIPp run (the same
    # start-up cost for both servers) is the measure.
    elapsed = wall
    if args.verbose:
        print(f"{label}: SIPp elapsed {stats['ElapsedTime(C)']}, wall {wall:.3f} s",
              file=sys.stderr)
    return Run(label, args.calls, int(stats["SuccessfulCall(C)"]),
               int(stats["FailedCall(C)"]), elapsed, proc.returncode or 0)


async def bench_sipp_uas(sipp: str, args: argparse.Namespace, workdir: Path) -> Run:
    port = free_port()
    flag = "u1" if args.transport == "udp" else "t1"
    server = await asyncio.create_subprocess_exec(
        sipp, "-sn", "uas", "-t", flag, "-i", "127.0.0.1", "-p", str(port), "-nostdin",
        cwd=workdir, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    await asyncio.sleep(0.5)  # let it bind
    try:
        return await run_uac(sipp, port, args, workdir, "sipp-uas")
    finally:
        server.terminate()
        await server.wait()


async def bench_simvoip_uas(sipp: str, args: argparse.Namespace, workdir: Path) -> Run:
    # 180 at once, 200 right after it (answer_delay > ring_delay), like SIPp's uas.
    uas = await start_user_agent("service", keep_events=False, timers=TimerConfig(),
                                 behaviour=UABehaviour(ring_delay=0.0, answer_delay=1e-6))
    try:
        result = await run_uac(sipp, uas.port, args, workdir, "simvoip-uas")
    finally:
        uas.close()
    if uas.stats:
        print(f"simvoip UAS anomalies: {dict(uas.stats)}", file=sys.stderr)
    return result


async def main_async(args: argparse.Namespace) -> int:
    sipp = shutil.which("sipp")
    if sipp is None:
        print("sipp not found: install the sip-tester package", file=sys.stderr)
        return 2
    runs: list[tuple[Run, Run]] = []
    with tempfile.TemporaryDirectory(prefix="bench_interop_") as tmp:
        for i in range(args.repeat):
            work = Path(tmp) / f"run{i}"
            work.mkdir()
            ref = await bench_sipp_uas(sipp, args, work)
            ours = await bench_simvoip_uas(sipp, args, work)
            runs.append((ref, ours))
    print(f"SIPp uac -> UAS on 127.0.0.1/{args.transport.upper()}: {args.calls} calls, "
          f"at most {args.limit} concurrent, rate cap {args.rate}/s")
    print(f"{'server':<12} {'ok':>6} {'failed':>7} {'elapsed s':>10} {'calls/s':>9}")
    for ref, ours in runs:
        for r in (ref, ours):
            print(f"{r.server:<12} {r.successful:>6} {r.failed:>7} {r.elapsed:>10.3f} "
                  f"{r.cps:>9.1f}")
        ratio = ours.cps / ref.cps if ref.cps else float("nan")
        print(f"ratio simvoip/sipp = {ratio:.3f}")
    return 0 if all(r.failed == 0 for pair in runs for r in pair) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=50, help="max simultaneous calls")
    parser.add_argument("--rate", type=float, default=5000, help="new calls per second cap")
    parser.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    parser.add_argument("--timeout", type=float, default=120, help="SIPp global timeout (s)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--verbose", action="store_true")
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
