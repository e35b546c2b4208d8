"""SDP bodies for the UA core: offers, answers, hold/resume (RFC 3264 via
:mod:`simvoip.sip.offer_answer`), as bytes ready for a message body.

>>> offer = make_offer("client.atlanta.example.com", 49170, session_id=2890844526)
>>> direction_of(offer)
'sendrecv'
>>> direction_of(make_answer(make_offer("a", 4000, direction="sendonly"), "b", 5000))
'recvonly'
"""

from __future__ import annotations

from simvoip.sip import offer_answer
from simvoip.sip.errors import ParseError
from simvoip.sip.sdp import SessionDescription

__all__ = ["make_offer", "make_answer", "direction_of", "ANSWER_DIRECTION"]

#: RFC 3264 6.1: the answer's direction given the offer's.
ANSWER_DIRECTION = {d: offer_answer.answer_direction(d)
                    for d in ("sendrecv", "sendonly", "recvonly", "inactive")}


def make_offer(host: str, port: int, *, direction: str = "sendrecv", session_id: int = 1,
               version: int = 1) -> bytes:
    """An audio offer (PCMU, PCMA, telephone-event) from ``host:port``."""
    return offer_answer.make_offer(address=host, port=port, session_id=session_id,
                                   session_version=version, direction=direction).encode()


def make_answer(offer: bytes, host: str, port: int, *, session_id: int = 1,
                version: int = 1) -> bytes:
    """The RFC 3264 answer to ``offer`` (an unparsable offer is answered with a fresh offer)."""
    try:
        parsed = SessionDescription.parse(offer)
    except ParseError:
        return make_offer(host, port, session_id=session_id, version=version)
    return offer_answer.make_answer(parsed, address=host, port=port, session_id=session_id,
                                    session_version=version).encode()


def direction_of(body: bytes) -> str:
    """The direction of the first media stream of ``body`` (``sendrecv`` by default)."""
    try:
        sdp = SessionDescription.parse(body)
    except ParseError:
        return "sendrecv"
    return sdp.media[0].direction if sdp.media else "sendrecv"
