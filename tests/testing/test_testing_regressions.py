"""Bugs the toolkit found, kept as replayable regression tests."""

from __future__ import annotations

from simvoip.sip.dialog import DialogState
from simvoip.testing import NetworkMachine, replay
from simvoip.testing.invariants import check_dialogs


def test_late_2xx_after_timer_b_leaves_no_confirmed_dialog() -> None:
    # Six INVITE transmissions are lost; the seventh (31.5 s) gets through, but
    # Timer B fires at 32 s and the call fails with 408. Bob's 200 then arrives:
    # alice ACKs it and sends BYE (RFC 3261 13.2.2.4, 15). When the BYE's 200
    # comes back, the late dialog must be terminated like any other.
    machine = replay(NetworkMachine, [("lose_next", "any")] * 6
                     + [("place_call", "alice", "bob", None, "1xx")])
    call_id = machine.call_ids[0][2]
    alice = machine.net.nodes["alice"]
    record = alice.history[call_id]
    assert record.final_status == 408
    assert record.dialogs and all(d.state is DialogState.TERMINATED
                                  for d in record.dialogs.values())
    assert check_dialogs(machine.net) == []
