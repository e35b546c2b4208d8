"""Transaction identity and matching keys (RFC 3261 17.1.3, 17.2.3, 9.2).

A client transaction is found by the branch of the top Via and the CSeq
method (17.1.3); a server transaction by branch, sent-by and method, with ACK
mapped to INVITE (17.2.3). Requests whose branch lacks the magic cookie
``z9hG4bK`` come from RFC 2543 elements and use the older rule, keyed here by
:class:`LegacyKey` (the To tag is compared by the table afterwards).

>>> from simvoip.sip.message import parse_message
>>> ack = parse_message(b"ACK sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP A.example;branch=z9hG4bK1\\r\\n"
...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>;tag=2\\r\\nCall-ID: c\\r\\nCSeq: 7 ACK\\r\\n\\r\\n")
>>> server_key(ack)
TransactionKey(branch='z9hG4bK1', sent_by='a.example:5060', method='INVITE')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from simvoip.sip.errors import LocalProtocolError, ParseError
from simvoip.sip.headers import MAGIC_COOKIE, Via
from simvoip.sip.message import Headers, Request, Response

__all__ = ["via_reads_back", "TransactionKey", "LegacyKey", "AnyKey", "client_key", "server_key", "cancel_target_key",
           "transaction_key"]


class TransactionKey(NamedTuple):
    """Identity of an RFC 3261 transaction: branch, sent-by and method.

    Client transactions use ``sent_by=None``: 17.1.3 matches responses on
    branch and CSeq method only. Timers of a transaction carry its key.
    A named tuple: a key is hashed and compared many times per message
    (transaction tables, timer slots), and a tuple does both in C.

    >>> TransactionKey("z9hG4bK1", None, "INVITE") == TransactionKey("z9hG4bK1", None, "INVITE")
    True
    >>> TransactionKey("z9hG4bK1", None, "INVITE").method
    'INVITE'
    """

    branch: str
    sent_by: str | None
    method: str


@dataclass(frozen=True, slots=True)
class LegacyKey:
    """Identity of a server transaction created by an RFC 2543 request (17.2.3).

    Request-URI, From tag, Call-ID, CSeq number, method (ACK mapped to INVITE)
    and top Via; the To tag is checked separately because an ACK carries the
    tag of the response rather than that of the INVITE.

    >>> LegacyKey("sip:b@b", "1", "c", 7, "INVITE", "SIP/2.0/UDP a").method
    'INVITE'
    """

    request_uri: str
    from_tag: str | None
    call_id: str
    cseq_number: int
    method: str
    top_via: str


AnyKey = TransactionKey | LegacyKey

_tuple_new = tuple.__new__


def _key(branch: str, sent_by: str | None, method: str) -> TransactionKey:
    # Keys are built for every message (matching) and every transaction: skip the
    # named tuple's Python-level __new__.
    return _tuple_new(TransactionKey, (branch, sent_by, method))  # type: ignore[no-any-return]


def transaction_key(branch: str, sent_by: str | None, method: str) -> TransactionKey:
    """``TransactionKey(branch, sent_by, method)``, built without the named tuple's
    Python-level ``__new__`` (for a core that builds the Via itself and so knows the
    key of its client transaction without parsing it back).

    >>> transaction_key("z9hG4bK1", None, "BYE") == TransactionKey("z9hG4bK1", None, "BYE")
    True
    """
    return _tuple_new(TransactionKey, (branch, sent_by, method))  # type: ignore[no-any-return]


def via_reads_back(sent: str, branch: str) -> bool:
    """Whether a request whose top Via is ``f"{sent};branch={branch}"`` has the client key
    ``transaction_key(branch, None, method)`` when parsed (RFC 3261 17.1.3).

    A core that builds its own Via checks this once for its ``sent`` text
    (``"SIP/2.0/UDP host:port"``) before handing its transactions their keys
    instead of letting them parse the Via back; it holds for any ordinary host and port.

    >>> via_reads_back("SIP/2.0/UDP pc.a.example:5060", "z9hG4bK1"), via_reads_back("SIP/2.0/UDP a,b", "z9hG4bK1")
    (True, False)
    """
    probe = Request("OPTIONS", "sip:probe", Headers([("Via", f"{sent};branch={branch}")]))
    try:
        return client_key(probe) == transaction_key(branch, None, "OPTIONS")
    except ParseError:
        return False


_DEFAULT_PORTS = {"TLS": 5061, "WSS": 443, "WS": 80}


def _sent_by(via: Via) -> str:
    port = via.port if via.port is not None else _DEFAULT_PORTS.get(via.transport, 5060)
    return f"{via.host.lower()}:{port}"


def client_key(message: Request | Response) -> TransactionKey | None:
    """Key of the client transaction a request creates or a response matches (17.1.3).

    ``None`` for a response without a branch (it matches no client transaction).

    >>> from simvoip.sip.message import parse_message
    >>> r = parse_message(b"SIP/2.0 200 OK\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK9\\r\\n"
    ...     b"CSeq: 2 CANCEL\\r\\n\\r\\n")
    >>> client_key(r)
    TransactionKey(branch='z9hG4bK9', sent_by=None, method='CANCEL')
    """
    branch = message.top_via.branch
    if not branch:
        return None
    method = message.method if isinstance(message, Request) else message.cseq.method
    return _key(branch, None, method)


def server_key(request: Request) -> AnyKey:
    """Key of the server transaction ``request`` creates or matches (17.2.3).

    ACK maps to the INVITE transaction; CANCEL is its own transaction.

    >>> from simvoip.sip.message import parse_message
    >>> old = parse_message(b"INVITE sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP a\\r\\n"
    ...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>\\r\\nCall-ID: c\\r\\nCSeq: 7 INVITE\\r\\n\\r\\n")
    >>> server_key(old)                  # RFC 2543 peer: no magic cookie
    LegacyKey(request_uri='sip:b@b', from_tag='1', call_id='c', cseq_number=7, method='INVITE', top_via='SIP/2.0/UDP a')
    """
    via = request.top_via
    method = "INVITE" if request.method == "ACK" else request.method
    branch = via.branch
    if branch and branch.startswith(MAGIC_COOKIE):
        return _key(branch, _sent_by(via), method)
    return _legacy_key(request, via, method)


def cancel_target_key(cancel: Request) -> AnyKey:
    """Key of the INVITE server transaction a CANCEL refers to (RFC 3261 9.2).

    "the CANCEL ... is matched ... using the procedure of 17.2.3 except that
    the method is INVITE".

    >>> from simvoip.sip.message import parse_message
    >>> c = parse_message(b"CANCEL sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP a:5070;branch=z9hG4bK1\\r\\n"
    ...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>\\r\\nCall-ID: c\\r\\nCSeq: 7 CANCEL\\r\\n\\r\\n")
    >>> cancel_target_key(c)
    TransactionKey(branch='z9hG4bK1', sent_by='a:5070', method='INVITE')
    """
    if cancel.method != "CANCEL":
        raise LocalProtocolError(f"not a CANCEL: {cancel.method}")
    via = cancel.top_via
    branch = via.branch
    if branch and branch.startswith(MAGIC_COOKIE):
        return _key(branch, _sent_by(via), "INVITE")
    return _legacy_key(cancel, via, "INVITE")


def _legacy_key(request: Request, via: Via, method: str) -> LegacyKey:
    return LegacyKey(request.uri, request.from_.tag, request.call_id, request.cseq.number,
                     method, str(via))
