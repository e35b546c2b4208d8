"""One seed, one trace: across runs, across processes; and packet conservation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .scenario import digest, run

ROOT = Path(__file__).resolve().parents[2]


def test_same_seed_same_trace_across_runs() -> None:
    a, b = run(seed=5), run(seed=5)
    df_a, df_b = a.trace.to_dataframe(), b.trace.to_dataframe()
    assert len(df_a) > 2000
    assert df_a.equals(df_b)
    assert digest(a) == digest(b)
    assert digest(run(seed=6)) != digest(a)


def test_same_seed_same_trace_across_processes() -> None:
    env_runs = []
    for hash_seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, str(ROOT / "tests" / "sim" / "scenario.py"), "5"], cwd=ROOT,
            capture_output=True, text=True, check=True,
            env={"PYTHONHASHSEED": hash_seed, "PATH": ""},
        )
        env_runs.append(result.stdout.strip())
    assert env_runs[0] == env_runs[1] == digest(run(seed=5))


def test_adding_a_link_does_not_change_other_links_draws() -> None:
    base = run(seed=5)
    more = run(seed=5, extra_link=True)
    keep = {"alice", "bob", "carol", "dave"}
    # Packet ids are global counters, so compare everything else.
    rows_base = [r._replace(packet=None) for r in base.trace.rows() if r.node in keep]
    rows_more = [r._replace(packet=None) for r in more.trace.rows() if r.node in keep]
    assert rows_base == rows_more
    assert any(r.node == "erin" for r in more.trace.rows())


def test_packet_conservation() -> None:
    sim = run(seed=5, until=12.5)
    df = sim.trace.to_dataframe()
    sent = df.loc[df["event"] == "send", "packet"]
    ended = df.loc[df["event"].isin(["recv", "drop"]) & df["packet"].notna(), "packet"]
    assert sent.is_unique and ended.is_unique
    in_flight = set(sim.in_flight())
    assert in_flight, "the scenario should stop with packets on the wire"
    assert set(sent) == set(ended) | in_flight
    assert not (set(ended) & in_flight)
    causes = set(df.loc[df["event"] == "drop", "cause"])
    assert {"loss", "queue", "link-down", "parse-error"} <= causes
    assert "duplicate" in set(df.loc[df["event"] == "send", "cause"].dropna())


def test_pause_gc_gives_the_same_trace_and_restores_the_collector() -> None:
    import gc

    from simvoip import Simulation

    from .scenario import build

    def one(pause: bool) -> str:
        sim = Simulation(build(), seed=5)
        sim.serve_options("bob")
        sim.inject("bob", b"x\r\n\r\n", at=0.5)
        sim.run(until=3.0, pause_gc=pause)
        return repr(sim.trace.records)

    assert gc.isenabled()
    thresholds = gc.get_threshold()
    during: list[tuple[int, int, int]] = []
    sim = Simulation(build(), seed=5)
    sim.at(1.0, lambda: during.append(gc.get_threshold()))
    sim.run(until=2.0)
    # The middle generation waits for 10,000 young collections during a run only.
    assert during and during[0][1] >= 10_000 and gc.get_threshold() == thresholds
    assert one(True) == one(False)
    assert gc.isenabled() and gc.get_threshold() == thresholds
