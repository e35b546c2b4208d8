"""Timer lanes: far-future timers of equal duration wait in FIFO lanes, not in SimPy's heap.

A run keeps thousands of transaction timers armed at once (Timer F, J, K
...: up to 64*T1 ahead), and SimPy's event queue is a binary heap: every
push and pop of a packet's arrival walks ``log2(size)`` levels scattered in
memory. Timers armed with the same duration fall due in the order they
were armed, so each such group is kept in a FIFO *lane* and only the lane's
head is in the heap, as a *sentinel* carrying the head's own heap key.

Nothing about the order of events changes. A timer gets its SimPy event id
when it is armed, exactly as ``env.timeout`` would give it, and the
sentinel is pushed with the head's ``(time, NORMAL, event id)`` key; every
later entry of the lane has a larger key (times never decrease along a
lane: an entry that would is pushed into the heap directly instead), so
the heap pops every timer at the very point it would have popped it had it
been pushed when armed. A cancelled timer still in a lane costs no heap
work: it is skipped when the lane advances (or dropped by :meth:`compact`).

>>> import simpy
>>> from simvoip.sim.loop import run_env
>>> env = simpy.Environment()
>>> lanes = TimerLanes(env)
>>> seen = []
>>> cbs = (lambda event: seen.append((env.now, event.a)),)
>>> a = lanes.schedule(2.0, cbs, "a", None)
>>> b = lanes.schedule(2.0, cbs, "b", None)
>>> b.cancel()
>>> _ = env.timeout(1.0)
>>> c = lanes.schedule(2.0, cbs, "c", None)
>>> len(env._queue)  # the timeout and one sentinel for the three timers
2
>>> run_env(env); seen
[(2.0, 'a'), (2.0, 'c')]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from heapq import heappush
from typing import TYPE_CHECKING, Any

from simpy.events import NORMAL

from simvoip.sim.transport import _CANCELLED, Wakeup, make_wakeup

if TYPE_CHECKING:
    import simpy

__all__ = ["TimerLanes"]

class _Timer(Wakeup):
    """A :class:`Wakeup` that knows its heap key (one object per timer, no tuple)."""

    __slots__ = ("when", "eid")
    when: float
    eid: int


class _Lane:
    """Timers of one duration, in the order they fall due; its head is in the heap."""

    __slots__ = ("entries", "sentinel", "armed", "key")

    def __init__(self, key: float, fire: Callable[[Any], None]) -> None:
        self.key = key
        #: Timers in increasing ``(when, eid)`` order.
        self.entries: deque[_Timer] = deque()
        self.sentinel = make_wakeup(Wakeup, (fire,), self, None)
        #: Whether the sentinel is in the heap (for the head entry).
        self.armed = False


class TimerLanes:
    """Schedules :class:`~simvoip.sim.transport.Wakeup` timers through lanes (see module doc).

    :meth:`schedule` is a drop-in for :func:`~simvoip.sim.transport.wake`:
    same arguments, same :class:`Wakeup` (``cancel()`` as usual), same order
    of events.
    """

    __slots__ = ("env", "lanes", "_fire_cbs")

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        #: rounded duration -> its lane (a lane is dropped when it runs empty).
        self.lanes: dict[float, _Lane] = {}
        self._fire_cbs = (self._fire,)

    def schedule(self, delay: float, callbacks: tuple[Callable[[Wakeup], None]],
                 a: Any, b: Any) -> Wakeup:
        """A :class:`Wakeup` due ``delay`` seconds from now, run by ``callbacks[0](event)``."""
        env = self.env
        when = env._now + delay  # type: ignore[attr-defined]
        eid = next(env._eid)  # type: ignore[attr-defined]
        event = make_wakeup(_Timer, callbacks, a, b)
        event.when = when
        event.eid = eid
        key = round(delay, 6)
        lane = self.lanes.get(key)
        if lane is None:
            lane = self.lanes[key] = _Lane(key, self._fire)
        entries = lane.entries
        queue: list[tuple[Any, ...]] = env._queue  # type: ignore[attr-defined]
        if entries and entries[-1].when > when:
            # Would not keep the lane in order: straight into the heap.
            heappush(queue, (when, NORMAL, eid, event))
            return event
        entries.append(event)
        if not lane.armed:
            lane.armed = True
            sentinel = lane.sentinel
            sentinel.callbacks = self._fire_cbs
            heappush(queue, (when, NORMAL, eid, sentinel))
        return event

    def _fire(self, sentinel: Wakeup) -> None:
        # The heap popped the head's key: advance the lane first, then run the head.
        lane: _Lane = sentinel.a
        entries = lane.entries
        head = entries.popleft()
        while entries and entries[0].callbacks is _CANCELLED:
            entries.popleft()
        if entries:
            nxt = entries[0]
            sentinel.callbacks = self._fire_cbs
            queue: list[tuple[Any, ...]] = self.env._queue  # type: ignore[attr-defined]
            heappush(queue, (nxt.when, NORMAL, nxt.eid, sentinel))
        else:
            lane.armed = False
            del self.lanes[lane.key]
            sentinel.a = None  # the lane <-> sentinel cycle: freed now, not by the cyclic GC
        callbacks = head.callbacks
        head.callbacks = None  # type: ignore[assignment]  # processed, as SimPy marks events
        for callback in callbacks:
            callback(head)

    def pending(self) -> int:
        """Timers waiting in lanes (cancelled ones not yet dropped included).

        >>> import simpy
        >>> TimerLanes(simpy.Environment()).pending()
        0
        """
        return sum(len(lane.entries) for lane in self.lanes.values())

    def compact(self) -> int:
        """Drop cancelled timers from the lanes (not a head: its sentinel is in the heap).

        Returns how many were dropped. The order of the others is kept, so
        the order of events is unchanged.
        """
        dropped = 0
        for lane in self.lanes.values():
            entries = lane.entries
            if len(entries) < 2:
                continue
            head = entries[0]
            live = [e for e in entries if e is head or e.callbacks is not _CANCELLED]
            if len(live) < len(entries):
                dropped += len(entries) - len(live)
                lane.entries = deque(live)
        return dropped
