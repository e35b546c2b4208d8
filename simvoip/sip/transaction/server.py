"""Server transactions: INVITE (IST, RFC 3261 17.2.1 as updated by RFC 6026) and
non-INVITE (NIST, RFC 3261 17.2.2).

The transport (or node adapter) matches an incoming request (17.2.3, see
:mod:`.keys`); a new one creates a server transaction and goes to the TU, a
match goes to :meth:`ServerTransaction.receive_request`. The TU answers with
:meth:`ServerTransaction.send_response`.

>>> from simvoip.sip.effects import Address
>>> from simvoip.sip.message import parse_message
>>> invite = parse_message(b"INVITE sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\n"
...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>\\r\\nCall-ID: c\\r\\nCSeq: 1 INVITE\\r\\n\\r\\n")
>>> ist = InviteServerTransaction(invite, Address("a"))
>>> [o.message.status_code for o in ist.start(0.0)]      # 100 Trying at once
[100]
>>> ist.state.value
'Proceeding'
"""

from __future__ import annotations

from typing import Any

from simvoip.sip.effects import Address, fast_send
from simvoip.sip.errors import LocalProtocolError
from simvoip.sip.message import Request, Response
from simvoip.sip.transaction.base import DEFAULT_TIMERS, Transaction
from simvoip.sip.transaction.builders import make_trying
from simvoip.sip.transaction.events import RequestReceived, TimedOut, TransportFailed
from simvoip.sip.transaction.keys import AnyKey, server_key
from simvoip.sip.transaction.table import Input, Machine, State, Transition
from simvoip.sip.transaction.timers import Timer, TimerConfig

__all__ = ["ServerTransaction", "InviteServerTransaction", "NonInviteServerTransaction"]


class ServerTransaction(Transaction):
    """Common part of IST and NIST: request and TU-response inputs, last response sent.

    >>> ServerTransaction.send_response.__name__
    'send_response'
    """

    __slots__ = ("last_response",)

    def __init__(self, request: Request, destination: Address,
                 config: TimerConfig = DEFAULT_TIMERS, now: float = 0.0, *,
                 key: AnyKey | None = None) -> None:
        # ``key``: server_key(request) when the caller has just computed it (matching).
        super().__init__(request, destination, config, now,
                         key if key is not None else server_key(request))
        #: The most recent response sent (retransmitted on request retransmissions).
        self.last_response: Response | None = None

    def receive_request(self, request: Request, now: float) -> list[Any]:
        """A request matching this transaction (17.2.3) arrived: a retransmission or an ACK."""
        method = request.method
        if method == "ACK":
            inp = Input.ACK
        elif method == self.request.method:
            inp = Input.REQUEST
        else:
            raise LocalProtocolError(f"a {method} does not belong to a {self.request.method} transaction")
        return self._step(inp, request, now)

    def send_response(self, response: Response, now: float) -> list[Any]:
        """The TU sends ``response`` through this transaction."""
        code = response.status_code
        if not 100 <= code <= 699:
            raise LocalProtocolError(f"status code {code} out of range")
        if code < 200:
            inp = Input.TU_1XX
        elif code < 300:
            inp = Input.TU_2XX
        else:
            inp = Input.TU_300_699
        return self._step(inp, response, now)


# -- actions shared by both server machines ---------------------------------------------------

def _send(tx: ServerTransaction, response: Response, now: float, out: list[Any]) -> None:
    tx.last_response = response
    out.append(fast_send(response, tx.destination))


def _resend_last(tx: ServerTransaction, _: Any, now: float, out: list[Any]) -> None:
    # RFC 3261 17.2.1 / 17.2.2: a request retransmission is answered with the most
    # recent response sent (none yet: nothing to do).
    if tx.last_response is not None:
        out.append(fast_send(tx.last_response, tx.destination))


def _transport_failed(tx: ServerTransaction, reason: Any, now: float, out: list[Any]) -> None:
    # RFC 6026 8.8 (replacing RFC 3261 17.2.4): the server transaction "SHOULD inform the
    # TU that a failure has occurred, and MUST remain in the current state".
    out.append(TransportFailed(reason if isinstance(reason, str) else ""))


