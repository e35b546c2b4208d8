"""Transition tables: the one source of truth of every transaction state machine.

Each machine (ICT, NICT, IST, NIST) is a :class:`Machine`: a tuple of
:class:`Transition` rows ``(state, input) -> target, action``, as in h11's
``_state.py``. The transaction classes dispatch through the table, and
:func:`render_table` / :func:`render_diagram` draw the docs from the same rows.

Cells that the table leaves empty are completed here: a *network* or *timer*
input (a response, a retransmitted request, a transport error, a stale timer)
is absorbed without effect, as RFC 3261 section 17 asks; a *local* input (the
transaction user calling the API in the wrong state) has no cell and raises
:class:`~simvoip.sip.errors.LocalProtocolError`.

>>> State.CALLING.value, Input.RESPONSE_1XX.kind
('Calling', 'network')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from simvoip.sip.errors import LocalProtocolError
from simvoip.sip.transaction.timers import Timer

__all__ = [
    "State", "Input", "Transition", "Machine", "render_table", "render_diagram",
    "LOCAL", "NETWORK", "TIMER",
]

LOCAL = "local"
NETWORK = "network"
TIMER = "timer"


class State(StrEnum):
    """Transaction states, spelled as in RFC 3261 section 17 and RFC 6026.

    >>> State("Accepted") is State.ACCEPTED
    True
    """

    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"



class Input(StrEnum):
    """Everything that can happen to a transaction.

    ``kind`` is ``'local'`` (the transaction user calls the API), ``'network'``
    (a message or transport error arrives) or ``'timer'`` (a timer fires).

    >>> Input.TU_2XX.kind, Input.TIMER_L.timer
    ('local', <Timer.L: 'L'>)
    """

    START = "start"
    REQUEST = "request retransmission"
    ACK = "ACK"
    RESPONSE_1XX = "1xx"
    RESPONSE_2XX = "2xx"
    RESPONSE_300_699 = "300-699"
    TU_1XX = "1xx from TU"
    TU_2XX = "2xx from TU"
    TU_300_699 = "300-699 from TU"
    TIMER_A = "Timer A fires"
    TIMER_B = "Timer B fires"
    TIMER_D = "Timer D fires"
    TIMER_E = "Timer E fires"
    TIMER_F = "Timer F fires"
    TIMER_G = "Timer G fires"
    TIMER_H = "Timer H fires"
    TIMER_I = "Timer I fires"
    TIMER_J = "Timer J fires"
    TIMER_K = "Timer K fires"
    TIMER_L = "Timer L fires"
    TIMER_M = "Timer M fires"
    TRANSPORT_ERROR = "transport error"

    @property
    def kind(self) -> str:
        if self.name.startswith("TIMER_"):
            return TIMER
        if self in (Input.START, Input.TU_1XX, Input.TU_2XX, Input.TU_300_699):
            return LOCAL
        return NETWORK

    @property
    def timer(self) -> Timer | None:
        return Timer(self.name[6:]) if self.name.startswith("TIMER_") else None



#: Timer -> the input its firing produces.
TIMER_INPUTS: dict[Timer, Input] = {
    Timer(i.name[6:]): i for i in Input if i.name.startswith("TIMER_")
}

#: An action appends the outputs of one transition: (transaction, message, now, out).
Action = Callable[[Any, Any, float, list[Any]], None]


@dataclass(frozen=True, slots=True)
class Transition:
    """One cell: in ``source``, on ``input``, run ``action`` and go to ``target``.

    ``label`` says what the action does (in the RFC figures' words), ``rfc``
    cites the rule; ``implicit`` marks cells completed as "absorbed".

    >>> row = Transition(State.COMPLETED, Input.TIMER_K, State.TERMINATED, None, "")
    >>> row.target.value, row.input.kind
    ('Terminated', 'timer')
    """

    source: State
    input: Input
    target: State
    action: Action | None
    label: str
    rfc: str = ""
    implicit: bool = False


@dataclass(frozen=True, slots=True)
class Machine:
    """A transaction state machine: its states, inputs and transition rows.

    ``index`` maps ``(state, input)`` to the row, including the implicit
    "absorbed" rows for network and timer inputs that the explicit rows leave
    open; local inputs without a row are API misuse.

    >>> m = Machine("demo", "DEMO", State.TRYING, (State.TRYING, State.TERMINATED),
    ...             (Input.TIMER_F, Input.TU_2XX),
    ...             (Transition(State.TRYING, Input.TIMER_F, State.TERMINATED, None, ""),))
    >>> m.cell(State.TERMINATED, Input.TIMER_F).label, m.cell(State.TRYING, Input.TU_2XX)
    ('absorbed', None)
    """

    name: str
    abbreviation: str
    initial: State
    states: tuple[State, ...]
    inputs: tuple[Input, ...]
    transitions: tuple[Transition, ...]
    index: dict[tuple[State, Input], Transition] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[tuple[State, Input], Transition] = {}
        for row in self.transitions:
            cell = (row.source, row.input)
            if cell in index:
                raise LocalProtocolError(f"{self.abbreviation}: duplicate cell {cell}")
            if row.source not in self.states or row.target not in self.states:
                raise LocalProtocolError(f"{self.abbreviation}: unknown state in {row}")
            if row.input not in self.inputs:
                raise LocalProtocolError(f"{self.abbreviation}: unknown input in {row}")
            if row.source is State.TERMINATED:
                raise LocalProtocolError(f"{self.abbreviation}: no transition leaves Terminated")
            index[cell] = row
        for state in self.states:
            for inp in self.inputs:
                if (state, inp) not in index and inp.kind != LOCAL:
                    index[(state, inp)] = Transition(state, inp, state, None, "absorbed", implicit=True)
        object.__setattr__(self, "index", index)

    def cell(self, state: State, inp: Input) -> Transition | None:
        """The row for ``(state, inp)``, or ``None`` if that is API misuse."""
        return self.index.get((state, inp))


def _machine_of(machine: Any) -> Machine:
    if isinstance(machine, Machine):
        return machine
    found = getattr(machine, "MACHINE", None)
    if isinstance(found, Machine):
        return found
    raise LocalProtocolError(f"not a transaction machine: {machine!r}")


def render_table(machine: Any) -> str:
    """The explicit transition rows of ``machine`` as a plain-text table.

    ``machine`` is a :class:`Machine` or a transaction class carrying one.

    >>> from simvoip.sip.transaction import NonInviteClientTransaction
    >>> print(render_table(NonInviteClientTransaction).splitlines()[0])
    non-INVITE client transaction (NICT), initial state Trying
    """
    m = _machine_of(machine)
    header = ("State", "Input", "Next state", "Action", "RFC")
    rows = [(r.source.value, r.input.value, r.target.value, r.label, r.rfc) for r in m.transitions]
    widths = [max(len(x[i]) for x in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [f"{m.name} ({m.abbreviation}), initial state {m.initial.value}", line(header)]
    out.append("  ".join("-" * w for w in widths))
    out.extend(line(r) for r in rows)
    out.append("Other network and timer inputs are absorbed; other TU calls raise LocalProtocolError.")
    return "\n".join(out)


def render_diagram(machine: Any, fmt: str = "mermaid") -> str:
    """A state diagram of ``machine`` drawn from its table (``'mermaid'`` or ``'dot'``).

    The ``start`` row is drawn as the arrow into the initial state; self-loops
    that only absorb a message are left out, as in the RFC figures.

    >>> from simvoip.sip.transaction import InviteClientTransaction
    >>> text = render_diagram(InviteClientTransaction)
    >>> text.splitlines()[0], "Calling --> Accepted: 2xx / pass to TU, start Timer M" in text
    ('stateDiagram-v2', True)
    >>> render_diagram(InviteClientTransaction, fmt="dot").startswith("digraph ICT {")
    True
    """
    m = _machine_of(machine)
    start = m.cell(m.initial, Input.START)
    start_label = start.label if start is not None else ""
    rows = [r for r in m.transitions
            if r.input is not Input.START and (r.action is not None or r.source is not r.target)]
    if fmt == "mermaid":
        out = ["stateDiagram-v2", f"    [*] --> {m.initial.value}: {start_label}".rstrip(": ")]
        for r in rows:
            out.append(f"    {r.source.value} --> {r.target.value}: {_label(r)}")
        out.append(f"    {State.TERMINATED.value} --> [*]")
        return "\n".join(out)
    if fmt == "dot":
        out = [f"digraph {m.abbreviation} {{", "    rankdir=TB;", "    node [shape=box, style=rounded];",
               '    start [shape=point];',
               f'    start -> "{m.initial.value}" [label="{start_label}"];']
        for r in rows:
            label = _label(r).replace('"', '\\"').replace(" / ", "\\n")
            out.append(f'    "{r.source.value}" -> "{r.target.value}" [label="{label}"];')
        out.append("}")
        return "\n".join(out)
    raise LocalProtocolError(f"unknown diagram format {fmt!r} (use 'mermaid' or 'dot')")


def _label(row: Transition) -> str:
    return f"{row.input.value} / {row.label}" if row.label else row.input.value
