"""The transition tables: every (state x input) cell is defined or a LocalProtocolError;
rendering is generated from the tables."""

from __future__ import annotations

import pytest
from transaction_helpers import apply, new_transaction

from simvoip.sip.errors import LocalProtocolError
from simvoip.sip.transaction import (
    MACHINES,
    Input,
    InviteClientTransaction,
    InviteServerTransaction,
    Machine,
    State,
    Transition,
    render_diagram,
    render_table,
)
from simvoip.sip.transaction.table import LOCAL

#: How to reach each state over UDP from a fresh, started transaction.
RECIPES: dict[str, dict[State, list[Input]]] = {
    "ICT": {
        State.CALLING: [],
        State.PROCEEDING: [Input.RESPONSE_1XX],
        State.COMPLETED: [Input.RESPONSE_300_699],
        State.ACCEPTED: [Input.RESPONSE_2XX],
        State.TERMINATED: [Input.TRANSPORT_ERROR],
    },
    "NICT": {
        State.TRYING: [],
        State.PROCEEDING: [Input.RESPONSE_1XX],
        State.COMPLETED: [Input.RESPONSE_2XX],
        State.TERMINATED: [Input.RESPONSE_2XX, Input.TIMER_K],
    },
    "IST": {
        State.PROCEEDING: [],
        State.COMPLETED: [Input.TU_300_699],
        State.CONFIRMED: [Input.TU_300_699, Input.ACK],
        State.ACCEPTED: [Input.TU_2XX],
        State.TERMINATED: [Input.TU_2XX, Input.TIMER_L],
    },
    "NIST": {
        State.TRYING: [],
        State.PROCEEDING: [Input.TU_1XX],
        State.COMPLETED: [Input.TU_2XX],
        State.TERMINATED: [Input.TU_2XX, Input.TIMER_J],
    },
}

RFC_STATE_NAMES = {"Calling", "Trying", "Proceeding", "Completed", "Confirmed", "Accepted", "Terminated"}


def reach(kind: str, state: State):  # type: ignore[no-untyped-def]
    tx = new_transaction(kind)
    tx.start(0.0)
    for step in RECIPES[kind][state]:
        apply(tx, step, 0.0)
    assert tx.state is state
    return tx


CELLS = [(kind, state, inp) for kind, m in MACHINES.items() for state in m.states for inp in m.inputs]


@pytest.mark.parametrize("kind,state,inp", CELLS, ids=[f"{k}-{s.value}-{i.name}" for k, s, i in CELLS])
def test_every_cell_is_defined_or_a_local_protocol_error(kind: str, state: State, inp: Input) -> None:
    machine = MACHINES[kind]
    row = machine.cell(state, inp)
    if inp is Input.START and state is machine.initial:
        tx = new_transaction(kind)                  # only a fresh transaction can start
    else:
        tx = reach(kind, state)
    armed_before = tx.armed_timers
    if row is None:
        assert inp.kind == LOCAL, "only local API misuse may lack a cell"
        with pytest.raises(LocalProtocolError):
            apply(tx, inp, 1.0)
        assert tx.state is state and tx.armed_timers == armed_before
        return
    out = apply(tx, inp, 1.0)
    timer = inp.timer
    if timer is not None and timer not in armed_before:
        # A timer that is not armed in this state never fires: its cell must be an
        # absorbing one and the call a no-op.
        assert row.implicit and out == [] and tx.state is state
        return
    assert tx.state is row.target
    if row.implicit or row.action is None and row.target is state:
        assert out == []
    if state is State.TERMINATED:
        assert out == []


@pytest.mark.parametrize("kind", list(MACHINES))
def test_every_explicit_timer_row_is_armed_in_its_state(kind: str) -> None:
    machine = MACHINES[kind]
    for row in machine.transitions:
        if row.input.timer is not None:
            assert row.input.timer in reach(kind, row.source).armed_timers, row


@pytest.mark.parametrize("kind", list(MACHINES))
def test_local_inputs_raise_after_start_and_in_terminated(kind: str) -> None:
    tx = reach(kind, State.TERMINATED)
    with pytest.raises(LocalProtocolError):
        tx.start(2.0)
    for inp in MACHINES[kind].inputs:
        if inp.kind == LOCAL:
            with pytest.raises(LocalProtocolError):
                apply(tx, inp, 2.0)
        else:
            assert apply(tx, inp, 2.0) == []
        assert tx.state is State.TERMINATED


