"""Exact retransmission and timeout schedules against RFC 3261 / RFC 6026 numbers."""

from __future__ import annotations

import pytest
from transaction_helpers import Run, drive, make_request, make_response, start

from simvoip.sip.effects import Address, Send
from simvoip.sip.errors import LocalProtocolError
from simvoip.sip.transaction import (
    InviteClientTransaction,
    InviteServerTransaction,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    RequestReceived,
    ResponseReceived,
    State,
    Terminated,
    TimedOut,
    Timer,
    TimerConfig,
    TransportFailed,
)

UDP = Address("biloxi.com", 5060, "UDP")
TCP = Address("biloxi.com", 5060, "TCP")


def approx_list(values: list[float], tol: float) -> object:
    return pytest.approx(values, abs=tol)


# -- INVITE client transaction -----------------------------------------------------------------

def test_ict_udp_total_loss_matches_reference(reference_values: dict) -> None:
    ref = reference_values["sip.schedule.invite_client_udp_total_loss"]
    expected = ref["expected"]
    invite = make_request("INVITE")
    ict = InviteClientTransaction(invite, UDP, TimerConfig(t1=ref["inputs"]["T1"]), now=0.0)
    run = drive(ict, start(ict, ref["inputs"]["request_sent_at"]))
    assert run.send_times == approx_list(expected["send_times"], ref["tolerance"])
    assert all(msg is invite for _, msg in run.sends)
    assert len(run.sends) == expected["transmissions"]
    assert run.event_types() == ["TimedOut", "Terminated"]
    assert run.events[0] == (pytest.approx(expected["timeout_at"]), TimedOut(Timer.B))
    assert expected["timeout_by"] == "Timer B"
    assert run.terminated_at == pytest.approx(expected["timeout_at"])
    assert ict.state is State.TERMINATED and ict.armed_timers == {} and run.armed == {}


@pytest.mark.parametrize("t1", [0.1, 0.25, 1.0, 2.0])
def test_ict_schedule_scales_with_t1(reference_values: dict, t1: float) -> None:
    ref = reference_values["sip.schedule.invite_client_udp_total_loss"]
    scale = t1 / ref["inputs"]["T1"]
    ict = InviteClientTransaction(make_request("INVITE"), UDP, TimerConfig(t1=t1, t2=max(4.0, t1)))
    run = drive(ict, start(ict))
    assert run.send_times == approx_list([t * scale for t in ref["expected"]["send_times"]], 1e-9)
    assert run.terminated_at == pytest.approx(64 * t1)


def test_ict_reliable_sends_once_and_times_out_with_b(reference_values: dict) -> None:
    ict = InviteClientTransaction(make_request("INVITE", transport="TCP"), TCP)
    run = drive(ict, start(ict))
    assert run.send_times == [0.0]
    assert run.fired == [(reference_values["sip.timer.B.any"]["expected"]["value"], "B")]
    assert run.events[0][1] == TimedOut(Timer.B)


def test_ict_provisional_stops_retransmission_and_timer_b() -> None:
    invite = make_request("INVITE")
    ict = InviteClientTransaction(invite, UDP)
    run = start(ict)
    drive(ict, run, until=0.6)                      # one retransmission at 0.5
    ringing = make_response(invite, 180)
    out = run.absorb(ict, ict.receive_response(ringing, 0.7), 0.7)
    assert ResponseReceived(ringing) in out
    assert ict.state is State.PROCEEDING and ict.can_cancel
    assert run.armed == {}                           # A and B stopped (Figure 5: B only in Calling)
    assert run.send_times == [0.0, 0.5]
    assert ict.receive_response(ringing, 0.8) == [ResponseReceived(ringing)]


