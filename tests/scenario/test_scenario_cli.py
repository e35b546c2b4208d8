"""The ``simvoip`` command as a user runs it: real subprocesses, exit codes, files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


def simvoip(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "simvoip", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_run_prints_a_summary_and_writes_every_artefact(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = simvoip("run", "topologies/trapezoid.yaml", "--seed", "7", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "scenario 'trapezoid', seed 7" in result.stdout
    assert "1 calls: 1 answered" in result.stdout
    assert "Traceback" not in result.stderr
    for name in ("summary.txt", "calls.csv", "trace.csv", "ladder.txt", "ladder.png",
                 "topology.png", "capture.pcap", "quality.png", "links.csv", "nodes.csv"):
        assert (out / name).stat().st_size > 0, name
    calls = pd.read_csv(out / "calls.csv")
    assert list(calls.outcome) == ["answered"] and 1.0 < calls.mos[0] <= 4.5
    trace = pd.read_csv(out / "trace.csv")
    assert {"time", "event", "node", "peer", "kind", "method", "status", "cause"} <= set(trace)
    ladder = (out / "ladder.txt").read_text()
    assert "INVITE" in ladder and "ACK" in ladder and "BYE" in ladder
    assert (out / "ladder.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_writes_the_named_artefacts(tmp_path: Path) -> None:
    result = simvoip("run", "topologies/direct.yaml", "--no-media", "--until", "50",
                     "--pcap", str(tmp_path / "c.pcap"), "--ladder", str(tmp_path / "l.txt"),
                     "--csv", str(tmp_path / "t.csv"), "--check")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "c.pcap").read_bytes()[:4] == b"\xd4\xc3\xb2\xa1"
    assert "INVITE" in (tmp_path / "l.txt").read_text()
    assert set(pd.read_csv(tmp_path / "t.csv").kind.dropna()) == {"sip"}


def test_check_fails_when_a_call_is_not_answered(tmp_path: Path) -> None:
    topo = tmp_path / "busy.yaml"
    topo.write_text(
        "nodes:\n"
        "  - {name: alice, type: endpoint}\n"
        "  - {name: bob, type: endpoint, params: {reject_code: 486}}\n"
        "links:\n  - {between: [alice, bob], delay: 0.01}\n"
        "calls:\n  - {from: alice, to: bob, at: 0, duration: 5}\n")
    result = simvoip("run", str(topo), "--check")
    assert result.returncode == 1
    assert "busy" in result.stdout and "486" in result.stdout


@pytest.mark.parametrize(("text", "message"), [
    ("nodes:\n  - {name: a, type: endpoint}\nlinks:\n  - {between: [a, zz]}\n",
     "links[0]: unknown node 'zz'"),
    ("nodes:\n  - {name: a, type: endpoint}\n  - {name: b, type: endpoint}\n"
     "links:\n  - {between: [a, b], delay: -0.1}\n", "links[0].delay: must be >= 0"),
    ("nodes: [{name: a, type: phone}]\n", "nodes[0].type"),
    ("nodes:\n  - {name: a, type: endpoint, params: {answer_dealy: 1}}\n",
     "nodes[a].params.answer_dealy: unknown parameter"),
    ("nodes: [\n", "yaml"),
])
def test_validate_names_the_field_without_a_traceback(tmp_path: Path, text: str,
                                                      message: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    for command in ("validate", "run"):
        result = simvoip(command, str(path))
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert message.lower() in result.stderr.lower(), result.stderr
        assert str(path) in result.stderr
        assert "Traceback" not in result.stderr


def test_validate_accepts_every_shipped_topology() -> None:
    shipped = sorted((ROOT / "topologies").glob("*.yaml"))
    assert len(shipped) >= 6
    for path in shipped:
        result = simvoip("validate", str(path.relative_to(ROOT)))
        assert result.returncode == 0, result.stderr
        assert ": valid:" in result.stdout


def test_topologies_lists_the_shipped_files_with_their_description() -> None:
    result = simvoip("topologies")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    names = {line.split()[0] for line in lines}
    assert {"topologies/direct.yaml", "topologies/trapezoid.yaml", "topologies/forking.yaml",
            "topologies/wifi.yaml", "topologies/overload.yaml",
            "topologies/satellite.yaml"} <= names
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)


def test_unknown_command_is_a_usage_error() -> None:
    result = simvoip("fly")
    assert result.returncode == 2 and "invalid choice" in result.stderr
