"""Bugs the toolkit found, kept as replayable regression tests."""

from __future__ import annotations

from simvoip.sip.dialog import DialogState
from simvoip.testing import NetworkMachine, replay
from simvoip.testing.invariants import check_dialogs, check_registrations


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


def test_refresh_register_in_flight_counts_as_refreshing() -> None:
    # Found with 500 examples of the three-phone machine: when alice's refresh timer
    # has fired, no refresh is armed but the refresh REGISTER is on its way. RFC 3261
    # 10.2.1 is kept: the invariant must not call that a missing refresh.
    from simvoip.sip.transaction import TimerConfig
    from simvoip.testing import Scenario

    scenario = Scenario(registrar="registrar", register_expires=60, timers=TimerConfig())
    net = scenario.build()
    net.api("alice", "register", lambda ua: ua.register(net.now))
    net.advance(1.0)
    alice = net.nodes["alice"]
    (refresh_at,) = [at for (n, name, _), (at, _) in net.timers.items()
                     if (n, name) == ("alice", "register")]
    net.advance(refresh_at + 0.001 - net.now)  # the refresh REGISTER is now in flight
    assert not [k for k in net.timers if k[:2] == ("alice", "register")]
    assert any(tx.request.method == "REGISTER" for tx in alice.transactions.clients.values())
    assert alice.registered_until > net.now
    assert check_registrations(net, scenario) == []