# -- INVITE server transaction (RFC 3261 17.2.1, RFC 6026 8.5-8.7) ----------------------------

def _ist_start(tx: InviteServerTransaction, _: Any, now: float, out: list[Any]) -> None:
    # RFC 3261 17.2.1: "the server transaction MUST generate a 100 (Trying) response unless
    # it knows that the TU will generate a provisional or final response within 200 ms".
    if tx.auto_trying:
        _send(tx, make_trying(tx.request), now, out)


def _ist_accept(tx: InviteServerTransaction, response: Response, now: float, out: list[Any]) -> None:
    # RFC 6026 8.5: a 2xx from the TU is sent once (the TU retransmits it) -> Accepted.
    _send(tx, response, now, out)
    # RFC 6026 8.7: "Timer L MUST be set to fire in 64*T1 for all transports."
    tx._start_timer(Timer.L, tx.config.duration(Timer.L, reliable=tx.reliable), now, out)


def _ist_complete(tx: InviteServerTransaction, response: Response, now: float, out: list[Any]) -> None:
    _send(tx, response, now, out)
    if not tx.reliable:
        # RFC 3261 17.2.1: "For unreliable transports, timer G is set to fire in T1 seconds".
        tx._interval = tx.config.t1
        tx._start_timer(Timer.G, tx._interval, now, out)
    # "When the "Completed" state is entered, timer H MUST be set to fire in 64*T1 seconds
    # for all transports."
    tx._start_timer(Timer.H, 64 * tx.config.t1, now, out)


def _ist_retransmit(tx: InviteServerTransaction, _: Any, now: float, out: list[Any]) -> None:
    _resend_last(tx, None, now, out)
    # RFC 3261 17.2.1: Timer G "is reset with a value of MIN(2*T1, T2)".
    tx._interval = min(2 * tx._interval, tx.config.t2)
    tx._start_timer(Timer.G, tx._interval, now, out)


def _ist_timeout(tx: InviteServerTransaction, _: Any, now: float, out: list[Any]) -> None:
    # RFC 3261 17.2.1: Timer H fired, no ACK: "MUST indicate to the TU that a transaction
    # failure has occurred".
    out.append(TimedOut(Timer.H))


def _ist_confirm(tx: InviteServerTransaction, ack: Request, now: float, out: list[Any]) -> None:
    tx._cancel_timer(Timer.G, out)
    tx._cancel_timer(Timer.H, out)
    # RFC 3261 17.2.1: "timer I is set to fire in T4 seconds for unreliable transports,
    # and zero seconds for reliable transports."
    tx._start_timer(Timer.I, tx.config.duration(Timer.I, reliable=tx.reliable), now, out)


def _ist_ack_up(tx: InviteServerTransaction, ack: Request, now: float, out: list[Any]) -> None:
    # RFC 6026 8.7: "If an ACK is received while ... in the Accepted state, then the ACK
    # must be passed up to the TU."
    out.append(RequestReceived(ack))


_P, _CO, _CF, _A, _T = State.PROCEEDING, State.COMPLETED, State.CONFIRMED, State.ACCEPTED, State.TERMINATED