@pytest.mark.parametrize("transport,timer_d", [("UDP", 32.0), ("TCP", 0.0)])
def test_ict_non_2xx_acks_and_waits_timer_d(reference_values: dict, transport: str, timer_d: float) -> None:
    key = "sip.timer.D.UDP" if transport == "UDP" else "sip.timer.D.reliable"
    ref_d = reference_values[key]["expected"]
    assert timer_d == ref_d.get("value", ref_d.get("min_inclusive"))
    dst = Address("biloxi.com", 5060, transport)
    invite = make_request("INVITE", transport=transport)
    ict = InviteClientTransaction(invite, dst)
    run = start(ict)
    busy = make_response(invite, 486, "Busy Here")
    out = run.absorb(ict, ict.receive_response(busy, 1.0), 1.0)
    assert ResponseReceived(busy) in out
    assert ict.state is State.COMPLETED
    ack = run.sends[-1][1]
    assert ack is ict.ack and ack.method == "ACK" and ack.branch == invite.branch
    # RFC 6026 8.4: the ACK goes "to the same address, port, and transport" as the INVITE,
    # even on a reliable transport.
    assert [o.destination for o in out if isinstance(o, Send)] == [dst]
    assert run.armed == {"D": pytest.approx(1.0 + timer_d)}
    # RFC 6026 8.4: a retransmitted 300-699 re-sends the ACK and is not passed up.
    again = run.absorb(ict, ict.receive_response(busy, 2.0), 2.0)
    assert [o.message for o in again] == [ack]
    assert not any(isinstance(o, ResponseReceived) for o in again)
    drive(ict, run)
    assert run.terminated_at == pytest.approx(1.0 + timer_d)


def test_ict_accepted_passes_every_2xx_up_until_timer_m(reference_values: dict) -> None:
    invite = make_request("INVITE")
    ict = InviteClientTransaction(invite, UDP)
    run = start(ict)
    ok = make_response(invite, 200, to_tag="branch-one")
    forked = make_response(invite, 200, to_tag="branch-two")
    out = run.absorb(ict, ict.receive_response(ok, 0.1), 0.1)
    assert ResponseReceived(ok) in out and ict.state is State.ACCEPTED
    assert not [s for s in run.sends if s[1].method == "ACK"]       # 2xx ACK is the TU's job
    assert run.armed == {"M": pytest.approx(0.1 + reference_values["sip.timer.M"]["expected"]["value"])}
    assert ict.receive_response(ok, 0.2) == [ResponseReceived(ok)]          # retransmission
    assert ict.receive_response(forked, 0.3) == [ResponseReceived(forked)]  # forked 2xx
    assert ict.receive_response(make_response(invite, 180), 0.4) == []
    assert ict.receive_response(make_response(invite, 603), 0.5) == []
    drive(ict, run)
    assert run.terminated_at == pytest.approx(32.1)


def test_ict_transport_error_informs_tu_and_terminates() -> None:
    ict = InviteClientTransaction(make_request("INVITE"), UDP)
    run = start(ict)
    out = run.absorb(ict, ict.transport_error(0.01, "ICMP unreachable"), 0.01)
    assert out[0] == TransportFailed("ICMP unreachable")
    assert out[-1] == Terminated()
    assert run.armed == {} and ict.state is State.TERMINATED


# -- non-INVITE client transaction ---------------------------------------------------------------

def test_nict_udp_total_loss_matches_reference(reference_values: dict) -> None:
    ref = reference_values["sip.schedule.non_invite_client_udp_total_loss"]
    cfg = TimerConfig(t1=ref["inputs"]["T1"], t2=ref["inputs"]["T2"])
    nict = NonInviteClientTransaction(make_request("OPTIONS"), UDP, cfg)
    run = drive(nict, start(nict))
    assert run.send_times == approx_list(ref["expected"]["send_times"], ref["tolerance"])
    intervals = [b - a for a, b in zip(run.send_times, run.send_times[1:], strict=False)]
    assert intervals == approx_list(ref["expected"]["intervals"], ref["tolerance"])
    assert run.events == [(32.0, TimedOut(Timer.F)), (32.0, Terminated())]
    assert ref["expected"]["timeout_at"] == 32.0


