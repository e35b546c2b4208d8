"""Client transactions over simulated links: RFC 3261 retransmission schedules in the trace."""

from __future__ import annotations

import pytest

from simvoip import Simulation
from simvoip.sim.driver import make_request
from simvoip.sip.effects import Address
from simvoip.sip.ua.messages import make_response

from .helpers import options, pair, times


def test_nict_total_loss_follows_the_rfc_schedule(reference_values: dict) -> None:
    ref = reference_values["sip.schedule.non_invite_client_udp_total_loss"]["expected"]
    sim = Simulation(pair(loss=1.0), seed=1)
    sim.serve_options("bob")
    outcome = options(sim)
    sim.run(until=60.0)
    df = sim.trace.to_dataframe()
    sends = times(df, event="send", node="alice")
    assert sends == pytest.approx(ref["send_times"], abs=1e-9)
    assert len(sends) == ref["transmissions"]
    assert times(df, event="drop", cause="loss") == sends
    assert times(df, event="timer", cause="F") == [ref["timeout_at"]]
    assert times(df, event="timer", cause="E") == sends[1:]
    assert outcome.outcome == "timeout" and outcome.timed_out_at == ref["timeout_at"]
    assert times(df, event="state", cause="Terminated") == [32.0]
    assert (df["event"] == "recv").sum() == 0


def test_ict_total_loss_follows_the_rfc_schedule(reference_values: dict) -> None:
    ref = reference_values["sip.schedule.invite_client_udp_total_loss"]["expected"]
    sim = Simulation(pair(loss=1.0), seed=1)
    sim.serve_options("bob")
    outcome = options(sim, method="INVITE")
    sim.run(until=60.0)
    df = sim.trace.to_dataframe()
    assert times(df, event="send", node="alice") == pytest.approx(ref["send_times"], abs=1e-9)
    assert times(df, event="timer", cause="B") == [32.0]
    assert outcome.outcome == "timeout"


def test_link_back_at_5s_lets_the_transaction_complete() -> None:
    topo = pair()
    topo.add_fault("link_down", at=0.0, until=5.0, link=("alice", "bob"))
    sim = Simulation(topo, seed=1)
    sim.serve_options("bob")
    outcome = options(sim)
    sim.run(until=60.0)
    df = sim.trace.to_dataframe()
    assert times(df, event="drop", cause="link-down") == [0.0, 0.5, 1.5, 3.5]
    assert times(df, event="send", node="alice") == [0.0, 0.5, 1.5, 3.5, 7.5]
    assert outcome.outcome == "answered"
    assert outcome.final is not None and outcome.final.status_code == 200
    assert outcome.final_at == pytest.approx(7.52)
    # RFC 3261 17.1.2.2: Completed lingers Timer K = T4 = 5 s on UDP, then Terminated.
    assert outcome.terminated_at == pytest.approx(12.52)
    assert times(df, event="state", node="alice", kind="sip") == pytest.approx([0.0, 7.52, 12.52])
    assert times(df, event="state", kind="link") == [0.0, 5.0]


def test_answered_options_leaves_both_transactions_terminated() -> None:
    sim = Simulation(pair(), seed=1)
    responder = sim.serve_options("bob")
    outcome = options(sim)
    sim.run(until=100.0)
    df = sim.trace.to_dataframe()
    assert responder.answered == 1
    assert outcome.final_at == pytest.approx(0.02)
    recv = df[df["event"] == "recv"]
    assert list(recv["node"]) == ["bob", "alice"]
    assert list(recv["status"].astype("object").fillna(0)) == [0, 200]
    assert list(recv["method"]) == ["OPTIONS", "OPTIONS"]
    server_states = df[(df["event"] == "state") & (df["node"] == "bob")]
    assert list(server_states["cause"]) == ["Trying", "Completed", "Terminated"]
    # RFC 3261 17.2.2: Timer J = 64*T1 after the final response on UDP.
    assert times(server_states) == pytest.approx([0.01, 0.01, 32.01])
    assert sim.nodes["alice"].client_transactions == {}
    assert sim.nodes["bob"].server_transactions == {}


