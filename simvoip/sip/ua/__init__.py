"""User agent core (sans-I/O): UAC + UAS with dialogs, registration and digest answers.

Adapter contract (``simvoip.sim`` / ``simvoip.net``)
----------------------------------------------------
A node hosting a :class:`UserAgent` (or a :class:`~simvoip.sip.proxy.Proxy`)
does only this:

* every parsed message that arrives: ``outputs = core.receive(message, source, now)``
  where ``source`` is the :class:`~simvoip.sip.effects.Address` it came from;
* every timer the core armed, when it fires: ``outputs = core.handle_timer(name, key, now)``
  (``StartTimer`` with the same ``(name, key)`` replaces the previous one; ``CancelTimer``
  disarms it; the cores send ``CancelTimer`` only for a timer of theirs that is still
  armed, neither fired nor cancelled). Keys are transaction keys or :class:`UATimerKey` /
  :class:`~simvoip.sip.proxy.ProxyTimerKey` values: treat them as opaque hashables;
* carry out the outputs in order: ``Send(message, destination)`` (``destination.host``
  is a host name from a Via, Contact, Route or Request-URI: a node name or a domain the
  adapter resolves to its proxy), ``StartTimer``, ``CancelTimer``; everything else is a
  user event (:mod:`simvoip.sip.ua.events`) to record.

The core owns its transactions: the adapter never creates or matches one. User
actions return outputs the same way: :meth:`UserAgent.invite` (returns
``(call_id, outputs)``), :meth:`~UserAgent.bye`, :meth:`~UserAgent.cancel`,
:meth:`~UserAgent.hangup`, :meth:`~UserAgent.reinvite`, :meth:`~UserAgent.register`,
:meth:`~UserAgent.unregister`, :meth:`~UserAgent.options`, :meth:`~UserAgent.answer`,
:meth:`~UserAgent.reject`. :meth:`UserAgent.call` gives the :class:`Call`
record (``outcome``, ``post_dial_delay``, ``setup_time``, ``final_status``,
``end_reason``, ``retransmissions``, ``messages``). ``transaction_count`` and
``dialog_count`` are zero once a UA has settled.

>>> import random
>>> ua = UserAgent(UAConfig(aor="sip:alice@a.example", host="pc.a.example"), random.Random(0))
>>> ua.transaction_count, ua.dialog_count
(0, 0)
>>> call_id, outputs = ua.invite("sip:bob@b.example", now=0.0, hangup_after=30.0)
>>> ua.call(call_id).outcome, ua.transaction_count
('pending', 1)
"""

from simvoip.sip.ua.call import Call, UATimerKey
from simvoip.sip.ua.config import UABehaviour, UAConfig
from simvoip.sip.ua.core import ALLOW, UserAgent
from simvoip.sip.ua.events import (
    CallAnswered,
    CallEnded,
    CallFailed,
    CallProgress,
    CallStarted,
    CallUpdated,
    CallUpdateFailed,
    IncomingCall,
    OptionsResult,
    Registered,
    RegistrationFailed,
    UAEvent,
)

__all__ = [
    "ALLOW", "Call", "CallAnswered", "CallEnded", "CallFailed", "CallProgress", "CallStarted",
    "CallUpdateFailed", "CallUpdated", "IncomingCall", "OptionsResult", "Registered",
    "RegistrationFailed", "UABehaviour", "UAConfig", "UAEvent", "UATimerKey", "UserAgent",
]
