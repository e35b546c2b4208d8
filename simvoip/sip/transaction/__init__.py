"""SIP transactions, sans-I/O (RFC 3261 section 17 as updated by RFC 6026).

Four machines, each driven by one transition table (:mod:`.table`):
:class:`InviteClientTransaction` (ICT), :class:`NonInviteClientTransaction`
(NICT), :class:`InviteServerTransaction` (IST) and
:class:`NonInviteServerTransaction` (NIST). Every method takes ``now`` and
returns a list of outputs: :class:`~simvoip.sip.effects.Send`,
:class:`~simvoip.sip.effects.StartTimer`, :class:`~simvoip.sip.effects.CancelTimer`
(keyed by the transaction's :class:`TransactionKey`) and events for the
transaction user (:class:`ResponseReceived`, :class:`RequestReceived`,
:class:`TimedOut`, :class:`TransportFailed`, :class:`Terminated`).

>>> from simvoip.sip.effects import Address
>>> from simvoip.sip.message import parse_message
>>> invite = parse_message(b"INVITE sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\n"
...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>\\r\\nCall-ID: c\\r\\nCSeq: 1 INVITE\\r\\n\\r\\n")
>>> ict = InviteClientTransaction(invite, Address("b"), TimerConfig(), now=0.0)
>>> out = ict.start(0.0)
>>> [type(o).__name__ for o in out]
['Send', 'StartTimer', 'StartTimer']
>>> out = ict.handle_timer(Timer.B, 32.0)
>>> [type(o).__name__ for o in out], ict.state
(['TimedOut', 'CancelTimer', 'Terminated'], <State.TERMINATED: 'Terminated'>)
"""

from simvoip.sip.transaction.base import Transaction
from simvoip.sip.transaction.builders import make_ack, make_cancel, make_trying
from simvoip.sip.transaction.client import (
    ICT_MACHINE,
    NICT_MACHINE,
    ClientTransaction,
    InviteClientTransaction,
    NonInviteClientTransaction,
)
from simvoip.sip.transaction.events import (
    TERMINATED,
    RequestReceived,
    ResponseReceived,
    Terminated,
    TimedOut,
    TransactionEvent,
    TransportFailed,
)
from simvoip.sip.transaction.keys import (
    AnyKey,
    LegacyKey,
    TransactionKey,
    cancel_target_key,
    client_key,
    server_key,
)
from simvoip.sip.transaction.matching import TransactionTable
from simvoip.sip.transaction.server import (
    IST_MACHINE,
    NIST_MACHINE,
    InviteServerTransaction,
    NonInviteServerTransaction,
    ServerTransaction,
)
from simvoip.sip.transaction.table import (
    Input,
    Machine,
    State,
    Transition,
    render_diagram,
    render_table,
)
from simvoip.sip.transaction.timers import RETRANSMIT_TIMERS, Timer, TimerConfig

#: The four machines, by abbreviation.
MACHINES = {"ICT": ICT_MACHINE, "NICT": NICT_MACHINE, "IST": IST_MACHINE, "NIST": NIST_MACHINE}

__all__ = [
    "AnyKey", "ClientTransaction", "ICT_MACHINE", "IST_MACHINE", "Input",
    "InviteClientTransaction", "InviteServerTransaction", "LegacyKey", "MACHINES", "Machine",
    "NICT_MACHINE", "NIST_MACHINE", "NonInviteClientTransaction", "NonInviteServerTransaction",
    "RETRANSMIT_TIMERS", "RequestReceived", "ResponseReceived", "ServerTransaction", "State",
    "TERMINATED", "Terminated", "TimedOut", "Timer", "TimerConfig", "Transaction",
    "TransactionEvent", "TransactionKey", "TransactionTable", "Transition", "TransportFailed",
    "cancel_target_key", "client_key", "make_ack", "make_cancel", "make_trying",
    "render_diagram", "render_table", "server_key",
]
