"""The layer rules of ARCHITECTURE.md, enforced by import-linter contracts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold() -> None:
    # Prefer the lint-imports beside this interpreter (the project's venv), and make
    # it analyse this checkout, not whatever copy of simvoip is installed elsewhere.
    sibling = Path(sys.executable).parent / "lint-imports"
    exe = str(sibling) if sibling.exists() else shutil.which("lint-imports")
    assert exe, "import-linter is not installed (pip install -e '.[dev]')"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken" in result.stdout


def test_sans_io_cores_do_not_read_clock_or_global_random() -> None:
    import re

    bad = re.compile(r"time\.(time|monotonic|perf_counter)\(|random\.(random|randint|choice|uniform|seed)\(|import (simpy|networkx|socket|asyncio)")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for layer in ("simvoip/sip", "simvoip/media")
        for path in sorted((ROOT / layer).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if bad.search(line)
    ]
    assert offenders == []


def _tool(name: str) -> str:
    sibling = Path(sys.executable).parent / name
    exe = str(sibling) if sibling.exists() else shutil.which(name)
    assert exe, f"{name} is not installed (pip install -e '.[dev]')"
    return exe


def test_ruff_is_clean() -> None:
    result = subprocess.run([_tool("ruff"), "check", "simvoip", "tests", "benchmarks",
                             "notebooks"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = subprocess.run([_tool("mypy"), "--no-incremental"], cwd=ROOT, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout
