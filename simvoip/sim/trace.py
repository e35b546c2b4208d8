"""The trace of a run: one cheap tuple per send, recv, drop, timer and state event.

Columns (ARCHITECTURE.md, "Trace schema"), plus two of simvoip.sim's own:

``time`` (simulated s), ``event`` (send/recv/drop/timer/state), ``node``,
``peer``, ``kind`` (sip/rtp/rtcp), ``transport`` (udp/tcp), ``method``,
``status``, ``call_id``, ``cseq``, ``branch``, ``cause``, ``size`` (bytes of
the encoded message), ``data`` (the bytes), ``packet`` (id of one copy on the
wire: every ``send`` row's id ends in exactly one ``recv`` or ``drop`` row, or
is still in flight when the run stops) and ``link`` (the link that dropped it).

``kind`` is ``sip`` for messages and transaction events, and ``link`` for
the ``state`` rows of scheduled faults (``link-down``, ``link-up``,
``delay-spike``, ``delay-normal``; ``node``/``peer`` are the link's ends).
``cause`` holds the drop cause (``loss``, ``queue``, ``red``, ``link-down``,
``no-route``, ``mtu``, ``overload``, ``parse-error``, ``transport-error``,
``unresolved``), the timer name on ``timer`` rows, the new state on ``state``
rows, and on ``send`` rows a note such as ``duplicate`` or ``mtu-tcp`` (RFC
3261 18.1.1 moved the request to TCP).

>>> t = Trace()
>>> t.record(0.0, "send", "alice", "bob", size=3, data=b"abc", packet=1)
>>> t.record(0.01, "recv", "bob", "alice", size=3, data=b"abc", packet=1)
>>> df = t.to_dataframe()
>>> list(df["event"]), len(t)
(['send', 'recv'], 2)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Trace", "TraceRecord", "COLUMNS", "EVENTS"]

EVENTS = ("send", "recv", "drop", "timer", "state")


class TraceRecord(NamedTuple):
    """One trace row (a tuple: cheap to create and keep by the million)."""

    time: float
    event: str
    node: str
    peer: str | None
    kind: str
    transport: str | None
    method: str | None
    status: int | None
    call_id: str | None
    cseq: int | None
    branch: str | None
    cause: str | None
    size: int | None
    data: bytes | None
    packet: int | None
    link: str | None


COLUMNS = TraceRecord._fields


class Trace:
    """An append-only list of rows in simulated-time order.

    ``records`` holds plain tuples in :data:`COLUMNS` order: exact tuples of
    atoms are untracked by Python's cyclic garbage collector, so millions of
    rows cost memory but no collection time. :meth:`rows` and iteration give
    them as :class:`TraceRecord` named tuples.
    """

    __slots__ = ("records", "node_order", "addresses", "enabled", "_indexes")

    def __init__(self, node_order: list[str] | None = None,
                 addresses: dict[str, str] | None = None) -> None:
        self.records: list[tuple[Any, ...]] = []
        #: Lifeline order of ladder diagrams (the topology's node order).
        self.node_order = node_order
        #: IPv4 address of each node in pcap exports (the topology's, as in SDP).
        self.addresses = addresses
        #: False: the simulator builds no rows at all (long runs that keep only
        #: metrics, :func:`simvoip.sim.load.enable_streaming` with ``trace="metrics"``).
        self.enabled = True
        # column -> (rows covered, last row covered, value -> row numbers), for where().
        self._indexes: dict[int, tuple[int, Any, dict[Any, list[int]]]] = {}

    def record(
        self, time: float, event: str, node: str, peer: str | None = None, *,
        kind: str = "sip", transport: str | None = None, method: str | None = None,
        status: int | None = None, call_id: str | None = None, cseq: int | None = None,
        branch: str | None = None, cause: str | None = None, size: int | None = None,
        data: bytes | None = None, packet: int | None = None, link: str | None = None,
    ) -> None:
        """Append one row."""
        self.records.append((
            time, event, node, peer, kind, transport, method, status, call_id, cseq,
            branch, cause, size, data, packet, link,
        ))

    def rows(self) -> list[TraceRecord]:
        """All rows as :class:`TraceRecord` named tuples."""
        make = TraceRecord._make
        return [make(r) for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[TraceRecord]:
        return map(TraceRecord._make, self.records)

    def where(self, **match: Any) -> list[TraceRecord]:
        """Rows whose named columns equal the given values, in trace order.

        The first column named is indexed on first use (value -> row numbers)
        and the index is extended as the trace grows, so asking again and again
        -- one query per call, say -- does not rescan the whole trace.

        >>> t = Trace(); t.record(1.0, "timer", "a", cause="E")
        >>> t.record(2.0, "timer", "a", cause="F")
        >>> [r.time for r in t.where(event="timer", cause="E")]
        [1.0]
        >>> t.where(colour="red")
        Traceback (most recent call last):
        ...
        ValueError: unknown trace column 'colour' (columns: time, event, node, peer, kind, \
transport, method, status, call_id, cseq, branch, cause, size, data, packet, link)
        """
        if not match:
            return self.rows()
        idx = []
        for k, v in match.items():
            if k not in COLUMNS:
                raise ValueError(f"unknown trace column {k!r} (columns: {', '.join(COLUMNS)})")
            idx.append((COLUMNS.index(k), v))
        (first, value), rest = idx[0], idx[1:]
        records = self.records
        try:
            numbers = self._index(first).get(value, ())
        except TypeError:  # an unhashable value: compare row by row
            numbers = [n for n, r in enumerate(records) if r[first] == value]
        make = TraceRecord._make
        return [make(records[n]) for n in numbers if all(records[n][i] == v for i, v in rest)]

    def _index(self, column: int) -> dict[Any, list[int]]:
        records = self.records
        covered, last, index = self._indexes.get(column, (0, None, {}))
        if covered > len(records) or (covered and records[covered - 1] is not last):
            covered, index = 0, {}  # the rows were cleared or replaced: start again
        for n in range(covered, len(records)):
            key = records[n][column]
            rows = index.get(key)
            if rows is None:
                index[key] = [n]
            else:
                rows.append(n)
        if records:
            self._indexes[column] = (len(records), records[-1], index)
        return index

    def to_dataframe(self) -> pd.DataFrame:
        """A pandas DataFrame ordered by simulated time (stable), one row per event.

        ``status``, ``cseq``, ``size`` and ``packet`` are nullable integers
        (``<NA>`` where empty); empty text cells are missing values (``isna()``).
        """
        import pandas as pd

        df = pd.DataFrame.from_records(self.records, columns=list(COLUMNS))
        for col in ("status", "cseq", "size", "packet"):
            df[col] = df[col].astype("Int64")
        df["time"] = df["time"].astype(float)
        df = df.sort_values("time", kind="stable", ignore_index=True)
        return df

    # -- artefacts (the writers live in simvoip.analysis; ARCHITECTURE.md data path step 4)
    def to_pcap(self, path: Any, addresses: dict[str, str] | None = None,
                fmt: Literal["pcap", "pcapng"] | None = None) -> int:
        """Write every packet put on the wire (SIP, RTP) to a pcap/pcapng file.

        Returns the number of packets written; ``fmt`` defaults from the
        suffix (``.pcapng`` or classic pcap). See :func:`simvoip.analysis.pcap.write_pcap`.
        """
        from simvoip.analysis.pcap import write_pcap

        return write_pcap(self.to_dataframe(), path,
                          addresses if addresses is not None else self.addresses, fmt)

    def ladder(self, call_id: str | None = None, start: float | None = None,
               end: float | None = None, ax: Any = None, **options: Any) -> Any:
        """Draw the SIP ladder (sequence) diagram with matplotlib; returns the Axes.

        Arrows are placed at their simulated times; ``spacing="event"`` gives
        every event its own row instead, which keeps labels apart when
        messages are close in time. See :func:`simvoip.analysis.ladder.ladder_plot`
        for the other ``options``.
        """
        from simvoip.analysis.ladder import ladder_plot

        options.setdefault("nodes", self.node_order)
        return ladder_plot(self.to_dataframe(), call_id, start, end, ax, **options)

    def ladder_text(self, call_id: str | None = None, start: float | None = None,
                    end: float | None = None, **options: Any) -> str:
        """The SIP ladder diagram as text (one column per node).

        >>> from simvoip import Simulation, Topology
        >>> topo = Topology()
        >>> topo.add_endpoint("alice"); topo.add_endpoint("bob")
        >>> topo.add_link("alice", "bob", delay=0.01)
        >>> sim = Simulation(topo, seed=1, media=False)
        >>> _ = sim.call("alice", "bob", duration=1.0)
        >>> sim.run(until=5.0)
        >>> print(sim.trace.ladder_text(end=0.03))
         time (s)  alice            bob
            0.000  |-INVITE-------->|
            0.010  |<---180 Ringing-|
        """
        from simvoip.analysis.ladder import ladder_text

        options.setdefault("nodes", self.node_order)
        return ladder_text(self.to_dataframe(), call_id, start, end, **options)
