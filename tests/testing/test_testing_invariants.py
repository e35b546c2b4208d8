"""Each invariant check fires on the violation it describes and stays quiet otherwise."""

from __future__ import annotations

from simvoip.sip.transaction import TimerConfig
from simvoip.testing import Scenario, TransactionWatch
from simvoip.testing.invariants import (
    check_acks,
    check_all,
    check_answered_calls,
    check_dialogs,
    check_no_crashes,
    check_no_invention,
    check_registrations,
)
from simvoip.testing.network import NodeCrash


def test_clean_call_and_registration_satisfy_everything() -> None:
    scenario = Scenario(registrar="registrar", register_expires=60)
    net = scenario.build()
    watch = TransactionWatch()
    net.observers.append(watch)
    net.api("alice", "register", lambda ua: ua.register(net.now))
    call_id, _ = net.invite("alice", "sip:bob@bob", hangup_after=5.0)
    for _ in range(20):
        net.advance(10.0)
        assert check_all(net, scenario, watch) == []
    assert net.nodes["bob"].call(call_id).end_reason == "remote-bye"
    # Registered for 60 s, refreshed before expiry (RFC 3261 10.2.1) all along.
    registered = [e for _, e in net.events["alice"] if type(e).__name__ == "Registered"]
    assert len(registered) >= 4 and all(e.expires == 60 for e in registered)


def test_crash_is_reported() -> None:
    net = Scenario().build()
    net.crashes.append(NodeCrash("bob", 1.0, "receive INVITE", "KeyError: 'x'", ""))
    assert check_no_crashes(net) == ["bob crashed at t=1.000 on receive INVITE: KeyError: 'x'"]


def test_invented_datagram_is_reported() -> None:
    net = Scenario().build()
    net.received[("alice", "bob", b"OPTIONS forged")] += 1
    assert any("never sent" in v for v in check_no_invention(net))


def test_transaction_past_its_bound_is_reported() -> None:
    scenario = Scenario()
    net = scenario.build()
    watch = TransactionWatch()
    net.observers.append(watch)
    net.set_link("alice", "bob", up=False)
    net.api("alice", "options", lambda ua: ua.options("sip:bob@bob", net.now))
    # Freeze the client transaction: delete its timers so Timer F never fires.
    for key in [k for k in net.timers if k[0] == "alice"]:
        del net.timers[key]
    net.advance(31.0)
    assert watch.violations(net) == []
    net.advance(2.0)  # 33 s > Timer F = 64*T1 = 32 s after creation
    violations = watch.violations(net)
    assert len(violations) == 1 and "NICT" in violations[0] and "t=32.000" in violations[0]


def test_ack_with_a_foreign_cseq_is_reported() -> None:
    from simvoip.testing.buggy import WrongAckCSeqUA

    net = Scenario(ua_factory=WrongAckCSeqUA).build()
    net.invite("alice", "sip:bob@bob")
    net.advance(2.0)
    assert any("matching no INVITE" in v for v in check_acks(net))


def test_half_open_dialog_is_reported() -> None:
    net = Scenario().build()
    call_id, _ = net.invite("alice", "sip:bob@bob")
    net.advance(5.0)
    assert check_dialogs(net) == []
    net.advance(60.0)  # settled: every transaction of the call (IST Accepted: Timer L) is over
    assert check_dialogs(net) == []
    # Bob forgets the call without a BYE: alice's dialog has no peer.
    bob = net.nodes["bob"]
    bob.history[call_id] = bob.calls.pop(call_id)
    for d in bob.history[call_id].dialogs.values():
        d.state = type(d.state).TERMINATED
    assert any("bob sent no BYE" in v for v in check_dialogs(net))


def test_unanswered_2xx_is_reported_only_after_64_t1() -> None:
    from simvoip.testing.buggy import NoRetransmit2xxUA

    scenario = Scenario(ua_factory=NoRetransmit2xxUA)
    net = scenario.build()
    net.lose_next("2xx")
    net.invite("alice", "sip:bob@bob")
    net.advance(30.0)
    assert check_answered_calls(net, scenario) == []  # 64*T1 after the 2xx not over yet
    net.advance(10.0)
    assert any("never got the 2xx" in v for v in check_answered_calls(net, scenario))
    # Beyond the loss tolerance the call is exempt.
    assert check_answered_calls(net, Scenario(loss_tolerance=0)) == []


def test_missing_refresh_is_reported() -> None:
    scenario = Scenario(registrar="registrar", register_expires=60, timers=TimerConfig())
    net = scenario.build()
    net.api("alice", "register", lambda ua: ua.register(net.now))
    net.advance(1.0)
    assert check_registrations(net, scenario) == []
    for key in [k for k in net.timers if k[:2] == ("alice", "register")]:
        del net.timers[key]
    assert any("no refresh armed" in v for v in check_registrations(net, scenario))
