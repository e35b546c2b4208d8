"""Throughput of the sans-I/O transaction core: complete ICT + IST exchanges per second.

One exchange: the UAC's INVITE client transaction sends the INVITE, the UAS's
INVITE server transaction answers 100 (auto), 180 and 200, the UAS core
retransmits the 200 once through the transaction (RFC 6026 Accepted), the UAC
passes both 200s to its TU, then Timer M and Timer L fire and both
transactions terminate. No simulator, no sockets.

Two figures:

* ``core``: messages are built once; only the transaction objects run.
* ``wire``: every message is also encoded and parsed, and matched through a
  :class:`~simvoip.sip.transaction.TransactionTable` on each side, with a
  fresh branch per exchange (closer to what a node adapter does).

Run: ``python benchmarks/bench_transactions.py [--exchanges N]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc

from simvoip.sip.effects import Address, Send
from simvoip.sip.message import Headers, Request, Response, parse_message
from simvoip.sip.transaction import (
    InviteClientTransaction,
    InviteServerTransaction,
    TimerConfig,
    TransactionTable,
)

CONFIG = TimerConfig()
TO_UAS = Address("bob.example", 5060, "UDP")
TO_UAC = Address("alice.example", 5060, "UDP")


def invite(branch: str) -> Request:
    return Request("INVITE", "sip:bob@b.example", Headers([
        ("Via", f"SIP/2.0/UDP alice.example:5060;branch={branch}"),
        ("Max-Forwards", "70"),
        ("From", "Alice <sip:alice@a.example>;tag=1928301774"),
        ("To", "Bob <sip:bob@b.example>"),
        ("Call-ID", f"{branch}@alice.example"),
        ("CSeq", "1 INVITE"),
        ("Contact", "<sip:alice@alice.example>"),
    ]))


def response(request: Request, status: int, reason: str) -> Response:
    headers = Headers([(n, v) for n, v in request.headers if n in ("Via", "From", "Call-ID", "CSeq")])
    to = request.headers.get("To") or ""
    headers.add("To", to if status == 100 else f"{to};tag=a6c85cf")
    if status >= 200:
        headers.add("Contact", "<sip:bob@bob.example>")
    return Response(status, reason, headers)


def exchange_core(inv: Request, ringing: Response, ok: Response) -> int:
    """One exchange with prebuilt messages; returns the number of outputs (kept honest)."""
    n = 0
    ict = InviteClientTransaction(inv, TO_UAS, CONFIG, 0.0)
    n += len(ict.start(0.0))
    ist = InviteServerTransaction(inv, TO_UAC, CONFIG, 0.01)
    out = ist.start(0.01)
    n += len(out)
    n += len(ict.receive_response(out[0].message, 0.02))          # 100 Trying
    n += len(ist.send_response(ringing, 0.1))
    n += len(ict.receive_response(ringing, 0.11))
    n += len(ist.send_response(ok, 2.0))
    n += len(ict.receive_response(ok, 2.01))
    n += len(ist.send_response(ok, 2.5))                           # UAS core retransmits 200
    n += len(ict.receive_response(ok, 2.51))
    n += len(ict.handle_timer("M", 34.01))
    n += len(ist.handle_timer("L", 34.0))
    assert ict.terminated and ist.terminated
    return n


def exchange_wire(i: int, uac: TransactionTable, uas: TransactionTable) -> int:
    """One exchange where every message crosses the 'wire' as bytes and is matched."""
    n = 0
    inv = invite(f"z9hG4bK{i:x}")
    ict = uac.add(InviteClientTransaction(inv, TO_UAS, CONFIG, 0.0))
    for out in ict.start(0.0):
        if isinstance(out, Send):
            received = parse_message(out.message.encode())
            assert isinstance(received, Request)
            if uas.match_request(received) is None:
                ist = uas.add(InviteServerTransaction(received, TO_UAC, CONFIG, 0.01))
                sends = ist.start(0.01)
    to_uac: list[Send] = [s for s in sends if isinstance(s, Send)]
    sends = ist.send_response(response(received, 180, "Ringing"), 0.1)
    to_uac += [s for s in sends if isinstance(s, Send)]
    ok = response(received, 200, "OK")
    to_uac += [s for s in ist.send_response(ok, 2.0) if isinstance(s, Send)]
    to_uac += [s for s in ist.send_response(ok, 2.5) if isinstance(s, Send)]
    for send in to_uac:
        resp = parse_message(send.message.encode())
        assert isinstance(resp, Response)
        tx = uac.match_response(resp)
        assert tx is ict
        n += len(ict.receive_response(resp, 2.6))
    n += len(ict.handle_timer("M", 34.0)) + len(ist.handle_timer("L", 34.0))
    uac.remove(ict)
    uas.remove(ist)
    assert ict.terminated and ist.terminated and len(uac) == len(uas) == 0
    return n


def bytes_per_transaction() -> float:
    inv = invite("z9hG4bKmem")
    keep = []
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(2000):
        ict = InviteClientTransaction(inv, TO_UAS, CONFIG, 0.0)
        ict.start(0.0)
        keep.append(ict)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    total = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    return total / len(keep)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=20000)
    args = parser.parse_args(argv)
    n = args.exchanges

    inv = invite("z9hG4bKbench")
    ringing, ok = response(inv, 180, "Ringing"), response(inv, 200, "OK")
    exchange_core(inv, ringing, ok)                                # warm-up
    t0 = time.perf_counter()
    outputs = sum(exchange_core(inv, ringing, ok) for _ in range(n))
    core = time.perf_counter() - t0

    uac, uas = TransactionTable(), TransactionTable()
    m = max(1, n // 4)
    t0 = time.perf_counter()
    for i in range(m):
        exchange_wire(i, uac, uas)
    wire = time.perf_counter() - t0

    print(f"python {sys.version.split()[0]}")
    print(f"core: {n} ICT+IST exchanges (INVITE/100/180/200 + 200 retransmission) in {core:.3f} s "
          f"= {n / core:,.0f} exchanges/s ({outputs / n:.0f} outputs each)")
    print(f"wire: {m} exchanges with encode + parse + table matching in {wire:.3f} s "
          f"= {m / wire:,.0f} exchanges/s")
    print(f"memory: ~{bytes_per_transaction():,.0f} bytes per started INVITE client transaction "
          f"(outputs discarded, request shared)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
