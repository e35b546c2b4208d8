"""VirtualNetwork: every intervention does what it says, and time runs by the RFC timers."""

from __future__ import annotations

import pytest

from simvoip.sip.transaction import TimerConfig
from simvoip.testing import Scenario, VirtualNetwork
from simvoip.testing.analytic import retransmit_times
from simvoip.testing.network import summarize


def _pair() -> VirtualNetwork:
    return Scenario().build()


def _sends(net: VirtualNetwork, summary_prefix: str) -> list[float]:
    return [e.time for e in net.log if e.kind == "send" and e.summary.startswith(summary_prefix)]


def test_a_call_completes_and_the_ladder_is_the_rfc_3261_flow() -> None:
    net = _pair()
    call_id, new = net.invite("alice", "sip:bob@bob")
    assert len(new) == 1 and net.in_flight[new[0]].summary.startswith("INVITE")
    net.advance(5.0)
    received = [e.summary.split()[0] for e in net.log if e.kind == "recv"]
    assert received == ["INVITE", "180", "200", "ACK"]
    assert net.nodes["alice"].call(call_id).state == "confirmed"
    assert not net.crashes and net.parse_errors == 0


def test_invite_under_total_loss_is_sent_on_the_timer_a_schedule() -> None:
    # RFC 3261 17.1.1.2: Timer A doubles on each retransmission; Timer B = 64*T1 ends it.
    net = _pair()
    net.set_link("alice", "bob", up=False)
    net.invite("alice", "sip:bob@bob")
    net.advance(40.0)
    assert _sends(net, "INVITE") == retransmit_times(TimerConfig(), invite=True)
    assert _sends(net, "INVITE") == [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert net.drops["link-down"] == 7


def test_options_under_total_loss_is_sent_on_the_timer_e_schedule() -> None:
    # RFC 3261 17.1.2.2: Timer E doubles up to T2 = 4 s; Timer F = 64*T1 = 32 s.
    net = _pair()
    net.set_loss_pattern("alice", "bob", [True] * 20)
    net.api("alice", "options", lambda ua: ua.options("sip:bob@bob", net.now))
    net.advance(40.0)
    assert _sends(net, "OPTIONS") == [0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]


def test_drop_deliver_duplicate_delay_reorder() -> None:
    net = _pair()
    _, (invite,) = net.invite("alice", "sip:bob@bob")
    copy = net.duplicate(invite)
    assert copy is not None and net.in_flight[copy].data == net.in_flight[invite].data
    assert net.delay(copy, 3.0) and net.in_flight[copy].arrive_at == pytest.approx(3.01)
    new = net.deliver(invite)  # delivered now, ahead of its 10 ms
    assert [net.in_flight[p].summary for p in new] == ["180 INVITE"]
    assert net.drop(new[0]) and not net.drop(new[0])
    net.advance(5.0)
    # The 180 was lost, so Timer A resent the INVITE at 0.5 s (RFC 3261 17.1.1.2); that and
    # the delayed duplicate (3.01 s) are absorbed by bob's server transaction: one call.
    assert [e.time for e in net.log if e.kind == "recv" and e.summary.startswith("INVITE")] == [
        0.0, pytest.approx(0.51), pytest.approx(3.01)]
    assert len(net.nodes["bob"].calls) + len(net.nodes["bob"].history) == 1
    assert not net.crashes
    assert net.drops["loss"] == 1


def test_reorder_swaps_arrival_times() -> None:
    net = _pair()
    _, (a,) = net.invite("alice", "sip:bob@bob")
    _, (b,) = net.invite("bob", "sip:alice@alice")
    net.delay(b, 1.0)
    ta, tb = net.in_flight[a].arrive_at, net.in_flight[b].arrive_at
    assert net.reorder(a, b)
    assert (net.in_flight[a].arrive_at, net.in_flight[b].arrive_at) == (tb, ta)
    assert not net.reorder(a, a)


def test_link_down_drops_in_flight_packets_and_crash_silences_a_node() -> None:
    net = _pair()
    _, (invite,) = net.invite("alice", "sip:bob@bob")
    net.set_link("alice", "bob", up=False)
    assert invite not in net.in_flight and net.drops["link-down"] == 1
    net.set_link("alice", "bob", up=True)
    net.crash("bob")
    net.advance(10.0)
    assert net.drops["crashed"] >= 1
    assert not any(k[0] == "bob" for k in net.timers)
    assert ("alice", "bob") in net.links_failed


def test_lose_next_targets_one_message_kind_of_one_call() -> None:
    net = _pair()
    net.lose_next("2xx")
    call_id, _ = net.invite("alice", "sip:bob@bob")
    net.advance(5.0)
    oks = [e for e in net.log if e.summary == "200 INVITE" and e.kind in ("send", "drop")]
    assert [e.kind for e in oks][:3] == ["send", "drop", "send"]  # the first 200 lost, then resent
    assert net.call_drops[call_id] == 1 and not net.pending_losses
    assert net.nodes["alice"].call(call_id).state == "confirmed"


def test_garbage_bytes_are_counted_not_raised() -> None:
    net = _pair()
    pid = net.inject("alice", "bob", b"\x00garbage\r\n\r\n")
    net.deliver(pid)
    assert net.parse_errors == 1 and not net.crashes


def test_an_exception_in_a_core_is_recorded_not_propagated() -> None:
    class Exploding:
        def receive(self, message: object, source: object, now: float) -> list[object]:
            raise RuntimeError("boom")

        def handle_timer(self, name: str, key: object, now: float) -> list[object]:
            return []

    net = _pair()
    net.nodes["bob"] = Exploding()
    net.invite("alice", "sip:bob@bob")
    net.advance(1.0)
    assert net.crashes and net.crashes[0].node == "bob" and "boom" in net.crashes[0].error


def test_summarize_handles_headerless_messages() -> None:
    from simvoip.sip import Response

    assert summarize(Response(500, "x")) == "500 ?"
