"""``simvoip serve`` and ``simvoip call``: the cores on real sockets from the command line.

The lead's CLI wires these in::

    sub = parser.add_subparsers(dest="command")
    add_serve_parser(sub)     # simvoip serve {uas,proxy} --listen 127.0.0.1:5060 ...
    add_call_parser(sub)      # simvoip call sip:bob@127.0.0.1:5070 ...
    args = parser.parse_args(argv)
    return args.func(args)    # run_serve / run_call, each returns an exit code

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="simvoip")
>>> sub = parser.add_subparsers(dest="command")
>>> _ = add_serve_parser(sub); _ = add_call_parser(sub)
>>> args = parser.parse_args(["serve", "uas", "--listen", "127.0.0.1:5070"])
>>> args.role, parse_hostport(args.listen), args.func is run_serve
('uas', ('127.0.0.1', 5070), True)
>>> parser.parse_args(["call", "sip:bob@127.0.0.1:5070"]).func is run_call
True
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from typing import Any, TextIO

from simvoip.net.node import NetNode
from simvoip.net.roles import start_proxy, start_user_agent
from simvoip.sip.transaction.timers import TimerConfig
from simvoip.sip.ua import CallEnded, CallFailed, UABehaviour

__all__ = [
    "add_serve_parser", "add_call_parser", "run_serve", "run_call", "serve", "call",
    "serve_async", "call_async", "parse_hostport",
]

ROLES = ("uas", "proxy")


def parse_hostport(text: str, default_port: int = 5060) -> tuple[str, int]:
    """``"127.0.0.1:5070"`` -> ``("127.0.0.1", 5070)``; ``"[::1]:5060"`` for IPv6.

    >>> parse_hostport("127.0.0.1"), parse_hostport("[::1]:5070")
    (('127.0.0.1', 5060), ('::1', 5070))
    """
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
        return host, int(port) if port else default_port
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, default_port
    return host, int(port)


def _timers(args: Any) -> TimerConfig:
    return TimerConfig(t1=args.t1, t2=args.t2, t4=args.t4)


def _add_common(p: argparse.ArgumentParser, listen: str) -> None:
    p.add_argument("--listen", default=listen, metavar="HOST:PORT",
                   help=f"local address for UDP and TCP (default {listen}; port 0 = any free)")
    p.add_argument("--transport", default="UDP", type=str.upper, choices=("UDP", "TCP"),
                   help="transport of our own requests (Via, Contact)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the core's random stream (tags, branches, Call-IDs); default: "
                        "fresh from os.urandom, since Call-IDs must be unique across runs "
                        "(RFC 3261 8.1.1.4)")
    p.add_argument("--t1", type=float, default=0.5, help="RFC 3261 T1 in seconds (0.5)")
    p.add_argument("--t2", type=float, default=4.0, help="RFC 3261 T2 in seconds (4)")
    p.add_argument("--t4", type=float, default=5.0, help="RFC 3261 T4 in seconds (5)")
    p.add_argument("--verbose", "-v", action="store_true", help="print every message")


def add_serve_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``serve {uas,proxy}`` to an argparse sub-parser collection."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "serve", help="run a UAS or a proxy+registrar on real sockets",
        description="Run the sans-I/O UA or proxy core on real UDP/TCP sockets.")
    p.add_argument("role", choices=ROLES)
    _add_common(p, "127.0.0.1:5060")
    p.add_argument("--domain", default=None, help="domain served (default: the listen host)")
    p.add_argument("--user", default="uas", help="UAS user part (default uas)")
    p.add_argument("--ring-delay", type=float, default=None,
                   help="UAS: seconds until 180 Ringing (default: no 180)")
    p.add_argument("--answer-delay", type=float, default=0.0,
                   help="UAS: seconds until 200 OK (default 0)")
    p.add_argument("--reject", type=int, default=None, metavar="CODE",
                   help="UAS: reject every call with CODE (486, 603 ...)")
    p.add_argument("--route", action="append", default=[], metavar="AOR=CONTACT",
                   help="proxy: static binding, e.g. sip:bob@example.test=sip:bob@127.0.0.1:5070")
    p.add_argument("--stateless", action="store_true", help="proxy: RFC 3261 16.11 mode")
    p.add_argument("--no-record-route", action="store_true", help="proxy: no Record-Route")
    p.add_argument("--duration", type=float, default=None,
                   help="stop after this many seconds (default: until interrupted)")
    p.set_defaults(func=run_serve)
    return p


def add_call_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``call URI`` to an argparse sub-parser collection."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "call", help="place one call from a UA on real sockets",
        description="Call URI with the sans-I/O UA core on real sockets; exit 0 if answered.")
    p.add_argument("uri", help="target, e.g. sip:bob@127.0.0.1:5070")
    _add_common(p, "127.0.0.1:0")
    p.add_argument("--user", default="caller", help="our user part (default caller)")
    p.add_argument("--domain", default=None, help="our domain (default: the listen host)")
    p.add_argument("--proxy", default=None, metavar="URI",
                   help="outbound proxy, e.g. sip:127.0.0.1:5060;lr")
    p.add_argument("--hangup-after", type=float, default=1.0,
                   help="seconds to stay in the call before BYE (default 1)")
    p.add_argument("--timeout", type=float, default=40.0,
                   help="give up waiting for the end of the call after this many seconds")
    p.set_defaults(func=run_call)
    return p


def _seed(seed: int | None) -> int:
    """The given seed, or a fresh one: on a real network two runs must not repeat Call-IDs."""
    return seed if seed is not None else int.from_bytes(os.urandom(6), "big")


def run_serve(args: argparse.Namespace) -> int:
    """Entry point for parsed ``serve`` arguments."""
    host, port = parse_hostport(args.listen)
    return serve(args.role, (host, port), transport=args.transport, seed=_seed(args.seed),
                 timers=_timers(args), domain=args.domain, user=args.user,
                 ring_delay=args.ring_delay, answer_delay=args.answer_delay,
                 reject=args.reject, routes=args.route, stateless=args.stateless,
                 record_route=not args.no_record_route, duration=args.duration,
                 verbose=args.verbose)


def run_call(args: argparse.Namespace) -> int:
    """Entry point for parsed ``call`` arguments."""
    host, port = parse_hostport(args.listen, default_port=0)
    return call(args.uri, listen=(host, port), transport=args.transport, seed=_seed(args.seed),
                timers=_timers(args), user=args.user, domain=args.domain, proxy=args.proxy,
                hangup_after=args.hangup_after, timeout=args.timeout, verbose=args.verbose)


def serve(role: str, listen: tuple[str, int], **options: Any) -> int:
    """Run ``role`` (``uas`` or ``proxy``) on ``listen`` until interrupted or ``duration``."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_async(role, listen, **options))
    return 0


