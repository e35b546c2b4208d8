"""Plumbing of the user agent core: transactions, OPTIONS, request dispatch (registration and
digest answers come from :mod:`.registration`)."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from simvoip.sip.dialog import Dialog, DialogState, next_hop
from simvoip.sip.digest import Challenge, DigestClient
from simvoip.sip.effects import (
    Address,
    CancelTimer,
    Send,
    StartTimer,
    fast_send,
)
from simvoip.sip.errors import LocalProtocolError, ParseError, RemoteProtocolError
from simvoip.sip.grammar import split_commas
from simvoip.sip.message import Headers, Request, Response
from simvoip.sip.screening import screen_request, screen_response
from simvoip.sip.transaction.builders import make_cancel
from simvoip.sip.transaction.client import ClientTransaction
from simvoip.sip.transaction.events import (
    RequestReceived,
    ResponseReceived,
    Terminated,
    TimedOut,
    TransportFailed,
)
from simvoip.sip.transaction.keys import TransactionKey, transaction_key, via_reads_back
from simvoip.sip.transaction.server import InviteServerTransaction, ServerTransaction
from simvoip.sip.ua.call import ArmedTimers, Call, UATimerKey
from simvoip.sip.ua.config import UAConfig
from simvoip.sip.ua.events import (
    OptionsResult,
    RegistrationFailed,
    call_started,
)
from simvoip.sip.ua.messages import (
    canonical_headers,
    make_response,
    new_branch,
    new_call_id,
    new_tag,
)
from simvoip.sip.ua.registration import RegistrationMixin
from simvoip.sip.ua.transactions import (
    TransactionOwner,
    TransactionTable,
    response_address,
    stamp_received,
)

__all__ = ["UserAgentBase", "ALLOW", "KNOWN_METHODS"]

#: Methods this UA implements (RFC 3261 20.5 Allow).
ALLOW = ("INVITE", "ACK", "CANCEL", "BYE", "OPTIONS")
#: Methods it knows of but does not accept (405 rather than 501, RFC 3261 8.2.1).
KNOWN_METHODS = ("REGISTER", "PRACK", "SUBSCRIBE", "NOTIFY", "REFER", "INFO", "UPDATE",
                 "MESSAGE", "PUBLISH")


class UserAgentBase(RegistrationMixin, TransactionOwner):
    """Plumbing of :class:`~simvoip.sip.ua.core.UserAgent`: transactions, OPTIONS, request
    dispatch. Registration and digest answers come from
    :class:`~simvoip.sip.ua.registration.RegistrationMixin`; the INVITE usage lives in the
    caller and callee mixins (:mod:`.uac`, :mod:`.uas`); the stubs at the end name what
    they provide.
    """

    def __init__(self, config: UAConfig, rng: random.Random) -> None:
        self.config = config
        self.rng = rng
        self.transactions = TransactionTable(config.timers)
        self.digest = DigestClient(dict(config.credentials), rng)
        #: Last challenge per realm: (credentials header name, challenge).
        self._challenges: dict[str, tuple[str, Challenge]] = {}
        #: Active calls by Call-ID; finished ones move to :attr:`history`.
        self.calls: dict[str, Call] = {}
        self.history: dict[str, Call] = {}
        #: Requests refused by RFC 3261 8.2 validation, by status (0: dropped, e.g. an ACK).
        self.rejected: dict[int, int] = {}
        #: What each of our client transactions is for: key -> (purpose, call_id).
        self._purpose: dict[Any, tuple[str, str]] = {}
        self._server_call: dict[Any, str] = {}
        #: Owner (Call-ID ...) -> how many of the two maps above name it: a finished
        #: call retires once none does. Kept by _own_client/_own_server/_disown.
        self._live: dict[str, int] = {}
        self._reg_call_id: str | None = None
        self._reg_cseq = self._initial_cseq() - 1
        self._reg_expires = config.register_expires
        self.registered_until: float | None = None
        self._reg_tx: ClientTransaction | None = None
        #: The client transaction _start_client created last.
        self._last_client: ClientTransaction | None = None
        self._register_again = False
        #: Which per-call timers are armed (CancelTimer only for those).
        self._armed = ArmedTimers()
        #: Whether our Via reads back as written (see _own_key); found on first use.
        self._plain_via: bool | None = None

    # -- public API -------------------------------------------------------------------------

    @property
    def transaction_count(self) -> int:
        """Live transactions (client + server) - zero once everything has settled."""
        return len(self.transactions)

    @property
    def active_calls(self) -> list[Call]:
        """Calls in progress (set up or established, not yet failed or ended).

        :attr:`calls` also holds finished calls until their last transaction
        is gone (up to 64*T1 after the BYE), so count these for busy lines.
        """
        return [c for c in self.calls.values() if not c.finished]

    @property
    def dialog_count(self) -> int:
        """Dialogs (early or confirmed) of active calls."""
        return sum(
            1 for c in self.calls.values() for d in c.dialogs.values()
            if d.state is not DialogState.TERMINATED
        )

    def call(self, call_id: str) -> Call:
        """The call record (active or finished) for ``call_id``."""
        found = self.calls.get(call_id) or self.history.get(call_id)
        if found is None:
            raise LocalProtocolError(f"no call {call_id!r}")
        return found

    def forget(self, call_id: str) -> Call | None:
        """Drop a finished call's record from :attr:`history` (long runs) and return it."""
        return self.history.pop(call_id, None)

    def crashed(self, now: float) -> bool:
        crash = self.config.behaviour.crash_at
        return crash is not None and now >= crash

    def options(self, target: str, now: float) -> list[Any]:
        """Send OPTIONS to ``target`` (RFC 3261 11); the result comes as :class:`OptionsResult`."""
        if self.crashed(now):
            return []
        headers = self._base_headers(
            branch=new_branch(self.rng), to=f"<{target}>",
            from_=f"<{self.config.aor}>;tag={new_tag(self.rng)}",
            call_id=new_call_id(self.rng, self.config.host), cseq=f"{self._initial_cseq()} OPTIONS",
        )
        headers.add("Accept", "application/sdp")
        request = Request("OPTIONS", target, headers)
        return self._start_client(request, self._first_hop(request), "options", target, now)

    # -- inputs from the adapter ------------------------------------------------------------

    def receive(self, message: Request | Response, source: Address, now: float) -> list[Any]:
        """A parsed message arrived from ``source``."""
        crash = self.config.behaviour.crash_at
        if crash is not None and now >= crash:
            return []
        out: list[Any] = []
        try:
            if isinstance(message, Response):
                if not screen_response(message, role="uas"):
                    self._receive_response(message, now, out)
            else:
                request = stamp_received(message, source)
                # RFC 3261 8.2: a request we cannot process gets its 4xx/5xx here.
                screened = screen_request(request, role="uas", rng=self.rng)
                if screened is not None:
                    code = screened[0].message.status_code if screened else 0  # type: ignore[union-attr]
                    self.rejected[code] = self.rejected.get(code, 0) + 1
                    return list(screened)
                self._receive_request(request, now, out)
        except RemoteProtocolError:
            # A peer sent something we cannot use (missing headers, bad values): drop it.
            # Requests that can be answered are answered before this point.
            pass
        return out

    def handle_timer(self, name: str, key: Any, now: float) -> list[Any]:
        """Timer ``name`` armed with ``key`` fired."""
        if key.__class__ is UATimerKey:
            self._armed.fired(key)  # the adapter disarmed it
        crash = self.config.behaviour.crash_at
        if crash is not None and now >= crash:
            return []
        out: list[Any] = []
        transactions = self.transactions
        if transactions.owns_timer(key):
            tx, outputs = transactions.handle_timer(name, key, now)
            if tx is not None:
                self._absorb(tx, outputs, now, out)
            return out
        if not isinstance(key, UATimerKey):
            return out
        if key.kind == "register":
            out.extend(self.register(now))
            return out
        call = self.calls.get(key.owner)
        if call is not None:
            self._call_timer(call, key, now, out)
            self._maybe_retire(call)
        return out

    # -- plumbing ------------------------------------------------------------------------------

    def _initial_cseq(self) -> int:
        start = self.config.initial_cseq
        return start if start is not None else self.rng.randint(1, 2**16)  # 8.1.1.5: < 2**31

    def _base_headers(self, *, branch: str, to: str, from_: str, call_id: str, cseq: str,
                      route: bool = True, extra: list[tuple[str, str]] | None = None) -> Headers:
        """The rows every new request starts with, then ``extra`` (canonical names)."""
        config = self.config
        rows = [("Via", f"{_sent(config)};branch={branch}"),
                ("Max-Forwards", "70")]
        if route and config.outbound_proxy:
            rows.append(("Route", f"<{config.outbound_proxy}>"))
        rows += [("From", from_), ("To", to), ("Call-ID", call_id), ("CSeq", cseq)]
        if config.user_agent:
            rows.append(("User-Agent", config.user_agent))
        if extra:
            rows += extra
        return canonical_headers(rows)

    def _via(self) -> str:
        return f"{_sent(self.config)};branch={new_branch(self.rng)}"

    def _via_and_key(self, method: str) -> tuple[str, TransactionKey | None]:
        """A Via with a fresh branch (as :meth:`_via`) and the key of the client
        transaction that sends it (``None``: let the transaction read it back)."""
        branch = new_branch(self.rng)
        via = f"{_sent(self.config)};branch={branch}"
        return via, self._own_key(branch, method)

    def _own_key(self, branch: str, method: str) -> TransactionKey | None:
        """client_key of a request whose top Via is ours with ``branch`` (RFC 3261 17.1.3:
        branch and method), without parsing the Via back; ``None`` if our sent-by is
        unusual enough that only parsing it tells."""
        plain = self._plain_via
        if plain is None:
            plain = self._plain_via = _reads_back(self.config)
        return transaction_key(branch, None, method) if plain else None

    def _first_hop(self, request: Request) -> Address:
        route = request.headers.get("Route")
        return next_hop(split_commas(route)[0] if route else request.uri, self.config.transport)

    def _start_client(self, request: Request, destination: Address, purpose: str, owner: str,
                      now: float, key: TransactionKey | None = None) -> list[Any]:
        out: list[Any] = []
        tx, outputs = self.transactions.start_client(request, destination, now, key=key)
        self._own_client(tx.key, purpose, owner)
        if purpose == "register":
            self._reg_tx = tx
        self._absorb(tx, outputs, now, out)
        self._last_client = tx
        return out

    def _send(self, message: Request | Response, destination: Address, now: float,
              out: list[Any]) -> None:
        out.append(fast_send(message, destination))
        self._record(message, now)

    def _record(self, message: Request | Response, now: float, direction: str = "sent") -> None:
        # The Call-ID row as such: a missing or malformed one (which the call_id view
        # refuses) is never a key of self.calls.
        call = self.calls.get(message.headers.get("Call-ID"))  # type: ignore[arg-type]
        if call is None:
            return
        call.messages.append((now, direction, message))
        if direction == "sent":
            if isinstance(message, Request):
                label = f"{message.method} {message.cseq.number}"
            else:
                label = f"{message.status_code} {message.cseq} {message.to.tag or ''}"
            call.count_send(label)

    def _absorb(self, tx: ClientTransaction | ServerTransaction | Any, outputs: list[Any],
                now: float, out: list[Any]) -> None:
        """Pass transaction effects out; hand transaction events to the right handler.

        Effects go first (e.g. the ACK of a 407), then events (which may send new
        requests), then termination.
        """
        events: list[Any] | None = None
        terminated = False
        for o in outputs:
            cls = o.__class__  # the effect classes have no subclasses: compare classes
            if cls is Send:
                out.append(o)
                self._record(o.message, now)
            elif cls is StartTimer or cls is CancelTimer:
                out.append(o)
            elif cls is Terminated:
                terminated = True
            elif events is None:
                events = [o]
            else:
                events.append(o)
        if events is not None:
            if isinstance(tx, ClientTransaction):
                for o in events:
                    self._client_event(tx, o, now, out)
            else:
                for o in events:
                    if isinstance(o, RequestReceived):
                        # RFC 6026 8.7: an ACK matched an IST in Accepted: same as a 2xx ACK.
                        self._receive_ack_for_2xx(o.request, now, out)
                    elif isinstance(o, TimedOut) and isinstance(tx, InviteServerTransaction):
                        self._ist_timed_out(tx, now, out)
        if terminated:
            self._transaction_terminated(tx, now, out)

    # -- which transactions belong to what (for retiring finished calls) ------------------------

    def _own_client(self, key: Any, purpose: str, owner: str) -> None:
        old = self._purpose.get(key)
        if old is not None:
            self._unlive(old[1])
        self._purpose[key] = (purpose, owner)
        self._live[owner] = self._live.get(owner, 0) + 1

    def _own_server(self, key: Any, call_id: str) -> None:
        old = self._server_call.get(key)
        if old == call_id:
            return  # already (a request is owned on arrival and again by its handler)
        if old is not None:
            self._unlive(old)
        self._server_call[key] = call_id
        self._live[call_id] = self._live.get(call_id, 0) + 1

    def _disown(self, key: Any, *, server: bool = True) -> str | None:
        """Forget transaction ``key``; its owner (purpose owner or, with ``server``, the
        server transaction's call), if any."""
        purpose = self._purpose.pop(key, None)
        if purpose:
            owner: str | None = purpose[1]
        elif server:
            owner = self._server_call.pop(key, None)
        else:
            owner = None
        if owner is not None:
            self._unlive(owner)
        return owner

    def _unlive(self, owner: str) -> None:
        n = self._live[owner] - 1
        if n:
            self._live[owner] = n
        else:
            del self._live[owner]

    def _transaction_terminated(self, tx: Any, now: float, out: list[Any]) -> None:
        owner = self._disown(tx.key)
        if owner:
            call = self.calls.get(owner)
            if call is not None:
                self._maybe_retire(call)

    def _client_event(self, tx: ClientTransaction, event: Any, now: float, out: list[Any]) -> None:
        purpose, owner = self._purpose.get(tx.key, ("", ""))
        if isinstance(event, ResponseReceived):
            response = event.response
            self._record(response, now, "received")
            if purpose == "register":
                self._register_response(tx, response, now, out)
            elif purpose == "options":
                if response.status_code >= 200 and not self._auth_retry(tx, response, purpose,
                                                                         owner, now, out):
                    out.append(OptionsResult(owner, response.status_code, now))
            elif purpose in ("invite", "reinvite", "bye", "cancel"):
                call = self.calls.get(owner)
                if call is not None:
                    self._call_response(call, purpose, tx, response, now, out)
                elif purpose == "bye" and response.status_code >= 200:
                    self._end_late_dialogs(owner)
        elif isinstance(event, TimedOut | TransportFailed):
            status = 408 if isinstance(event, TimedOut) else 503
            if purpose == "register":
                out.append(RegistrationFailed(self.config.aor, status, now))
                self._registration_settled(now, out)
            elif purpose == "options":
                out.append(OptionsResult(owner, status, now))
            else:
                call = self.calls.get(owner)
                if call is not None:
                    self._call_timeout(call, purpose, tx, status, now, out)
                elif purpose == "bye":
                    self._end_late_dialogs(owner)

    def _end_late_dialogs(self, call_id: str) -> None:
        """A BYE for a late 2xx of a call that had already failed (e.g. 2xx after Timer
        B) got its final response or timed out: that dialog is over too (RFC 3261 15.1.1:
        a final response, or none at all, terminates the dialog)."""
        late = self.history.get(call_id)
        if late is not None:
            for dialog in late.dialogs.values():
                dialog.state = DialogState.TERMINATED

    # -- requests in (RFC 3261 8.2) ---------------------------------------------------------------

    def _receive_response(self, response: Response, now: float, out: list[Any]) -> None:
        tx = self.transactions.find_client(response)
        if tx is not None:
            self._absorb(tx, self.transactions.receive_response(tx, response, now), now, out)
            return
        # RFC 3261 13.2.2.4 / 17.1.1.2: a 2xx retransmission after the INVITE client
        # transaction is gone still goes to the core, which re-sends the ACK.
        if 200 <= response.status_code < 300 and response.cseq.method == "INVITE":
            call = self.calls.get(response.call_id) or self.history.get(response.call_id)
            if call is not None:
                self._record(response, now, "received")
                self._invite_2xx(call, response, now, out)

    def _receive_request(self, request: Request, now: float, out: list[Any]) -> None:
        if self._to_server_transaction(request, now, out):
            return  # a retransmission, or the ACK of a non-2xx final response
        if request.method == "ACK":
            self._receive_ack_for_2xx(request, now, out)
            return
        if request.method == "BYE" and self.config.behaviour.ignore_bye:
            return  # test behaviour: a broken phone that never answers BYE
        if request.method == "INVITE":
            auto_trying = not self._answers_quickly(request)
        else:
            auto_trying = True
        server, outputs = self.transactions.start_server(request, now, auto_trying=auto_trying)
        self._own_server(server.key, request.call_id)
        self._absorb(server, outputs, now, out)
        try:
            self._new_request(server, request, now, out)
        except RemoteProtocolError as exc:
            # A header we needed did not parse: answer 400 (RFC 3261 8.2) rather than
            # leave the server transaction without a response.
            last = server.last_response
            if last is None or last.status_code < 200:
                self._respond(server, exc.status_code or 400, now, out)

    def _respond(self, tx: ServerTransaction, status: int, now: float, out: list[Any], *,
                 to_tag: str | None = None, extra: list[tuple[str, str]] | None = None,
                 body: bytes = b"", reason: str | None = None) -> Response:
        response = make_response(tx.request, status, reason, to_tag=to_tag, extra=extra, body=body)
        self._absorb(tx, self.transactions.send_response(tx, response, now), now, out)
        return response

    def _new_request(self, tx: ServerTransaction, request: Request, now: float,
                     out: list[Any]) -> None:
        method = request.method
        tag = new_tag(self.rng)
        if method not in ALLOW:
            # RFC 3261 8.2.1: 405 for known methods we do not accept, 501 otherwise; both
            # carry Allow.
            status = 405 if method in KNOWN_METHODS else 501
            self._respond(tx, status, now, out, to_tag=tag, extra=[("Allow", ", ".join(ALLOW))])
            return
        required = [t for row in request.headers.get_all("Require") for t in split_commas(row)]
        if required and method != "CANCEL":
            # RFC 3261 8.2.2.3: we support no extensions.
            self._respond(tx, 420, now, out, to_tag=tag,
                          extra=[("Unsupported", ", ".join(required))])
            return
        if method == "CANCEL":
            self._receive_cancel(tx, request, now, out)
            return
        try:
            to_tag = request.to.tag
        except ParseError:
            self._respond(tx, 400, now, out)
            return
        if to_tag:
            self._in_dialog_request(tx, request, now, out)
            return
        if method == "INVITE":
            self._new_invite(tx, request, now, out)
        elif method == "OPTIONS":
            self._respond(tx, 200, now, out, to_tag=tag, extra=self._capabilities())
        else:
            # A BYE outside any dialog (no To tag).
            self._respond(tx, 481, now, out, to_tag=tag)

    def _capabilities(self) -> list[tuple[str, str]]:
        # RFC 3261 11.2: OPTIONS answer lists Allow, Accept, Accept-Encoding, Supported.
        return [("Allow", ", ".join(ALLOW)), ("Accept", "application/sdp"),
                ("Accept-Encoding", "identity"), ("Supported", "")]

    def _in_dialog_request(self, tx: ServerTransaction, request: Request, now: float,
                           out: list[Any]) -> None:
        call = self.calls.get(request.call_id)
        dialog = None
        if call is not None:
            dialog = call.dialogs.get(request.from_.tag or "")
            if dialog is not None and dialog.local_tag != request.to.tag:
                dialog = None
        if call is None or dialog is None or dialog.state is DialogState.TERMINATED:
            # RFC 3261 12.2.2: no matching dialog -> 481.
            self._respond(tx, 481, now, out)
            return
        if not dialog.accept_remote_request(request):
            # RFC 3261 12.2.2: CSeq lower than the remote CSeq -> 500.
            self._respond(tx, 500, now, out, reason="Out of Order")
            return
        self._own_server(tx.key, call.call_id)
        if request.method == "BYE":
            self._receive_bye(call, dialog, tx, request, now, out)
        elif request.method == "INVITE":
            self._receive_reinvite(call, dialog, tx, request, now, out)
        else:
            self._respond(tx, 200, now, out, extra=self._capabilities())

    def _maybe_retire(self, call: Call) -> None:
        """Move a finished call to history once nothing of it is left (no transaction,
        no 2xx being retransmitted)."""
        if not call.finished or call.pending_ok:
            return
        if self._live.get(call.call_id):
            return
        for d in call.dialogs.values():
            d.state = DialogState.TERMINATED
        self.calls.pop(call.call_id, None)
        self.history[call.call_id] = call

    def _started(self, call: Call, now: float, out: list[Any]) -> None:
        out.append(call_started(call.call_id, call.target, now))

    @staticmethod
    def _response_address(message: Request | Response) -> Address:
        return response_address(message)

    def _cancel_request(self, call: Call) -> Request:
        assert call.invite is not None
        return make_cancel(call.invite)

    # -- provided by the INVITE mixins (uac.py / uas.py) ---------------------------------------

    if TYPE_CHECKING:
        def cancel(self, call_id: str, now: float) -> list[Any]: ...
        def reject(self, call_id: str, status: int, now: float) -> list[Any]: ...
        def can_reinvite(self, call_id: str) -> bool: ...
        def _send_bye(self, call: Call, dialog: Dialog, now: float, out: list[Any]) -> None: ...
        def _fail(self, call: Call, status: int, reason: str, now: float, out: list[Any]) -> None: ...
        def _end(self, call: Call, reason: str, now: float, out: list[Any]) -> None: ...
        def _invite_2xx(self, call: Call, response: Response, now: float, out: list[Any]) -> None: ...
        def _call_response(self, call: Call, purpose: str, tx: ClientTransaction, response: Response, now: float, out: list[Any]) -> None: ...
        def _call_timeout(self, call: Call, purpose: str, tx: ClientTransaction, status: int, now: float, out: list[Any]) -> None: ...
        def _call_timer(self, call: Call, key: UATimerKey, now: float, out: list[Any]) -> None: ...
        def _uas_timer(self, call: Call, key: UATimerKey, now: float, out: list[Any]) -> None: ...
        def _answers_quickly(self, request: Request) -> bool: ...
        def _new_invite(self, tx: ServerTransaction, request: Request, now: float, out: list[Any]) -> None: ...
        def _receive_cancel(self, tx: ServerTransaction, cancel: Request, now: float, out: list[Any]) -> None: ...
        def _receive_bye(self, call: Call, dialog: Dialog, tx: ServerTransaction, bye: Request, now: float, out: list[Any]) -> None: ...
        def _receive_reinvite(self, call: Call, dialog: Dialog, tx: ServerTransaction, request: Request, now: float, out: list[Any]) -> None: ...
        def _receive_ack_for_2xx(self, ack: Request, now: float, out: list[Any]) -> None: ...
        def _ist_timed_out(self, tx: InviteServerTransaction, now: float, out: list[Any]) -> None: ...


def _sent(config: UAConfig) -> str:
    """The Via of every request the UA sends, up to its branch (RFC 3261 8.1.1.7)."""
    return f"SIP/2.0/{config.transport.upper()} {config.sent_by}"


def _reads_back(config: UAConfig) -> bool:
    """Whether the UA's Via for ``config`` gives its branch back when parsed."""
    return via_reads_back(_sent(config), "z9hG4bK0123456789ab")
