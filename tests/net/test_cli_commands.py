"""``serve`` / ``call`` command implementations, run in-process on loopback."""

from __future__ import annotations

import argparse
import asyncio
import io

from simvoip.net.cli_commands import (
    add_call_parser,
    add_serve_parser,
    call_async,
    parse_hostport,
    serve_async,
)
from simvoip.net.node import NetNode
from simvoip.sip.transaction import TimerConfig

from .helpers import run

TIMERS = TimerConfig(t1=0.025, t2=0.25, t4=0.2)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simvoip")
    sub = parser.add_subparsers(dest="command")
    add_serve_parser(sub)
    add_call_parser(sub)
    return parser


def test_argument_parsing() -> None:
    args = _parser().parse_args(["serve", "proxy", "--listen", "127.0.0.1:5062", "--route",
                                 "sip:bob@x=sip:bob@127.0.0.1:5070", "--t1", "0.1"])
    assert (args.role, args.listen, args.route, args.t1) == (
        "proxy", "127.0.0.1:5062", ["sip:bob@x=sip:bob@127.0.0.1:5070"], 0.1)
    args = _parser().parse_args(["call", "sip:bob@127.0.0.1:5070", "--transport", "tcp"])
    assert (args.uri, args.transport, parse_hostport(args.listen)) == (
        "sip:bob@127.0.0.1:5070", "TCP", ("127.0.0.1", 0))


async def _served(role: str, **options: object) -> tuple[asyncio.Task[NetNode], NetNode]:
    started: asyncio.Future[NetNode] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve_async(role, ("127.0.0.1", 0), timers=TIMERS, duration=1.5,
                                           out=io.StringIO(), started=started, **options))
    return task, await started


def test_call_to_a_served_uas_succeeds() -> None:
    async def main() -> None:
        task, uas = await _served("uas", ring_delay=0.0, answer_delay=0.02)
        out = io.StringIO()
        code = await call_async(f"sip:uas@127.0.0.1:{uas.port}", timers=TIMERS,
                                hangup_after=0.05, out=out, verbose=True)
        assert code == 0, out.getvalue()
        assert "call answered" in out.getvalue() and "INVITE sip:uas@" in out.getvalue()
        node = await task
        assert node.event_counts["IncomingCall"] == 1 and node.event_counts["CallEnded"] == 1

    run(main)


def test_call_through_a_served_proxy_with_a_static_route() -> None:
    async def main() -> None:
        uas_task, uas = await _served("uas", answer_delay=0.0)
        route = f"sip:bob@example.test=sip:uas@127.0.0.1:{uas.port}"
        proxy_task, proxy = await _served("proxy", domain="example.test", routes=[route])
        code = await call_async("sip:bob@example.test", timers=TIMERS, hangup_after=0.05,
                                proxy=f"sip:127.0.0.1:{proxy.port};lr", out=io.StringIO())
        assert code == 0
        assert (await uas_task).event_counts["CallEnded"] == 1
        await proxy_task

    run(main)


def test_rejected_call_exits_non_zero() -> None:
    async def main() -> None:
        task, uas = await _served("uas", reject=486)
        out = io.StringIO()
        code = await call_async(f"sip:uas@127.0.0.1:{uas.port}", timers=TIMERS, out=out)
        assert code == 1 and "call failed: 486" in out.getvalue()
        await task

    run(main)