def call(uri: str, **options: Any) -> int:
    """Place one call to ``uri``; 0 if it was answered and ended normally, else 1."""
    return asyncio.run(call_async(uri, **options))


def _printer(out: TextIO) -> Any:
    def show(event: Any) -> None:
        print(f"event: {event}", file=out, flush=True)

    return show


def _print_wire(node: NetNode, out: TextIO) -> None:
    for w in node.wire:
        first = w.message.encode().split(b"\r\n", 1)[0].decode("utf-8", "replace")
        arrow = "->" if w.direction == "sent" else "<-"
        print(f"{w.at:.3f} {arrow} {w.peer.transport} {w.peer.host}:{w.peer.port} {first}",
              file=out)
    node.wire.clear()


async def serve_async(role: str, listen: tuple[str, int], *, transport: str = "UDP",
                      seed: int = 0, timers: TimerConfig | None = None,
                      domain: str | None = None, user: str = "uas",
                      ring_delay: float | None = None, answer_delay: float | None = 0.0,
                      reject: int | None = None, routes: list[str] | None = None,
                      stateless: bool = False, record_route: bool = True,
                      duration: float | None = None, verbose: bool = False,
                      out: TextIO | None = None,
                      started: asyncio.Future[NetNode] | None = None) -> NetNode:
    """Coroutine behind :func:`serve`; ``started`` receives the node once it listens."""
    stream = out or sys.stdout
    host, port = listen
    node: NetNode
    if role == "uas":
        behaviour = UABehaviour(ring_delay=ring_delay, answer_delay=answer_delay,
                                reject_code=reject)
        node = await start_user_agent(user, host=host, port=port, transport=transport, seed=seed,
                                      timers=timers, behaviour=behaviour, domain=domain,
                                      keep_events=False, keep_wire=verbose,
                                      on_event=_printer(stream))
    elif role == "proxy":
        static = dict(r.split("=", 1) for r in routes or [])
        node = await start_proxy(host=host, port=port, domain=domain, transport=transport,
                                 seed=seed, record_route=record_route, stateful=not stateless,
                                 timers=timers, static_routes=static, keep_events=False,
                                 keep_wire=verbose)
    else:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
    print(f"simvoip {role} listening on {node.host}:{node.port} (UDP, TCP), seed {seed}",
          file=stream, flush=True)
    if started is not None:
        started.set_result(node)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    began = loop.time()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)
            if verbose:
                _print_wire(node, stream)
            if duration is not None and loop.time() >= began + duration:
                break
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
        node.close()
        print(f"simvoip {role} stopped: events {dict(node.event_counts)}, "
              f"anomalies {dict(node.stats)}", file=stream, flush=True)
    return node


async def call_async(uri: str, *, listen: tuple[str, int] = ("127.0.0.1", 0),
                     transport: str = "UDP", seed: int = 0, timers: TimerConfig | None = None,
                     user: str = "caller", domain: str | None = None, proxy: str | None = None,
                     hangup_after: float = 1.0, timeout: float = 40.0, verbose: bool = False,
                     out: TextIO | None = None) -> int:
    """Coroutine behind :func:`call`: returns the exit code."""
    stream = out or sys.stdout
    node = await start_user_agent(user, host=listen[0], port=listen[1], transport=transport,
                                  seed=seed, role="uac", timers=timers, domain=domain,
                                  outbound_proxy=proxy, keep_wire=verbose,
                                  on_event=_printer(stream))
    try:
        call_id, outputs = node.core.invite(uri, node.now, hangup_after=hangup_after)
        node.execute(outputs)
        try:
            end = await node.wait_for(lambda e: isinstance(e, CallEnded | CallFailed)
                                      and e.call_id == call_id, timeout)
        except TimeoutError:
            print(f"call {call_id}: no outcome within {timeout} s", file=stream)
            return 1
        if verbose:
            _print_wire(node, stream)
        if isinstance(end, CallFailed):
            print(f"call failed: {end.status} {end.reason}, seed {seed}", file=stream)
            return 1
        record = node.core.call(call_id)
        print(f"call answered: setup {record.setup_time:.3f} s, ended ({end.reason}), "
              f"seed {seed}", file=stream)
        return 0 if end.reason == "local-bye" else 1
    finally:
        node.close()
