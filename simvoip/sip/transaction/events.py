"""Events a transaction hands to its transaction user (TU), as small frozen values.

They travel in the same output lists as :class:`~simvoip.sip.effects.Send`,
:class:`~simvoip.sip.effects.StartTimer` and :class:`~simvoip.sip.effects.CancelTimer`.

>>> TimedOut(Timer.B)
TimedOut(timer=<Timer.B: 'B'>)
>>> Terminated() == TERMINATED
True
"""

from __future__ import annotations

from dataclasses import dataclass

from simvoip.sip.message import Request, Response
from simvoip.sip.transaction.timers import Timer

__all__ = [
    "ResponseReceived", "RequestReceived", "TimedOut", "TransportFailed", "Terminated",
    "TERMINATED", "TransactionEvent",
]


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A client transaction passes ``response`` up to the TU (RFC 3261 17.1.1.2, 17.1.2.2)."""

    response: Response


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A server transaction passes ``request`` up to the TU (an ACK in Accepted, RFC 6026 8.7)."""

    request: Request


@dataclass(frozen=True, slots=True)
class TimedOut:
    """Timer B, F (client: 408 equivalent, RFC 3261 8.1.3.1) or H (server: no ACK) fired."""

    timer: Timer


@dataclass(frozen=True, slots=True)
class TransportFailed:
    """The transport could not deliver a message of this transaction (RFC 3261 17.1.4, 17.2.4)."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class Terminated:
    """The transaction entered Terminated: the owner must destroy it now."""


#: The one value of :class:`Terminated` (it has no fields).
TERMINATED = Terminated()

TransactionEvent = ResponseReceived | RequestReceived | TimedOut | TransportFailed | Terminated
