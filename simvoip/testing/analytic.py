"""Analytic expectations for property tests: retransmission schedules, success probabilities,
binomial confidence intervals.

Over a link that loses each datagram independently with probability ``p``,
an RFC 3261 non-INVITE client transaction (NICT) succeeds if any of its
request transmissions arrives *and* the response that transmission triggers
comes back before Timer F fires: the server transaction answers the first
copy with the TU's final response and every retransmission of the request
with a retransmission of it (RFC 3261 17.2.2). With ``n`` transmissions whose
answer can arrive in time, every one an independent trial::

    P(success) = 1 - (1 - (1 - p_forward) * (1 - p_back)) ** n

For T1 = 500 ms, T2 = 4 s the NICT sends at 0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5,
19.5, 23.5, 27.5 and 31.5 s (Timer E doubles up to T2; Timer F = 64*T1 = 32 s),
so n = 11 for any round trip under 0.5 s.

>>> from simvoip.sip.transaction import TimerConfig
>>> retransmit_times(TimerConfig(), invite=False)
[0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
>>> round(nict_success_probability(0.5, TimerConfig(), rtt=0.02), 4)
0.9578
"""

from __future__ import annotations

import math
from typing import Any

from simvoip.sip.transaction.timers import Timer, TimerConfig
from simvoip.sip.ua import UserAgent
from simvoip.sip.ua.messages import new_tag

__all__ = ["retransmit_times", "nict_success_probability", "wilson_interval",
           "binomial_consistent", "erlang_b", "LimitedLinesUA"]


def retransmit_times(timers: TimerConfig, *, invite: bool) -> list[float]:
    """Send times of a client transaction that never hears back (unreliable transport).

    ICT: Timer A starts at T1 and doubles without cap until Timer B (RFC 3261
    17.1.1.2); NICT: Timer E starts at T1 and doubles up to T2 until Timer F
    (17.1.2.2). A retransmission due exactly when the transaction times out is
    not sent.

    >>> retransmit_times(TimerConfig(), invite=True)
    [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    """
    timeout = timers.duration(Timer.B if invite else Timer.F, reliable=False)
    times, t, interval = [], 0.0, timers.t1
    while t < timeout:
        times.append(t)
        t += interval
        interval = 2 * interval if invite else min(2 * interval, timers.t2)
    return times


def nict_success_probability(loss: float, timers: TimerConfig, *, rtt: float,
                             loss_back: float | None = None) -> float:
    """P(an NICT gets its final response) over independent loss (see the module docstring).

    ``loss`` applies to requests, ``loss_back`` (default: the same) to responses;
    only transmissions whose response can arrive before Timer F (``t + rtt < 64*T1``)
    count.

    >>> nict_success_probability(0.0, TimerConfig(), rtt=0.1), nict_success_probability(1.0, TimerConfig(), rtt=0.1)
    (1.0, 0.0)
    """
    back = loss if loss_back is None else loss_back
    deadline = timers.duration(Timer.F, reliable=False)
    n = sum(1 for t in retransmit_times(timers, invite=False) if t + rtt < deadline)
    trial = (1.0 - loss) * (1.0 - back)
    return 1.0 - (1.0 - trial) ** n


def wilson_interval(successes: int, n: int, z: float = 3.29) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (``z`` = 3.29: 99.9 %).

    >>> lo, hi = wilson_interval(50, 100)
    >>> round(lo, 3), round(hi, 3)
    (0.344, 0.656)
    """
    if n <= 0:
        raise ValueError("n must be positive")
    phat = successes / n
    denom = 1 + z * z / n
    centre = (phat + z * z / (2 * n)) / denom
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def binomial_consistent(successes: int, n: int, p: float, z: float = 3.29) -> bool:
    """Whether ``successes`` out of ``n`` is consistent with probability ``p`` (Wilson, ``z``).

    >>> binomial_consistent(480, 500, 0.9578), binomial_consistent(400, 500, 0.9578)
    (True, False)
    """
    lo, hi = wilson_interval(successes, n, z)
    return lo <= p <= hi


def erlang_b(traffic: float, servers: int) -> float:
    """Erlang B blocking probability (recursion B(0) = 1, B(n) = A B(n-1) / (n + A B(n-1))).

    A local copy for the testing layer (``simvoip.analysis.erlang`` sits above it).

    >>> round(erlang_b(4.0, 5), 4)
    0.1991
    """
    b = 1.0
    for n in range(1, servers + 1):
        b = traffic * b / (n + traffic * b)
    return b


class LimitedLinesUA(UserAgent):
    """A callee with ``lines`` lines: a new INVITE finding them all busy gets 486 (a loss
    system, for Erlang B checks). Set the class attribute or subclass.

    >>> LimitedLinesUA.lines
    1
    """

    lines = 1

    def _new_invite(self, tx: Any, request: Any, now: float, out: list[Any]) -> None:
        busy = sum(1 for c in self.calls.values() if c.role == "uas" and not c.finished)
        if busy >= self.lines:
            # RFC 3261 21.4.24: 486 Busy Here - the callee is reachable but has no line free.
            self._respond(tx, 486, now, out, to_tag=new_tag(self.rng))
            return
        super()._new_invite(tx, request, now, out)