def test_nict_provisional_then_silence_matches_reference(reference_values: dict) -> None:
    ref = reference_values["sip.schedule.non_invite_client_udp_provisional_then_silence"]
    request = make_request("REGISTER")
    nict = NonInviteClientTransaction(request, UDP, TimerConfig(t1=ref["inputs"]["T1"], t2=ref["inputs"]["T2"]))
    run = start(nict)
    drive(nict, run, until=ref["inputs"]["provisional_received_at"])
    trying = make_response(request, 100)
    run.absorb(nict, nict.receive_response(trying, 0.2), 0.2)
    assert nict.state is State.PROCEEDING
    drive(nict, run)
    assert run.send_times == approx_list(ref["expected"]["send_times"], ref["tolerance"])
    assert run.events[-2:] == [(ref["expected"]["timeout_at"], TimedOut(Timer.F)), (32.0, Terminated())]


@pytest.mark.parametrize("transport,timer_k", [("UDP", 5.0), ("TCP", 0.0)])
def test_nict_final_response_starts_timer_k(reference_values: dict, transport: str, timer_k: float) -> None:
    ref = "sip.timer.K.UDP" if transport == "UDP" else "sip.timer.K.reliable"
    assert reference_values[ref]["expected"]["value"] == timer_k
    request = make_request("BYE", transport=transport, to_tag="x")
    nict = NonInviteClientTransaction(request, Address("biloxi.com", 5060, transport))
    run = start(nict)
    assert set(run.armed) == ({"E", "F"} if transport == "UDP" else {"F"})
    drive(nict, run, until=0.9)                        # Timer E at 0.5 on UDP
    ok = make_response(request, 200)
    run.absorb(nict, nict.receive_response(ok, 1.0), 1.0)
    assert nict.state is State.COMPLETED and run.armed == {"K": 1.0 + timer_k}
    assert nict.receive_response(ok, 1.5) == []        # absorbed in Completed
    drive(nict, run)
    assert run.terminated_at == pytest.approx(1.0 + timer_k)
    assert run.send_times == ([0.0, 0.5] if transport == "UDP" else [0.0])


# -- INVITE server transaction --------------------------------------------------------------------

def test_ist_non_2xx_without_ack_matches_reference(reference_values: dict) -> None:
    ref = reference_values["sip.schedule.invite_server_final_response_udp_no_ack"]
    invite = make_request("INVITE")
    ist = InviteServerTransaction(invite, UDP, TimerConfig(t1=ref["inputs"]["T1"], t2=ref["inputs"]["T2"]),
                                  auto_trying=False)
    run = start(ist)
    assert run.sends == []
    busy = make_response(invite, 486, "Busy Here")
    run.absorb(ist, ist.send_response(busy, 0.0), 0.0)
    drive(ist, run)
    assert run.send_times == approx_list(ref["expected"]["send_times"], ref["tolerance"])
    assert all(msg is busy for _, msg in run.sends)
    assert run.events == [(32.0, TimedOut(Timer.H)), (32.0, Terminated())]
    assert ref["expected"]["terminated_by"] == "Timer H"


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_ist_ack_confirms_and_timer_i_absorbs_acks(reference_values: dict, transport: str) -> None:
    timer_i = reference_values[f"sip.timer.I.{'UDP' if transport == 'UDP' else 'reliable'}"]["expected"]["value"]
    invite = make_request("INVITE", transport=transport)
    ist = InviteServerTransaction(invite, Address("atlanta.com", 5060, transport))
    run = start(ist)
    assert [m.status_code for _, m in run.sends] == [100]
    # A retransmitted INVITE in Proceeding gets the last provisional response again.
    assert [o.message.status_code for o in ist.receive_request(invite, 0.1)] == [100]
    busy = make_response(invite, 486, "Busy Here")
    run.absorb(ist, ist.send_response(busy, 0.2), 0.2)
    assert set(run.armed) == ({"G", "H"} if transport == "UDP" else {"H"})
    assert run.armed["H"] == pytest.approx(0.2 + reference_values["sip.timer.H.any"]["expected"]["value"])
    drive(ist, run, until=1.0)                      # Timer G at 0.7 on UDP
    # Retransmitted INVITE in Completed: send the final response again.
    assert [o.message for o in ist.receive_request(invite, 1.0)] == [busy]
    ack = make_request("ACK", transport=transport, to_tag="a6c85cf")
    out = run.absorb(ist, ist.receive_request(ack, 1.2), 1.2)
    assert ist.state is State.CONFIRMED
    assert not any(isinstance(o, RequestReceived) for o in out)     # ACK for non-2xx stays here
    assert run.armed == {"I": pytest.approx(1.2 + timer_i)}
    assert ist.receive_request(ack, 1.3) == []                       # absorbed during Timer I
    assert ist.receive_request(invite, 1.3) == []
    drive(ist, run)
    assert run.terminated_at == pytest.approx(1.2 + timer_i)
    expected_sends = [0.0, 0.2, 0.7] if transport == "UDP" else [0.0, 0.2]
    assert run.send_times == approx_list(expected_sends, 1e-9)


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_ist_accepted_absorbs_invites_until_timer_l(reference_values: dict, transport: str) -> None:
    invite = make_request("INVITE", transport=transport)
    ist = InviteServerTransaction(invite, Address("atlanta.com", 5060, transport), auto_trying=False)
    run = start(ist)
    ok = make_response(invite, 200)
    out = run.absorb(ist, ist.send_response(ok, 1.0), 1.0)
    assert ist.state is State.ACCEPTED
    assert [o.message for o in out if hasattr(o, "message")] == [ok]
    timer_l = reference_values["sip.timer.L"]["expected"]["value"]
    assert run.armed == {"L": pytest.approx(1.0 + timer_l)}         # L on every transport, no G
    assert ist.receive_request(invite, 1.5) == []                    # absorbed, not passed up
    # The TU (UAS core) retransmits its 2xx through the transaction: sent, nothing else.
    assert [o.message for o in run.absorb(ist, ist.send_response(ok, 1.5), 1.5)] == [ok]
    ack = make_request("ACK", transport=transport, to_tag="a6c85cf")
    assert ist.receive_request(ack, 2.0) == [RequestReceived(ack)]
    assert ist.transport_error(2.1) == [TransportFailed()]          # RFC 6026 8.8: stays
    assert ist.state is State.ACCEPTED
    drive(ist, run)
    assert run.send_times == [1.0, 1.5]
    assert run.terminated_at == pytest.approx(1.0 + timer_l)


