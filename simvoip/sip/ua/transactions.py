"""The transaction table a core (UA, proxy) owns, and the 18.2 response address rules.

A core creates client and server transactions through :class:`TransactionTable`,
which keeps them by key, routes timer firings to them and forgets them when
they report :data:`~simvoip.sip.transaction.events.TERMINATED`.

>>> from simvoip.sip.message import parse_message
>>> inv = parse_message(b"INVITE sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\n"
...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>\\r\\nCall-ID: c\\r\\nCSeq: 1 INVITE\\r\\n\\r\\n")
>>> table = TransactionTable()
>>> tx, out = table.start_client(inv, Address("b"), now=0.0)
>>> len(table), table.owns_timer(tx.key)
(1, True)
"""

from __future__ import annotations

from typing import Any

from simvoip.sip.effects import Address, CancelTimer, Send, StartTimer, fast_address
from simvoip.sip.errors import ParseError
from simvoip.sip.grammar import split_commas
from simvoip.sip.message import Headers, Request, Response
from simvoip.sip.transaction.base import Transaction
from simvoip.sip.transaction.client import (
    ClientTransaction,
    InviteClientTransaction,
    NonInviteClientTransaction,
)
from simvoip.sip.transaction.events import TERMINATED
from simvoip.sip.transaction.keys import (
    AnyKey,
    LegacyKey,
    TransactionKey,
    cancel_target_key,
    client_key,
    server_key,
)
from simvoip.sip.transaction.server import (
    InviteServerTransaction,
    NonInviteServerTransaction,
    ServerTransaction,
)
from simvoip.sip.transaction.table import State
from simvoip.sip.transaction.timers import TimerConfig

__all__ = ["TransactionOwner", "TransactionTable", "is_effect", "replace_top_via", "response_address", "stamp_received"]

#: What the adapter carries out, as a tuple for ``isinstance`` (built once, not per call).
EFFECT_TYPES = (Send, StartTimer, CancelTimer)
_KEY_TYPES = (TransactionKey, LegacyKey)
_TERMINATED = State.TERMINATED


def is_effect(output: Any) -> bool:
    """True for what the adapter carries out (Send / StartTimer / CancelTimer)."""
    return isinstance(output, EFFECT_TYPES)


def stamp_received(request: Request, source: Address) -> Request:
    """RFC 3261 18.2.1 / RFC 3581 4: stamp the top Via with where the request came from.

    ``received`` is added when the sent-by host differs from the source.

    Returns ``request`` itself when nothing changes, else a copy.

    >>> from simvoip.sip.message import parse_message
    >>> r = parse_message(b"OPTIONS sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP a.example;branch=z9hG4bK1\\r\\n"
    ...     b"CSeq: 1 OPTIONS\\r\\n\\r\\n")
    >>> stamp_received(r, Address("alice")).headers.get("Via")
    'SIP/2.0/UDP a.example;branch=z9hG4bK1;received=alice'

    RFC 3581: an empty ``rport`` is filled with the source port, and
    ``received`` is added even when the host is the same:

    >>> r = parse_message(b"OPTIONS sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP 10.1.1.1:4540;rport;branch=z9hG4bKk\\r\\n"
    ...     b"CSeq: 1 OPTIONS\\r\\n\\r\\n")
    >>> stamp_received(r, Address("192.0.2.1", 9988)).headers.get("Via")
    'SIP/2.0/UDP 10.1.1.1:4540;rport=9988;branch=z9hG4bKk;received=192.0.2.1'
    """
    via = request.top_via
    params = via.params
    if "rport" in params and params["rport"] is None:
        # RFC 3581 4: an empty rport MUST get the source port, and then "the server
        # MUST insert a 'received' parameter ... even if it is identical to the
        # value of the 'sent-by' component".
        new = {**params, "rport": str(source.port), "received": source.host}
    elif via.host == source.host or "received" in params:
        return request
    else:
        new = {**params, "received": source.host}
    return replace_top_via(request, str(type(via)(via.transport, via.host, via.port, new)))


def replace_top_via(request: Request, value: str | None) -> Request:
    """A copy of ``request`` whose first Via value is ``value`` (``None`` removes it)."""
    rows = list(request.headers)
    for i, (name, row) in enumerate(rows):
        if name == "Via":  # the first Via row
            rest = split_commas(row)[1:]
            values = ([value] if value is not None else []) + rest
            if values:
                rows[i] = (name, ", ".join(values))
            else:
                del rows[i]
            break
    # Rows of a Headers have canonical names already: no renaming pass.
    return Request(request.method, request.uri, Headers._from_canonical(tuple(rows)), request.body,
                   request.version)


