"""Instructions, not seconds: the speed targets counted by callgrind (run on demand; asserts nothing).

    python benchmarks/bench_instructions.py [--only parse|sim] [--messages 12288] [--hops 20000]

Wall-clock ratios on a shared machine move by 10-20 % from run to run (and
by a few percent with nothing but code layout). Instruction counts do not:
this script runs the workloads of ``bench_parse.py`` (fresh messages) and
``bench_sim.py`` under ``valgrind --tool=callgrind`` and prints the
instructions per message / per hop of simvoip and of the bare baselines,
and their ratio. Each figure is the difference between a run that does the
work ``n`` times and one that does it 0 times after the same warm-up, so
start-up and imports cancel out. ``PYTHONHASHSEED`` is fixed and the
package's bytecode is compiled first, so the counts repeat exactly.

An instruction ratio is a lower bound of the time ratio, not the same
thing: the bare baselines are tight loops of a few C calls that a CPU runs
at more instructions per cycle than any larger program.

Needs ``valgrind`` (Debian package ``valgrind``); about 10 minutes for
everything.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")

#: name -> (what a unit is, the simvoip workload, its bare baseline)
WORKLOADS = {
    "parse-200": ("message", "parse-ok", "bare-ok"),
    "parse-invite": ("message", "parse-invite", "bare-invite"),
    "sim": ("hop", "sim", "bare-sim"),
}


def _work(kind: str, n: int) -> None:
    """Warm up, then do ``n`` units of workload ``kind`` (runs inside callgrind)."""
    sys.path.insert(0, str(HERE))
    if kind == "sim" or kind == "bare-sim":
        import bench_sim

        if kind == "sim":
            bench_sim.full_stack(2000)
            if n:
                bench_sim.full_stack(n)
        else:
            bench_sim.bare_simpy(2)
            if n:
                bench_sim.bare_simpy(n + 2)
        return
    import bench_parse

    make = bench_parse.ok200 if kind.endswith("ok") else bench_parse.invite
    fn = bench_parse.bare_lines if kind.startswith("bare") else bench_parse.simvoip_full
    pool = [make(i) for i in range(bench_parse.POOL)]
    for _ in range(2):  # warm: memos of the values that repeat, code paths
        for raw in pool:
            fn(raw)
    for i in range(n):  # fresh: the pool is larger than the memos
        fn(pool[i % bench_parse.POOL])


def _count(valgrind: str, kind: str, n: int) -> int:
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         __file__, "--work", kind, str(n)],
        capture_output=True, text=True, env=env, check=True)
    found = _COLLECTED.findall(done.stderr)
    if not found:
        raise SystemExit(f"callgrind printed no instruction count for {kind}:\n{done.stderr[-2000:]}")
    return int(found[-1])


def per_unit(valgrind: str, kind: str, n: int) -> float:
    """Instructions per unit of ``kind``: (count with n units - count with 0) / n."""
    return (_count(valgrind, kind, n) - _count(valgrind, kind, 0)) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["parse", "sim"])
    parser.add_argument("--messages", type=int, default=12_288)
    parser.add_argument("--hops", type=int, default=20_000)
    parser.add_argument("--work", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.work:
        _work(args.work[0], int(args.work[1]))
        return
    valgrind = shutil.which("valgrind")
    if valgrind is None:  # (``make bench`` goes on with the others)
        print("bench_instructions: skipped, it needs valgrind (apt-get install valgrind)")
        return
    # Bytecode compiled once, before counting: PYTHONDONTWRITEBYTECODE would
    # otherwise make every run compile the package again (and count it).
    compileall.compile_dir(str(ROOT / "simvoip"), quiet=1)
    compileall.compile_dir(str(HERE), quiet=1, maxlevels=0)
    print(f"{'workload':14} {'simvoip':>12} {'bare':>12} {'ratio':>7}   (instructions per unit)")
    for name, (unit, ours, bare) in WORKLOADS.items():
        if args.only and not name.startswith(args.only):
            continue
        n = args.hops if unit == "hop" else args.messages
        a, b = per_unit(valgrind, ours, n), per_unit(valgrind, bare, n)
        print(f"{name:14} {a:12,.0f} {b:12,.0f} {a / b:6.2f}x   per {unit}", flush=True)


if __name__ == "__main__":
    main()
