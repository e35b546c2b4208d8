"""Playout (jitter) buffers: a fixed one and Ramjee et al.'s adaptive "algorithm 1".

A buffer decides, for each arriving packet, the time at which it is played;
a packet that arrives after that time is a *late discard*, counted apart from
packets the network lost. Times are seconds on any common clock: ``send_time``
is the sampling instant of the packet (its RTP timestamp / clock rate plus a
constant, which cancels out), ``arrival`` the receive time.

* :class:`FixedJitterBuffer`: the first packet to arrive is played ``delay``
  seconds after its arrival; every later packet keeps the sender's spacing
  (``playout = send_time + n_first + delay``).
* :class:`AdaptiveJitterBuffer`: R. Ramjee, J. Kurose, D. Towsley,
  H. Schulzrinne, "Adaptive playout mechanisms for packetized audio
  applications in wide-area networks", IEEE INFOCOM 1994, algorithm 1: with
  the network delay ``n_i = a_i - t_i`` of each arriving packet,
  ``d_i = alpha d_{i-1} + (1 - alpha) n_i`` and
  ``v_i = alpha v_{i-1} + (1 - alpha) |d_i - n_i|`` (alpha = 0.998002); the
  first packet of a talkspurt is played at ``t_i + d_i + beta v_i``
  (beta = 4), the rest of the talkspurt keeps the sender's spacing. The delay
  only changes between talkspurts (RTP marker bit, RFC 3551 4.1).

:func:`run_playout` feeds a whole packet record and returns a
:class:`PlayoutResult`; mouth-to-ear delay = network + packetisation + buffer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = [
    "AdaptiveJitterBuffer",
    "FixedJitterBuffer",
    "JitterBuffer",
    "PlayoutResult",
    "run_playout",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(slots=True)
class _Talkspurts:
    """Anchor (send time, playout time) per talkspurt already started."""

    anchors: dict[int, tuple[float, float]] = field(default_factory=dict)

    def deadline(self, talkspurt: int, send_time: float) -> float | None:
        anchor = self.anchors.get(talkspurt)
        if anchor is None:
            return None
        return anchor[1] + (send_time - anchor[0])


@dataclass(slots=True)
class FixedJitterBuffer:
    """Fixed playout delay anchored on the first arriving packet.

    Parameters
    ----------
    delay : float
        Buffer delay in seconds added to the first packet's arrival.

    Examples
    --------
    >>> buf = FixedJitterBuffer(delay=0.040)
    >>> buf.arrive(send_time=0.00, arrival=0.050, talkspurt=0)  # anchors: played at 0.090
    0.09
    >>> round(buf.arrive(send_time=0.02, arrival=0.100, talkspurt=0), 3)  # in time
    0.11
    >>> buf.arrive(send_time=0.04, arrival=0.140, talkspurt=0) is None  # due 0.130: late
    True
    """

    delay: float
    _offset: float | None = field(init=False, default=None)

    def arrive(self, send_time: float, arrival: float, talkspurt: int = 0) -> float | None:
        """Playout time of the packet, or ``None`` if it arrived too late."""
        if self._offset is None:
            self._offset = (arrival - send_time) + self.delay
        playout = send_time + self._offset
        return playout if arrival <= playout else None


@dataclass(slots=True)
class AdaptiveJitterBuffer:
    """Ramjee et al. (INFOCOM 1994) algorithm 1, adapted once per talkspurt.

    Parameters
    ----------
    alpha : float
        Weight of the exponential averages (0.998002 in the paper).
    beta : float
        Safety factor on the variation (4 in the paper).
    initial_variation : float
        ``v`` before the first packet, seconds (the paper starts at 0).

    Examples
    --------
    >>> buf = AdaptiveJitterBuffer()
    >>> buf.arrive(send_time=0.0, arrival=0.05, talkspurt=0)  # d=0.05, v=0
    0.05
    >>> buf.arrive(send_time=0.02, arrival=0.075, talkspurt=0) is None  # due 0.070: late
    True
    >>> round(buf.arrive(send_time=1.0, arrival=1.05, talkspurt=1), 6)  # new talkspurt
    1.05005
    """

    alpha: float = 0.998002
    beta: float = 4.0
    initial_variation: float = 0.0
    d: float | None = field(init=False, default=None)
    v: float = field(init=False, default=0.0)
    _talkspurts: _Talkspurts = field(init=False, default_factory=_Talkspurts)

    def __post_init__(self) -> None:
        self.v = self.initial_variation

    def arrive(self, send_time: float, arrival: float, talkspurt: int = 0) -> float | None:
        """Update the estimates with this packet; its playout time or ``None`` (late)."""
        n = arrival - send_time
        if self.d is None:
            self.d = n
        else:
            # Ramjee et al. 1994, algorithm 1.
            self.d = self.alpha * self.d + (1 - self.alpha) * n
            self.v = self.alpha * self.v + (1 - self.alpha) * abs(self.d - n)
        deadline = self._talkspurts.deadline(talkspurt, send_time)
        if deadline is None:
            # First packet (to arrive) of a talkspurt: p_i = t_i + d_i + beta v_i.
            deadline = send_time + self.d + self.beta * self.v
            self._talkspurts.anchors[talkspurt] = (send_time, deadline)
        return deadline if arrival <= deadline else None


JitterBuffer = FixedJitterBuffer | AdaptiveJitterBuffer


@dataclass(frozen=True, slots=True)
class PlayoutResult:
    """Per-packet outcome of a call's media stream (arrays in send order).

    ``lost``: lost in the network; ``late``: arrived after its playout time
    and discarded; ``played``: neither. ``playout_times`` is NaN where not
    played. ``duplicates`` counts extra copies ignored by the buffer.
    """

    send_times: FloatArray
    arrival_times: FloatArray
    playout_times: FloatArray
    lost: BoolArray
    late: BoolArray
    played: BoolArray
    duplicates: int = 0

    @property
    def packets(self) -> int:
        """Packets sent."""
        return int(self.send_times.size)

    @property
    def network_losses(self) -> int:
        return int(self.lost.sum())

    @property
    def late_discards(self) -> int:
        return int(self.late.sum())

    @property
    def packets_played(self) -> int:
        return int(self.played.sum())

    @property
    def impaired(self) -> BoolArray:
        """Packets not played for any reason (the loss pattern the listener hears)."""
        return ~self.played

    @property
    def network_delay(self) -> float:
        """Mean one-way network delay of received packets (s)."""
        got = ~self.lost
        return float(np.mean(self.arrival_times[got] - self.send_times[got])) if got.any() \
            else math.nan

    @property
    def played_network_delay(self) -> float:
        """Mean network delay of the packets that were played (s).

        ``played_network_delay + buffer_delay + packetisation`` is exactly
        :meth:`mouth_to_ear`.
        """
        if not self.played.any():
            return math.nan
        return float(np.mean(self.arrival_times[self.played] - self.send_times[self.played]))

    @property
    def buffer_delays(self) -> FloatArray:
        """Per played packet: time spent in the buffer (s)."""
        return self.playout_times[self.played] - self.arrival_times[self.played]

    @property
    def buffer_delay(self) -> float:
        """Mean buffer delay of played packets (s)."""
        delays = self.buffer_delays
        return float(delays.mean()) if delays.size else math.nan

    def mouth_to_ear(self, packetisation: float) -> float:
        """Mean mouth-to-ear delay (s) of played packets.

        network + buffer = playout - send, plus the sender's packetisation
        delay ``packetisation`` (seconds, ptime + codec look-ahead).
        """
        if not self.played.any():
            return math.nan
        transit = self.playout_times[self.played] - self.send_times[self.played]
        return float(transit.mean()) + packetisation


def run_playout(
    buffer: JitterBuffer,
    send_times: npt.ArrayLike,
    arrival_times: npt.ArrayLike,
    talkspurt: npt.ArrayLike | None = None,
    duplicate_arrivals: npt.ArrayLike | None = None,
) -> PlayoutResult:
    """Run a packet record through a buffer, in arrival order.

    Parameters
    ----------
    buffer : FixedJitterBuffer or AdaptiveJitterBuffer
        A fresh buffer (it keeps state).
    send_times : array_like
        Send (sampling) time of each packet, in send order.
    arrival_times : array_like
        Arrival time of each packet; NaN for a packet lost in the network.
    talkspurt : array_like of int, optional
        Talkspurt index of each packet (e.g. ``cumsum(marker) - 1``); one
        talkspurt when omitted.
    duplicate_arrivals : array_like of (index, time), optional
        Extra copies of packets; they are ignored (counted in ``duplicates``)
        unless they arrive before the original.

    Examples
    --------
    >>> res = run_playout(FixedJitterBuffer(0.03), [0.0, 0.02, 0.04, 0.06],
    ...                   [0.05, float("nan"), 0.13, 0.11])
    >>> res.network_losses, res.late_discards, res.packets_played
    (1, 1, 2)
    >>> round(res.buffer_delay, 3), round(res.mouth_to_ear(packetisation=0.02), 3)
    (0.03, 0.1)
    """
    send = np.asarray(send_times, dtype=float)
    arrival = np.asarray(arrival_times, dtype=float)
    n = send.size
    spurt = np.zeros(n, dtype=np.int64) if talkspurt is None else np.asarray(talkspurt)
    events: list[tuple[float, int]] = [(float(arrival[i]), i) for i in range(n)
                                       if not math.isnan(arrival[i])]
    if duplicate_arrivals is not None:
        events.extend((float(t), int(i)) for i, t in np.asarray(duplicate_arrivals).reshape(-1, 2)
                      if not math.isnan(t))
    events.sort()  # ties by packet index: deterministic
    first_arrival = np.full(n, np.nan)
    playout = np.full(n, np.nan)
    late = np.zeros(n, dtype=bool)
    duplicates = 0
    for when, i in events:
        if not math.isnan(first_arrival[i]):
            duplicates += 1
            continue
        first_arrival[i] = when
        result = buffer.arrive(float(send[i]), when, int(spurt[i]))
        if result is None:
            late[i] = True
        else:
            playout[i] = result
    lost = np.isnan(first_arrival)
    return PlayoutResult(send, first_arrival, playout, lost, late, ~lost & ~late, duplicates)
