"""Client transactions: INVITE (ICT, RFC 3261 17.1.1 as updated by RFC 6026) and
non-INVITE (NICT, RFC 3261 17.1.2).

>>> from simvoip.sip.effects import Address, fast_send
>>> from simvoip.sip.message import parse_message
>>> invite = parse_message(b"INVITE sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\n"
...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>\\r\\nCall-ID: c\\r\\nCSeq: 1 INVITE\\r\\n\\r\\n")
>>> ict = InviteClientTransaction(invite, Address("b"), now=0.0)
>>> [type(o).__name__ for o in ict.start(0.0)]
['Send', 'StartTimer', 'StartTimer']
>>> [(o.name, o.at) for o in ict.handle_timer("A", 0.5) if type(o).__name__ == "StartTimer"]
[('A', 1.5)]
>>> ict.state.value
'Calling'
"""

from __future__ import annotations

from typing import Any

from simvoip.sip.effects import Address, fast_send
from simvoip.sip.errors import LocalProtocolError
from simvoip.sip.grammar import fast_new
from simvoip.sip.message import Request, Response
from simvoip.sip.transaction.base import DEFAULT_TIMERS, Transaction, _report_transport_error
from simvoip.sip.transaction.builders import make_ack
from simvoip.sip.transaction.events import ResponseReceived, TimedOut
from simvoip.sip.transaction.keys import TransactionKey, client_key
from simvoip.sip.transaction.table import Input, Machine, State, Transition
from simvoip.sip.transaction.timers import Timer, TimerConfig

__all__ = ["ClientTransaction", "InviteClientTransaction", "NonInviteClientTransaction"]


class ClientTransaction(Transaction):
    """Common part of ICT and NICT: creation from a request, response input.

    >>> ClientTransaction.receive_response.__name__
    'receive_response'
    """

    __slots__ = ()

    def __init__(self, request: Request, destination: Address,
                 config: TimerConfig = DEFAULT_TIMERS, now: float = 0.0, *,
                 key: TransactionKey | None = None) -> None:
        # ``key``: client_key(request) when the caller knows it already (it has just put
        # the branch in the top Via of a request it built itself).
        if key is None:
            key = client_key(request)
        if key is None:
            raise LocalProtocolError("a client transaction needs a branch in the top Via (8.1.1.7)")
        super().__init__(request, destination, config, now, key)

    def receive_response(self, response: Response, now: float) -> list[Any]:
        """A response matching this transaction (17.1.3) arrived from the network."""
        code = response.status_code
        if code < 200:
            inp = Input.RESPONSE_1XX
        elif code < 300:
            inp = Input.RESPONSE_2XX
        else:
            inp = Input.RESPONSE_300_699
        return self._step(inp, response, now)


# -- actions shared by both client machines ---------------------------------------------------

#: ``ResponseReceived(response)`` without the frozen ``__init__``: built for every response.
_response_received = fast_new(ResponseReceived)


def _pass_up(tx: Any, response: Response, now: float, out: list[Any]) -> None:
    out.append(_response_received(response))


def _send_request(tx: ClientTransaction, _: Any, now: float, out: list[Any]) -> None:
    out.append(fast_send(tx.request, tx.destination))


# -- INVITE client transaction (RFC 3261 17.1.1, RFC 6026 8.4) ---------------------------------

def _ict_start(tx: InviteClientTransaction, _: Any, now: float, out: list[Any]) -> None:
    out.append(fast_send(tx.request, tx.destination))
    if not tx.reliable:
        # RFC 3261 17.1.1.2: "For unreliable transports ... MUST start timer A with a value of T1."
        tx._interval = tx.config.t1
        tx._start_timer(Timer.A, tx._interval, now, out)
    # RFC 3261 17.1.1.2: "For any transport, the client transaction MUST start timer B
    # with a value of 64*T1 seconds."
    tx._start_timer(Timer.B, 64 * tx.config.t1, now, out)


def _ict_retransmit(tx: InviteClientTransaction, _: Any, now: float, out: list[Any]) -> None:
    out.append(fast_send(tx.request, tx.destination))
    # RFC 3261 17.1.1.2: Timer A doubles on each retransmission (2*T1, 4*T1, ...), no cap.
    tx._interval *= 2
    tx._start_timer(Timer.A, tx._interval, now, out)