def test_state_names_are_the_rfcs() -> None:
    used = {s.value for m in MACHINES.values() for s in m.states}
    assert used == RFC_STATE_NAMES
    assert {s.value for s in MACHINES["ICT"].states} == {"Calling", "Proceeding", "Completed", "Accepted",
                                                         "Terminated"}
    assert {s.value for s in MACHINES["IST"].states} == {"Proceeding", "Completed", "Confirmed", "Accepted",
                                                         "Terminated"}
    assert {s.value for s in MACHINES["NICT"].states} == {"Trying", "Proceeding", "Completed", "Terminated"}
    assert {s.value for s in MACHINES["NIST"].states} == {"Trying", "Proceeding", "Completed", "Terminated"}


def test_machine_rejects_a_transition_out_of_terminated() -> None:
    with pytest.raises(LocalProtocolError):
        Machine("bad", "BAD", State.TRYING, (State.TRYING, State.TERMINATED), (Input.TIMER_F,),
                (Transition(State.TERMINATED, Input.TIMER_F, State.TRYING, None, "revive"),))
    with pytest.raises(LocalProtocolError):
        Machine("bad", "BAD", State.TRYING, (State.TRYING,), (Input.TIMER_F,),
                (Transition(State.TRYING, Input.TIMER_F, State.TRYING, None, "a"),
                 Transition(State.TRYING, Input.TIMER_F, State.TRYING, None, "b")))


@pytest.mark.parametrize("kind", list(MACHINES))
def test_render_table_lists_every_row(kind: str) -> None:
    machine = MACHINES[kind]
    text = render_table(machine)
    lines = text.splitlines()
    assert lines[0].startswith(f"{machine.name} ({kind})")
    body = lines[3:-1]
    assert len(body) == len(machine.transitions)
    for line, row in zip(body, machine.transitions, strict=True):
        assert line.split()[0] == row.source.value
        assert row.input.value in line and row.target.value in line and row.label in line


@pytest.mark.parametrize("kind", list(MACHINES))
def test_diagrams_are_generated_from_the_table(kind: str) -> None:
    machine = MACHINES[kind]
    start = machine.cell(machine.initial, Input.START)
    assert start is not None and not start.implicit
    drawn = [r for r in machine.transitions
             if r.input is not Input.START and (r.action is not None or r.source is not r.target)]
    mermaid = render_diagram(machine, "mermaid").splitlines()
    edges = [line.strip() for line in mermaid if "-->" in line and "[*]" not in line]
    assert edges == [f"{r.source.value} --> {r.target.value}: {r.input.value}" + (f" / {r.label}" if r.label else "")
                     for r in drawn]
    assert mermaid[1].strip() == f"[*] --> {machine.initial.value}: {start.label}"
    dot = render_diagram(machine, "dot")
    assert dot.startswith(f"digraph {kind} {{") and dot.endswith("}")
    assert dot.count(" -> ") == len(drawn) + 1        # plus the start arrow
    # Every state except Terminated has an edge out; every state is reachable.
    sources = {r.source for r in drawn} | ({machine.initial} if kind == "NIST" else set())
    targets = {r.target for r in drawn} | {machine.initial}
    assert sources == set(machine.states) - {State.TERMINATED}
    assert targets == set(machine.states)


def test_render_accepts_classes_and_rejects_unknown_formats() -> None:
    assert render_table(InviteClientTransaction) == render_table(MACHINES["ICT"])
    assert "Accepted --> Accepted: ACK / pass ACK to TU" in render_diagram(InviteServerTransaction)
    with pytest.raises(LocalProtocolError):
        render_diagram(InviteClientTransaction, fmt="svg")
    with pytest.raises(LocalProtocolError):
        render_table(object())


@pytest.mark.parametrize("kind", list(MACHINES))
def test_transactions_are_slotted(kind: str) -> None:
    # The simulator holds hundreds of thousands of these: no per-instance __dict__.
    tx = reach(kind, State.TERMINATED)
    assert not hasattr(tx, "__dict__")
    with pytest.raises(AttributeError):
        tx.anything_else = 1  # type: ignore[attr-defined]
