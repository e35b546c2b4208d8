"""The user agent core: UAC and UAS of one phone (RFC 3261 sections 8, 10, 12-15).

Sans-I/O. The adapter feeds ``receive(message, source, now)`` and
``handle_timer(name, key, now)`` and carries out the returned effects
(:class:`~simvoip.sip.effects.Send`, ``StartTimer``, ``CancelTimer``); every
other returned value is a user event from :mod:`simvoip.sip.ua.events`.
The UA owns its transactions: it creates them, routes responses and
retransmissions to them and forgets them when they terminate.

>>> import random
>>> from simvoip.sip.ua.config import UAConfig
>>> alice = UserAgent(UAConfig(aor="sip:alice@atlanta.example.com",
...                            host="client.atlanta.example.com"), random.Random(1))
>>> call_id, out = alice.invite("sip:bob@biloxi.example.com", now=0.0)
>>> [type(o).__name__ for o in out]
['Send', 'StartTimer', 'StartTimer', 'StartTimer', 'CallStarted']
>>> out[0].message.method, out[0].destination.host
('INVITE', 'biloxi.example.com')
"""

from __future__ import annotations

from simvoip.sip.ua.base import ALLOW, KNOWN_METHODS
from simvoip.sip.ua.uac import InviteClientMixin
from simvoip.sip.ua.uas import InviteServerMixin

__all__ = ["UserAgent", "ALLOW", "KNOWN_METHODS"]


class UserAgent(InviteClientMixin, InviteServerMixin):
    """A phone: UAC + UAS cores with dialogs, registration and digest answers.

    Parameters
    ----------
    config : UAConfig
        Identity, proxies, timers and test behaviour.
    rng : random.Random
        Every tag, branch, Call-ID, cnonce and 491 back-off comes from here.

    Inputs: :meth:`receive`, :meth:`handle_timer`, and the user's
    :meth:`register`, :meth:`invite`, :meth:`cancel`, :meth:`bye`,
    :meth:`hangup`, :meth:`reinvite`, :meth:`options`, :meth:`answer`,
    :meth:`reject`. Each returns a list of effects and events.
    """
