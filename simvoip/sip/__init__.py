"""Pure SIP (sans-I/O): messages, SDP, transactions, dialogs, UA, proxy, registrar, auth.

Never reads a clock, never draws randomness on its own, never touches a socket:
time comes in as ``now``, randomness as an injected :class:`random.Random`.
"""

from simvoip.sip.auth_header import Challenge, Credentials
from simvoip.sip.errors import LocalProtocolError, ParseError, RemoteProtocolError, SipError
from simvoip.sip.framing import BodyPart, StreamFramer, split_multipart
from simvoip.sip.headers import MAGIC_COOKIE, CSeq, NameAddr, Via
from simvoip.sip.message import Headers, Message, Request, Response, canonical_name, parse_message
from simvoip.sip.sdp import MediaDescription, SessionDescription
from simvoip.sip.uri import SipUri
from simvoip.sip.validate import ValidationFailure, validate_request, validate_response

__all__ = [
    "BodyPart", "CSeq", "Challenge", "Credentials", "Headers", "LocalProtocolError",
    "MAGIC_COOKIE", "MediaDescription", "Message", "NameAddr", "ParseError",
    "RemoteProtocolError", "Request", "Response", "SessionDescription", "SipError", "SipUri",
    "StreamFramer", "ValidationFailure", "Via", "canonical_name", "parse_message",
    "split_multipart", "validate_request", "validate_response",
]