def _ict_timeout(tx: InviteClientTransaction, _: Any, now: float, out: list[Any]) -> None:
    # RFC 3261 17.1.1.2: Timer B fires in Calling: inform the TU of the timeout.
    out.append(TimedOut(Timer.B))


def _ict_proceed(tx: InviteClientTransaction, response: Response, now: float, out: list[Any]) -> None:
    # RFC 3261 17.1.1.2: "In the Proceeding state, the client transaction SHOULD NOT
    # retransmit the request any longer"; Timer B only guards Calling (Figure 5).
    tx._cancel_timer(Timer.A, out)
    tx._cancel_timer(Timer.B, out)
    out.append(_response_received(response))


def _ict_accept(tx: InviteClientTransaction, response: Response, now: float, out: list[Any]) -> None:
    tx._cancel_timer(Timer.A, out)
    tx._cancel_timer(Timer.B, out)
    out.append(_response_received(response))
    # RFC 6026 8.4: 2xx in Calling or Proceeding -> Accepted, "Timer M MUST be started
    # with a value of 64*T1"; no ACK from the transaction.
    tx._start_timer(Timer.M, tx.config.duration(Timer.M, reliable=tx.reliable), now, out)


def _ict_complete(tx: InviteClientTransaction, response: Response, now: float, out: list[Any]) -> None:
    tx._cancel_timer(Timer.A, out)
    tx._cancel_timer(Timer.B, out)
    out.append(_response_received(response))
    # RFC 6026 8.4: "MUST generate an ACK request, even if the transport is reliable ...
    # sent to the same address, port, and transport to which the original request was sent."
    tx.ack = make_ack(tx.request, response)
    out.append(fast_send(tx.ack, tx.destination))
    # "MUST start Timer D ... at least 32 seconds for unreliable transports, and ... zero
    # seconds for reliable transports."
    tx._start_timer(Timer.D, tx.config.duration(Timer.D, reliable=tx.reliable), now, out)


def _ict_resend_ack(tx: InviteClientTransaction, response: Response, now: float, out: list[Any]) -> None:
    # RFC 6026 8.4: retransmitted 300-699 in Completed: re-pass the ACK, not the response.
    if tx.ack is not None:
        out.append(fast_send(tx.ack, tx.destination))


_C, _P, _CO, _A, _T = State.CALLING, State.PROCEEDING, State.COMPLETED, State.ACCEPTED, State.TERMINATED

ICT_MACHINE = Machine(
    name="INVITE client transaction",
    abbreviation="ICT",
    initial=_C,
    states=(_C, _P, _CO, _A, _T),
    inputs=(Input.START, Input.RESPONSE_1XX, Input.RESPONSE_2XX, Input.RESPONSE_300_699,
            Input.TIMER_A, Input.TIMER_B, Input.TIMER_D, Input.TIMER_M, Input.TRANSPORT_ERROR),
    transitions=(
        Transition(_C, Input.START, _C, _ict_start, "INVITE from TU: send INVITE, start Timer A (unreliable) and B",
                   "3261 17.1.1.2"),
        Transition(_C, Input.TIMER_A, _C, _ict_retransmit, "retransmit INVITE, double Timer A",
                   "3261 17.1.1.2"),
        Transition(_C, Input.TIMER_B, _T, _ict_timeout, "inform TU (timeout)", "3261 17.1.1.2"),
        Transition(_C, Input.TRANSPORT_ERROR, _T, _report_transport_error, "inform TU",
                   "3261 17.1.4"),
        Transition(_C, Input.RESPONSE_1XX, _P, _ict_proceed, "pass to TU, stop Timers A and B",
                   "3261 17.1.1.2"),
        Transition(_C, Input.RESPONSE_2XX, _A, _ict_accept, "pass to TU, start Timer M",
                   "6026 8.4"),
        Transition(_C, Input.RESPONSE_300_699, _CO, _ict_complete, "pass to TU, send ACK, start Timer D",
                   "6026 8.4"),
        Transition(_P, Input.RESPONSE_1XX, _P, _pass_up, "pass to TU", "3261 17.1.1.2"),
        Transition(_P, Input.RESPONSE_2XX, _A, _ict_accept, "pass to TU, start Timer M",
                   "6026 8.4"),
        Transition(_P, Input.RESPONSE_300_699, _CO, _ict_complete, "pass to TU, send ACK, start Timer D",
                   "6026 8.4"),
        Transition(_CO, Input.RESPONSE_300_699, _CO, _ict_resend_ack, "send ACK", "6026 8.4"),
        Transition(_CO, Input.TRANSPORT_ERROR, _T, _report_transport_error, "inform TU",
                   "6026 8.4 Figure 5"),
        Transition(_CO, Input.TIMER_D, _T, None, "", "6026 8.4"),
        Transition(_A, Input.RESPONSE_2XX, _A, _pass_up, "pass to TU", "6026 8.4"),
        Transition(_A, Input.TIMER_M, _T, None, "", "6026 8.4"),
    ),
)


