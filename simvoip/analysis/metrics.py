"""Metrics as DataFrames, computed from a trace DataFrame.

The input is ``sim.trace.to_dataframe()`` (schema in ARCHITECTURE.md: ``time``,
``event``, ``node``, ``peer``, ``kind``, ``transport``, ``method``, ``status``,
``call_id``, ``cseq``, ``branch``, ``cause``, ``size``, ``data``). Missing
optional columns are treated as empty, so hand-made frames work too.

The helpers here also pair the rows of one hop: a ``send`` row (at the sender,
``peer`` = receiver) with the matching ``recv`` row (at the receiver, ``peer`` =
sender) or ``drop`` row (at either end), by the bytes on the wire when present,
else by the SIP identifiers. The ladder and pcap writers use the same pairing.

>>> import pandas as pd
>>> df = pd.DataFrame({
...     "time": [0.0, 0.01, 0.5, 0.6],
...     "event": ["send", "recv", "send", "drop"],
...     "node": ["a", "b", "a", "a"], "peer": ["b", "a", "b", "b"],
...     "kind": "sip", "method": "INVITE", "status": None,
...     "call_id": "c1", "branch": "z9hG4bK1", "cause": [None, None, None, "loss"],
...     "size": 400, "data": [b"x", b"x", b"x", b"x"]})
>>> retransmission_flags(df).tolist()
[False, False, True, False]
>>> hop_outcomes(df)[["recv_time", "drop_cause"]].values.tolist()
[[0.01, None], [nan, 'loss']]
"""

from __future__ import annotations

import math
import re
from collections import defaultdict, deque
from collections.abc import Hashable, Iterator, Mapping
from typing import Any

import pandas as pd

__all__ = [
    "status_code",
    "timer_name",
    "retransmission_flags",
    "hop_outcomes",
    "per_link",
    "drops_by_link",
    "per_node",
    "per_call",
]

_COLUMNS = ("time", "event", "node", "peer", "kind", "transport", "method", "status",
            "call_id", "cseq", "branch", "cause", "size", "data", "packet")


def _blank(value: Any) -> bool:
    """True for the empty cell spellings (None, NaN, '', pd.NA)."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value == ""


def _text(value: Any) -> str | None:
    return None if _blank(value) else str(value)


def status_code(value: Any) -> int | None:
    """A status cell as an int, or None for requests / empty cells.

    >>> status_code("180"), status_code(200.0), status_code(""), status_code(float("nan"))
    (180, 200, None, None)
    """
    if _blank(value):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def timer_name(cause: Any) -> str:
    """The RFC letter of a timer cell: ``'A'``, ``'Timer.A'``, ``'timer A'`` -> ``'A'``.

    >>> timer_name("Timer.B"), timer_name("timer e"), timer_name("F")
    ('B', 'E', 'F')
    """
    text = "" if _blank(cause) else str(cause).strip()
    low = text.lower()
    for prefix in ("timer.", "timer ", "timer_", "timer"):
        if low.startswith(prefix):
            text = text[len(prefix):].strip()
            break
    return text.upper() if len(text) <= 2 else text


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with every schema column present, ordered by time (stable)."""
    out = df.copy()
    for col in _COLUMNS:
        if col not in out.columns:
            out[col] = None
    out = out.astype({"time": float})
    return out.sort_values("time", kind="stable")


def rows(df: pd.DataFrame) -> Iterator[tuple[Any, Any]]:
    """``(index label, row namedtuple)`` pairs, in frame order."""
    return zip(df.index, df.itertuples(index=False), strict=True)


def cell(df: pd.DataFrame, idx: Any, column: str) -> Any:
    """One cell, typed loosely (pandas-stubs types ``.at`` as a union of scalars)."""
    value: Any = df.at[idx, column]
    return value


def _payload_key(row: Any) -> Hashable:
    """What identifies one message on one hop: its bytes, else its SIP identifiers."""
    data = row.data
    if isinstance(data, bytes | bytearray | memoryview) and len(data) > 0:
        return bytes(data)
    return (_text(row.kind), _text(row.method), status_code(row.status), _text(row.call_id),
            _text(row.cseq), _text(row.branch))


_TO_TAG = re.compile(rb"\r\n(?:To|t)[ \t]*:[^\r\n]*?;[ \t]*tag[ \t]*=[ \t]*([^;,\s]+)",
                     re.IGNORECASE)


