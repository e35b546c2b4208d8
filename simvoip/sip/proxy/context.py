"""Response contexts of a stateful proxy and the best-response rule of RFC 3261 16.7.

>>> from simvoip.sip.message import Response
>>> picks = [Response(486), Response(404), Response(302)]
>>> best_response(picks).status_code
302
>>> best_response([Response(486), Response(603), Response(408)]).status_code
603
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simvoip.sip.effects import fast_cancel_timer, fast_start_timer
from simvoip.sip.grammar import fast_new
from simvoip.sip.message import Request, Response
from simvoip.sip.transaction.client import ClientTransaction
from simvoip.sip.transaction.server import ServerTransaction

__all__ = ["Branch", "ResponseContext", "ProxyTimerKey", "best_response", "proxy_timer_key",
           "TIMER_BITS", "start_branch_timer", "cancel_branch_timers"]


@dataclass(frozen=True, slots=True)
class ProxyTimerKey:
    """Key of a proxy core timer (Timer C per branch, sequential forking step)."""

    context: int
    branch: int
    kind: str


#: ``ProxyTimerKey(context, branch, kind)`` without the frozen ``__init__`` (hot path).
proxy_timer_key: Callable[[int, int, str], ProxyTimerKey] = fast_new(ProxyTimerKey)


@dataclass(slots=True)
class Branch:
    """One forwarded copy of the request (a client transaction) and what it got back."""

    index: int
    target: str
    tx: ClientTransaction
    final: Response | None = None
    provisional: bool = False
    cancel_sent: bool = False
    cancel_pending: bool = False
    terminated: bool = False
    #: Timer C fired: the branch was cancelled by this proxy, not by the caller.
    timed_out: bool = False
    #: Which of the branch's proxy timers (:data:`TIMER_BITS`) are armed at the adapter:
    #: set by :func:`start_branch_timer`, cleared when one fires or is cancelled.
    armed: int = 0


#: Bit of each proxy timer of a branch in :attr:`Branch.armed`.
TIMER_BITS = {"C": 1, "next": 2, "abandon": 4}


def start_branch_timer(ctx_id: int, branch: Branch, kind: str, at: float,
                       out: list[Any]) -> None:
    """Arm (or re-arm) the branch's ``kind`` timer and note it armed."""
    out.append(fast_start_timer(kind, at, proxy_timer_key(ctx_id, branch.index, kind)))
    branch.armed |= TIMER_BITS[kind]


def cancel_branch_timers(ctx_id: int, branch: Branch, kinds: tuple[str, ...],
                         out: list[Any]) -> None:
    """CancelTimer for those of ``kinds`` that are armed, in that order (cancelling an
    unarmed timer is a no-op at the adapter: not sent at all)."""
    armed = branch.armed
    if not armed:
        return
    for kind in kinds:
        bit = TIMER_BITS[kind]
        if armed & bit:
            out.append(fast_cancel_timer(kind, proxy_timer_key(ctx_id, branch.index, kind)))
            armed &= ~bit
    branch.armed = armed


@dataclass(slots=True)
class ResponseContext:
    """RFC 3261 16.6/16.7: the server transaction, the targets left and the branches."""

    id: int
    server: ServerTransaction
    request: Request
    targets: list[str]
    loop: str
    branches: list[Branch] = field(default_factory=list)
    final_sent: bool = False
    cancelled: bool = False
    #: The Route values of ``request`` (``None``: not known yet, read them from it).
    routes: list[str] | None = None

    def sequential_next(self, forking: str) -> bool:
        return forking == "sequential" and self.request.method == "INVITE"


def best_response(responses: list[Response]) -> Response | None:
    """RFC 3261 16.7 step 6: a 6xx if any, else one of the lowest class; 401/407 are
    preferred within 4xx (so a challenge reaches the UAC), earliest first otherwise.

    A 2xx never waits for this choice (it is forwarded at once) but ranks first here.
    """
    finals = [r for r in responses if r.status_code >= 200]
    if not finals:
        return None
    twos = [r for r in finals if r.status_code < 300]
    if twos:
        return twos[0]
    six = [r for r in finals if r.status_code >= 600]
    if six:
        return six[0]
    lowest = min(r.status_code // 100 for r in finals)
    same = [r for r in finals if r.status_code // 100 == lowest]
    if lowest == 4:
        for r in same:
            if r.status_code in (401, 407):
                return r
        # 408 (our own timeouts) only when nothing better came back.
        real = [r for r in same if r.status_code != 408]
        if real:
            return real[0]
    return same[0]
