"""Pure SIP (sans-I/O): messages, SDP, transactions, dialogs, UA, proxy, registrar, auth.

Never reads a clock, never draws randomness on its own, never touches a socket:
time comes in as ``now``, randomness as an injected :class:`random.Random`.
"""

from simvoip.sip.errors import LocalProtocolError, ParseError, RemoteProtocolError, SipError
from simvoip.sip.headers import CSeq, NameAddr, Via
from simvoip.sip.message import Headers, Message, Request, Response, parse_message

__all__ = [
    "CSeq", "Headers", "LocalProtocolError", "Message", "NameAddr", "ParseError",
    "RemoteProtocolError", "Request", "Response", "SipError", "Via", "parse_message",
]
