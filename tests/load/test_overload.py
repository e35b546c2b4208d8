"""A proxy with finite capacity: goodput collapses past capacity (retransmissions amplify the
load) and 503 + Retry-After overload control keeps it up."""

from __future__ import annotations

import random

from simvoip.analysis.capacity import MESSAGES_PER_CALL, overload_study
from simvoip.sip.effects import Address
from simvoip.sip.message import Request
from simvoip.sip.overload import OverloadControlProxy
from simvoip.sip.proxy import ProxyConfig
from simvoip.sip.ua import UAConfig, UserAgent

CAPACITY = 60.0  # messages/s: about 10 calls/s of 6 messages each


def test_goodput_collapses_past_capacity_and_503_control_holds_it() -> None:
    df = overload_study([8.0, 15.0], controls=[False, True], seeds=[1], capacity=CAPACITY,
                        duration=20.0)
    row = {(r.offered, r.control): r for r in df.itertuples()}
    below, beyond = row[(8.0, False)], row[(15.0, False)]
    assert below.load < 1.0 < beyond.load == 15.0 * MESSAGES_PER_CALL / CAPACITY
    # Below capacity: every call is set up quickly, nothing is retransmitted.
    assert below.good == below.calls and below.retransmissions == 0
    assert row[(8.0, True)].good == below.good and row[(8.0, True)].rejected_503 == 0
    # Beyond it, without control: queueing delay passes T1, every hop retransmits, the
    # queue overflows and fewer calls get through than at the lower load.
    assert beyond.retransmissions > 5 * beyond.calls
    assert beyond.overload_drops > 0
    assert beyond.goodput < 0.5 * below.goodput
    # With 503 + Retry-After: the excess is refused early, the rest completes in time.
    controlled = row[(15.0, True)]
    assert controlled.rejected_503 > 0 and controlled.overload_drops == 0
    assert controlled.goodput > 2 * beyond.goodput
    assert controlled.goodput > 0.6 * below.goodput


def test_overload_control_only_refuses_new_invites_while_the_queue_is_long() -> None:
    proxy = OverloadControlProxy(ProxyConfig(host="p", domain="a.example"), random.Random(0),
                                 threshold=3, retry_after=7)
    caller = UserAgent(UAConfig(aor="sip:a@a.example", host="a"), random.Random(1))

    def invite() -> Request:
        _call_id, out = caller.invite("sip:bob@a.example", now=0.0)
        return out[0].message

    def statuses(out: list) -> list[int]:
        return [o.message.status_code for o in out if hasattr(o, "message")
                and hasattr(o.message, "status_code")]

    proxy.queue_length = 3  # at the threshold: accepted (480: bob is not registered)
    assert statuses(proxy.receive(invite(), Address("a"), 0.0)) == [480]
    first = invite()
    out = proxy.receive_with_queue(first, Address("a"), 0.0, queue_length=4)
    refusal = [o.message for o in out if hasattr(o, "message")]
    assert [r.status_code for r in refusal] == [503]
    assert refusal[0].headers.get("Retry-After") == "7" and proxy.rejected == 1
    # A retransmission of the refused INVITE is answered by its server transaction.
    assert statuses(proxy.receive(first, Address("a"), 0.5)) == [503]
    assert proxy.rejected == 1
    # Other requests pass while overloaded: OPTIONS to the proxy's domain gets its 200.
    options = caller.options("sip:a.example", now=1.0)[0].message
    assert statuses(proxy.receive_with_queue(options, Address("a"), 1.0, queue_length=99)) == [200]
    assert proxy.rejected == 1
