"""A node's transactions, found by the matching rules of RFC 3261 17.1.3, 17.2.3 and 9.2.

>>> from simvoip.sip.effects import Address
>>> from simvoip.sip.message import parse_message
>>> table = TransactionTable()
>>> invite = parse_message(b"INVITE sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\n"
...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>\\r\\nCall-ID: c\\r\\nCSeq: 1 INVITE\\r\\n\\r\\n")
>>> ist = table.add(InviteServerTransaction(invite, Address("a")))
>>> table.match_request(invite) is ist
True
>>> cancel = parse_message(b"CANCEL sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\n"
...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>\\r\\nCall-ID: c\\r\\nCSeq: 1 CANCEL\\r\\n\\r\\n")
>>> table.match_request(cancel) is None, table.match_cancel(cancel) is ist
(True, True)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import TypeVar

from simvoip.sip.errors import LocalProtocolError, ParseError
from simvoip.sip.message import Request, Response
from simvoip.sip.transaction.base import Transaction
from simvoip.sip.transaction.client import ClientTransaction
from simvoip.sip.transaction.keys import (
    AnyKey,
    LegacyKey,
    cancel_target_key,
    client_key,
    server_key,
)
from simvoip.sip.transaction.server import InviteServerTransaction, ServerTransaction

__all__ = ["TransactionTable"]

_T = TypeVar("_T", bound=Transaction)


class TransactionTable:
    """The client and server transactions of one element, indexed by key.

    Matching never raises on bad input from the network: a message whose
    headers cannot be read matches nothing (``None``), so the caller treats it
    as new or discards it.

    >>> table = TransactionTable()
    >>> len(table), table.get("no such key")
    (0, None)
    """

    __slots__ = ("_clients", "_servers")

    def __init__(self) -> None:
        self._clients: dict[AnyKey, ClientTransaction] = {}
        self._servers: dict[AnyKey, ServerTransaction] = {}

    def add(self, transaction: _T) -> _T:
        """Register ``transaction`` under its key and return it."""
        index: dict = self._clients if isinstance(transaction, ClientTransaction) else self._servers
        if transaction.key in index:
            raise LocalProtocolError(f"a transaction with key {transaction.key} exists")
        index[transaction.key] = transaction
        return transaction

    def remove(self, transaction: Transaction) -> None:
        """Forget ``transaction`` (call it when the transaction reports Terminated)."""
        index: dict = self._clients if isinstance(transaction, ClientTransaction) else self._servers
        if index.get(transaction.key) is transaction:
            del index[transaction.key]

    def get(self, key: Hashable) -> Transaction | None:
        """The transaction whose timers carry ``key`` (client first, then server)."""
        found = self._clients.get(key)  # type: ignore[call-overload]
        if found is not None:
            return found
        return self._servers.get(key)  # type: ignore[call-overload]

    def match_response(self, response: Response) -> ClientTransaction | None:
        """The client transaction a response belongs to (RFC 3261 17.1.3), if any."""
        try:
            key = client_key(response)
        except ParseError:
            return None
        return None if key is None else self._clients.get(key)

    def match_request(self, request: Request) -> ServerTransaction | None:
        """The server transaction a request belongs to (RFC 3261 17.2.3), if any.

        An ACK matches its INVITE transaction. For RFC 2543 requests (no magic
        cookie) the To tag must also match: the INVITE's for a retransmission,
        that of the response sent for an ACK.
        """
        try:
            key = server_key(request)
            found = self._servers.get(key)
            if found is None or not isinstance(key, LegacyKey):
                return found
            return found if _legacy_to_tag_matches(found, request) else None
        except ParseError:
            return None

    def match_cancel(self, cancel: Request) -> InviteServerTransaction | None:
        """The INVITE server transaction a CANCEL refers to (RFC 3261 9.2), if any."""
        try:
            key = cancel_target_key(cancel)
            found = self._servers.get(key)
            if not isinstance(found, InviteServerTransaction):
                return None
            if isinstance(key, LegacyKey) and not _legacy_to_tag_matches(found, cancel):
                return None
            return found
        except ParseError:
            return None

    def __len__(self) -> int:
        return len(self._clients) + len(self._servers)

    def __iter__(self) -> Iterator[Transaction]:
        yield from self._clients.values()
        yield from self._servers.values()


def _legacy_to_tag_matches(transaction: ServerTransaction, request: Request) -> bool:
    # RFC 3261 17.2.3: "the To tag of the ACK matches the To tag of the response sent by
    # the server transaction"; other requests (and CANCEL, 9.1) carry the original To tag.
    tag = request.to.tag
    if request.method == "ACK":
        sent = transaction.last_response
        return sent is not None and sent.to.tag == tag
    return transaction.request.to.tag == tag