# -- non-INVITE server transaction ----------------------------------------------------------------

@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_nist_timer_j(reference_values: dict, transport: str) -> None:
    timer_j = reference_values[f"sip.timer.J.{'UDP' if transport == 'UDP' else 'reliable'}"]["expected"]["value"]
    request = make_request("OPTIONS", transport=transport)
    nist = NonInviteServerTransaction(request, Address("atlanta.com", 5060, transport))
    run = start(nist)
    assert run.sends == [] and run.armed == {}
    assert nist.receive_request(request, 0.1) == []                   # discarded in Trying
    trying = make_response(request, 100)
    run.absorb(nist, nist.send_response(trying, 0.2), 0.2)
    assert nist.state is State.PROCEEDING
    assert [o.message for o in nist.receive_request(request, 0.3)] == [trying]
    ok = make_response(request, 200)
    run.absorb(nist, nist.send_response(ok, 0.4), 0.4)
    assert nist.state is State.COMPLETED and run.armed == {"J": pytest.approx(0.4 + timer_j)}
    assert [o.message for o in nist.receive_request(request, 0.5)] == [ok]
    # RFC 3261 17.2.2: other final responses from the TU are discarded in Completed.
    assert nist.send_response(make_response(request, 500), 0.6) == []
    drive(nist, run)
    assert run.terminated_at == pytest.approx(0.4 + timer_j)
    assert [m.status_code for _, m in run.sends] == [100, 200]


def test_timer_keys_route_back_to_the_transaction() -> None:
    invite = make_request("INVITE")
    ict = InviteClientTransaction(invite, UDP)
    run: Run = start(ict)
    assert {o for o in run.armed} == {"A", "B"}
    assert ict.key.branch == invite.branch and ict.key.method == "INVITE"
    assert ict.handle_timer("D", 1.0) == []                          # not armed: stale, ignored
    with pytest.raises(LocalProtocolError):
        ict.handle_timer("Z", 1.0)
