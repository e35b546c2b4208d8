"""Ladder (sequence) diagrams of a trace: text for terminals, matplotlib for notebooks.

One lifeline per node, one arrow per ``send`` row, labelled with the method
(requests) or the status code and reason phrase (responses). A message that
the trace shows dropped is drawn broken (``x``) with its cause; a send that
repeats an earlier one of the same transaction (same sender, branch and
method / status, see :func:`~simvoip.analysis.metrics.retransmission_flags`) is
marked ``(rtx)``; timer fires are drawn on their node's lifeline with the RFC
3261 letter (``[timer A]``). ``call_id`` and ``start`` / ``end`` (simulated
seconds, inclusive) select what is drawn; drops and retransmissions are
worked out on the whole trace first, so a window never changes them.

>>> import pandas as pd
>>> df = pd.DataFrame({"time": [0.0, 0.01, 0.5, 0.5, 0.75], "event": ["send", "recv", "timer",
...     "send", "drop"], "node": ["alice", "bob", "alice", "alice", "alice"],
...     "peer": ["bob", "alice", None, "bob", "bob"], "kind": "sip",
...     "method": ["INVITE", "INVITE", None, "INVITE", "INVITE"], "call_id": "c1",
...     "branch": "z9hG4bK1", "cause": [None, None, "A", None, "loss"]})
>>> print(ladder_text(df))
 time (s)  alice             bob
    0.000  |-INVITE--------->|
    0.500  *[timer A]        |
    0.500  |-INVITE (rtx)--x |  x loss
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from simvoip.analysis.metrics import (
    _text,
    cell,
    hop_outcomes,
    normalise,
    retransmission_flags,
    rows,
    status_code,
    timer_name,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["LadderEvent", "ladder_events", "ladder_text", "ladder_plot"]

_MIN_WIDTH = 12


@dataclass(frozen=True, slots=True)
class LadderEvent:
    """One drawable item: a message arrow, a broken (dropped) arrow, a timer or a state."""

    time: float
    what: str  # "message" | "drop" | "timer" | "state"
    node: str  # sender (message/drop) or where the timer/state happened
    peer: str | None  # receiver (message/drop)
    label: str
    arrival: float | None = None  # recv time (message) or drop time (drop)
    cause: str | None = None


def _message_label(row: Any) -> str:
    status = status_code(row.status)
    kind = _text(row.kind) or "sip"
    if kind != "sip":
        return kind.upper()
    if status is None:
        return _text(row.method) or "?"
    reason = ""
    data = row.data
    if isinstance(data, bytes | bytearray):
        first = bytes(data).split(b"\r\n", 1)[0].decode("utf-8", "replace")
        parts = first.split(" ", 2)
        if len(parts) == 3 and parts[0].startswith("SIP/"):
            reason = parts[2].strip()
    return f"{status} {reason}".strip()


def _call_mask(frame: pd.DataFrame, call_id: str | Iterable[str] | None) -> pd.Series:
    if call_id is None:
        return pd.Series(True, index=frame.index)
    wanted = {call_id} if isinstance(call_id, str) else set(call_id)
    in_call = frame["call_id"].map(lambda c: _text(c) in wanted)
    # Timer and state rows may carry only the transaction's branch.
    branches = {b for b in frame.loc[in_call, "branch"] if _text(b)}
    by_branch = frame["event"].isin(["timer", "state"]) & frame["branch"].map(
        lambda b: _text(b) in branches)
    return in_call | by_branch


def ladder_events(
    df: pd.DataFrame,
    call_id: str | Iterable[str] | None = None,
    start: float | None = None,
    end: float | None = None,
    *,
    kinds: Sequence[str] = ("sip",),
    states: bool = False,
) -> list[LadderEvent]:
    """The items a ladder draws, in time order (shared by the text and plot forms).

    Parameters are those of :func:`ladder_text`.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"time": [1.0], "event": ["timer"], "node": ["a"], "cause": ["Timer.B"]})
    >>> ladder_events(df)
    [LadderEvent(time=1.0, what='timer', node='a', peer=None, label='timer B', arrival=None, cause='B')]
    """
    frame = normalise(df)
    fates = hop_outcomes(frame)
    rtx = retransmission_flags(frame)
    keep = _call_mask(frame, call_id)
    if start is not None:
        keep &= frame["time"] >= start
    if end is not None:
        keep &= frame["time"] <= end
    sent_keys = set(fates.index)
    paired_drops = {d for d in fates["drop_row"] if d is not None}
    events: list[LadderEvent] = []
    for idx, row in rows(frame[keep]):
        t, node, peer = float(row.time), str(row.node), _text(row.peer)
        if row.event in ("send", "drop") and (_text(row.kind) or "sip") not in kinds:
            continue
        if row.event == "send" and peer is not None:
            label = _message_label(row) + (" (rtx)" if rtx[idx] else "")
            if _text(row.cause) == "duplicate":
                label += " (dup)"
            cause = _text(cell(fates, idx, "drop_cause")) if idx in sent_keys else None
            if cause is not None:
                events.append(LadderEvent(t, "drop", node, peer, label,
                                          float(cell(fates, idx, "drop_time")), cause))
            else:
                recv = float(cell(fates, idx, "recv_time")) if idx in sent_keys else math.nan
                events.append(LadderEvent(t, "message", node, peer, label,
                                          None if math.isnan(recv) else recv))
        elif row.event == "drop" and peer is not None and idx not in paired_drops:
            # A drop with no send in the trace: a parse error is seen at the receiver.
            cause = _text(row.cause) or "unknown"
            sender, receiver = (peer, node) if cause == "parse-error" else (node, peer)
            events.append(LadderEvent(t, "drop", sender, receiver, _message_label(row), t,
                                      cause))
        elif row.event == "timer":
            letter = timer_name(row.cause)
            events.append(LadderEvent(t, "timer", node, None, f"timer {letter}", None, letter))
        elif row.event == "state" and states:
            state = _text(row.cause) or ""
            events.append(LadderEvent(t, "state", node, None, state, None, state))
    return events


def _node_order(events: list[LadderEvent], nodes: Sequence[str] | None) -> list[str]:
    order = list(nodes) if nodes is not None else []
    for ev in events:
        for name in (ev.node, ev.peer):
            if name is not None and name not in order:
                order.append(name)
    return order


def ladder_text(
    df: pd.DataFrame,
    call_id: str | Iterable[str] | None = None,
    start: float | None = None,
    end: float | None = None,
    *,
    nodes: Sequence[str] | None = None,
    kinds: Sequence[str] = ("sip",),
    states: bool = False,
) -> str:
    """A text ladder diagram of a trace DataFrame.

    Parameters
    ----------
    df : DataFrame
        The trace DataFrame.
    call_id : str or iterable of str, optional
        Only these calls (timer/state rows are kept when their branch belongs
        to one of the calls' messages).
    start, end : float, optional
        Only events with ``start <= time <= end`` (simulated seconds).
    nodes : sequence of str, optional
        Column order; default: order of first appearance.
    kinds : sequence of str
        Packet kinds drawn (``"sip"``, ``"rtp"``, ``"rtcp"``); default SIP only.
    states : bool
        Also draw ``state`` rows (new state as a note).

    Returns
    -------
    str
        One line per event: time (s, 3 decimals), then the lifelines. ``|-X-->|``
        is a message, ``--x`` a drop (cause noted at the right), ``*[timer A]``
        a timer fire. Lines carry no trailing spaces.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"time": [0.0, 0.2], "event": ["send", "send"],
    ...     "node": ["a", "b"], "peer": ["b", "a"], "kind": "sip", "method": "OPTIONS",
    ...     "status": [None, 200], "branch": "z9hG4bK7",
    ...     "data": [b"", b"SIP/2.0 200 OK\\r\\n\\r\\n"]})
    >>> print(ladder_text(df))
     time (s)  a            b
        0.000  |-OPTIONS--->|
        0.200  |<----200 OK-|
    """
    events = ladder_events(df, call_id, start, end, kinds=kinds, states=states)
    order = _node_order(events, nodes)
    if not order:
        return ""
    labels = [len(ev.label) for ev in events if ev.what in ("message", "drop")]
    width = max([_MIN_WIDTH, *(n + 6 for n in labels), *(len(n) + 2 for n in order)])
    column = {name: i * width for i, name in enumerate(order)}
    span = (len(order) - 1) * width + 1
    times = [f"{ev.time:.3f}" for ev in events]
    time_width = max([8, *(len(t) for t in times)])

    header = [" "] * (span + max(len(n) for n in order))
    for name, pos in column.items():
        header[pos:pos + len(name)] = list(name)
    lines = ["time (s)".rjust(time_width + 1) + "  " + "".join(header).rstrip()]
    for ev, stamp in zip(events, times, strict=True):
        cells = [" "] * span
        for pos in column.values():
            cells[pos] = "|"
        note = ""
        here = column[ev.node]
        if ev.what in ("timer", "state"):
            cells[here] = "*"
            text = f"[{ev.label}]"
            if ev.what == "timer":
                cells.extend(" " * max(0, here + 1 + len(text) - len(cells)))
                cells[here + 1:here + 1 + len(text)] = list(text)
            else:
                note = f"{ev.node}: {ev.label}"
        else:
            assert ev.peer is not None
            cells = _draw_arrow(cells, here, column[ev.peer], ev.label, ev.what == "drop")
            if ev.what == "drop":
                note = f"x {ev.cause}"
        body = "".join(cells).rstrip()
        if note:
            body = body + "  " + note
        lines.append(stamp.rjust(time_width + 1) + "  " + body)
    return "\n".join(lines)


def _draw_arrow(cells: list[str], src: int, dst: int, label: str, broken: bool) -> list[str]:
    """Fill the cells strictly between two lifelines with an arrow from ``src`` to ``dst``."""
    length = abs(dst - src) - 1
    dashes = "-" * (length - len(label) - 2)
    if src < dst:
        arrow = "-" + label + dashes + ">"
        if broken:
            arrow = "-" + label + "-" * (length - len(label) - 3) + "x "
        cells[src + 1:dst] = list(arrow)
    else:
        arrow = "<" + dashes + label + "-"
        if broken:
            arrow = " x" + "-" * (length - len(label) - 3) + label + "-"
        cells[dst + 1:src] = list(arrow)
    return cells


def ladder_plot(
    df: pd.DataFrame,
    call_id: str | Iterable[str] | None = None,
    start: float | None = None,
    end: float | None = None,
    ax: Axes | None = None,
    *,
    nodes: Sequence[str] | None = None,
    kinds: Sequence[str] = ("sip",),
    states: bool = False,
    spacing: Literal["time", "event"] = "time",
) -> Axes:
    """A matplotlib ladder diagram; parameters as :func:`ladder_text`, plus ``ax``.

    Time runs downwards. With ``spacing="time"`` the vertical axis is simulated
    seconds: an arrow leaves the sender at the send time and reaches the
    receiver at the arrival time, so its slope is the delay. With
    ``spacing="event"`` each event gets its own row (readable when messages
    crowd together); arrows keep a fixed slope and the rows are labelled with
    their simulated times.

    Each node is a vertical lifeline (``Line2D``, gid ``"lifeline"``), named on
    the top axis. A delivered message is a ``FancyArrowPatch`` (gid
    ``"message"``); one still in flight at the end of the trace is drawn level.
    A dropped message is a dashed line (gid ``"drop"``) stopping short of the
    receiver at an ``x`` marker (gid ``"drop-mark"``), labelled with the cause.
    A timer fire is a dot on the lifeline (gid ``"timer"``) labelled ``timer A``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> df = pd.DataFrame({"time": [0.0, 0.01], "event": ["send", "recv"], "node": ["a", "b"],
    ...     "peer": ["b", "a"], "kind": "sip", "method": "OPTIONS", "data": [b"o", b"o"]})
    >>> ax = ladder_plot(df)
    >>> [p.get_gid() for p in ax.patches], [t.get_text() for t in ax.texts]
    (['message'], ['OPTIONS'])
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    if spacing not in ("time", "event"):
        raise ValueError(f"spacing must be 'time' or 'event', not {spacing!r}")
    events = ladder_events(df, call_id, start, end, kinds=kinds, states=states)
    if ax is None:
        rows_needed = len(events) if spacing == "event" else 20
        _, ax = plt.subplots(figsize=(8, max(4.0, min(0.3 * rows_needed, 40.0))))
    order = _node_order(events, nodes)
    x = {name: float(i) for i, name in enumerate(order)}

    def y_of(i: int, ev: LadderEvent) -> tuple[float, float]:
        """(start, end) height of event ``i``."""
        if spacing == "event":
            return float(i), float(i) + (0.6 if ev.what == "message" and ev.arrival else 0.0)
        return ev.time, ev.arrival if ev.arrival is not None else ev.time

    heights = [h for i, ev in enumerate(events) for h in y_of(i, ev)]
    y0, y1 = (min(heights), max(heights)) if heights else (0.0, 1.0)
    pad = max((y1 - y0) * 0.05, 0.5 if spacing == "event" else 1e-3)
    for name in order:
        ax.plot([x[name], x[name]], [y0 - pad, y1 + pad], color="0.6", lw=1, gid="lifeline")
    style: dict[str, Any] = {"fontsize": 8, "ha": "center", "va": "bottom"}
    for i, ev in enumerate(events):
        top, bottom = y_of(i, ev)
        if ev.what == "message":
            assert ev.peer is not None
            arrow = FancyArrowPatch((x[ev.node], top), (x[ev.peer], bottom),
                                    arrowstyle="-|>", mutation_scale=10, lw=1, color="C0",
                                    gid="message")
            ax.add_patch(arrow)
            ax.text((x[ev.node] + x[ev.peer]) / 2, (top + bottom) / 2, ev.label,
                    color="C3" if "(rtx)" in ev.label else "black", **style)
        elif ev.what == "drop":
            assert ev.peer is not None
            stop = x[ev.node] + 0.45 * (x[ev.peer] - x[ev.node])
            when = top + 0.3 if spacing == "event" else bottom
            ax.plot([x[ev.node], stop], [top, when], ls="--", color="C3", lw=1, gid="drop")
            ax.plot([stop], [when], marker="x", color="C3", ms=8, gid="drop-mark")
            ax.text(stop, when, f"{ev.label} x {ev.cause}", color="C3", **style)
        else:
            ax.plot([x[ev.node]], [top], marker="o", ms=4, color="C2", gid=ev.what)
            ax.text(x[ev.node] + 0.03, top, ev.label, fontsize=7, color="C2",
                    ha="left", va="center")
    ax.set_xticks([x[n] for n in order], order)
    ax.xaxis.tick_top()
    ax.set_xlim(-0.5, max(len(order) - 0.5, 0.5))
    ax.set_ylim(y1 + pad, y0 - pad)  # time runs downwards
    if spacing == "event":
        ax.set_yticks([float(i) for i in range(len(events))],
                      [f"{ev.time:.3f}" for ev in events], fontsize=7)
    ax.set_ylabel("simulated time (s)")
    for side in ("right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    return ax
