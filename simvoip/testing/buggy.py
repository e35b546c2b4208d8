"""User agents with planted bugs: the toolkit must catch each of them.

They subclass :class:`~simvoip.sip.ua.UserAgent` and break exactly one RFC
rule, so a property suite that passes on ``UserAgent`` and fails on them
proves it finds real bugs (issue 9; notebook 6 shows the hunt):

* :class:`NoRetransmit2xxUA` - the UAS sends its 2xx once and never
  retransmits it (RFC 3261 13.3.1.4: "retransmitted ... with an interval that
  starts at T1 seconds and doubles for each retransmission until it reaches
  T2 seconds"); one lost 200 OK loses the call.
* :class:`WrongAckCSeqUA` - the UAC acknowledges a 2xx with the CSeq number
  of the INVITE plus one (RFC 3261 13.2.2.4: "The sequence number of the CSeq
  header field MUST be the same as the INVITE being acknowledged").
* :class:`ForgetsByeUA` - the UAS answers BYE with 200 but keeps its dialog
  confirmed (RFC 3261 15.1.2: the UAS "MUST ... terminate the session").

>>> import random
>>> from simvoip.sip.ua import UAConfig
>>> ua = WrongAckCSeqUA(UAConfig(aor="sip:alice@alice", host="alice"), random.Random(0))
>>> isinstance(ua, UserAgent)
True
"""

from __future__ import annotations

from typing import Any

from simvoip.sip.dialog import DialogState
from simvoip.sip.effects import Address
from simvoip.sip.message import Request, Response
from simvoip.sip.ua import UserAgent
from simvoip.sip.ua.call import Call, UATimerKey

__all__ = ["NoRetransmit2xxUA", "WrongAckCSeqUA", "ForgetsByeUA", "PLANTED_BUGS"]


class NoRetransmit2xxUA(UserAgent):
    """Never retransmits a 2xx to INVITE (the 64*T1 give-up timer still runs)."""

    def _retransmit_2xx(self, call: Call, key: UATimerKey, now: float, out: list[Any]) -> None:
        return None


class WrongAckCSeqUA(UserAgent):
    """ACKs 2xx responses with CSeq number + 1."""

    def _send(self, message: Request | Response, destination: Address, now: float,
              out: list[Any]) -> None:
        if isinstance(message, Request) and message.method == "ACK":
            message = message.copy()
            message.headers.set("CSeq", f"{message.cseq.number + 1} ACK")
        super()._send(message, destination, now, out)


class ForgetsByeUA(UserAgent):
    """Answers BYE but leaves the dialog confirmed and the call up."""

    def _receive_bye(self, call: Call, dialog: Any, tx: Any, bye: Request, now: float,
                     out: list[Any]) -> None:
        self._respond(tx, 200, now, out)
        dialog.state = DialogState.CONFIRMED


#: name -> buggy class, for parametrised tests.
PLANTED_BUGS: dict[str, type[UserAgent]] = {
    "no-2xx-retransmission": NoRetransmit2xxUA,
    "wrong-ack-cseq": WrongAckCSeqUA,
    "forgets-bye": ForgetsByeUA,
}
