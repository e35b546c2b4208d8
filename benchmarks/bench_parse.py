"""Parse + encode throughput: simvoip vs sippy vs a bare split-into-lines baseline.

Run: ``python benchmarks/bench_parse.py [--seconds 1.0]``. Prints tables;
nothing is asserted (speed is never a test).

Work per message:

- ``simvoip``: ``parse_message`` and every header turned into its typed view
  (Via list, CSeq, Call-ID, From/To, Contact, Route/Record-Route,
  Max-Forwards, Expires, Require/Supported, Content-Type, the Request-URI and
  Contact URIs as ``SipUri``, the SDP body as ``SessionDescription``), then
  ``encode``.
- ``simvoip deep``: the same plus the URI of every From/To/Route/Record-Route
  parsed, which is what sippy does for its address headers.
- ``sippy``: ``SipRequest``/``SipResponse(buf=...)``, ``getBody()`` on every
  header (sippy parses lazily), the SDP body parsed, ``str(msg)``.
- ``bare``: split head/body, split lines, split each at ``:``, join back.

``--parts`` adds a table of each step's share (parse, the identifier views,
the other views, the SDP body, encode) on fresh messages.

Two workloads: **fresh** — a pool of distinct messages (every one has its
own branch, tags, Call-ID, CSeq and SDP session id, as in traffic of many
calls), so simvoip's parse memos only help with values that really repeat
(Request-URI, To without tag, Route, Contact); the pool is larger than the
memos, so a message's own values are gone before it comes round again.
**repeat** — the same bytes again and again (what a retransmission or the
next hop of a proxy chain looks like to the parser). The targets (>= 2x
sippy, within 4x of bare) are judged on *fresh*. Times are CPU time of this
process, best of interleaved rounds; each batch takes the next messages of
its pool (one cursor per pool, shared by every implementation), so *fresh*
really is fresh.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable

from simvoip.sip import parse_message
from simvoip.sip.grammar import MEMO_LIMIT
from simvoip.sip.message import Request

# Larger than the parse memos, so a value is never still cached when its message comes round again.
POOL = 3 * MEMO_LIMIT


def sdp(i: int) -> bytes:
    return (
        b"v=0\r\n"
        b"o=alice %d %d IN IP4 192.0.2.101\r\n"
        b"s=-\r\n"
        b"c=IN IP4 192.0.2.101\r\n"
        b"t=0 0\r\n"
        b"m=audio %d RTP/AVP 0 8 101\r\n"
        b"a=rtpmap:0 PCMU/8000\r\n"
        b"a=rtpmap:8 PCMA/8000\r\n"
        b"a=rtpmap:101 telephone-event/8000\r\n"
        b"a=fmtp:101 0-16\r\n"
        b"a=ptime:20\r\n"
        b"a=sendrecv\r\n"
    ) % (2890844526 + i, 2890844526 + i, 20000 + 2 * (i % 10000))


def invite(i: int) -> bytes:
    body = sdp(i)
    return (
        b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776as%06d;rport\r\n"
        b"Max-Forwards: 70\r\n"
        b"Route: <sip:proxy.atlanta.example.com;lr>\r\n"
        b'To: "Bob" <sip:bob@biloxi.example.com>\r\n'
        b'From: "Alice" <sip:alice@atlanta.example.com>;tag=19283%06d\r\n'
        b"Call-ID: a84b4c76e6%06d@pc33.atlanta.example.com\r\n"
        b"CSeq: %d INVITE\r\n"
        b"Contact: <sip:alice@pc33.atlanta.example.com:5060>\r\n"
        b"Supported: replaces, timer\r\n"
        b"Expires: 180\r\n"
        b"User-Agent: simvoip-bench/1.0\r\n"
        b"Content-Type: application/sdp\r\n"
        b"Content-Length: %d\r\n\r\n"
    ) % (i, i, i, 314159 + i, len(body)) + body


def ok200(i: int) -> bytes:
    return (
        b"SIP/2.0 200 OK\r\n"
        b"Via: SIP/2.0/UDP proxy.biloxi.example.com:5060;branch=z9hG4bK4b43c%06d.1;received=192.0.2.3\r\n"
        b"Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776as%06d;received=192.0.2.1;rport=5060\r\n"
        b"Record-Route: <sip:proxy.biloxi.example.com;lr>\r\n"
        b'To: "Bob" <sip:bob@biloxi.example.com>;tag=a6c%06d\r\n'
        b'From: "Alice" <sip:alice@atlanta.example.com>;tag=19283%06d\r\n'
        b"Call-ID: a84b4c76e6%06d@pc33.atlanta.example.com\r\n"
        b"CSeq: %d INVITE\r\n"
        b"Contact: <sip:bob@192.0.2.4>\r\n"
        b"Content-Length: 0\r\n\r\n"
    ) % (i, i, i, i, i, 314159 + i)


def simvoip_full(raw: bytes) -> bytes:
    m = parse_message(raw)
    m.vias, m.cseq, m.call_id, m.from_, m.to, m.contacts, m.routes, m.record_routes  # noqa: B018
    m.max_forwards, m.expires, m.require, m.supported, m.content_type  # noqa: B018
    for c in m.contacts:
        c.sip_uri  # noqa: B018
    if isinstance(m, Request):
        m.request_uri  # noqa: B018
    m.sdp  # noqa: B018
    return m.encode()


def simvoip_deep(raw: bytes) -> bytes:
    """As :func:`simvoip_full`, plus every URI in From/To/Route/Record-Route parsed (as sippy does)."""
    m = parse_message(raw)
    m.vias, m.cseq, m.call_id, m.max_forwards, m.expires, m.require, m.supported  # noqa: B018
    m.content_type, m.from_.sip_uri, m.to.sip_uri  # noqa: B018
    for na in (*m.contacts, *m.routes, *m.record_routes):
        na.sip_uri  # noqa: B018
    if isinstance(m, Request):
        m.request_uri  # noqa: B018
    m.sdp  # noqa: B018
    return m.encode()


def _parts(raw: bytes, upto: int) -> None:
    """The work of :func:`simvoip_full` up to step ``upto`` (for ``--parts``)."""
    m = parse_message(raw)
    if upto >= 1:
        m.vias, m.cseq, m.call_id, m.from_, m.to  # noqa: B018
    if upto >= 2:
        m.contacts, m.routes, m.record_routes, m.max_forwards, m.expires  # noqa: B018
        m.require, m.supported, m.content_type  # noqa: B018
        for c in m.contacts:
            c.sip_uri  # noqa: B018
        if isinstance(m, Request):
            m.request_uri  # noqa: B018
    if upto >= 3:
        m.sdp  # noqa: B018


PARTS: list[tuple[str, Callable[[bytes], object]]] = [
    ("parse_message", lambda raw: _parts(raw, 0)),
    ("+ Via, CSeq, Call-ID, From, To", lambda raw: _parts(raw, 1)),
    ("+ the other header views", lambda raw: _parts(raw, 2)),
    ("+ SDP body", lambda raw: _parts(raw, 3)),
    ("+ encode (= simvoip typed views)", simvoip_full),
]


def bare_lines(raw: bytes) -> bytes:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    rows = [line.split(":", 1) for line in lines[1:]]
    out = "\r\n".join([lines[0], *(f"{n}: {v.strip()}" for n, v in rows)]) + "\r\n\r\n"
    return out.encode() + body


def sippy_full(raw: bytes) -> bytes:
    from sippy.SipRequest import SipRequest
    from sippy.SipResponse import SipResponse

    text = raw.decode()
    msg = SipResponse(buf=text) if text.startswith("SIP/") else SipRequest(buf=text)
    for h in msg.headers:  # sippy parses header bodies lazily: force every one
        h.getBody()
    if msg.body is not None:
        msg.body.parse()
    if isinstance(msg, SipRequest):
        msg.getRURI()
    return str(msg).encode()


Impl = tuple[str, Callable[[bytes], object]]


def measure(impls: list[Impl], cases: list[tuple[str, list[bytes]]], seconds: float,
            rounds: int = 15) -> dict[tuple[str, str], float]:
    """Messages/s per (implementation, case): best of ``rounds`` interleaved batches.

    Time is the process's CPU time (``time.process_time``), not wall-clock time,
    and the implementations take turns round by round: both keep the ratios
    meaningful on a shared, busy machine.
    """

    # One cursor per pool, shared by all implementations and carried over from
    # batch to batch: every batch gets the next messages of the pool, so a
    # message comes round again only after the whole pool (larger than the parse
    # memos) has been through. Restarting each batch at the pool's first message
    # would re-parse the same few thousand messages round after round, by every
    # implementation, and leave *fresh* partly warm in the memos.
    cursor: dict[int, int] = {}

    def run(fn: Callable[[bytes], object], pool: list[bytes], n: int) -> float:
        size = len(pool)
        start = cursor.get(id(pool), 0)
        batch = [pool[(start + i) % size] for i in range(n)]
        cursor[id(pool)] = (start + n) % size
        # Start every batch from a clean heap: otherwise a full collection made
        # due by one implementation's garbage is charged to whichever runs next.
        gc.collect()
        t0 = time.process_time()
        for raw in batch:
            fn(raw)
        return time.process_time() - t0

    batch: dict[tuple[str, str], int] = {}
    for name, fn in impls:
        for case, pool in cases:
            t = max(run(fn, pool, 300), 1e-6) / 300
            batch[(name, case)] = max(100, int(seconds / rounds / t))
    best = {key: float("inf") for key in batch}
    for _ in range(rounds):
        for name, fn in impls:
            for case, pool in cases:
                n = batch[(name, case)]
                best[(name, case)] = min(best[(name, case)], run(fn, pool, n) / n)
    return {key: 1.0 / t for key, t in best.items()}


def report(title: str, impls: list[Impl], cases: list[tuple[str, list[bytes]]], seconds: float) -> None:
    results = measure(impls, cases, seconds)
    print(f"\n{title}")
    print(f"{'implementation':30} " + " ".join(f"{c:>12}" for c, _ in cases) + "   (messages/s)")
    for name, _ in impls:
        print(f"{name:30} " + " ".join(f"{results[(name, c)]:12,.0f}" for c, _ in cases))
    names = [n for n, _ in impls]
    sippy = next((n for n in names if n.startswith("sippy")), None)
    for ours in names[:2]:
        for case, _ in cases:
            line = f"  {ours} / {case}: "
            if sippy is not None:
                line += f"{results[(ours, case)] / results[(sippy, case)]:.2f}x sippy (target >= 2x), "
            bare = results[("bare split-into-lines", case)] / results[(ours, case)]
            line += f"{bare:.2f}x the bare baseline's time (target <= 4x)"
            print(line)


def report_parts(cases: list[tuple[str, list[bytes]]], seconds: float) -> None:
    """Time per fresh message of each cumulative step of the simvoip work, and what each step adds."""
    impls: list[Impl] = [*PARTS, ("bare split-into-lines", bare_lines)]
    results = measure(impls, cases, seconds)
    print("\nfresh, step by step (microseconds per message; in brackets: what the step adds)")
    print(f"{'step':34} " + " ".join(f"{c:>18}" for c, _ in cases))
    prev = {c: 0.0 for c, _ in cases}
    for name, _ in impls:
        cells = []
        for c, _ in cases:
            us = 1e6 / results[(name, c)]
            if name.startswith("bare"):
                cells.append(f"{us:8.2f}          ")
            else:
                cells.append(f"{us:8.2f} ({us - prev[c]:+6.2f})")
                prev[c] = us
        print(f"{name:34} " + " ".join(f"{x:>18}" for x in cells))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=1.0, help="rough time budget per cell")
    ap.add_argument("--parts", action="store_true",
                    help="also time each step of the simvoip work on fresh messages")
    args = ap.parse_args(argv)
    impls: list[Impl] = [
        ("simvoip (typed views)", simvoip_full),
        ("simvoip deep (+ every URI)", simvoip_deep),
        ("bare split-into-lines", bare_lines),
    ]
    try:
        import sippy  # noqa: F401

        impls.insert(2, ("sippy 2.x (all headers + SDP)", sippy_full))
    except ImportError:
        print("sippy not installed (pip install sippy): comparing with the baseline only", file=sys.stderr)
    for raw in (invite(0), ok200(0)):  # every implementation handles the same bytes
        assert parse_message(sippy_full(raw) if len(impls) == 4 else raw) is not None
    fresh = [("INVITE+SDP", [invite(i) for i in range(POOL)]), ("200 OK", [ok200(i) for i in range(POOL)])]
    repeat = [("INVITE+SDP", [invite(0)]), ("200 OK", [ok200(0)])]
    report(f"fresh: {POOL} distinct messages per case (the targets apply here)", impls, fresh, args.seconds)
    report("repeat: the same message again (retransmission / next hop)", impls, repeat, args.seconds)
    if args.parts:
        report_parts(fresh, args.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
