"""What the sans-I/O cores ask their adapter to do, as plain values.

A core (transaction, UA, proxy, registrar) never sends, sleeps or reads a
clock. Every input carries ``now``; every call returns a list of effects:
:class:`Send` a message to an :class:`Address`, :class:`StartTimer` /
:class:`CancelTimer`, or a core-specific event for the layer above. The
adapter (``simvoip.sim`` or ``simvoip.net``) carries them out and feeds the
results back in (``handle_timer(name, key, now)`` when a timer fires).

>>> dst = Address("proxy.a", 5060, "UDP")
>>> StartTimer("A", at=0.5, key="z9hG4bK1|INVITE")
StartTimer(name='A', at=0.5, key='z9hG4bK1|INVITE')
>>> dst.reliable
False
>>> fast_start_timer("A", 0.5, "k") == StartTimer("A", 0.5, "k")
True
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from simvoip.sip.grammar import fast_new

if TYPE_CHECKING:
    from simvoip.sip.message import Request, Response

__all__ = ["Address", "Send", "StartTimer", "CancelTimer", "RELIABLE_TRANSPORTS"]

#: RFC 3261 section 18: TCP, TLS and SCTP are reliable; UDP is not.
RELIABLE_TRANSPORTS = frozenset({"TCP", "TLS", "SCTP", "WS", "WSS"})


@dataclass(frozen=True, slots=True)
class Address:
    """Where a message goes: host (node name, domain or IP), port, transport."""

    host: str
    port: int = 5060
    transport: str = "UDP"

    @property
    def reliable(self) -> bool:
        return self.transport.upper() in RELIABLE_TRANSPORTS


@dataclass(frozen=True, slots=True)
class Send:
    """Transmit ``message`` to ``destination``."""

    message: Request | Response
    destination: Address


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Arm timer ``name`` for owner ``key`` to fire at absolute time ``at``.

    Arming a timer that is already armed for the same (name, key) replaces it.
    """

    name: str
    at: float
    key: Hashable


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Disarm timer ``name`` for owner ``key`` (no effect if not armed)."""

    name: str
    key: Hashable


#: Positional constructors without ``__init__`` for the cores' hot paths: same objects
#: as ``Address(host, port, transport)``, ``Send(message, destination)``,
#: ``StartTimer(name, at, key)``, ``CancelTimer(name, key)`` (every field given).
#: (:func:`simvoip.sip.grammar.fast_new`: plain slot stores on a twin class, then the
#: class swapped in; the cores build an effect for nearly every step of every message.)
fast_address: Callable[[str, int, str], Address] = fast_new(Address)
fast_send: Callable[[Request | Response, Address], Send] = fast_new(Send)
fast_start_timer: Callable[[str, float, Hashable], StartTimer] = fast_new(StartTimer)
fast_cancel_timer: Callable[[str, Hashable], CancelTimer] = fast_new(CancelTimer)