def test_reliable_transport_hides_loss_and_skips_timer_e() -> None:
    sim = Simulation(pair(loss_model={"type": "trace", "pattern": [1, 0]}), seed=3)
    sim.serve_options("bob")
    outcome = options(sim, transport="TCP")
    sim.run(until=60.0)
    df = sim.trace.to_dataframe()
    assert set(df.loc[df["event"] == "send", "transport"]) == {"tcp"}
    assert (df["event"] == "drop").sum() == 0
    assert times(df, event="timer", cause="E") == []
    # Handshake (2 x 10 ms), first segment lost, retransmitted after RTO = 1 s.
    assert times(df, event="recv", node="bob") == pytest.approx([1.03])
    # The 200 goes back on the same connection; the pattern loses its first segment
    # in that direction too, so it arrives one RTO later.
    assert outcome.final_at == pytest.approx(2.04)
    # K is 0 on reliable transports: terminated at once.
    assert outcome.terminated_at == pytest.approx(2.04)


def test_tcp_head_of_line_blocking_keeps_order() -> None:
    sim = Simulation(pair(loss_model={"type": "trace", "pattern": [1, 0, 0, 0, 0, 0]}), seed=3)
    sim.serve_options("bob")
    first = options(sim, 1, at=0.0, transport="TCP")
    second = options(sim, 2, at=0.1, transport="TCP")
    sim.run(until=60.0)
    df = sim.trace.to_dataframe()
    recv = df[(df["event"] == "recv") & (df["node"] == "bob")]
    # The second request crossed the link at 0.11 s but waits for the first (lost, RTO 1 s).
    assert list(recv["cseq"]) == [1, 2]
    assert times(recv) == pytest.approx([1.03, 1.03])
    assert first.outcome == second.outcome == "answered"


def test_tcp_connection_failure_is_a_transport_error() -> None:
    sim = Simulation(pair(loss=1.0), seed=3, tcp_max_retries=3)
    sim.serve_options("bob")
    outcome = options(sim, transport="TCP")
    sim.run(until=60.0)
    df = sim.trace.to_dataframe()
    # Handshake 20 ms, then RTOs of 1, 2 and 4 s; the fourth loss fails the connection.
    assert times(df, event="drop", cause="transport-error") == pytest.approx([7.02])
    assert outcome.outcome == "transport-error"
    assert outcome.transport_failed_at == pytest.approx(7.02)
    assert outcome.terminated_at == pytest.approx(7.02)


def test_large_request_moves_to_tcp_per_rfc3261_18_1_1() -> None:
    sim = Simulation(pair(mtu=1500), seed=3)
    sim.serve_options("bob")
    big = options(sim, 1, body=b"x" * 1200)
    small = options(sim, 2, at=1.0, body=b"x" * 100)
    sim.run(until=60.0)
    df = sim.trace.to_dataframe()
    sends = df[(df["event"] == "send") & (df["node"] == "alice")]
    assert list(sends["transport"]) == ["tcp", "udp"]
    assert list(sends["cause"].fillna("")) == ["mtu-tcp", ""]
    assert int(sends["size"].iloc[0]) > 1300
    assert b"Via: SIP/2.0/TCP alice;" in sends["data"].iloc[0]
    # The server answers over the transport named in the Via (RFC 3261 18.2.2).
    responses = df[(df["event"] == "send") & (df["node"] == "bob")]
    assert list(responses["transport"]) == ["tcp", "udp"]
    assert big.outcome == small.outcome == "answered"


def test_oversized_datagram_is_dropped_for_mtu() -> None:
    # RFC 3261 18.1.1 moves large requests to TCP, so only a response can be
    # too big for a link: it is dropped with cause "mtu".
    sim = Simulation(pair(mtu=576), seed=3)
    request = make_request("OPTIONS", "alice", "sip:bob@bob", call_id="c", branch="z9hG4bKm")
    big = make_response(request, 200, to_tag="t", body=b"y" * 600)
    small = make_response(request, 200, to_tag="t")
    sim.at(0.0, lambda: sim.nodes["bob"].send(big, Address("alice")))
    sim.at(0.0, lambda: sim.nodes["bob"].send(small, Address("alice")))
    sim.run(until=1.0)
    df = sim.trace.to_dataframe()
    assert list(df.loc[df["event"] == "drop", "cause"]) == ["mtu"]
    assert list(df.loc[df["event"] == "recv", "size"]) == [len(small.encode())]