class InviteClientTransaction(ClientTransaction):
    """The INVITE client transaction (RFC 3261 17.1.1, Figure 5 as replaced by RFC 6026).

    Parameters
    ----------
    request : Request
        The INVITE (its top Via branch is the transaction's branch).
    destination : Address
        Next hop; its transport decides reliable or not.
    config : TimerConfig
        T1, T2, T4.
    now : float
        Creation time.

    Examples
    --------
    >>> from simvoip.sip.effects import Address
    >>> from simvoip.sip.message import parse_message
    >>> invite = parse_message(b"INVITE sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/TCP a;branch=z9hG4bK1\\r\\n"
    ...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>\\r\\nCall-ID: c\\r\\nCSeq: 1 INVITE\\r\\n\\r\\n")
    >>> ict = InviteClientTransaction(invite, Address("b", transport="TCP"))
    >>> [(o.name, o.at) for o in ict.start(0.0)[1:]]       # reliable: no Timer A
    [('B', 32.0)]
    """

    MACHINE = ICT_MACHINE
    __slots__ = ("ack",)

    def __init__(self, request: Request, destination: Address,
                 config: TimerConfig = DEFAULT_TIMERS, now: float = 0.0, *,
                 key: TransactionKey | None = None) -> None:
        if request.method != "INVITE":
            raise LocalProtocolError(f"an INVITE client transaction cannot send {request.method}")
        super().__init__(request, destination, config, now, key=key)
        #: The ACK sent for a 300-699 response (RFC 3261 17.1.1.3), once there is one.
        self.ack: Request | None = None

    @property
    def can_cancel(self) -> bool:
        """RFC 3261 9.1: a CANCEL may only be sent once a provisional response arrived."""
        return self.state is State.PROCEEDING


# -- non-INVITE client transaction (RFC 3261 17.1.2) -------------------------------------------

def _nict_start(tx: NonInviteClientTransaction, _: Any, now: float, out: list[Any]) -> None:
    out.append(fast_send(tx.request, tx.destination))
    if not tx.reliable:
        # RFC 3261 17.1.2.2: "If an unreliable transport is in use, the client transaction
        # MUST set timer E to fire in T1 seconds."
        tx._interval = tx.config.t1
        tx._start_timer(Timer.E, tx._interval, now, out)
    # "... MUST set timer F to fire in 64*T1 seconds" (any transport).
    tx._start_timer(Timer.F, 64 * tx.config.t1, now, out)


def _nict_retransmit_trying(tx: NonInviteClientTransaction, _: Any, now: float, out: list[Any]) -> None:
    out.append(fast_send(tx.request, tx.destination))
    # RFC 3261 17.1.2.2: "reset the timer with a value of MIN(2*T1, T2) ... MIN(4*T1, T2)".
    tx._interval = min(2 * tx._interval, tx.config.t2)
    tx._start_timer(Timer.E, tx._interval, now, out)


def _nict_retransmit_proceeding(tx: NonInviteClientTransaction, _: Any, now: float,
                                out: list[Any]) -> None:
    out.append(fast_send(tx.request, tx.destination))
    # RFC 3261 17.1.2.2: "If Timer E fires while in the Proceeding state, the request MUST
    # be passed to the transport layer for retransmission, and Timer E MUST be reset with
    # a value of T2 seconds."
    tx._interval = tx.config.t2
    tx._start_timer(Timer.E, tx._interval, now, out)


def _nict_timeout(tx: NonInviteClientTransaction, _: Any, now: float, out: list[Any]) -> None:
    # RFC 3261 17.1.2.2: Timer F fires in Trying or Proceeding: inform the TU of the timeout.
    out.append(TimedOut(Timer.F))


