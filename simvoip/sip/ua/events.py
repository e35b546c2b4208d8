"""Events a :class:`~simvoip.sip.ua.core.UserAgent` reports to its user (frozen values).

They travel in the same output lists as the effects; ``at`` is the ``now`` of
the input that caused them, so post-dial delay is
``CallProgress(status=180).at - CallStarted.at`` and set-up time is
``CallAnswered.at - CallStarted.at``.

>>> CallProgress("c1", 180, "Ringing", at=0.25)
CallProgress(call_id='c1', status=180, reason='Ringing', at=0.25)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simvoip.sip.grammar import fast_new

__all__ = [
    "CallStarted", "CallProgress", "CallAnswered", "CallFailed", "CallEnded", "IncomingCall",
    "CallUpdated", "CallUpdateFailed", "Registered", "RegistrationFailed", "OptionsResult",
    "UAEvent",
]


@dataclass(frozen=True, slots=True)
class CallStarted:
    """The UAC sent the first INVITE of ``call_id``."""

    call_id: str
    target: str
    at: float


@dataclass(frozen=True, slots=True)
class CallProgress:
    """A provisional response (101-199) arrived for the call's INVITE."""

    call_id: str
    status: int
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class CallAnswered:
    """The call is answered: the UAC got a 2xx (caller side) or the UAS sent one (callee)."""

    call_id: str
    at: float
    status: int = 200


@dataclass(frozen=True, slots=True)
class CallFailed:
    """The INVITE ended without a dialog: final ``status`` (408 for Timer B, 487 cancelled)."""

    call_id: str
    status: int
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class CallEnded:
    """An established call ended; ``reason`` is ``local-bye``, ``remote-bye``, ``no-ack``,
    ``cancelled`` (callee side), ``glare-bye`` (a second forked 2xx), ``timeout``..."""

    call_id: str
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """A new INVITE arrived at the UAS."""

    call_id: str
    caller: str
    at: float


@dataclass(frozen=True, slots=True)
class CallUpdated:
    """A re-INVITE completed; ``direction`` is the local media direction now in force."""

    call_id: str
    direction: str
    at: float


@dataclass(frozen=True, slots=True)
class CallUpdateFailed:
    """A re-INVITE failed (the old session stays, RFC 3261 14.1)."""

    call_id: str
    status: int
    at: float


@dataclass(frozen=True, slots=True)
class Registered:
    """The registrar accepted our binding for ``expires`` seconds (0: unregistered)."""

    aor: str
    expires: int
    at: float


@dataclass(frozen=True, slots=True)
class RegistrationFailed:
    aor: str
    status: int
    at: float


@dataclass(frozen=True, slots=True)
class OptionsResult:
    target: str
    status: int
    at: float


UAEvent = (CallStarted | CallProgress | CallAnswered | CallFailed | CallEnded | IncomingCall
           | CallUpdated | CallUpdateFailed | Registered | RegistrationFailed | OptionsResult)

# Positional constructors without the frozen ``__init__`` (every field given, in order),
# for the events of every call: same objects as ``CallStarted(call_id, target, at)`` ...
call_started: Callable[[str, str, float], CallStarted] = fast_new(CallStarted)
call_progress: Callable[[str, int, str, float], CallProgress] = fast_new(CallProgress)
call_answered: Callable[[str, float, int], CallAnswered] = fast_new(CallAnswered)
call_ended: Callable[[str, str, float], CallEnded] = fast_new(CallEnded)
incoming_call: Callable[[str, str, float], IncomingCall] = fast_new(IncomingCall)
