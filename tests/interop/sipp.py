"""Running SIPp from the test loop: free ports, bounded runs, parsed statistics.

SIPp runs as an asyncio subprocess so that the simvoip node under test keeps
serving on the same event loop. Every run is bounded in calls (``-m``), rate
(``-r``) and time (``-timeout``, plus a hard ``asyncio`` bound).
"""

from __future__ import annotations

import asyncio
import csv
import os
import shutil
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
from net import helpers as net_helpers
from net.helpers import (  # noqa: F401 (re-exported for the interop tests)
    check_2xx_retransmissions,
    check_2xx_schedule,
    eventually,
)

T = TypeVar("T")

SIPP = shutil.which("sipp")
SCENARIOS = Path(__file__).resolve().parent / "scenarios"


def require_sipp() -> str:
    """The sipp path; skip when it is missing locally, fail when it is missing in CI."""
    if SIPP is None:
        if os.environ.get("CI"):
            pytest.fail("sipp (Debian package sip-tester) is required in CI")
        pytest.skip("sipp is not installed (install sip-tester); required when CI is set")
    return SIPP


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return int(port)
    raise RuntimeError("no free port")


@dataclass
class SippResult:
    returncode: int
    stats: dict[str, str]
    stdout: str
    stderr: str
    errors: str
    counts: dict[str, str] = field(default_factory=dict)

    def stat(self, name: str) -> int:
        """A cumulative counter from the ``-trace_stat`` file, e.g. ``SuccessfulCall``."""
        return int(self.stats[f"{name}(C)"])

    def describe(self) -> str:
        return (f"sipp exit {self.returncode}\nstdout tail:\n{self.stdout[-1500:]}\n"
                f"stderr:\n{self.stderr[-1500:]}\nerrors:\n{self.errors[-3000:]}")


def _last_row(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    rows = list(csv.reader(path.read_text().splitlines(), delimiter=";"))
    rows = [r for r in rows if r]
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1], strict=False))


async def run_sipp(args: list[str], workdir: Path, *, bound: float = 60.0) -> SippResult:
    """Run ``sipp ARGS`` in ``workdir`` with statistics, counts and error traces on."""
    sipp = require_sipp()
    workdir.mkdir(parents=True, exist_ok=True)
    stat, err = workdir / "stat.csv", workdir / "errors.log"
    cmd = [sipp, *args, "-nostdin", "-trace_stat", "-stf", str(stat), "-trace_counts",
           "-trace_err", "-error_file", str(err)]
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=workdir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, errout = await asyncio.wait_for(proc.communicate(), bound)
    except TimeoutError:
        proc.kill()
        out, errout = await proc.communicate()
    count_files = sorted(workdir.glob("*_counts.csv"))
    return SippResult(
        returncode=proc.returncode if proc.returncode is not None else -1,
        stats=_last_row(stat),
        stdout=out.decode(errors="replace"),
        stderr=errout.decode(errors="replace"),
        errors=err.read_text(errors="replace") if err.exists() else "",
        counts=_last_row(count_files[-1]) if count_files else {},
    )


def base_args(remote: str, local_port: int, *, calls: int, rate: float,
              timeout: float) -> list[str]:
    """Loopback-only SIPp arguments bounded in calls, rate and time."""
    return [remote, "-i", "127.0.0.1", "-p", str(local_port), "-m", str(calls), "-r", str(rate),
            "-timeout", f"{timeout}s", "-timeout_error", "-recv_timeout", "10s"]


def run(make: Callable[[], Awaitable[T]], bound: float = 90.0) -> T:
    """Run a test coroutine with a hard bound (SIPp runs take longer than the net tests')."""
    return net_helpers.run(make, bound)
