"""Message factories and a tiny deterministic timer-driven event loop for transaction tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simvoip.sip.effects import CancelTimer, Send, StartTimer
from simvoip.sip.message import Headers, Request, Response, parse_message
from simvoip.sip.transaction import (
    ClientTransaction,
    Input,
    InviteClientTransaction,
    InviteServerTransaction,
    Machine,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    ServerTransaction,
    Terminated,
    Transaction,
)

CRLF = "\r\n"


def make_request(method: str = "INVITE", *, branch: str = "z9hG4bK776asdhds", transport: str = "UDP",
                 sent_by: str = "pc33.atlanta.com", cseq: int = 314159, to_tag: str | None = None,
                 routes: tuple[str, ...] = (), extra_vias: tuple[str, ...] = ()) -> Request:
    """An RFC 3261 section 24.2 style request, parsed from bytes."""
    branch_param = f";branch={branch}" if branch else ""
    lines = [
        f"{method} sip:bob@biloxi.com SIP/2.0",
        f"Via: SIP/2.0/{transport} {sent_by}{branch_param}",
        *[f"Via: {v}" for v in extra_vias],
        "Max-Forwards: 70",
        *[f"Route: {r}" for r in routes],
        "To: Bob <sip:bob@biloxi.com>" + (f";tag={to_tag}" if to_tag else ""),
        "From: Alice <sip:alice@atlanta.com>;tag=1928301774",
        "Call-ID: a84b4c76e66710@pc33.atlanta.com",
        f"CSeq: {cseq} {method}",
        "Contact: <sip:alice@pc33.atlanta.com>",
        "Content-Length: 0",
    ]
    msg = parse_message((CRLF.join(lines) + CRLF + CRLF).encode())
    assert isinstance(msg, Request)
    return msg


def make_response(request: Request, status: int, reason: str = "", *,
                  to_tag: str | None = "a6c85cf") -> Response:
    """A response to ``request`` per RFC 3261 8.2.6 (Via, From, To, Call-ID, CSeq copied)."""
    headers = Headers()
    for name, value in request.headers:
        if name in ("Via", "From", "Call-ID", "CSeq"):
            headers.add(name, value)
        elif name == "To":
            has_tag = request.to.tag is not None
            headers.add(name, value if has_tag or to_tag is None or status == 100
                        else f"{value};tag={to_tag}")
    return Response(status, reason or {100: "Trying", 180: "Ringing", 200: "OK"}.get(status, "Other"),
                    headers)


@dataclass
class Run:
    """What a transaction did while driven by :func:`drive`."""

    sends: list[tuple[float, Request | Response]] = field(default_factory=list)
    events: list[tuple[float, Any]] = field(default_factory=list)
    armed: dict[str, float] = field(default_factory=dict)
    fired: list[tuple[float, str]] = field(default_factory=list)

    @property
    def send_times(self) -> list[float]:
        return [t for t, _ in self.sends]

    def event_types(self) -> list[str]:
        return [type(e).__name__ for _, e in self.events]

    @property
    def terminated_at(self) -> float | None:
        return next((t for t, e in self.events if isinstance(e, Terminated)), None)

    def absorb(self, tx: Transaction, outputs: list[Any], now: float) -> list[Any]:
        """Apply ``outputs`` to this model: record sends and events, track armed timers."""
        for out in outputs:
            if isinstance(out, Send):
                self.sends.append((now, out.message))
            elif isinstance(out, StartTimer):
                assert out.key == tx.key
                assert out.at >= now
                self.armed[out.name] = out.at
            elif isinstance(out, CancelTimer):
                assert out.key == tx.key
                assert out.name in self.armed, f"cancel of unarmed timer {out.name}"
                del self.armed[out.name]
            else:
                self.events.append((now, out))
        return outputs


def drive(tx: Transaction, run: Run, *, until: float = float("inf")) -> Run:
    """Fire ``run.armed`` timers in time order (ties: arming order) until none is left.

    Nothing arrives from the network: this is 100% loss.
    """
    while run.armed:
        name, at = min(run.armed.items(), key=lambda kv: kv[1])
        if at > until:
            break
        del run.armed[name]
        run.fired.append((at, name))
        run.absorb(tx, tx.handle_timer(name, at), at)
    return run


def start(tx: Transaction, now: float = 0.0) -> Run:
    run = Run()
    run.absorb(tx, tx.start(now), now)
    return run


# -- one place that knows how to feed every Input to a transaction -------------------------------


KINDS = {
    "ICT": (InviteClientTransaction, "INVITE"),
    "NICT": (NonInviteClientTransaction, "OPTIONS"),
    "IST": (InviteServerTransaction, "INVITE"),
    "NIST": (NonInviteServerTransaction, "OPTIONS"),
}

#: Status code used for each response input.
CODES = {
    Input.RESPONSE_1XX: 180, Input.RESPONSE_2XX: 200, Input.RESPONSE_300_699: 486,
    Input.TU_1XX: 180, Input.TU_2XX: 200, Input.TU_300_699: 486,
}


def new_transaction(kind: str, transport: str = "UDP", **kwargs: Any) -> Transaction:
    cls, method = KINDS[kind]
    request = make_request(method, transport=transport)
    tx: Transaction = cls(request, _address(transport), **kwargs)
    return tx


def _address(transport: str) -> Any:
    from simvoip.sip.effects import Address
    return Address("peer.example.com", 5060, transport)


def apply(tx: Transaction, inp: Input, now: float, code: int | None = None) -> list[Any]:
    """Feed ``inp`` to ``tx`` through its public API."""
    if inp is Input.START:
        return tx.start(now)
    if inp is Input.TRANSPORT_ERROR:
        return tx.transport_error(now, "unreachable")
    timer = inp.timer
    if timer is not None:
        return tx.handle_timer(timer, now)
    if inp in (Input.RESPONSE_1XX, Input.RESPONSE_2XX, Input.RESPONSE_300_699):
        assert isinstance(tx, ClientTransaction)
        return tx.receive_response(make_response(tx.request, code or CODES[inp]), now)
    if inp in (Input.TU_1XX, Input.TU_2XX, Input.TU_300_699):
        assert isinstance(tx, ServerTransaction)
        return tx.send_response(make_response(tx.request, code or CODES[inp]), now)
    assert isinstance(tx, ServerTransaction)
    if inp is Input.ACK:
        return tx.receive_request(make_request("ACK", transport=tx.destination.transport,
                                               to_tag="a6c85cf"), now)
    return tx.receive_request(tx.request, now)


def machine_of(tx: Transaction) -> Machine:
    return type(tx).MACHINE