def _to_tag(data: Any) -> bytes | None:
    """The To tag of an encoded message, if any (cheap scan, no full parse)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        return None
    match = _TO_TAG.search(bytes(data))
    return match.group(1) if match else None


def retransmission_flags(df: pd.DataFrame) -> pd.Series:
    """Which ``send`` rows repeat an earlier send of the same message by the same sender.

    A repeat is the same sender, receiver and kind with the same Via ``branch``
    and the same method / status code (RFC 3261 17: a retransmission reuses the
    transaction's branch); rows without a branch compare their bytes instead.
    RTP/RTCP are never flagged. Returns a boolean Series aligned on ``df.index``.
    """
    seen: set[Hashable] = set()
    flags = pd.Series(False, index=df.index, dtype=bool)
    ordered = normalise(df)
    for idx, row in rows(ordered):
        if row.event != "send" or _text(row.kind) not in (None, "sip"):
            continue
        if _text(row.cause) == "duplicate":
            continue  # a copy made by the link, not by the sender
        branch = _text(row.branch)
        ident: Hashable
        if branch is not None:
            status = status_code(row.status)
            # Responses of different forks share the branch but not the To tag
            # (RFC 3261 16.7): only the same tag makes a retransmission.
            ident = (branch, _text(row.method), status,
                     _to_tag(row.data) if status is not None else None)
        else:
            ident = _payload_key(row)
        key = (_text(row.node), _text(row.peer), ident)
        if key in seen:
            flags[idx] = True
        else:
            seen.add(key)
    return flags


def hop_outcomes(df: pd.DataFrame) -> pd.DataFrame:
    """Pair each ``send`` row with its ``recv`` and/or ``drop`` row on the same hop.

    Returns one row per ``send`` row (same index) with ``recv_time`` (NaN if not
    received), ``drop_time`` (NaN), ``drop_cause`` (None) and ``drop_row`` (index
    label of the paired ``drop`` row, or None). Pairing is first in,
    first out per (sender, receiver, message); a ``drop`` row may be recorded at
    either end of the hop (e.g. ``parse-error`` at the receiver). When the trace
    has simvoip.sim's ``packet`` column (one id per copy on the wire), rows are
    paired by that id instead. Unpaired ``recv`` rows are ignored.
    """
    ordered = normalise(df)
    pending_recv: dict[Hashable, deque[Any]] = defaultdict(deque)
    pending_drop: dict[Hashable, deque[Any]] = defaultdict(deque)
    results: dict[Any, list[Any]] = {}
    by_packet: dict[Any, Any] = {}
    for idx, row in rows(ordered):
        node, peer = _text(row.node), _text(row.peer)
        packet = None if _blank(row.packet) else row.packet
        if packet is not None:
            if row.event == "send":
                by_packet[packet] = idx
                results[idx] = [math.nan, math.nan, None, None]
            elif row.event in ("recv", "drop") and packet in by_packet:
                sent = by_packet[packet]
                if row.event == "recv":
                    results[sent][0] = float(row.time)
                else:
                    results[sent][1] = float(row.time)
                    results[sent][2] = _text(row.cause) or "unknown"
                    results[sent][3] = idx
            continue
        if row.event == "send":
            key = (node, peer, _payload_key(row))
            pending_recv[key].append(idx)
            pair = tuple(sorted((str(node), str(peer))))
            pending_drop[(pair, _payload_key(row))].append(idx)
            results[idx] = [math.nan, math.nan, None, None]
        elif row.event == "recv":
            queue = pending_recv.get((peer, node, _payload_key(row)))
            while queue:
                sent = queue.popleft()
                if math.isnan(results[sent][1]):
                    results[sent][0] = float(row.time)
                    break
        elif row.event == "drop":
            pair = tuple(sorted((str(node), str(peer))))
            queue = pending_drop.get((pair, _payload_key(row)))
            while queue:
                sent = queue.popleft()
                if math.isnan(results[sent][1]) and math.isnan(results[sent][0]) or (
                    _text(row.cause) == "parse-error" and math.isnan(results[sent][1])
                ):
                    results[sent][1] = float(row.time)
                    results[sent][2] = _text(row.cause) or "unknown"
                    results[sent][3] = idx
                    break
    sends = [i for i in df.index if i in results]
    index = pd.Index(sends, name=df.index.name)
    return pd.DataFrame({
        "recv_time": pd.Series([results[i][0] for i in sends], index=index, dtype=float),
        "drop_time": pd.Series([results[i][1] for i in sends], index=index, dtype=float),
        "drop_cause": pd.Series([results[i][2] for i in sends], index=index, dtype=object),
        "drop_row": pd.Series([results[i][3] for i in sends], index=index, dtype=object),
    })


def _size(row: Any) -> int:
    if not _blank(row.size):
        return int(row.size)
    data = row.data
    return len(data) if isinstance(data, bytes | bytearray) else 0


def per_link(
    df: pd.DataFrame,
    duration: float | None = None,
    bandwidth: float | Mapping[tuple[str, str], float] | None = None,
) -> pd.DataFrame:
    """Per directed hop (``node`` -> ``peer``): packets sent, delivered, dropped by cause.

    A hop is what a ``send`` row names: sender and receiver of one message at
    the SIP / RTP level, whatever routers lie between (simvoip.sim traces
    end-to-end sends). For physical links see :func:`drops_by_link` and the
    simulator's own per-direction counters.

    Parameters
    ----------
    df : DataFrame
        The trace DataFrame.
    duration : float, optional
        Observation time in seconds; with ``bandwidth`` gives ``utilisation``.
    bandwidth : float or mapping, optional
        Link rate in bit/s, one number for all links or ``{(node, peer): bps}``.

    Returns
    -------
    DataFrame
        Indexed by (``node``, ``peer``) with columns ``sent``, ``delivered``,
        ``dropped``, one ``drop_<cause>`` column per cause seen (``drop_loss``,
        ``drop_queue`` ...), ``bytes``, ``delay_mean`` (s, over delivered
        packets) and ``utilisation`` (fraction, NaN when unknown).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"time": [0.0, 0.01, 1.0, 1.0], "event": ["send", "recv", "send", "drop"],
    ...     "node": ["a", "b", "a", "a"], "peer": ["b", "a", "b", "b"], "kind": "rtp",
    ...     "cause": [None, None, None, "queue"], "size": 200, "data": [b"1", b"1", b"2", b"2"]})
    >>> links = per_link(df, duration=2.0, bandwidth=1600.0)
    >>> links.loc[("a", "b"), ["sent", "delivered", "drop_queue", "bytes"]].tolist()
    [2, 1, 1, 400]
    >>> float(links.loc[("a", "b"), "utilisation"])
    1.0
    """
    ordered = normalise(df)
    outcomes = hop_outcomes(ordered)
    sends = ordered.loc[outcomes.index]
    links: dict[tuple[str, str], dict[str, Any]] = {}
    causes: list[str] = []
    for idx, row in rows(sends):
        key = (str(row.node), str(row.peer))
        entry = links.setdefault(key, {"sent": 0, "delivered": 0, "dropped": 0,
                                       "bytes": 0, "delays": [], "causes": defaultdict(int)})
        entry["sent"] += 1
        entry["bytes"] += _size(row)
        recv_time = float(cell(outcomes, idx, "recv_time"))
        cause = _text(cell(outcomes, idx, "drop_cause"))
        if cause is not None:
            entry["dropped"] += 1
            entry["causes"][cause] += 1
            if cause not in causes:
                causes.append(cause)
        elif not math.isnan(recv_time):
            entry["delivered"] += 1
            entry["delays"].append(recv_time - float(row.time))
    records = []
    for (node, peer), entry in sorted(links.items()):
        record: dict[str, Any] = {"node": node, "peer": peer, "sent": entry["sent"],
                                  "delivered": entry["delivered"], "dropped": entry["dropped"]}
        for cause in sorted(causes):
            record[f"drop_{cause}"] = entry["causes"].get(cause, 0)
        record["bytes"] = entry["bytes"]
        delays = entry["delays"]
        record["delay_mean"] = sum(delays) / len(delays) if delays else math.nan
        rate = bandwidth.get((node, peer)) if isinstance(bandwidth, Mapping) else bandwidth
        if duration and rate:
            record["utilisation"] = entry["bytes"] * 8.0 / (float(duration) * float(rate))
        else:
            record["utilisation"] = math.nan
        records.append(record)
    columns = ["node", "peer", "sent", "delivered", "dropped",
               *[f"drop_{c}" for c in sorted(causes)], "bytes", "delay_mean", "utilisation"]
    return pd.DataFrame.from_records(records, columns=columns).set_index(["node", "peer"])


def drops_by_link(df: pd.DataFrame) -> pd.DataFrame:
    """Drops per physical link and cause, from the ``link`` column of ``drop`` rows.

    Returns a frame indexed by link name (``"a->b"`` as simvoip.sim names link
    directions) with one column per cause, sorted; drops without a link
    (``parse-error``, ``no-route`` ...) are under ``"(none)"``.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"time": [0.1, 0.2, 0.3], "event": "drop", "node": "a",
    ...     "cause": ["loss", "queue", "loss"], "link": ["a->r", "a->r", "r->b"]})
    >>> drops_by_link(df).to_dict("index")
    {'a->r': {'loss': 1, 'queue': 1}, 'r->b': {'loss': 1, 'queue': 0}}
    """
    frame = normalise(df)
    frame = frame[frame["event"] == "drop"]
    links = frame["link"] if "link" in frame.columns else pd.Series(None, index=frame.index)
    table = pd.DataFrame({
        "link": [_text(v) or "(none)" for v in links],
        "cause": [_text(v) or "unknown" for v in frame["cause"]],
    })
    if table.empty:
        return pd.DataFrame(index=pd.Index([], name="link"))
    counts = table.groupby(["link", "cause"]).size().unstack("cause", fill_value=0)
    counts.columns.name = None
    return counts.sort_index().sort_index(axis=1).astype(int)


def _response_class(status: int) -> str:
    return f"{status // 100}xx"


def per_node(df: pd.DataFrame) -> pd.DataFrame:
    """Per node: messages sent/received, drops, parse errors, timers, SIP handled by method.

    Columns: ``sent``, ``received``, ``dropped`` (drop rows recorded at the node),
    ``parse_errors``, ``timers``, ``retransmissions`` (SIP sends that repeat an
    earlier one), then ``recv_<METHOD>`` for each request method received and
    ``recv_<N>xx`` for each response class received, sorted by name.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"time": [0.0, 0.1, 0.2], "event": ["recv", "recv", "timer"],
    ...     "node": ["b", "a", "a"], "kind": "sip", "method": ["INVITE", "INVITE", None],
    ...     "status": [None, 180, None], "cause": [None, None, "A"]})
    >>> per_node(df).loc["b", ["received", "recv_INVITE"]].tolist()
    [1, 1]
    """
    ordered = normalise(df)
    rtx = retransmission_flags(ordered)
    nodes: dict[str, dict[str, int]] = {}
    handled: list[str] = []
    for idx, row in rows(ordered):
        if _blank(row.node):
            continue
        entry = nodes.setdefault(str(row.node), defaultdict(int))
        if row.event == "send":
            entry["sent"] += 1
            entry["retransmissions"] += int(bool(rtx[idx]))
        elif row.event == "recv":
            entry["received"] += 1
            if _text(row.kind) in (None, "sip"):
                status = status_code(row.status)
                name = _response_class(status) if status is not None else _text(row.method)
                if name is not None:
                    column = f"recv_{name}"
                    entry[column] += 1
                    if column not in handled:
                        handled.append(column)
        elif row.event == "drop":
            entry["dropped"] += 1
            if _text(row.cause) == "parse-error":
                entry["parse_errors"] += 1
        elif row.event == "timer":
            entry["timers"] += 1
    base = ["sent", "received", "dropped", "parse_errors", "timers", "retransmissions"]
    columns = base + sorted(handled)
    records = [{"node": name, **{c: entry.get(c, 0) for c in columns}}
               for name, entry in sorted(nodes.items())]
    return pd.DataFrame.from_records(records, columns=["node", *columns]).set_index("node")


def _outcome(final: int | None, timed_out: bool) -> str:
    if final is None:
        return "timeout" if timed_out else "incomplete"
    if 200 <= final < 300:
        return "answered"
    if final in (486, 600):
        return "busy"
    if final == 487:
        return "cancelled"
    if final == 408:
        return "timeout"
    return "failed"


def per_call(df: pd.DataFrame, mos: Mapping[str, float] | pd.Series | None = None) -> pd.DataFrame:
    """Per Call-ID: who called whom, when each milestone happened, and how it ended.

    Times are as seen by the caller (the node that sent the first INVITE):
    ``invite_time`` (first INVITE sent), ``ringing_time`` (first 18x received),
    ``answer_time`` (first 2xx to INVITE received), ``final_status`` (first final
    response to INVITE received), ``bye_time`` (first BYE sent by anyone) and
    ``end_time`` (first 2xx to BYE received). Derived: ``pdd`` (post-dial delay,
    INVITE to the first 18x or final response), ``setup_time`` (INVITE to 2xx),
    ``duration`` (2xx to BYE), ``retransmissions`` (SIP sends repeating an
    earlier one, any node) and ``outcome`` (``answered``, ``busy``, ``cancelled``,
    ``failed``, ``timeout`` — a 408 or Timer B at the caller — or ``incomplete``).
    The trace carries no voice quality: pass ``mos`` (``{call_id: MOS}``, e.g.
    from the simulator's call objects) to fill the ``mos`` column (NaN otherwise).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"time": [0.0, 0.2, 0.5, 3.0], "event": ["send", "recv", "recv", "send"],
    ...     "node": ["a", "a", "a", "a"], "kind": "sip", "call_id": "c1",
    ...     "method": ["INVITE", "INVITE", "INVITE", "BYE"], "status": [None, 180, 200, None]})
    >>> call = per_call(df).loc["c1"]
    >>> call.caller, float(call.pdd), float(call.setup_time), float(call.duration), call.outcome
    ('a', 0.2, 0.5, 2.5, 'answered')
    """
    ordered = normalise(df)
    rtx = retransmission_flags(ordered)
    calls: dict[str, dict[str, Any]] = {}
    ordered = ordered[ordered["kind"].map(lambda k: _text(k) in (None, "sip"))]
    for idx, row in rows(ordered):
        call_id = _text(row.call_id)
        if call_id is None:
            continue
        call = calls.setdefault(call_id, {"retransmissions": 0, "timed_out": False})
        method, status, t = _text(row.method), status_code(row.status), float(row.time)
        if row.event == "send":
            call["retransmissions"] += int(bool(rtx[idx]))
            if method == "INVITE" and status is None and "caller" not in call:
                call["caller"], call["invite_time"] = str(row.node), t
            if method == "BYE" and status is None:
                call.setdefault("bye_time", t)
        caller = call.get("caller")
        if row.event == "timer" and str(row.node) == caller and timer_name(row.cause) == "B":
            call["timed_out"] = True
        if row.event != "recv" or str(row.node) != caller or status is None:
            continue
        if method == "INVITE":
            if 180 <= status < 200:
                call.setdefault("ringing_time", t)
            elif status >= 200:
                call.setdefault("final_time", t)
                call.setdefault("final_status", status)
                if status < 300:
                    call.setdefault("answer_time", t)
        elif method == "BYE" and 200 <= status < 300:
            call.setdefault("end_time", t)
    columns = ["caller", "invite_time", "ringing_time", "answer_time", "final_status",
               "bye_time", "end_time", "pdd", "setup_time", "duration", "retransmissions",
               "outcome", "mos"]
    quality = dict(mos.items()) if mos is not None else {}
    records = []
    for call_id, call in sorted(calls.items()):
        nan = math.nan
        invite = call.get("invite_time", nan)
        ringing = call.get("ringing_time", nan)
        first = min(ringing, call.get("final_time", nan)) if not math.isnan(ringing) else \
            call.get("final_time", nan)
        answer = call.get("answer_time", nan)
        final = call.get("final_status")
        records.append({
            "call_id": call_id, "caller": call.get("caller"), "invite_time": invite,
            "ringing_time": ringing, "answer_time": answer,
            "final_status": final if final is not None else pd.NA,
            "bye_time": call.get("bye_time", nan), "end_time": call.get("end_time", nan),
            "pdd": first - invite, "setup_time": answer - invite,
            "duration": call.get("bye_time", nan) - answer,
            "retransmissions": call["retransmissions"],
            "outcome": _outcome(final, call["timed_out"]),
            "mos": float(quality.get(call_id, nan)),
        })
    out = pd.DataFrame.from_records(records, columns=["call_id", *columns]).set_index("call_id")
    return out.astype({"final_status": "Int64"})
