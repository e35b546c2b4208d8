"""Overload control for a proxy: refuse new INVITEs with 503 + Retry-After (sans-I/O).

RFC 3261 21.5.4: 503 Service Unavailable "indicates that the server is
temporarily unable to process the request due to a temporary overloading
... the server MAY indicate when the client should retry the request in a
Retry-After header field". Shedding new calls early, before they have cost
a whole transaction each, keeps the proxy's queue short enough that the
calls it accepts complete without retransmissions (RFC 6357 section 4
describes how retransmissions otherwise amplify the load: goodput collapses).

:class:`OverloadControlProxy` is a :class:`~simvoip.sip.proxy.Proxy` with
one extra rule. The core cannot see its own queue; the adapter tells it:
before handing over each message it sets :attr:`~OverloadControlProxy.queue_length`
(messages waiting for processing at the node). When that is above
``threshold``, a new INVITE (no To tag) gets 503 with ``Retry-After`` through
an ordinary server transaction (so its ACK and retransmissions are absorbed
as usual); in-dialog requests, responses, ACK, CANCEL and REGISTER pass.

>>> import random
>>> from simvoip.sip.proxy import ProxyConfig
>>> proxy = OverloadControlProxy(ProxyConfig(host="p", domain="a.example"), random.Random(0),
...                              threshold=10, retry_after=5)
>>> from simvoip.sip.message import parse_message
>>> invite = parse_message(b"INVITE sip:bob@b.example SIP/2.0\\r\\n"
...     b"Via: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\nMax-Forwards: 70\\r\\n"
...     b"From: <sip:a@a.example>;tag=1\\r\\nTo: <sip:bob@b.example>\\r\\n"
...     b"Call-ID: c1\\r\\nCSeq: 1 INVITE\\r\\nContent-Length: 0\\r\\n\\r\\n")
>>> from simvoip.sip.effects import Address
>>> proxy.queue_length = 50
>>> out = proxy.receive(invite, Address("a"), now=0.0)
>>> [(o.message.status_code, o.message.headers.get("Retry-After")) for o in out
...  if hasattr(o, "message")]
[(503, '5')]
>>> proxy.rejected
1
"""

from __future__ import annotations

import random
from typing import Any

from simvoip.sip.errors import LocalProtocolError
from simvoip.sip.location import LocationService
from simvoip.sip.message import Request
from simvoip.sip.proxy import Proxy, ProxyConfig
from simvoip.sip.registrar import Registrar

__all__ = ["OverloadControlProxy"]


class OverloadControlProxy(Proxy):
    """A stateful proxy that answers new INVITEs 503 + Retry-After while its queue is long.

    Parameters
    ----------
    config, rng, location, registrar
        As for :class:`~simvoip.sip.proxy.Proxy`.
    threshold : int
        Reject new INVITEs while :attr:`queue_length` is above this many messages.
    retry_after : int
        Seconds in the ``Retry-After`` header of the 503.

    Attributes
    ----------
    queue_length : int
        Set by the adapter before each :meth:`receive`: messages waiting at the node.
    rejected : int
        INVITEs refused so far.
    """

    def __init__(self, config: ProxyConfig, rng: random.Random,
                 location: LocationService | None = None, registrar: Registrar | None = None,
                 *, threshold: int = 20, retry_after: int = 10) -> None:
        if threshold < 0 or retry_after < 0:
            raise LocalProtocolError("threshold and retry_after must be >= 0")
        super().__init__(config, rng, location, registrar)
        self.threshold = threshold
        self.retry_after = retry_after
        self.queue_length = 0
        self.rejected = 0

    def _check(self, request: Request,
               now: float) -> tuple[int | None, list[tuple[str, str]], str | None]:
        if (request.method == "INVITE" and self.queue_length > self.threshold
                and not request.to.tag):
            self.rejected += 1
            # RFC 3261 21.5.4: temporarily overloaded; Retry-After (20.33) says when to retry.
            return 503, [("Retry-After", str(self.retry_after))], None
        return super()._check(request, now)

    def receive_with_queue(self, message: Any, source: Any, now: float,
                           queue_length: int) -> list[Any]:
        """:meth:`receive` after setting :attr:`queue_length` (for adapters)."""
        self.queue_length = queue_length
        return self.receive(message, source, now)
