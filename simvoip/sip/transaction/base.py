"""What every transaction shares: table dispatch, timer bookkeeping, termination.

The machines themselves live in :mod:`.client` and :mod:`.server`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from simvoip.sip.effects import Address, fast_cancel_timer, fast_start_timer
from simvoip.sip.errors import LocalProtocolError
from simvoip.sip.message import Request
from simvoip.sip.transaction.events import TERMINATED, TransportFailed
from simvoip.sip.transaction.keys import AnyKey
from simvoip.sip.transaction.table import TIMER_INPUTS, Input, Machine, State
from simvoip.sip.transaction.timers import Timer, TimerConfig

__all__ = ["Transaction", "DEFAULT_TIMERS"]

#: Timer -> its plain one-letter name, as put in StartTimer / CancelTimer.
_NAMES: dict[Timer, str] = {t: t.value for t in Timer}
#: Timer or its letter -> Timer (a dict lookup instead of the Enum call).
_TIMERS: dict[str, Timer] = {t.value: t for t in Timer}
_TERMINATED = State.TERMINATED

#: RFC 3261 Table 4 defaults: T1 = 500 ms, T2 = 4 s, T4 = 5 s.
DEFAULT_TIMERS = TimerConfig()


class Transaction:
    """Base of the four machines: holds the request and dispatches through ``MACHINE``.

    Attributes
    ----------
    request : Request
        The request that created the transaction.
    destination : Address
        Where the transaction sends (the next hop for a client, the response
        address of RFC 3261 18.2.2 for a server).
    config : TimerConfig
        T1, T2, T4.
    reliable : bool
        Whether ``destination.transport`` is reliable (no retransmissions).
    key : TransactionKey or LegacyKey
        The matching key; also the ``key`` of every timer it arms.
    state : State
        The RFC state name.
    created : float
        ``now`` at construction.

    Examples
    --------
    >>> from simvoip.sip.transaction import NonInviteClientTransaction
    >>> issubclass(NonInviteClientTransaction, Transaction)
    True
    """

    MACHINE: ClassVar[Machine]
    __slots__ = ("request", "destination", "config", "reliable", "key", "state", "created",
                 "_armed", "_interval", "_started")

    def __init__(self, request: Request, destination: Address, config: TimerConfig,
                 now: float, key: AnyKey) -> None:
        self.request = request
        self.destination = destination
        self.config = config
        self.reliable = destination.reliable
        self.key = key
        self.state: State = self.MACHINE.initial
        self.created = now
        self._armed: dict[Timer, float] = {}
        self._interval = config.t1
        self._started = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key} {self.state.value}>"

    # -- public inputs shared by every machine ---------------------------------------------

    def start(self, now: float) -> list[Any]:
        """Begin the transaction: the outputs of entering the initial state."""
        if self._started:
            raise LocalProtocolError(f"{self.MACHINE.abbreviation} already started")
        self._started = True
        return self._step(Input.START, self.request, now)

    def handle_timer(self, timer: Timer | str, now: float) -> list[Any]:
        """Timer ``timer`` fired. A timer that is not armed (already cancelled) is ignored."""
        try:
            t = _TIMERS[timer]
        except (KeyError, TypeError):
            raise LocalProtocolError(f"no such transaction timer: {timer!r}") from None
        if self._armed.pop(t, None) is None:
            return []
        return self._step(TIMER_INPUTS[t], None, now)

    def transport_error(self, now: float, reason: str = "") -> list[Any]:
        """The transport failed to send a message of this transaction (17.1.4, 17.2.4)."""
        return self._step(Input.TRANSPORT_ERROR, reason, now)

    @property
    def armed_timers(self) -> dict[Timer, float]:
        """Armed timers and their expiry times (a copy)."""
        return dict(self._armed)

    @property
    def started(self) -> bool:
        """Whether :meth:`start` was called (a transaction starts once)."""
        return self._started

    @property
    def terminated(self) -> bool:
        return self.state is _TERMINATED

    # -- machinery ---------------------------------------------------------------------------

    def _step(self, inp: Input, message: Any, now: float) -> list[Any]:
        row = self.MACHINE.index.get((self.state, inp))
        if row is None:
            raise LocalProtocolError(
                f"{self.MACHINE.abbreviation}: {inp.value!r} is not allowed in state {self.state.value}")
        out: list[Any] = []
        action = row.action
        if action is not None:
            action(self, message, now, out)
        target = row.target
        if target is not self.state:
            self.state = target
            if target is _TERMINATED:
                # RFC 3261 17.1.1.2 / 17.2.1: a Terminated transaction is destroyed at
                # once, so nothing of it may stay armed.
                key = self.key
                for t in self._armed:
                    out.append(fast_cancel_timer(_NAMES[t], key))
                self._armed.clear()
                out.append(TERMINATED)
        return out

    def _start_timer(self, timer: Timer, delay: float, now: float, out: list[Any]) -> None:
        at = now + delay
        self._armed[timer] = at
        out.append(fast_start_timer(_NAMES[timer], at, self.key))

    def _cancel_timer(self, timer: Timer, out: list[Any]) -> None:
        if self._armed.pop(timer, None) is not None:
            out.append(fast_cancel_timer(_NAMES[timer], self.key))


def _report_transport_error(tx: Transaction, reason: Any, now: float, out: list[Any]) -> None:
    out.append(TransportFailed(reason if isinstance(reason, str) else ""))
