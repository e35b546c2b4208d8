"""RFC 3261 8.1.3.3 / 8.2 screening in the UA core (the same on every adapter)."""

from __future__ import annotations

import random

from simvoip.sip import parse_message
from simvoip.sip.effects import Address, Send
from simvoip.sip.ua import OptionsResult, UAConfig, UserAgent


def ua() -> UserAgent:
    return UserAgent(UAConfig(aor="sip:alice@a.example", host="alice"), random.Random(1))


def test_response_with_two_vias_is_discarded_by_the_uac() -> None:
    alice = ua()
    (send, *_), = [alice.options("sip:bob@bob", now=0.0)]
    request = send.message
    good = (f"SIP/2.0 200 OK\r\nVia: {request.headers.get('Via')}\r\n"
            f"From: {request.headers.get('From')}\r\nTo: <sip:bob@bob>;tag=2\r\n"
            f"Call-ID: {request.call_id}\r\nCSeq: {request.headers.get('CSeq')}\r\n"
            "Content-Length: 0\r\n\r\n")
    two_vias = good.replace("\r\nFrom:", "\r\nVia: SIP/2.0/UDP evil;branch=z9hG4bKx\r\nFrom:", 1)
    assert alice.receive(parse_message(two_vias.encode()), Address("bob"), 0.1) == []
    out = alice.receive(parse_message(good.encode()), Address("bob"), 0.2)
    assert [o for o in out if isinstance(o, OptionsResult)] == [
        OptionsResult("sip:bob@bob", 200, 0.2)]


def test_request_breaking_8_2_is_answered_with_its_status() -> None:
    alice = ua()
    raw = (b"OPTIONS sip:alice@alice SIP/2.0\r\nVia: SIP/2.0/UDP bob;branch=z9hG4bK9\r\n"
           b"To: <sip:alice@a.example>\r\nFrom: <sip:bob@b.example>;tag=7\r\nCall-ID: x\r\n"
           b"CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")  # CSeq mismatch
    (send,) = alice.receive(parse_message(raw), Address("bob"), 0.0)
    assert isinstance(send, Send) and send.destination.host == "bob"
    assert send.message.status_code == 400 and send.message.to.tag
    assert alice.rejected == {400: 1} and alice.transaction_count == 0


def test_active_calls_excludes_finished_calls_still_held_for_their_transactions() -> None:
    alice = ua()
    call_id, _ = alice.invite("sip:bob@bob", now=0.0)
    assert [c.call_id for c in alice.active_calls] == [call_id]
    alice.calls[call_id].state = "ended"  # as after its BYE, before Timer K retires it
    assert call_id in alice.calls and alice.active_calls == []


def test_transport_error_fails_the_call_like_a_503() -> None:
    # RFC 3261 8.1.3.1 / 17.1.4: the INVITE could not be sent (e.g. a TCP connection
    # refused): its client transaction ends and the UA treats it like a 503.
    from simvoip.sip.ua import CallFailed

    alice = ua()
    call_id, outputs = alice.invite("sip:bob@bob", now=0.0)
    invite = next(o.message for o in outputs if isinstance(o, Send))
    out = alice.transport_error(invite, Address("bob", 5060, "TCP"), 0.1)
    failed = [o for o in out if isinstance(o, CallFailed)]
    assert [(f.call_id, f.status, f.at) for f in failed] == [(call_id, 503, 0.1)]
    assert alice.call(call_id).final_status == 503
    assert alice.transport_error(invite, Address("bob"), 0.2) == []  # already gone