def response_address(message: Request | Response) -> Address:
    """Where responses to ``message`` go (RFC 3261 18.2.2, RFC 3581 4), from its top Via.

    ``maddr`` wins (with the sent-by port), then ``received`` or the sent-by
    host, with the ``rport`` value or the sent-by port.

    >>> from simvoip.sip.message import parse_message
    >>> r = parse_message(b"SIP/2.0 200 OK\\r\\nVia: SIP/2.0/UDP pc:5070;branch=z9hG4bK1;received=alice\\r\\n"
    ...     b"CSeq: 1 OPTIONS\\r\\n\\r\\n")
    >>> response_address(r)
    Address(host='alice', port=5070, transport='UDP')
    """
    via = message.top_via
    params = via.params
    maddr = params.get("maddr")
    if maddr:
        # RFC 3261 18.2.2: "the response MUST be forwarded to the address listed
        # there, using the port indicated in 'sent-by', or port 5060 if none".
        return fast_address(maddr, via.port or 5060, via.transport)
    host = params.get("received") or via.host
    # RFC 3581 4: with no maddr, received and rport: to received, port rport.
    rport = params.get("rport")
    port = int(rport) if rport and rport.isdigit() else (via.port or 5060)
    return fast_address(host, port, via.transport)


class TransactionTable:
    """Client and server transactions of one core, by key (RFC 3261 17.1.3 / 17.2.3)."""

    def __init__(self, config: TimerConfig | None = None) -> None:
        self.config = config or TimerConfig()
        self.clients: dict[TransactionKey, ClientTransaction] = {}
        self.servers: dict[TransactionKey | LegacyKey, ServerTransaction] = {}
        # The request last looked up by find_server and its key: start_server for the
        # same request (a new one) reuses the key instead of computing it again.
        self._matched: tuple[Request | None, AnyKey | None] = (None, None)

    def __len__(self) -> int:
        return len(self.clients) + len(self.servers)

    # -- creation --------------------------------------------------------------------------

    def start_client(self, request: Request, destination: Address, now: float, *,
                     key: TransactionKey | None = None) -> tuple[ClientTransaction, list[Any]]:
        """Create and start the client transaction sending ``request``.

        ``key``: its :func:`~simvoip.sip.transaction.keys.client_key`, when the caller
        knows it (it built the top Via itself), so the Via need not be parsed back.
        """
        tx: ClientTransaction
        if request.method == "INVITE":
            tx = InviteClientTransaction(request, destination, self.config, now, key=key)
        else:
            tx = NonInviteClientTransaction(request, destination, self.config, now, key=key)
        self.clients[tx.key] = tx  # type: ignore[index]
        return tx, self._reap(tx, tx.start(now))

    def start_server(self, request: Request, now: float, *,
                     auto_trying: bool = True) -> tuple[ServerTransaction, list[Any]]:
        """Create and start the server transaction for a new ``request`` (not ACK)."""
        destination = response_address(request)
        matched, key = self._matched
        if matched is request:
            self._matched = (None, None)
        else:
            key = None
        tx: ServerTransaction
        if request.method == "INVITE":
            tx = InviteServerTransaction(request, destination, self.config, now,
                                         auto_trying=auto_trying, key=key)
        else:
            tx = NonInviteServerTransaction(request, destination, self.config, now, key=key)
        self.servers[tx.key] = tx
        return tx, self._reap(tx, tx.start(now))

    # -- matching --------------------------------------------------------------------------

    def find_client(self, response: Response) -> ClientTransaction | None:
        try:
            key = client_key(response)
        except ParseError:
            return None
        return self.clients.get(key) if key is not None else None

    def find_server(self, request: Request) -> ServerTransaction | None:
        try:
            key = server_key(request)
        except ParseError:
            return None
        self._matched = (request, key)
        return self.servers.get(key)

    def find_cancelled(self, cancel: Request) -> InviteServerTransaction | None:
        """The INVITE server transaction a CANCEL refers to (9.2)."""
        tx = self.servers.get(cancel_target_key(cancel))
        return tx if isinstance(tx, InviteServerTransaction) else None

    # -- inputs ------------------------------------------------------------------------------

    def owns_timer(self, key: Any) -> bool:
        return isinstance(key, _KEY_TYPES)

    def transaction_for_timer(self, key: Any) -> Transaction | None:
        if key.__class__ is TransactionKey and key.sent_by is None:
            return self.clients.get(key)
        return self.servers.get(key)

    def handle_timer(self, name: str, key: Any, now: float) -> tuple[Transaction | None, list[Any]]:
        tx = self.transaction_for_timer(key)
        if tx is None:
            return None, []
        return tx, self._reap(tx, tx.handle_timer(name, now))

    def transport_error(self, message: Request | Response,
                        now: float) -> tuple[Transaction | None, list[Any]]:
        """The transport could not send ``message`` (RFC 3261 17.1.4, RFC 6026 8.8):
        tell the transaction that sent it, if it is still there."""
        tx: Transaction | None
        if isinstance(message, Request):
            key = client_key(message)
            tx = self.clients.get(key) if key is not None else None  # type: ignore[arg-type]
        else:
            tx = next((t for t in self.servers.values() if t.last_response is message), None)
        if tx is None or tx.terminated:
            return None, []
        return tx, self._reap(tx, tx.transport_error(now, "transport error"))

    def receive_response(self, tx: ClientTransaction, response: Response, now: float) -> list[Any]:
        return self._reap(tx, tx.receive_response(response, now))

    def receive_request(self, tx: ServerTransaction, request: Request, now: float) -> list[Any]:
        return self._reap(tx, tx.receive_request(request, now))

    def send_response(self, tx: ServerTransaction, response: Response, now: float) -> list[Any]:
        if tx.terminated:
            return []
        return self._reap(tx, tx.send_response(response, now))

    def discard(self, tx: Transaction) -> list[Any]:
        """Destroy ``tx`` without waiting for it (RFC 3261 9.1: an INVITE client transaction
        with no final response 64*T1 after its CANCEL). Returns the CancelTimer effects."""
        out: list[Any] = [CancelTimer(timer, tx.key) for timer in tx.armed_timers]
        if isinstance(tx, ClientTransaction):
            self.clients.pop(tx.key, None)  # type: ignore[arg-type]
        else:
            self.servers.pop(tx.key, None)
        return out

    def reap(self, tx: Transaction, outputs: list[Any]) -> list[Any]:
        """Forget ``tx`` if ``outputs`` (of one of its inputs) report it Terminated; returns
        ``outputs``. For an owner that feeds ``tx`` itself (the table's own input methods
        do this already)."""
        # Only a step into Terminated reports Terminated, as its last output
        # (Transaction._step): look at the outputs only then.
        if tx.state is _TERMINATED and outputs and outputs[-1] is TERMINATED:
            if isinstance(tx, ClientTransaction):
                self.clients.pop(tx.key, None)  # type: ignore[arg-type]
            else:
                self.servers.pop(tx.key, None)
        return outputs

    _reap = reap