def _nict_complete(tx: NonInviteClientTransaction, response: Response, now: float,
                   out: list[Any]) -> None:
    tx._cancel_timer(Timer.E, out)
    tx._cancel_timer(Timer.F, out)
    out.append(_response_received(response))
    # RFC 3261 17.1.2.2: "start timer K ... T4 seconds for unreliable transports, and zero
    # seconds for reliable transports."
    tx._start_timer(Timer.K, tx.config.duration(Timer.K, reliable=tx.reliable), now, out)


_TR = State.TRYING
_FINAL_LABEL = "pass to TU, stop Timers E and F, start Timer K"

NICT_MACHINE = Machine(
    name="non-INVITE client transaction",
    abbreviation="NICT",
    initial=_TR,
    states=(_TR, _P, _CO, _T),
    inputs=(Input.START, Input.RESPONSE_1XX, Input.RESPONSE_2XX, Input.RESPONSE_300_699,
            Input.TIMER_E, Input.TIMER_F, Input.TIMER_K, Input.TRANSPORT_ERROR),
    transitions=(
        Transition(_TR, Input.START, _TR, _nict_start, "request from TU: send request, start Timer E (unreliable) and F",
                   "3261 17.1.2.2"),
        Transition(_TR, Input.TIMER_E, _TR, _nict_retransmit_trying,
                   "retransmit, Timer E = min(2E, T2)", "3261 17.1.2.2"),
        Transition(_TR, Input.TIMER_F, _T, _nict_timeout, "inform TU (timeout)", "3261 17.1.2.2"),
        Transition(_TR, Input.TRANSPORT_ERROR, _T, _report_transport_error, "inform TU",
                   "3261 17.1.4"),
        Transition(_TR, Input.RESPONSE_1XX, _P, _pass_up, "pass to TU", "3261 17.1.2.2"),
        Transition(_TR, Input.RESPONSE_2XX, _CO, _nict_complete, _FINAL_LABEL, "3261 17.1.2.2"),
        Transition(_TR, Input.RESPONSE_300_699, _CO, _nict_complete, _FINAL_LABEL, "3261 17.1.2.2"),
        Transition(_P, Input.TIMER_E, _P, _nict_retransmit_proceeding, "retransmit, Timer E = T2",
                   "3261 17.1.2.2"),
        Transition(_P, Input.TIMER_F, _T, _nict_timeout, "inform TU (timeout)", "3261 17.1.2.2"),
        Transition(_P, Input.TRANSPORT_ERROR, _T, _report_transport_error, "inform TU",
                   "3261 17.1.4"),
        Transition(_P, Input.RESPONSE_1XX, _P, _pass_up, "pass to TU", "3261 17.1.2.2"),
        Transition(_P, Input.RESPONSE_2XX, _CO, _nict_complete, _FINAL_LABEL, "3261 17.1.2.2"),
        Transition(_P, Input.RESPONSE_300_699, _CO, _nict_complete, _FINAL_LABEL, "3261 17.1.2.2"),
        Transition(_CO, Input.TIMER_K, _T, None, "", "3261 17.1.2.2"),
    ),
)


class NonInviteClientTransaction(ClientTransaction):
    """The non-INVITE client transaction (RFC 3261 17.1.2, Figure 6); also sends CANCEL (9.1).

    Examples
    --------
    >>> from simvoip.sip.effects import Address
    >>> from simvoip.sip.message import parse_message
    >>> bye = parse_message(b"BYE sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK2\\r\\n"
    ...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>;tag=2\\r\\nCall-ID: c\\r\\nCSeq: 2 BYE\\r\\n\\r\\n")
    >>> nict = NonInviteClientTransaction(bye, Address("b"))
    >>> [(o.name, o.at) for o in nict.start(0.0)[1:]]
    [('E', 0.5), ('F', 32.0)]
    """

    MACHINE = NICT_MACHINE
    __slots__ = ()

    def __init__(self, request: Request, destination: Address,
                 config: TimerConfig = DEFAULT_TIMERS, now: float = 0.0, *,
                 key: TransactionKey | None = None) -> None:
        if request.method in ("INVITE", "ACK"):
            raise LocalProtocolError(f"{request.method} is not sent by a non-INVITE client transaction")
        super().__init__(request, destination, config, now, key=key)
