"""RTCP on the simulated wire: RFC 3550 intervals, SR/RR contents, RTT, loss reports, BYE."""

from __future__ import annotations

import pytest

from simvoip import Simulation, Topology
from simvoip.media.rtcp import Bye, ReceiverReport, SenderReport, decode_compound

COMPENSATION = 2.71828 - 1.5  # RFC 3550 A.7


def _call(loss: float = 0.0, delay: float = 0.03, duration: float = 60.0, seed: int = 1):  # type: ignore[no-untyped-def]
    topo = Topology()
    topo.add_endpoint("alice")
    topo.add_endpoint("bob")
    topo.add_link("alice", "bob", delay=delay, loss=loss)
    sim = Simulation(topo, seed=seed, media=True)
    call = sim.call("alice", "bob", duration=duration)
    sim.run(until=duration + 10.0)
    return sim, call


def _rtcp_sends(sim: Simulation, node: str) -> list[tuple[float, list]]:
    return [(r.time, decode_compound(r.data)) for r in sim.trace.where(kind="rtcp", event="send")
            if r.node == node]


def test_report_intervals_follow_rfc3550_a7() -> None:
    sim, call = _call()
    started = min(r.time for r in sim.trace.where(kind="rtp", event="send", node="alice"))
    times = [t for t, _ in _rtcp_sends(sim, "alice")]
    # First report: half the 5 s minimum, randomised [0.5, 1.5) and compensated.
    assert 2.5 * 0.5 / COMPENSATION <= times[0] - started < 2.5 * 1.5 / COMPENSATION
    gaps = [b - a for a, b in zip(times[:-2], times[1:-1], strict=True)]  # the last is the BYE
    assert gaps and all(5 * 0.5 / COMPENSATION <= g < 5 * 1.5 / COMPENSATION for g in gaps)
    # 60 s of call at 5 s / (e - 3/2) = 4.1 s on average: about 14 reports.
    assert 10 <= len(times) <= 19


def test_sender_reports_count_what_was_sent_and_measure_the_round_trip() -> None:
    sim, call = _call(delay=0.03)
    reports = _rtcp_sends(sim, "alice")
    rtp = sim.trace.where(kind="rtp", event="send", node="alice")
    for at, packets in reports:
        sr = packets[0]
        assert isinstance(sr, SenderReport)
        assert sr.packet_count == sum(1 for r in rtp if r.time <= at)  # RFC 3550 6.4.1
    # Both ends have seen SRs from each other: RTT = A - LSR - DLSR = twice the 30 ms.
    for node in ("alice", "bob"):
        agent = sim.media.rtcp[(call.call_id, node)]
        assert agent.rtt and all(r == pytest.approx(0.06, abs=2e-4) for r in agent.rtt)
        assert sim.media.rtt(call.call_id, node) == pytest.approx(0.06, abs=2e-4)


def test_receiver_reports_show_the_loss_the_link_caused() -> None:
    sim, call = _call(loss=0.1, duration=120.0, seed=3)
    # What bob reported about alice's stream, in the last report alice received.
    block = sim.media.rtcp[(call.call_id, "alice")].peer_reports[-1]
    expected = block.extended_highest_sequence - sim.media.streams[
        (call.call_id, "alice")].receiver.statistics.base_seq + 1
    assert 0.07 < block.cumulative_lost / expected < 0.13
    # ... and it is exactly what bob's receiver counted at that time (same statistics).
    bob_stats = sim.media.streams[(call.call_id, "alice")].receiver.statistics
    assert 0 < block.cumulative_lost <= bob_stats.cumulative_lost


def test_hang_up_sends_rtcp_bye_and_reporting_stops() -> None:
    sim, call = _call(duration=20.0)
    bye_at = min(r.time for r in sim.trace.where(method="BYE", event="send"))
    for node in ("alice", "bob"):
        sends = _rtcp_sends(sim, node)
        last_time, last = sends[-1]
        assert isinstance(last[0], (SenderReport, ReceiverReport))
        assert isinstance(last[-1], Bye)  # RFC 3550 6.6
        assert all(not any(isinstance(p, Bye) for p in packets) for _, packets in sends[:-1])
        assert last_time >= bye_at and last_time - bye_at < 0.2
    agent = sim.media.rtcp[(call.call_id, "alice")]
    assert agent.errors == 0 and agent.received >= 4 and not agent.running


def test_same_seed_same_rtcp() -> None:
    a, _ = _call(seed=8, duration=15.0)
    b, _ = _call(seed=8, duration=15.0)
    assert a.trace.where(kind="rtcp") == b.trace.where(kind="rtcp")
