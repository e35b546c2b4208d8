"""Transaction timers: names (RFC 3261 Table 4, RFC 6026) and their durations.

>>> config = TimerConfig()
>>> config.duration(Timer.B, reliable=False), config.duration(Timer.K, reliable=True)
(32.0, 0.0)
>>> TimerConfig(t1=0.1).duration(Timer.L, reliable=True)
6.4
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from simvoip.sip.errors import LocalProtocolError

__all__ = ["Timer", "TimerConfig", "RETRANSMIT_TIMERS"]


class Timer(StrEnum):
    """The transaction timers of RFC 3261 Table 4 and RFC 6026 section 8.11.

    The value is the single letter used in :class:`~simvoip.sip.effects.StartTimer`
    ``name`` and in traces.

    >>> Timer.A == "A", Timer("M").name
    (True, 'M')
    """

    A = "A"  # INVITE request retransmit interval (ICT, unreliable only)
    B = "B"  # INVITE transaction timeout (ICT)
    C = "C"  # proxy INVITE transaction timeout (proxy core, not a transaction timer)
    D = "D"  # wait time for response retransmits (ICT Completed)
    E = "E"  # non-INVITE request retransmit interval (NICT, unreliable only)
    F = "F"  # non-INVITE transaction timeout (NICT)
    G = "G"  # INVITE response retransmit interval (IST, unreliable only)
    H = "H"  # wait time for ACK receipt (IST Completed)
    I = "I"  # noqa: E741 -- RFC 3261's name; wait time for ACK retransmits (IST Confirmed)
    J = "J"  # wait time for non-INVITE request retransmits (NIST Completed)
    K = "K"  # wait time for response retransmits (NICT Completed)
    L = "L"  # RFC 6026: wait time for accepted INVITE request retransmits (IST Accepted)
    M = "M"  # RFC 6026: wait time for 2xx retransmits / forked 2xx (ICT Accepted)



#: Timers that drive retransmissions; never armed on reliable transports.
RETRANSMIT_TIMERS = (Timer.A, Timer.E, Timer.G)
#: 64*T1 on every transport (RFC 3261 Table 4, RFC 6026 8.11).
_SIXTY_FOUR_T1 = frozenset({Timer.B, Timer.F, Timer.H, Timer.L, Timer.M})


@dataclass(frozen=True, slots=True)
class TimerConfig:
    """T1, T2, T4 of RFC 3261 Table 4 (seconds); every timer derives from them.

    Parameters
    ----------
    t1 : float
        RTT estimate (default 500 ms).
    t2 : float
        Maximum retransmit interval for non-INVITE requests and INVITE responses (4 s).
    t4 : float
        Maximum duration a message remains in the network (5 s).
    timer_c : float
        Proxy INVITE transaction timeout, "greater than 3 minutes" (RFC 3261 16.6 step 11).

    >>> TimerConfig(t1=0.25).duration(Timer.B, reliable=False)
    16.0
    >>> TimerConfig().duration(Timer.D, reliable=False)
    32.0
    """

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    timer_c: float = 180.5

    def __post_init__(self) -> None:
        if not (self.t1 > 0 and self.t2 >= self.t1 and self.t4 >= 0):
            raise LocalProtocolError(f"bad timer configuration {self!r}")

    def duration(self, timer: Timer | str, *, reliable: bool) -> float:
        """Initial duration of ``timer`` on a reliable or unreliable transport.

        Values per RFC 3261 Table 4 and RFC 6026 section 8.11:

        * A, E, G: T1 (retransmit timers; only used on unreliable transports).
        * B, F, H: 64*T1 on every transport.
        * D: at least 32 s on unreliable (here ``max(32 s, 64*T1)``, so it also
          covers the server's Timer H), 0 on reliable transports.
        * I, K: T4 on unreliable, 0 on reliable.
        * J: 64*T1 on unreliable, 0 on reliable.
        * L, M: 64*T1 "for all transports" (RFC 6026 8.7, 8.4).
        """
        t = timer if timer.__class__ is Timer else Timer(timer)
        t1 = self.t1
        if t in _SIXTY_FOUR_T1:
            return 64 * t1
        if t in RETRANSMIT_TIMERS:
            if reliable:
                raise LocalProtocolError(f"Timer {t} is not used on reliable transports")
            return t1
        if t is Timer.C:
            return self.timer_c
        if reliable:
            return 0.0
        if t is Timer.D:
            return max(32.0, 64 * t1)
        if t is Timer.J:
            return 64 * t1
        return self.t4  # Timer I and Timer K