class TransactionOwner:
    """What every core that owns a :class:`TransactionTable` offers its adapter.

    The core provides ``transactions`` and ``_absorb(tx, outputs, now, out)``.
    """

    __slots__ = ()
    transactions: TransactionTable

    def _absorb(self, tx: Any, outputs: list[Any], now: float, out: list[Any]) -> None:
        raise NotImplementedError

    def _to_server_transaction(self, request: Request, now: float, out: list[Any]) -> bool:
        """Give ``request`` to the server transaction it matches (RFC 3261 17.2.3), if any.

        That is a retransmission, or the ACK of a non-2xx final response; the
        transaction answers it (17.2.1 / 17.2.2). Returns whether there was one.
        """
        tx = self.transactions.find_server(request)
        if tx is None:
            return False
        self._absorb(tx, self.transactions.receive_request(tx, request, now), now, out)
        return True

    def transport_error(self, message: Request | Response, destination: Address,
                        now: float) -> list[Any]:
        """The adapter could not deliver ``message`` to ``destination`` (a refused or
        failed connection): its transaction reports it (RFC 3261 8.1.3.1: treated like a
        503 for a request; RFC 6026 8.8: a server transaction stays as it is)."""
        out: list[Any] = []
        tx, outputs = self.transactions.transport_error(message, now)
        if tx is not None:
            self._absorb(tx, outputs, now, out)
        return out

