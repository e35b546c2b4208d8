"""Failure reports: the schedule as a runnable regression snippet, and a text ladder.

A schedule is a list of plain tuples (``("place_call", "alice", "bob")``,
``("drop", 3)``, ``("advance_time", 40.0)`` ...) that
:func:`simvoip.testing.machine.replay` executes step by step on a fresh
network of the same scenario (same seed, same packet ids), so the snippet
reproduces the failure exactly.

>>> print(render_snippet([("place_call", "alice", "bob"), ("advance_time", 40.0)],
...                      "tests.test_x", "MyMachine", seed=0))
# simvoip regression: scenario seed 0; paste into a test module
from simvoip.testing import replay
from tests.test_x import MyMachine
<BLANKLINE>
<BLANKLINE>
def test_regression():
    replay(MyMachine, [
        ("place_call", "alice", "bob"),
        ("advance_time", 40.0),
    ])
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from simvoip.testing.network import LogEntry

__all__ = ["Step", "render_snippet", "render_ladder", "InvariantViolation"]

#: One schedule step: the action name and its arguments.
Step = tuple[Any, ...]


class InvariantViolation(AssertionError):
    """An invariant failed; carries the violations, the schedule and the rendered report."""

    def __init__(self, violations: list[str], steps: Sequence[Step], report: str) -> None:
        super().__init__(report)
        self.violations = list(violations)
        self.steps = list(steps)
        self.report = report


def render_snippet(steps: Sequence[Step], module: str, name: str, *, seed: int = 0,
                   comments: Sequence[str] | None = None) -> str:
    """A pasteable pytest test replaying ``steps`` on machine class ``module.name``."""
    lines = [
        f"# simvoip regression: scenario seed {seed}; paste into a test module",
        "from simvoip.testing import replay",
        f"from {module} import {name}",
        "",
        "",
        "def test_regression():",
        f"    replay({name}, [",
    ]
    for i, step in enumerate(steps):
        note = comments[i] if comments is not None and i < len(comments) and comments[i] else ""
        lines.append(f"        {_format_step(step)},{'  # ' + note if note else ''}")
    lines.append("    ])")
    return "\n".join(lines)


def _format_step(step: Step) -> str:
    parts = [json.dumps(p) if isinstance(p, str) else repr(p) for p in step]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def render_ladder(log: Sequence[LogEntry], nodes: Sequence[str], *, width: int = 16,
                  limit: int = 200) -> str:
    """A plain-text ladder of the network log: one row per send, drop, timer, fault.

    >>> from simvoip.testing.network import LogEntry
    >>> log = [LogEntry(0.0, "send", "alice", "bob", "INVITE 1", 1),
    ...        LogEntry(0.01, "recv", "bob", "alice", "INVITE 1", 1),
    ...        LogEntry(0.01, "send", "bob", "alice", "200 INVITE", 2),
    ...        LogEntry(0.01, "drop", "bob", "alice", "200 INVITE", 2, "loss")]
    >>> print(render_ladder(log, ["alice", "bob"]))
        time  alice           bob
       0.000  |- INVITE 1 --->|               #1 recv 0.010
       0.010  |<- 200 INVITE -|               #2 drop (loss)
    """
    col = {n: i for i, n in enumerate(nodes)}
    fate: dict[int, str] = {}
    for e in log:
        if e.packet is None:
            continue
        if e.kind == "recv":
            fate.setdefault(e.packet, f"recv {e.time:.3f}")
        elif e.kind == "drop":
            fate.setdefault(e.packet, f"drop ({e.cause})")
    header = "    time  " + "".join(n[:width - 1].ljust(width) for n in nodes).rstrip()
    rows = [header]
    for e in log:
        if len(rows) > limit:
            rows.append("    ... (truncated)")
            break
        if e.kind in ("send", "dup") and e.node in col and e.peer in col:
            a, b = col[e.node], col[e.peer]
            lo, hi = min(a, b), max(a, b)
            inner = (hi - lo) * width - 1
            label = f" {e.summary} "
            if a < b:
                body = ("-" + label).ljust(inner - 1, "-")[: inner - 1] + ">"
            else:
                body = ("<-" + label).ljust(inner, "-")[:inner]
            arrow = "|" + body + "|"
            line = " " * (lo * width) + arrow
            tag = "dup " if e.kind == "dup" else ""
            extra = f"#{e.packet} {tag}{fate.get(e.packet, 'in flight')}" if e.packet else "no route"
            rows.append(f"{e.time:8.3f}  {line.ljust(len(nodes) * width)}{extra}")
        elif e.kind in ("timer", "crash", "link", "error", "api"):
            where = col.get(e.node, 0) * width
            text = {
                "timer": f"timer {e.summary}", "crash": "** crash **",
                "link": f"link {e.node}-{e.peer} {e.summary}", "error": f"!! {e.summary} on {e.cause}",
                "api": f"> {e.summary}",
            }[e.kind]
            rows.append(f"{e.time:8.3f}  {' ' * where}{text}")
    return "\n".join(rows)
