"""A trunk group / PSTN gateway: a UAS with ``channels`` circuits (sans-I/O).

:class:`Trunk` is a :class:`~simvoip.sip.ua.UserAgent` whose calls occupy one
channel each, from the INVITE's arrival until the call has finished (BYE,
CANCEL, failure). A new INVITE that finds every channel busy is refused at
once with ``busy_code``: 503 Service Unavailable with ``Retry-After``
(RFC 3261 21.5.4: "the server is temporarily unable to process the request
due to a temporary overloading ... the server MAY indicate when the client
should retry the request in a Retry-After header field"), or 486 Busy Here
(21.4.24). Counters: :attr:`offered`, :attr:`carried`, :attr:`blocked`,
:attr:`peak_channels`; :meth:`blocking` is ``blocked / offered``.

>>> import random
>>> from simvoip.sip.ua import UAConfig, UABehaviour
>>> config = UAConfig(aor="sip:gw@pstn.example", host="gw",
...                   behaviour=UABehaviour(ring_delay=None, answer_delay=0.0))
>>> trunk = Trunk(config, random.Random(0), channels=1)
>>> caller = UserAgent(UAConfig(aor="sip:a@x.example", host="a"), random.Random(1))
>>> out = []
>>> for k in range(2):
...     _, sent = caller.invite("sip:gw@gw", now=0.0)
...     invite = sent[0].message
...     out.append(trunk.receive(invite, sent[0].destination, now=0.0))
>>> [o.message.status_code for o in out[0] if hasattr(o, "message")]
[200]
>>> [(o.message.status_code, o.message.headers.get("Retry-After")) for o in out[1]
...  if hasattr(o, "message")]
[(503, '30')]
>>> trunk.offered, trunk.blocked, trunk.busy_channels
(2, 1, 1)
"""

from __future__ import annotations

import random
from typing import Any

from simvoip.sip.errors import LocalProtocolError
from simvoip.sip.message import Request
from simvoip.sip.transaction.server import ServerTransaction
from simvoip.sip.ua import UAConfig, UserAgent
from simvoip.sip.ua.messages import new_tag

__all__ = ["Trunk", "BUSY_CODES"]

#: Status codes a full trunk may answer with.
BUSY_CODES = (503, 486, 480, 600)


class Trunk(UserAgent):
    """A UAS with ``channels`` circuits; refuses INVITEs with ``busy_code`` when full.

    Parameters
    ----------
    config : UAConfig
        As for :class:`~simvoip.sip.ua.UserAgent`; its ``behaviour`` says how an
        admitted call is answered (e.g. ``answer_delay=0``).
    rng : random.Random
        Tags, branches and Call-IDs.
    channels : int
        Number of simultaneous calls (>= 0).
    busy_code : int
        Final response when every channel is busy: 503 (default), 486, 480 or 600.
    retry_after : int or None
        Seconds in ``Retry-After`` on a 503 (RFC 3261 20.33); ``None`` leaves it out.
    """

    def __init__(self, config: UAConfig, rng: random.Random, *, channels: int,
                 busy_code: int = 503, retry_after: int | None = 30) -> None:
        if channels < 0:
            raise LocalProtocolError(f"channels must be >= 0, got {channels}")
        if busy_code not in BUSY_CODES:
            raise LocalProtocolError(f"busy_code must be one of {BUSY_CODES}, got {busy_code}")
        super().__init__(config, rng)
        self.channels = channels
        self.busy_code = busy_code
        self.retry_after = retry_after
        #: New INVITEs received, admitted (a channel seized) and refused for lack of one.
        self.offered = 0
        self.carried = 0
        self.blocked = 0
        self.peak_channels = 0

    @property
    def busy_channels(self) -> int:
        """Channels held now: calls received and not finished yet."""
        return sum(1 for c in self.calls.values() if c.role == "uas" and not c.finished)

    def blocking(self) -> float:
        """Measured blocking probability ``blocked / offered`` (0 before any call).

        >>> Trunk(UAConfig(aor="sip:gw@gw", host="gw"), random.Random(0), channels=2).blocking()
        0.0
        """
        return self.blocked / self.offered if self.offered else 0.0

    def _new_invite(self, tx: ServerTransaction, request: Request, now: float,
                    out: list[Any]) -> None:
        if request.call_id in self.calls:
            # A looped copy or a Call-ID reused: the UA's own rules answer it.
            super()._new_invite(tx, request, now, out)
            return
        self.offered += 1
        busy = self.busy_channels
        if busy >= self.channels:
            self.blocked += 1
            extra = None
            if self.busy_code == 503 and self.retry_after is not None:
                # RFC 3261 21.5.4 / 20.33: when the client may try again.
                extra = [("Retry-After", str(self.retry_after))]
            self._respond(tx, self.busy_code, now, out, to_tag=new_tag(self.rng), extra=extra)
            return
        self.carried += 1
        self.peak_channels = max(self.peak_channels, busy + 1)
        super()._new_invite(tx, request, now, out)
