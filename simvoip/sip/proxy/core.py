"""The proxy core (RFC 3261 section 16), stateful or stateless, with an optional registrar.

Sans-I/O like the UA: ``receive(message, source, now)``,
``handle_timer(name, key, now)``, outputs are effects (Send, StartTimer,
CancelTimer). A stateful proxy keeps a *response context* per INVITE/
non-INVITE server transaction with one *branch* (client transaction) per
target, forwards provisional and 2xx responses at once, picks the best final
response (16.7), propagates CANCEL (16.10) and guards INVITE branches with
Timer C (16.8). Stateless mode (16.11) forwards every message without
transactions.

>>> import random
>>> from simvoip.sip.location import LocationService
>>> p = Proxy(ProxyConfig(host="ss1.atlanta.example.com", domain="atlanta.example.com"),
...           random.Random(0), LocationService())
>>> p.transaction_count, p.context_count
(0, 0)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from simvoip.sip.digest import DigestServer
from simvoip.sip.effects import Address, CancelTimer, Send, StartTimer, fast_send
from simvoip.sip.errors import ParseError, RemoteProtocolError
from simvoip.sip.location import LocationService, aor_of
from simvoip.sip.message import Request, Response
from simvoip.sip.proxy.context import (
    TIMER_BITS,
    ProxyTimerKey,
    ResponseContext,
    cancel_branch_timers,
)
from simvoip.sip.proxy.forking import ForkingMixin
from simvoip.sip.proxy.routing import (
    detect_loop,
    loop_hash,
    preprocess_with_routes,
    routes_of,
    validate,
)
from simvoip.sip.proxy.stateless import pop_via as _pop_via
from simvoip.sip.proxy.stateless import stateless_request
from simvoip.sip.registrar import Registrar
from simvoip.sip.screening import screen_response
from simvoip.sip.transaction.client import ClientTransaction
from simvoip.sip.transaction.events import ResponseReceived, Terminated, TimedOut, TransportFailed
from simvoip.sip.transaction.server import ServerTransaction
from simvoip.sip.transaction.timers import TimerConfig
from simvoip.sip.ua.messages import make_response, new_tag
from simvoip.sip.ua.transactions import (
    TransactionOwner,
    TransactionTable,
    response_address,
    stamp_received,
)
from simvoip.sip.uri import SipUri

__all__ = ["Proxy", "ProxyConfig", "ProxyTimerKey"]


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    """Identity and policy of a proxy.

    Parameters
    ----------
    host : str
        The proxy's own host name (Via sent-by, Record-Route URI).
    domain : str
        The domain it is responsible for: Request-URIs in it go to the location service.
    record_route : bool
        Insert ``Record-Route: <sip:host;lr>`` in dialog-creating requests (16.6 item 4).
    stateful : bool
        Transaction-stateful (16.2-16.10) or stateless (16.11).
    forking : str
        ``"parallel"`` or ``"sequential"`` (16.6, 16.7).
    timer_c : float
        INVITE branch timeout, more than 3 minutes (16.8).
    sequential_timeout : float or None
        In sequential forking, give each target this long before CANCELling it and
        trying the next one (``None``: only a final response moves on).
    supported : tuple of str
        Option tags accepted in Proxy-Require (16.3 item 5).
    auth_scope : str
        With an authenticator: ``"local"`` challenges requests from users of our domain,
        ``"all"`` every new request (RFC 3665 3.3: both proxies challenge).
    """

    host: str
    domain: str
    port: int = 5060
    transport: str = "UDP"
    record_route: bool = True
    stateful: bool = True
    forking: str = "parallel"
    timer_c: float = 180.5
    sequential_timeout: float | None = None
    supported: tuple[str, ...] = ()
    auth_scope: str = "local"
    timers: TimerConfig = field(default_factory=TimerConfig)

    @property
    def sent_by(self) -> str:
        return self.host if self.port == 5060 else f"{self.host}:{self.port}"

    @property
    def record_route_uri(self) -> str:
        return f"<sip:{self.sent_by};lr>"


class Proxy(ForkingMixin, TransactionOwner):
    """A SIP proxy for one domain, with its registrar when given one.

    Parameters
    ----------
    config : ProxyConfig
        Host, domain, routing policy.
    rng : random.Random
        Branch random parts and response tags.
    location : LocationService, optional
        Where Request-URIs of ``config.domain`` are looked up (16.5).
    registrar : Registrar, optional
        Handles REGISTER addressed to this domain or host.
    authenticator : DigestServer, optional
        Challenges requests from users of our domain with 407 (RFC 3261 22.3).
    """

    def __init__(self, config: ProxyConfig, rng: random.Random,
                 location: LocationService | None = None, registrar: Registrar | None = None,
                 authenticator: DigestServer | None = None) -> None:
        self.config = config
        self.rng = rng
        self.location = location if location is not None else LocationService()
        self.registrar = registrar
        self.authenticator = authenticator
        self.transactions = TransactionTable(config.timers)
        self._contexts: dict[int, ResponseContext] = {}
        self._by_server: dict[Any, int] = {}
        self._by_client: dict[Any, tuple[int, int]] = {}
        self._cancels: dict[Any, int] = {}
        self._next_context = 0
        #: Counters for tests and traces (16.3 rejections, stateless forwards ...).
        self.stats: dict[str, int] = {}

    # -- introspection --------------------------------------------------------------------

    @property
    def transaction_count(self) -> int:
        return len(self.transactions)

    @property
    def context_count(self) -> int:
        return len(self._contexts)

    def _count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1

    # -- inputs -------------------------------------------------------------------------------

    def receive(self, message: Request | Response, source: Address, now: float) -> list[Any]:
        out: list[Any] = []
        try:
            if isinstance(message, Response):
                if screen_response(message, role="proxy"):
                    self._count("dropped")
                else:
                    self._receive_response(message, now, out)
            else:
                self._receive_request(stamp_received(message, source), now, out)
        except RemoteProtocolError:
            self._count("dropped")
        return out

    def handle_timer(self, name: str, key: Any, now: float) -> list[Any]:
        out: list[Any] = []
        transactions = self.transactions
        if transactions.owns_timer(key):
            tx = transactions.transaction_for_timer(key)
            if tx is not None:
                self._absorb(tx, transactions.reap(tx, tx.handle_timer(name, now)), now, out)
        elif isinstance(key, ProxyTimerKey):
            ctx = self._contexts.get(key.context)
            if ctx is not None and key.branch < len(ctx.branches):
                branch = ctx.branches[key.branch]
                branch.armed &= ~TIMER_BITS.get(key.kind, 0)  # it fired: no longer armed
                self._branch_timer(ctx, branch, key.kind, now, out)
        return out

    # -- requests -------------------------------------------------------------------------------

    def _receive_request(self, request: Request, now: float, out: list[Any]) -> None:
        cfg = self.config
        if not cfg.stateful:
            self._stateless_request(request, now, out)
            return
        if self._to_server_transaction(request, now, out):
            return
        if request.method == "ACK":
            # An ACK for a 2xx: no transaction of ours; forward it statelessly (16.10... 16.11).
            self._stateless_request(request, now, out)
            return
        if request.method == "CANCEL":
            self._receive_cancel(request, now, out)
            return
        status, extra, loop = self._check(request, now)
        if status is None and request.method == "REGISTER" and self._is_registrar_for(request):
            server, outputs = self.transactions.start_server(request, now)
            self._absorb(server, outputs, now, out)
            assert self.registrar is not None
            response = self.registrar.handle_register(request, now)
            self._absorb(server, self.transactions.send_response(server, response, now), now, out)
            return
        targets: list[str] = []
        routes: list[str] | None = None
        if status is None:
            forwarded, routes = preprocess_with_routes(self._strip_own_credentials(request), cfg.host, cfg.port)
            targets, status = self._targets(forwarded, now, routes)
            extra = []
        # RFC 3261 16.2: a stateful proxy answers INVITE with 100 Trying itself (the
        # server transaction does that on start) unless it answers at once anyway.
        server, trying = self.transactions.start_server(request, now,
                                                        auto_trying=status is None)
        self._absorb(server, [o for o in trying if not isinstance(o, Send)], now, out)
        if status is not None:
            self._count(f"rejected-{status}")
            self._reply(server, status, now, out, extra=extra)
            return
        ctx_id = self._next_context
        self._next_context += 1
        ctx = ResponseContext(ctx_id, server, forwarded, targets,
                              loop if loop is not None else loop_hash(request), routes=routes)
        self._contexts[ctx_id] = ctx
        self._by_server[server.key] = ctx_id
        try:
            if cfg.forking == "sequential" and request.method == "INVITE":
                self._try_next(ctx, now, out)
            else:
                while ctx.targets:
                    self._fork(ctx, ctx.targets.pop(0), now, out)
        except RemoteProtocolError as exc:
            # A Route or target URI we cannot use: answer rather than leave the server
            # transaction hanging.
            if not ctx.branches:
                del self._contexts[ctx_id]
                del self._by_server[server.key]
                self._absorb(server, trying, now, out)
                self._reply(server, exc.status_code or 400, now, out)
                return
        # The 100 Trying goes out after the forwarded request (the order of RFC 3665).
        self._absorb(server, [o for o in trying if isinstance(o, Send)], now, out)

    def _check(self, request: Request,
               now: float) -> tuple[int | None, list[tuple[str, str]], str | None]:
        """16.3 checks: ``(status, extra headers, loop hash)``; the loop hash of the
        request (once validated) serves the response context too."""
        cfg = self.config
        status, extra = validate(request, host=cfg.host, port=cfg.port, supported=cfg.supported)
        if status is not None:
            return status, extra, None
        loop = loop_hash(request)
        if detect_loop(request, host=cfg.host, port=cfg.port, loop=loop):
            # RFC 3261 16.3 item 4: the request has been here before with the same
            # Request-URI, tags and CSeq: a loop, not a spiral.
            return 482, [], loop
        if self._needs_authentication(request):
            assert self.authenticator is not None
            check = self.authenticator.check_request(request, now, proxy=True)
            if check.status is not None:
                return check.status, [check.header] if check.header else [], loop
        return None, [], loop

    def _needs_authentication(self, request: Request) -> bool:
        if self.authenticator is None or request.method in ("ACK", "CANCEL", "REGISTER"):
            return False
        if request.to.tag:
            return False
        if self.config.auth_scope == "all":
            return True
        try:
            return SipUri.parse(request.from_.uri).host.lower() == self.config.domain.lower()
        except ParseError:
            return False

    def _strip_own_credentials(self, request: Request) -> Request:
        # RFC 3261 22.3: a proxy may remove the credentials meant for its own realm.
        if self.authenticator is None:
            return request
        realm = f'realm="{self.authenticator.realm}"'
        rows = request.headers.get_all("Proxy-Authorization")
        if not any(realm in r for r in rows):
            return request
        headers = request.headers.copy()
        headers.remove("Proxy-Authorization")
        for r in rows:
            if realm not in r:
                headers.add("Proxy-Authorization", r)
        return Request(request.method, request.uri, headers, request.body, request.version)

    def _is_registrar_for(self, request: Request) -> bool:
        if self.registrar is None or routes_of(request):
            return False
        try:
            host = SipUri.parse(request.uri).host.lower()
        except ParseError:
            return False
        return host in (self.config.domain.lower(), self.config.host.lower(),
                        *(a.lower() for a in self.registrar.config.aliases))

    def _targets(self, request: Request, now: float,
                 routes: list[str] | None = None) -> tuple[list[str], int | None]:
        """RFC 3261 16.5: the target set (location lookup for our domain).

        ``routes``: :func:`routes_of` ``request``, when the caller has it already."""
        if routes is None:
            routes = routes_of(request)
        if routes:
            # A Route remains: forward to the Request-URI via that Route (16.5 / 16.6).
            return [request.uri], None
        uri = SipUri.parse(request.uri)
        host = uri.host.lower()
        domain = self.config.domain.lower()
        if host == domain and uri.user is not None:
            bindings = self.location.lookup(aor_of(request.uri), now)
            if not bindings:
                # 16.5: no binding for a user of our domain -> 480 Temporarily Unavailable.
                return [], 480
            return [b.contact for b in bindings], None
        if host in (domain, self.config.host.lower()) and uri.user is None:
            # Addressed to us as a UAS (e.g. OPTIONS to the proxy): nothing behind it.
            return [], 200 if request.method == "OPTIONS" else 404
        return [request.uri], None

    def _reply(self, server: ServerTransaction, status: int, now: float, out: list[Any], *,
               extra: list[tuple[str, str]] | None = None) -> None:
        response = make_response(server.request, status, to_tag=new_tag(self.rng), extra=extra)
        self._absorb(server, self.transactions.send_response(server, response, now), now, out)

    # -- CANCEL (16.10; the branches are cancelled by the forking mixin) ------------------------

    def _receive_cancel(self, cancel: Request, now: float, out: list[Any]) -> None:
        invite_tx = self.transactions.find_cancelled(cancel)
        if invite_tx is None:
            # RFC 3261 16.10: no matching response context: forward the CANCEL statelessly.
            self._stateless_request(cancel, now, out)
            return
        server, outputs = self.transactions.start_server(cancel, now)
        self._absorb(server, outputs, now, out)
        self._reply(server, 200, now, out)
        ctx_id = self._by_server.get(invite_tx.key)
        ctx = self._contexts.get(ctx_id) if ctx_id is not None else None
        if ctx is None:
            return
        ctx.cancelled = True
        ctx.targets.clear()
        for branch in ctx.branches:
            self._cancel_branch(ctx, branch, now, out)
        self._maybe_finish(ctx, now, out)

    # -- responses ---------------------------------------------------------------------------------

    def _receive_response(self, response: Response, now: float, out: list[Any]) -> None:
        if self.config.stateful:
            tx = self.transactions.find_client(response)
            if tx is not None:
                self._absorb(tx, self.transactions.receive_response(tx, response, now), now, out)
                return
        # RFC 3261 16.7 / 16.11: no client transaction: forward statelessly if the top Via
        # is ours.
        via = response.top_via
        if via.host.lower() != self.config.host.lower() or (via.port or 5060) != self.config.port:
            self._count("response-not-ours")
            return
        forwarded = _pop_via(response)
        if not forwarded.headers.get("Via"):
            return
        self._count("stateless-response")
        out.append(fast_send(forwarded, response_address(forwarded)))

    def _absorb(self, tx: Any, outputs: list[Any], now: float, out: list[Any]) -> None:
        # Effects first (e.g. the ACK of a non-2xx), then events, then termination.
        events: list[Any] | None = None
        terminated = False
        for o in outputs:
            cls = o.__class__  # the effect classes have no subclasses: compare classes
            if cls is Send or cls is StartTimer or cls is CancelTimer:
                out.append(o)
            elif cls is Terminated:
                terminated = True
            elif events is None:
                events = [o]
            else:
                events.append(o)
        for o in events or ():
            if isinstance(tx, ClientTransaction) and isinstance(o, ResponseReceived):
                self._branch_response(tx, o.response, now, out)
            elif isinstance(tx, ClientTransaction) and isinstance(o, TimedOut | TransportFailed):
                where = self._by_client.get(tx.key)
                if where is not None:
                    ctx = self._contexts[where[0]]
                    branch = ctx.branches[where[1]]
                    if branch.final is None:
                        # RFC 3261 16.7 step 1 / 16.8: a timeout counts as a 408.
                        status = 408 if isinstance(o, TimedOut) else 503
                        branch.final = self._synthetic(tx.request, status)
                        if ctx.sequential_next(self.config.forking):
                            self._try_next(ctx, now, out)
                        self._maybe_finish(ctx, now, out)
        if terminated:
            self._terminated(tx, now, out)

    def _terminated(self, tx: Any, now: float, out: list[Any]) -> None:
        self._cancels.pop(tx.key, None)
        where = self._by_client.pop(tx.key, None)
        ctx_id = where[0] if where else self._by_server.get(tx.key)
        if where is None and ctx_id is not None:
            del self._by_server[tx.key]
        if ctx_id is None:
            return
        ctx = self._contexts.get(ctx_id)
        if ctx is None:
            return
        if where is not None:
            ctx.branches[where[1]].terminated = True
            cancel_branch_timers(ctx.id, ctx.branches[where[1]], ("C", "next", "abandon"), out)
        self._maybe_drop_context(ctx)

    def _maybe_drop_context(self, ctx: ResponseContext) -> None:
        if ctx.server.terminated and all(b.terminated for b in ctx.branches) and not ctx.targets:
            self._contexts.pop(ctx.id, None)

    # -- stateless forwarding (16.11) ---------------------------------------------------------

    def _stateless_request(self, request: Request, now: float, out: list[Any]) -> None:
        stateless_request(self, request, now, out)

