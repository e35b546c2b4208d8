"""The unchanged UA and proxy cores on real loopback sockets (UDP and TCP)."""

from __future__ import annotations

import pytest

from simvoip.net.node import NetNode
from simvoip.net.roles import start_proxy, start_user_agent
from simvoip.sip.message import Request, Response
from simvoip.sip.transaction import TimerConfig
from simvoip.sip.ua import UABehaviour

from .helpers import check_2xx_retransmissions, check_2xx_schedule, eventually, run

# RFC 3261 timers scaled down so a whole call settles in about a second.
TIMERS = TimerConfig(t1=0.025, t2=0.25, t4=0.2)


def _sent(node: NetNode, label: str | int) -> list[tuple[float, Request | Response]]:
    out = []
    for w in node.wire:
        m = w.message
        name = m.method if isinstance(m, Request) else m.status_code
        if w.direction == "sent" and name == label:
            out.append((w.at, m))
    return out


def _names(events: list[object]) -> list[str]:
    return [type(e).__name__ for e in events]


def _sequence(events: list[object]) -> list[str]:
    """Event names with repeats collapsed: with T1 scaled down to 25 ms a loaded machine
    may retransmit the INVITE, and the UAS's IST then repeats its 180 (RFC 3261 17.2.1),
    which the UAC reports as progress again."""
    names = _names(events)
    return [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_call_between_two_user_agents_and_everything_settles(transport: str) -> None:
    async def main() -> None:
        bob = await start_user_agent("bob", timers=TIMERS, seed=2, keep_wire=True,
                                     behaviour=UABehaviour(ring_delay=0.0, answer_delay=0.05))
        alice = await start_user_agent("alice", role="uac", transport=transport, timers=TIMERS,
                                       seed=1, behaviour=UABehaviour(auto_hangup_after=0.05))
        target = f"sip:bob@127.0.0.1:{bob.port};transport={transport.lower()}"
        call_id, out = alice.core.invite(target, alice.now)
        alice.execute(out)
        await alice.wait_for(lambda e: _names([e]) == ["CallEnded"], 5.0)
        assert _sequence(alice.events) == ["CallStarted", "CallProgress", "CallAnswered",
                                           "CallEnded"]
        await bob.wait_for(lambda e: _names([e]) == ["CallEnded"], 5.0)
        assert _sequence(bob.events) == ["IncomingCall", "CallAnswered", "CallEnded"]
        assert {w.peer.transport for w in bob.wire} == {transport}
        # Every transaction terminates and every timer is gone (Timer J/K/I/D on the clock).
        await eventually(lambda: (alice.core.transaction_count, bob.core.transaction_count,
                                  len(alice.armed_timers), len(bob.armed_timers)) == (0, 0, 0, 0),
                         timeout=10.0)
        assert alice.core.call(call_id).final_status == 200
        assert alice.stats == {} and bob.stats == {}
        alice.close()
        bob.close()

    run(main)


def test_uas_retransmits_2xx_without_ack_then_sends_bye_after_64_t1() -> None:
    async def main() -> None:
        t1, t2 = TIMERS.t1, TIMERS.t2
        bob = await start_user_agent(
            "bob", timers=TIMERS, keep_wire=True,
            behaviour=UABehaviour(ring_delay=None, answer_delay=0.0, ignore_ack=True))
        alice = await start_user_agent("alice", role="uac", timers=TIMERS)
        _, out = alice.core.invite(f"sip:bob@127.0.0.1:{bob.port}", alice.now)
        alice.execute(out)
        ended = await bob.wait_for(lambda e: _names([e]) == ["CallEnded"], 5.0)
        assert ended.reason == "no-ack"
        oks = [at for at, m in _sent(bob, 200) if m.cseq.method == "INVITE"]
        byes = [at for at, _ in _sent(bob, "BYE")]
        # RFC 3261 13.3.1.4: T1, then doubling, capped at T2: 0.025, 0.05, 0.1, 0.2, 0.25 ...
        # (nominally the last one before 64*T1 = 1.6 s is at 1.375 s: 1 + 8 sends) ...
        assert len(byes) == 1
        check_2xx_retransmissions(oks, byes[0], t1, t2)
        assert len(oks) >= 7
        # The core's own schedule, exactly: one "2xx" timer per retransmission plus the one
        # pending when the BYE went out.
        assert check_2xx_schedule(bob.armed, ended.call_id, t1, t2) == len(oks)
        alice.close()
        bob.close()

    run(main)


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_call_through_the_proxy_with_registration(transport: str) -> None:
    async def main() -> None:
        proxy = await start_proxy(domain="example.test", timers=TIMERS, keep_wire=True)
        suffix = "" if transport == "UDP" else ";transport=tcp"
        route = f"sip:127.0.0.1:{proxy.port};lr{suffix}"
        bob = await start_user_agent(
            "bob", domain="example.test", transport=transport, timers=TIMERS, keep_wire=True,
            outbound_proxy=route, registrar=f"sip:127.0.0.1:{proxy.port}{suffix}",
            behaviour=UABehaviour(ring_delay=0.0, answer_delay=0.02))
        alice = await start_user_agent(
            "alice", domain="example.test", role="uac", transport=transport, timers=TIMERS,
            keep_wire=True, outbound_proxy=route,
            behaviour=UABehaviour(auto_hangup_after=0.05))
        bob.execute(bob.core.register(bob.now))
        registered = await bob.wait_for(lambda e: _names([e]) == ["Registered"], 5.0)
        assert registered.expires > 0
        _, out = alice.core.invite("sip:bob@example.test", alice.now)
        alice.execute(out)
        await alice.wait_for(lambda e: _names([e]) == ["CallEnded"], 5.0)
        assert _sequence(alice.events) == ["CallStarted", "CallProgress", "CallAnswered",
                                           "CallEnded"]
        rr = f"<sip:127.0.0.1:{proxy.port};lr>"
        invite = next(w.message for w in bob.wire
                      if w.direction == "received" and isinstance(w.message, Request)
                      and w.message.method == "INVITE")
        # RFC 3261 16.6: the proxy Record-Routes (item 4), targets the registered contact
        # and pushes its own Via (item 8) on top of alice's.
        assert invite.headers.get_all("Record-Route") == [rr]
        assert invite.uri.startswith(f"sip:bob@127.0.0.1:{bob.port}")
        vias = invite.vias
        assert [(v.host, v.port) for v in vias] == [("127.0.0.1", proxy.port),
                                                    ("127.0.0.1", alice.port)]
        ok = next(w.message for w in alice.wire
                  if w.direction == "received" and isinstance(w.message, Response)
                  and w.message.status_code == 200 and w.message.cseq.method == "INVITE")
        # 16.7 step 9: the proxy removed its Via; Record-Route came back to alice (12.1.1).
        assert [(v.host, v.port) for v in ok.vias] == [("127.0.0.1", alice.port)]
        assert ok.headers.get_all("Record-Route") == [rr]
        # The in-dialog BYE follows the route set through the proxy (12.2.1.1).
        bye = next(w for w in alice.wire if w.direction == "sent"
                   and isinstance(w.message, Request) and w.message.method == "BYE")
        assert bye.peer.port == proxy.port
        assert bye.message.headers.get_all("Route") == [rr]
        for node in (alice, bob, proxy):
            assert node.stats == {}, node.stats
            node.close()

    run(main)