IST_MACHINE = Machine(
    name="INVITE server transaction",
    abbreviation="IST",
    initial=_P,
    states=(_P, _CO, _CF, _A, _T),
    inputs=(Input.START, Input.REQUEST, Input.ACK, Input.TU_1XX, Input.TU_2XX, Input.TU_300_699,
            Input.TIMER_G, Input.TIMER_H, Input.TIMER_I, Input.TIMER_L, Input.TRANSPORT_ERROR),
    transitions=(
        Transition(_P, Input.START, _P, _ist_start, "INVITE received: pass to TU, send 100 if TU won't in 200 ms", "3261 17.2.1"),
        Transition(_P, Input.REQUEST, _P, _resend_last, "send last provisional response",
                   "3261 17.2.1"),
        Transition(_P, Input.TU_1XX, _P, _send, "send response", "3261 17.2.1"),
        Transition(_P, Input.TU_2XX, _A, _ist_accept, "send response, start Timer L",
                   "6026 8.5, 8.7"),
        Transition(_P, Input.TU_300_699, _CO, _ist_complete,
                   "send response, start Timer G (unreliable) and H", "3261 17.2.1"),
        Transition(_P, Input.TRANSPORT_ERROR, _P, _transport_failed, "inform TU", "6026 8.8"),
        Transition(_CO, Input.REQUEST, _CO, _resend_last, "send response", "3261 17.2.1"),
        Transition(_CO, Input.TIMER_G, _CO, _ist_retransmit, "send response, G = min(2G, T2)",
                   "3261 17.2.1"),
        Transition(_CO, Input.TIMER_H, _T, _ist_timeout, "inform TU (no ACK)", "3261 17.2.1"),
        Transition(_CO, Input.ACK, _CF, _ist_confirm, "stop Timers G and H, start Timer I",
                   "3261 17.2.1"),
        Transition(_CO, Input.TRANSPORT_ERROR, _CO, _transport_failed, "inform TU", "6026 8.8"),
        Transition(_CF, Input.ACK, _CF, None, "absorb", "3261 17.2.1"),
        Transition(_CF, Input.TIMER_I, _T, None, "", "3261 17.2.1"),
        Transition(_A, Input.REQUEST, _A, None, "absorb", "6026 8.7"),
        Transition(_A, Input.ACK, _A, _ist_ack_up, "pass ACK to TU", "6026 8.7"),
        Transition(_A, Input.TU_2XX, _A, _send, "send response", "6026 8.7"),
        Transition(_A, Input.TRANSPORT_ERROR, _A, _transport_failed, "inform TU", "6026 8.8"),
        Transition(_A, Input.TIMER_L, _T, None, "", "6026 8.7"),
    ),
)


class InviteServerTransaction(ServerTransaction):
    """The INVITE server transaction (RFC 3261 17.2.1, Figure 7 as replaced by RFC 6026).

    Parameters
    ----------
    request : Request
        The INVITE that created the transaction.
    destination : Address
        Where responses go (RFC 3261 18.2.2), decided by the transport.
    config : TimerConfig
        T1, T2, T4.
    now : float
        Creation time.
    auto_trying : bool
        Send 100 (Trying) on :meth:`start` (RFC 3261 17.2.1); pass ``False`` when
        the TU answers within 200 ms.

    Examples
    --------
    >>> from simvoip.sip.effects import Address
    >>> from simvoip.sip.message import Response, parse_message
    >>> invite = parse_message(b"INVITE sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\n"
    ...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>\\r\\nCall-ID: c\\r\\nCSeq: 1 INVITE\\r\\n\\r\\n")
    >>> ist = InviteServerTransaction(invite, Address("a"), auto_trying=False)
    >>> ist.start(0.0)
    []
    >>> [getattr(o, "name", None) for o in ist.send_response(Response(486, "Busy Here"), 0.0)]
    [None, 'G', 'H']
    >>> ist.state.value
    'Completed'
    """

    MACHINE = IST_MACHINE
    __slots__ = ("auto_trying",)

    def __init__(self, request: Request, destination: Address,
                 config: TimerConfig = DEFAULT_TIMERS, now: float = 0.0, *,
                 auto_trying: bool = True, key: AnyKey | None = None) -> None:
        if request.method != "INVITE":
            raise LocalProtocolError(f"an INVITE server transaction cannot serve {request.method}")
        super().__init__(request, destination, config, now, key=key)
        self.auto_trying = auto_trying


# -- non-INVITE server transaction (RFC 3261 17.2.2) -------------------------------------------

