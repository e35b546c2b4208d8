"""The ``simvoip`` command.

``simvoip run FILE``       run a scenario, print a summary, write artefacts
``simvoip validate FILE``  check a topology file (exit 0 when valid)
``simvoip topologies``     list the shipped topologies
``simvoip serve ROLE``     run a UAS or proxy on real sockets (:mod:`simvoip.net`)
``simvoip call URI``       place one call on real sockets

Exit codes: 0 success, 1 the command ran but failed (``call`` not answered,
``run --check`` with failed calls), 2 bad input (usage, a broken topology
file: one message naming the file and field, no traceback).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

__all__ = ["main", "build_parser", "shipped_topologies"]


def shipped_topologies() -> list[Path]:
    """The YAML files of ``topologies/`` (the working directory's, else the project's)."""
    for folder in (Path.cwd() / "topologies", Path(__file__).resolve().parent.parent / "topologies"):
        if folder.is_dir():
            return sorted(folder.glob("*.yaml"))
    return []


def _describe(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("#"):
            return line.lstrip("# ").strip()
        if line:
            break
    return ""


def _default_until(topology: object) -> float:
    calls = getattr(topology, "calls", [])
    ends = [c.at + (c.duration or 0.0) for c in calls]
    traffic = [s.stop for s in getattr(topology, "traffic", []) if math.isfinite(s.stop)]
    # Long enough for every BYE transaction and Timer J/K/L/M (64*T1) to settle.
    return max(ends + traffic + [0.0]) + 40.0


def _check_elements(topology: object) -> None:
    """Check every node's ``params`` as its core would read them (TopologyError if bad)."""
    from simvoip.sim.elements import proxy_config, ua_config

    for name in topology.nodes("endpoint"):  # type: ignore[attr-defined]
        ua_config(topology, name)  # type: ignore[arg-type]
    for kind in ("proxy", "registrar"):
        for name in topology.nodes(kind):  # type: ignore[attr-defined]
            proxy_config(topology, name)  # type: ignore[arg-type]


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    from simvoip.analysis.summary import summary_text, write_artefacts
    from simvoip.sim.schema import TopologyError
    from simvoip.sim.simulation import Simulation
    from simvoip.sim.topology import load_topology

    try:
        topology = load_topology(args.file)
        _check_elements(topology)
        sim = Simulation(topology, seed=args.seed, media=False if args.no_media else None)
    except TopologyError as exc:
        print(f"simvoip: {exc}", file=sys.stderr)
        return 2
    until = args.until if args.until is not None else _default_until(topology)
    _run_with_progress(sim, until)
    print(summary_text(sim), file=out)
    written: dict[str, Path] = {}
    if args.out:
        written.update(write_artefacts(sim, args.out))
    if args.pcap:
        sim.trace.to_pcap(args.pcap)
        written["pcap"] = Path(args.pcap)
    if args.ladder:
        written["ladder"] = _write_ladder(sim, Path(args.ladder))
    if args.csv:
        sim.trace.to_dataframe().drop(columns=["data"]).to_csv(args.csv, index=False)
        written["csv"] = Path(args.csv)
    if written:
        print("\nWritten:", file=out)
        for path in dict.fromkeys(written.values()):
            print(f"  {path}", file=out)
    if args.check and any(c.outcome != "answered" for c in sim.calls):
        return 1
    return 0


def _run_with_progress(sim: object, until: float) -> None:
    """Run in slices of simulated time with a progress bar (shown on terminals only)."""
    from tqdm import tqdm

    steps = 50
    with tqdm(total=round(until, 3), unit="sim-s", disable=None, leave=False,
              desc="simulating", mininterval=0.5) as bar:
        for i in range(1, steps + 1):
            target = until * i / steps
            sim.run(until=target)  # type: ignore[attr-defined]
            bar.update(round(target - bar.n, 3))


def _write_ladder(sim: object, path: Path) -> Path:
    trace = sim.trace  # type: ignore[attr-defined]
    if path.suffix.lower() in (".txt", ".text", ""):
        path.write_text(trace.ladder_text() + "\n")
        return path
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 8))
    trace.ladder(ax=ax, spacing="event")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    from simvoip.sim.schema import TopologyError
    from simvoip.sim.topology import load_topology

    try:
        topology = load_topology(args.file)
        _check_elements(topology)
    except TopologyError as exc:
        print(f"simvoip: {exc}", file=sys.stderr)
        return 2
    print(f"{args.file}: valid: {len(topology.nodes())} nodes, {len(topology.links())} links, "
          f"{len(topology.calls)} calls, {len(topology.traffic)} traffic sources, "
          f"{len(topology.faults)} faults", file=out)
    return 0


def cmd_topologies(args: argparse.Namespace, out: TextIO) -> int:
    paths = shipped_topologies()
    if not paths:
        print("simvoip: no topologies/ folder found", file=sys.stderr)
        return 1
    width = max(len(str(p.relative_to(p.parent.parent))) for p in paths)
    for path in paths:
        print(f"{str(path.relative_to(path.parent.parent)):<{width}}  {_describe(path)}", file=out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``simvoip`` command."""
    parser = argparse.ArgumentParser(
        prog="simvoip", description="Discrete-event VoIP test harness: SIP, RTP, voice quality.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a scenario and print a summary")
    run.add_argument("file", help="topology YAML, e.g. topologies/trapezoid.yaml")
    run.add_argument("--seed", type=int, default=None, help="master seed (default: the file's)")
    run.add_argument("--until", type=float, default=None,
                     help="simulated seconds (default: last call end + 40 s)")
    run.add_argument("--out", metavar="DIR", help="write summary, CSVs, pictures and pcap here")
    run.add_argument("--pcap", metavar="FILE", help="write the packets as pcap (pcapng by suffix)")
    run.add_argument("--ladder", metavar="FILE", help="ladder diagram: .txt text, .png/.svg plot")
    run.add_argument("--csv", metavar="FILE", help="write the trace as CSV")
    run.add_argument("--no-media", action="store_true", help="signalling only, no RTP")
    run.add_argument("--check", action="store_true",
                     help="exit 1 unless every call was answered")
    run.set_defaults(handler=cmd_run)

    validate = sub.add_parser("validate", help="check a topology file")
    validate.add_argument("file")
    validate.set_defaults(handler=cmd_validate)

    topologies = sub.add_parser("topologies", help="list the shipped topologies")
    topologies.set_defaults(handler=cmd_topologies)

    try:
        from simvoip.net.cli_commands import add_call_parser, add_serve_parser
    except ImportError:  # pragma: no cover - the real-socket adapter is optional
        pass
    else:
        add_serve_parser(sub)
        add_call_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit code.

    >>> import io
    >>> buf = io.StringIO()
    >>> main(["validate", "topologies/direct.yaml"], out=buf)
    0
    >>> buf.getvalue()
    'topologies/direct.yaml: valid: 2 nodes, 1 links, 1 calls, 0 traffic sources, 0 faults\\n'
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    out = out or sys.stdout
    handler = getattr(args, "handler", None)
    if handler is not None:
        return int(handler(args, out))
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
