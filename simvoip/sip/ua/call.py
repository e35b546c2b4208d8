"""Per-call state of a user agent and the statistics the simulator reports.

>>> c = Call("c1", role="uac", local_tag="t1", target="sip:bob@b", started_at=0.0)
>>> c.count_send("INVITE 1"); c.count_send("INVITE 1"); c.count_send("ACK 1")
>>> c.transmissions, c.retransmissions
(3, 1)
>>> c.final_status = 486; c.state = "failed"
>>> c.outcome
'busy'

"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simvoip.sip.dialog import Dialog
from simvoip.sip.effects import Address, fast_cancel_timer, fast_start_timer
from simvoip.sip.grammar import fast_new
from simvoip.sip.message import Request, Response
from simvoip.sip.transaction.client import InviteClientTransaction
from simvoip.sip.transaction.server import InviteServerTransaction

__all__ = ["Call", "UATimerKey", "PendingOk", "ua_timer_key", "ArmedTimers", "TIMER_BITS"]


@dataclass(frozen=True, slots=True)
class UATimerKey:
    """Key of a UA core timer (transaction timers use transaction keys instead)."""

    owner: str
    kind: str
    seq: int = 0


#: ``UATimerKey(owner, kind, seq)`` without the frozen ``__init__`` (hot path; all three
#: fields required).
ua_timer_key: Callable[[str, str, int], UATimerKey] = fast_new(UATimerKey)


#: Bit of each per-call UA timer (``seq`` 0) whose arming :class:`ArmedTimers` follows.
TIMER_BITS = {"ring": 1, "answer": 2, "reject": 4, "ring-timeout": 8, "invite-guard": 16,
              "invite-timeout": 32, "invite-abandon": 64, "hangup": 128}


class ArmedTimers:
    """Which per-call timers of one UA core are armed at its adapter, by Call-ID.

    A timer is armed from its StartTimer until it fires (the adapter calls
    ``handle_timer``) or is cancelled; CancelTimer is only sent for an armed one
    (the adapters treat cancelling an unarmed timer as a no-op). Kept by Call-ID,
    not per :class:`Call`, so a new call record reusing a Call-ID sees the old
    one's timers.

    >>> armed, out = ArmedTimers(), []
    >>> armed.start("hangup", 30.0, "c1", out)
    >>> armed.cancel("c1", ("answer", "hangup"), out)
    >>> [type(e).__name__ for e in out], armed.cancel("c1", ("hangup",), out), len(out)
    (['StartTimer', 'CancelTimer'], None, 2)
    """

    __slots__ = ("bits",)

    def __init__(self) -> None:
        self.bits: dict[str, int] = {}

    def start(self, kind: str, at: float, call_id: str, out: list[Any]) -> None:
        """Arm (or re-arm) the call's ``kind`` timer."""
        out.append(fast_start_timer(kind, at, ua_timer_key(call_id, kind, 0)))
        bits = self.bits
        bits[call_id] = bits.get(call_id, 0) | TIMER_BITS[kind]

    def fired(self, key: UATimerKey) -> None:
        """The timer of ``key`` fired: it is no longer armed."""
        bit = TIMER_BITS.get(key.kind)
        if bit is None or key.seq != 0:
            return
        bits = self.bits
        left = bits.get(key.owner, 0) & ~bit
        if left:
            bits[key.owner] = left
        else:
            bits.pop(key.owner, None)

    def cancel(self, call_id: str, kinds: tuple[str, ...], out: list[Any]) -> None:
        """CancelTimer for those of ``kinds`` that are armed, in that order."""
        bits = self.bits
        armed = bits.get(call_id, 0)
        if not armed:
            return
        for kind in kinds:
            bit = TIMER_BITS[kind]
            if armed & bit:
                out.append(fast_cancel_timer(kind, ua_timer_key(call_id, kind, 0)))
                armed &= ~bit
        if armed:
            bits[call_id] = armed
        else:
            del bits[call_id]


@dataclass(slots=True)
class PendingOk:
    """A 2xx the UAS core retransmits until the ACK arrives (RFC 3261 13.3.1.4)."""

    response: Response
    destination: Address
    sent_at: float
    interval: float
    server_tx: InviteServerTransaction | None


@dataclass(slots=True)
class Call:
    """One call (INVITE dialog usage) at one UA, caller (``uac``) or callee (``uas``) side.

    Timestamps are simulated seconds: ``started_at`` (INVITE sent / received),
    ``progress_at`` (first 180/183), ``answered_at`` (2xx), ``ended_at``.
    """

    call_id: str
    role: str
    local_tag: str
    target: str
    started_at: float
    state: str = "calling"
    invite: Request | None = None
    invite_destination: Address | None = None
    invite_tx: InviteClientTransaction | InviteServerTransaction | None = None
    dialogs: dict[str, Dialog] = field(default_factory=dict)
    dialog: Dialog | None = None
    acks: dict[str, tuple[Request, Address]] = field(default_factory=dict)
    pending_ok: dict[int, PendingOk] = field(default_factory=dict)
    progress_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    final_status: int | None = None
    end_reason: str | None = None
    cancel_pending: bool = False
    cancelled: bool = False
    redirects: int = 0
    sdp_offer: bytes = b""
    local_direction: str = "sendrecv"
    reinvite_tx: InviteClientTransaction | None = None
    reinvite_direction: str | None = None
    hangup_after: float | None = None
    bye_sent: bool = False
    bye_deferred: bool = False
    owner_of_call_id: bool = True
    sent: Counter[str] = field(default_factory=Counter)
    messages: list[tuple[float, str, Request | Response]] = field(default_factory=list)

    def count_send(self, label: str) -> None:
        sent = self.sent
        sent[label] = sent.get(label, 0) + 1  # Counter's += goes through __missing__

    @property
    def transmissions(self) -> int:
        """Messages this UA sent for the call, retransmissions included."""
        return sum(self.sent.values())

    @property
    def retransmissions(self) -> int:
        """Sends of a message that had been sent before (same method/status and CSeq)."""
        return sum(n - 1 for n in self.sent.values() if n > 1)

    @property
    def post_dial_delay(self) -> float | None:
        """INVITE to first 180/183 (None if none came)."""
        return None if self.progress_at is None else self.progress_at - self.started_at

    @property
    def setup_time(self) -> float | None:
        """INVITE to 2xx (None if not answered)."""
        return None if self.answered_at is None else self.answered_at - self.started_at

    @property
    def finished(self) -> bool:
        return self.state in ("failed", "ended")

    @property
    def outcome(self) -> str:
        """One word for reports: ``answered``, ``busy`` (486/600), ``declined`` (603),
        ``no-answer`` (480), ``timeout`` (408), ``cancelled`` (487), ``redirected``
        (a 3xx not followed), ``failed`` (any other final status) or ``pending``.
        """
        if self.answered_at is not None:
            return "answered"
        code = self.final_status
        if code is None:
            return "failed" if self.finished else "pending"
        named = {486: "busy", 600: "busy", 603: "declined", 480: "no-answer", 408: "timeout",
                 487: "cancelled"}
        if code in named:
            return named[code]
        return "redirected" if 300 <= code < 400 else "failed"