def _nist_complete(tx: NonInviteServerTransaction, response: Response, now: float,
                   out: list[Any]) -> None:
    _send(tx, response, now, out)
    # RFC 3261 17.2.2: "When the server transaction enters the "Completed" state, it MUST
    # set Timer J to fire in 64*T1 seconds for unreliable transports, and zero seconds for
    # reliable transports."
    tx._start_timer(Timer.J, tx.config.duration(Timer.J, reliable=tx.reliable), now, out)


_TR = State.TRYING

NIST_MACHINE = Machine(
    name="non-INVITE server transaction",
    abbreviation="NIST",
    initial=_TR,
    states=(_TR, _P, _CO, _T),
    inputs=(Input.START, Input.REQUEST, Input.TU_1XX, Input.TU_2XX, Input.TU_300_699,
            Input.TIMER_J, Input.TRANSPORT_ERROR),
    transitions=(
        Transition(_TR, Input.START, _TR, None, "request received: pass to TU", "3261 17.2.2"),
        Transition(_TR, Input.REQUEST, _TR, None, "discard", "3261 17.2.2"),
        Transition(_TR, Input.TU_1XX, _P, _send, "send response", "3261 17.2.2"),
        Transition(_TR, Input.TU_2XX, _CO, _nist_complete, "send response, start Timer J",
                   "3261 17.2.2"),
        Transition(_TR, Input.TU_300_699, _CO, _nist_complete, "send response, start Timer J",
                   "3261 17.2.2"),
        Transition(_TR, Input.TRANSPORT_ERROR, _TR, _transport_failed, "inform TU", "6026 8.8"),
        Transition(_P, Input.REQUEST, _P, _resend_last, "send last provisional response",
                   "3261 17.2.2"),
        Transition(_P, Input.TU_1XX, _P, _send, "send response", "3261 17.2.2"),
        Transition(_P, Input.TU_2XX, _CO, _nist_complete, "send response, start Timer J",
                   "3261 17.2.2"),
        Transition(_P, Input.TU_300_699, _CO, _nist_complete, "send response, start Timer J",
                   "3261 17.2.2"),
        Transition(_P, Input.TRANSPORT_ERROR, _P, _transport_failed, "inform TU", "6026 8.8"),
        Transition(_CO, Input.REQUEST, _CO, _resend_last, "send final response", "3261 17.2.2"),
        # RFC 3261 17.2.2: "Any other final responses passed by the TU to the server
        # transaction MUST be discarded while in the "Completed" state."
        Transition(_CO, Input.TU_2XX, _CO, None, "discard", "3261 17.2.2"),
        Transition(_CO, Input.TU_300_699, _CO, None, "discard", "3261 17.2.2"),
        Transition(_CO, Input.TRANSPORT_ERROR, _CO, _transport_failed, "inform TU", "6026 8.8"),
        Transition(_CO, Input.TIMER_J, _T, None, "", "3261 17.2.2"),
    ),
)


class NonInviteServerTransaction(ServerTransaction):
    """The non-INVITE server transaction (RFC 3261 17.2.2, Figure 8).

    Examples
    --------
    >>> from simvoip.sip.effects import Address
    >>> from simvoip.sip.message import Response, parse_message
    >>> bye = parse_message(b"BYE sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/TCP a;branch=z9hG4bK2\\r\\n"
    ...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>;tag=2\\r\\nCall-ID: c\\r\\nCSeq: 2 BYE\\r\\n\\r\\n")
    >>> nist = NonInviteServerTransaction(bye, Address("a", transport="TCP"))
    >>> nist.start(0.0)
    []
    >>> [(getattr(o, "name", None), getattr(o, "at", None)) for o in nist.send_response(Response(200, "OK"), 1.0)]
    [(None, None), ('J', 1.0)]
    """

    MACHINE = NIST_MACHINE
    __slots__ = ()

    def __init__(self, request: Request, destination: Address,
                 config: TimerConfig = DEFAULT_TIMERS, now: float = 0.0, *,
                 key: AnyKey | None = None) -> None:
        if request.method in ("INVITE", "ACK"):
            raise LocalProtocolError(f"a non-INVITE server transaction cannot serve {request.method}")
        super().__init__(request, destination, config, now, key=key)
