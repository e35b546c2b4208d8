"""Worked example: the basic call INVITE -> 180 -> 200 OK -> ACK, then BYE -> 200 OK.

This is RFC 3665 section 3.1 ("Successful Session Establishment"): Alice
calls Bob directly, Bob rings, answers, and later hangs up.

How the pieces fit (read this first if you are new to simvoip):

* ``UserAgent`` is a *sans-I/O* SIP phone. It never sends anything itself;
  each method returns a list of *outputs*: ``Send(message, destination)``,
  ``StartTimer(name, at, key)``, ``CancelTimer(name, key)`` and user events
  such as ``CallAnswered``.
* ``Network`` (tests/ua/ua_harness.py) plays the part of the simulator: it
  carries every ``Send`` to the destination host after 10 ms (encoding to
  bytes and parsing again, like a real wire), fires timers at their time,
  and feeds the results back into the cores.
* Everything is deterministic: tags, branches and Call-IDs come from the
  ``random.Random(seed)`` each core receives.
"""

from __future__ import annotations

import random

from pytest import approx
from ua_harness import Network

from simvoip.sip.headers import NameAddr
from simvoip.sip.ua import (
    CallAnswered,
    CallEnded,
    CallProgress,
    CallStarted,
    IncomingCall,
    UABehaviour,
    UAConfig,
    UserAgent,
)

ALICE_HOST = "client.atlanta.example.com"
BOB_HOST = "client.biloxi.example.com"


def make_pair(bob_behaviour: UABehaviour) -> tuple[Network, UserAgent, UserAgent]:
    # "biloxi.example.com" (the host of Bob's AOR) resolves to Bob's phone: no proxy here.
    net = Network(delay=0.010, aliases={"biloxi.example.com": BOB_HOST})
    alice = net.add(ALICE_HOST, UserAgent(
        UAConfig(initial_cseq=1, aor="sip:alice@atlanta.example.com", host=ALICE_HOST, display_name="Alice"),
        random.Random(1)))
    bob = net.add(BOB_HOST, UserAgent(
        UAConfig(initial_cseq=1, aor="sip:bob@biloxi.example.com", host=BOB_HOST, display_name="Bob",
                 behaviour=bob_behaviour),
        random.Random(2)))
    return net, alice, bob


def test_basic_call_rfc3665_3_1():
    # Bob rings at once (180 within 200 ms, so his INVITE server transaction sends no
    # 100 Trying, as in the RFC's flow), answers after 2 s and hangs up 10 s later.
    net, alice, bob = make_pair(UABehaviour(ring_delay=0.0, answer_delay=2.0,
                                            auto_hangup_after=10.0))

    # Alice dials at t = 0. `invite` returns the call handle (the Call-ID) and the outputs,
    # which we hand to the network to carry out.
    call_id, outputs = alice.invite("sip:bob@biloxi.example.com", now=0.0)
    net.feed(ALICE_HOST, outputs)
    net.run(until=60.0)

    # The message sequence of RFC 3665 3.1 (F1 ... F6), nothing more (no loss: no
    # retransmissions).
    assert net.ladder(call_id) == [
        (ALICE_HOST, BOB_HOST, "INVITE"),   # F1
        (BOB_HOST, ALICE_HOST, "180"),      # F2
        (BOB_HOST, ALICE_HOST, "200"),      # F3
        (ALICE_HOST, BOB_HOST, "ACK"),      # F4
        (BOB_HOST, ALICE_HOST, "BYE"),      # F5
        (ALICE_HOST, BOB_HOST, "200"),      # F6
    ]
    invite, ringing, ok, ack, bye, bye_ok = (h.message for h in net.delivered(call_id))

    # F1: a fresh INVITE. Max-Forwards 70, a branch with the RFC 3261 magic cookie,
    # a From tag, no To tag, CSeq 1 INVITE, a Contact and an SDP offer.
    assert invite.uri == "sip:bob@biloxi.example.com"
    assert invite.headers.get("Max-Forwards") == "70"
    assert invite.branch.startswith("z9hG4bK")
    assert invite.from_.tag and invite.to.tag is None
    assert str(invite.cseq) == "1 INVITE"
    assert invite.headers.get("Contact") == f"<sip:alice@{ALICE_HOST}>"
    assert invite.headers.get("Content-Type") == "application/sdp" and invite.body

    # F2/F3: Bob's responses copy Via, From, Call-ID and CSeq and add his To tag and Contact.
    for resp in (ringing, ok):
        assert resp.headers.get_all("Via") == invite.headers.get_all("Via")
        assert resp.from_ == invite.from_ and resp.call_id == invite.call_id
        assert str(resp.cseq) == "1 INVITE"
        assert resp.headers.get("Contact") == f"<sip:bob@{BOB_HOST}>"
    bob_tag = ok.to.tag
    assert bob_tag and ringing.to.tag == bob_tag
    assert ok.body  # SDP answer

    # F4: the ACK for a 2xx is a new transaction (new branch) sent by the UA core to
    # the Contact of the 200 (RFC 3261 13.2.2.4), with the INVITE's CSeq number.
    assert ack.uri == f"sip:bob@{BOB_HOST}"
    assert ack.branch != invite.branch
    assert str(ack.cseq) == "1 ACK" and ack.to.tag == bob_tag

    # F5: Bob's BYE goes to Alice's Contact. His CSeq counter is his own: 1, not 2.
    assert bye.uri == f"sip:alice@{ALICE_HOST}"
    assert str(bye.cseq) == "1 BYE"
    assert (bye.from_.tag, bye.to.tag) == (bob_tag, invite.from_.tag)
    assert NameAddr.parse(bye.headers.get("From")).uri == "sip:bob@biloxi.example.com"
    # F6: Alice answers the BYE.
    assert bye_ok.status_code == 200 and str(bye_ok.cseq) == "1 BYE"

    # What each user saw, with simulated timestamps: the INVITE arrives at 10 ms, the 180
    # comes back at 20 ms (post-dial delay), Bob answers at 2.010 s and the 200 reaches
    # Alice at 2.020 s (set-up time). Bob hangs up 10 s after the ACK reached him.
    assert net.of(ALICE_HOST, CallStarted) == [CallStarted(call_id, "sip:bob@biloxi.example.com", 0.0)]
    assert net.of(ALICE_HOST, CallProgress) == [CallProgress(call_id, 180, "Ringing", 0.02)]
    (answered,) = net.of(ALICE_HOST, CallAnswered)
    assert (answered.call_id, answered.at) == (call_id, approx(2.02))
    assert [e.call_id for e in net.of(BOB_HOST, IncomingCall)] == [call_id]
    (bob_end,) = net.of(BOB_HOST, CallEnded)
    assert (bob_end.reason, bob_end.at) == ("local-bye", approx(12.03))
    (alice_end,) = net.of(ALICE_HOST, CallEnded)
    assert (alice_end.reason, alice_end.at) == ("remote-bye", approx(12.04))
    record = alice.call(call_id)
    assert record.post_dial_delay == approx(0.02) and record.setup_time == approx(2.02)
    assert record.retransmissions == 0

    # Nothing is left behind: every transaction terminated (Timer K/J/D... expired) and
    # both dialogs are gone.
    for ua in (alice, bob):
        assert ua.transaction_count == 0 and ua.dialog_count == 0 and not ua.calls
    assert net.pending_timers == 0
