"""Property tests: every machine reaches Terminated from every state for every input order.

Random interleavings of responses (1xx, 2xx, 3xx-6xx, retransmitted and forked),
requests (retransmissions, ACKs), TU responses, fires of any armed timer, transport
errors and time advances. Invariants after every step: outputs agree with the
transition table, timers are bookkept exactly (no cancel of an unarmed timer), no
transition out of Terminated, no output after Terminated, no timer left armed.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from transaction_helpers import CODES, Run, apply, new_transaction

from simvoip.sip.errors import LocalProtocolError
from simvoip.sip.transaction import (
    MACHINES,
    Input,
    State,
    Terminated,
    Timer,
    TimerConfig,
    Transaction,
)
from simvoip.sip.transaction.table import LOCAL

CLIENT_CODES = {
    Input.RESPONSE_1XX: [100, 180, 183],
    Input.RESPONSE_2XX: [200, 202],
    Input.RESPONSE_300_699: [302, 404, 486, 500, 603],
}
SERVER_CODES = {
    Input.TU_1XX: [180, 183],
    Input.TU_2XX: [200],
    Input.TU_300_699: [302, 404, 486, 503, 603],
}
FIRE = "fire"

step = st.tuples(
    st.one_of(st.sampled_from([i for i in Input if i.timer is None]), st.just(FIRE)),
    st.integers(min_value=0, max_value=1000),                     # picks a code / a timer
    st.sampled_from([0.0, 0.0, 0.001, 0.2, 1.0, 4.0, 40.0]),        # time advance
)


def feed(tx: Transaction, run: Run, inp: Input, now: float, code: int | None) -> None:
    """Apply one input and check the invariants of that single step."""
    machine = type(tx).MACHINE
    before = tx.state
    armed_before = dict(run.armed)
    row = machine.cell(before, inp)
    if inp.timer is not None:
        run.armed.pop(inp.timer.value, None)        # the adapter forgets a timer that fired
    if inp is Input.START and tx.started:
        row = None                                  # a transaction starts once
    if row is None:
        assert inp.kind == LOCAL
        try:
            apply(tx, inp, now, code)
        except LocalProtocolError:
            pass
        else:
            raise AssertionError(f"{inp} in {before} should be rejected")
        assert tx.state is before
        assert tx.armed_timers == {Timer(k): v for k, v in armed_before.items()}
        return
    out = run.absorb(tx, apply(tx, inp, now, code), now)
    if before is State.TERMINATED:
        assert out == [] and tx.state is State.TERMINATED           # nothing after Terminated
        return
    timer = inp.timer
    if timer is not None and timer.value not in armed_before:
        assert out == [] and tx.state is before
        return
    assert tx.state is row.target
    terminated = [o for o in out if isinstance(o, Terminated)]
    if row.target is State.TERMINATED:
        assert terminated == [Terminated()] and out[-1] == Terminated()
        assert run.armed == {} and tx.armed_timers == {}
    else:
        assert terminated == []
    # The transaction's own view of its timers agrees with what it told the adapter,
    # and every armed timer has a transition of its own in the current state.
    assert tx.armed_timers == {Timer(k): v for k, v in run.armed.items()}
    for name in run.armed:
        cell = machine.cell(tx.state, Input[f"TIMER_{name}"])
        assert cell is not None and not cell.implicit, f"Timer {name} armed in {tx.state}"


def completion_input(tx: Transaction) -> tuple[Input, int]:
    """The input that moves a transaction waiting on its peer or TU towards a final state."""
    if tx.MACHINE.abbreviation in ("ICT", "NICT"):
        return Input.RESPONSE_300_699, 486
    return Input.TU_300_699, 486


def run_scenario(kind: str, transport: str, steps: list[tuple[Any, int, float]],
                 auto_trying: bool = True) -> None:
    kwargs: dict[str, Any] = {"config": TimerConfig(t1=0.5, t2=4.0, t4=5.0)}
    if kind == "IST":
        kwargs["auto_trying"] = auto_trying
    tx = new_transaction(kind, transport, **kwargs)
    run = Run()
    now = 0.0
    feed(tx, run, Input.START, now, None)
    for what, pick, advance in steps:
        now += advance
        if what == FIRE:
            if not run.armed:
                continue
            names = list(run.armed)
            name = names[pick % len(names)]
            now = max(now, run.armed[name])
            feed(tx, run, Input[f"TIMER_{name}"], now, None)
            continue
        if what not in MACHINES[kind].inputs:
            continue
        codes = CLIENT_CODES.get(what) or SERVER_CODES.get(what)
        code = codes[pick % len(codes)] if codes else None
        feed(tx, run, what, now, code)
    # Drain: fire the earliest timer; if none is armed the transaction waits on its
    # peer or TU, so give it a final response. It must terminate within a few steps.
    for _ in range(64):
        if tx.state is State.TERMINATED:
            break
        if run.armed:
            name, at = min(run.armed.items(), key=lambda kv: kv[1])
            now = max(now, at)
            feed(tx, run, Input[f"TIMER_{name}"], now, None)
        else:
            inp, code = completion_input(tx)
            feed(tx, run, inp, now, code)
    assert tx.state is State.TERMINATED
    assert run.armed == {} and tx.armed_timers == {}
    assert [e for _, e in run.events if isinstance(e, Terminated)] == [Terminated()]
    # After Terminated: every network input and timer is absorbed, every TU call rejected.
    for inp in MACHINES[kind].inputs:
        feed(tx, run, inp, now + 1.0, CODES.get(inp))
    for timer in Timer:
        assert tx.handle_timer(timer, now + 2.0) == []
    assert tx.state is State.TERMINATED


steps = st.lists(step, max_size=40)
transports = st.sampled_from(["UDP", "TCP"])


@given(transport=transports, steps=steps)
def test_ict_always_terminates(transport: str, steps: list) -> None:
    run_scenario("ICT", transport, steps)


@given(transport=transports, steps=steps)
def test_nict_always_terminates(transport: str, steps: list) -> None:
    run_scenario("NICT", transport, steps)


@given(transport=transports, steps=steps, auto_trying=st.booleans())
def test_ist_always_terminates(transport: str, steps: list, auto_trying: bool) -> None:
    run_scenario("IST", transport, steps, auto_trying)


@given(transport=transports, steps=steps)
def test_nist_always_terminates(transport: str, steps: list) -> None:
    run_scenario("NIST", transport, steps)
