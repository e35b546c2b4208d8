"""Forking and response selection of the stateful proxy (RFC 3261 16.6-16.10).

A request is forwarded to each target through its own client transaction (a
*branch* of the response context, 16.6), in parallel or one after the other;
provisional and 2xx responses go upstream at once, other finals wait for the
best one (16.7); Timer C guards INVITE branches (16.8) and pending branches are
CANCELled when one answers or the caller cancels (16.10). Mixed into
:class:`~simvoip.sip.proxy.core.Proxy`.

>>> from simvoip.sip.proxy.core import Proxy
>>> issubclass(Proxy, ForkingMixin)
True
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from simvoip.sip.dialog import next_hop
from simvoip.sip.effects import fast_send
from simvoip.sip.message import Request, Response
from simvoip.sip.proxy.context import (
    Branch,
    ResponseContext,
    best_response,
    cancel_branch_timers,
    start_branch_timer,
)
from simvoip.sip.proxy.routing import forward_copy, stateful_branch
from simvoip.sip.proxy.stateless import pop_via
from simvoip.sip.transaction.builders import make_cancel
from simvoip.sip.transaction.client import ClientTransaction, InviteClientTransaction
from simvoip.sip.transaction.keys import transaction_key, via_reads_back
from simvoip.sip.ua.messages import make_response, new_tag
from simvoip.sip.ua.transactions import TransactionTable, replace_top_via, response_address

if TYPE_CHECKING:
    from simvoip.sip.proxy.core import ProxyConfig

__all__ = ["ForkingMixin"]


class ForkingMixin:
    """Branches of a response context: forking, CANCEL, Timer C, best response (16.6-16.10).

    The proxy core provides the state below and :meth:`_absorb` / :meth:`_terminated`.
    """

    config: ProxyConfig
    rng: random.Random
    transactions: TransactionTable
    _contexts: dict[int, ResponseContext]
    _by_client: dict[Any, tuple[int, int]]
    _cancels: dict[Any, int]
    #: Whether our Via reads back as written (see _reads_back); found on first use.
    _plain_via: bool | None = None

    if TYPE_CHECKING:
        def _absorb(self, tx: Any, outputs: list[Any], now: float, out: list[Any]) -> None: ...
        def _terminated(self, tx: Any, now: float, out: list[Any]) -> None: ...
        def _maybe_drop_context(self, ctx: ResponseContext) -> None: ...

    def _fork(self, ctx: ResponseContext, target: str, now: float, out: list[Any]) -> None:
        """Forward ``ctx.request`` to ``target`` through a new client transaction (16.6)."""
        cfg = self.config
        index = len(ctx.branches)
        branch_id = stateful_branch(self.rng.getrandbits(24), ctx.loop, index + 1)
        request = ctx.request
        record = (cfg.record_route and request.method in ("INVITE", "SUBSCRIBE", "REFER")
                  and not request.to.tag)
        copy, hop_uri = forward_copy(
            request, target, via=f"SIP/2.0/{cfg.transport} {cfg.sent_by};branch={branch_id}",
            record_route=cfg.record_route_uri if record else None, routes=ctx.routes)
        destination = next_hop(hop_uri, cfg.transport)
        if destination.transport != cfg.transport:
            # RFC 3261 8.1.1.7: the Via names the transport the request really goes over
            # (a next hop URI with ;transport=tcp, say).
            copy = replace_top_via(
                copy, f"SIP/2.0/{destination.transport} {cfg.sent_by};branch={branch_id}")
        # RFC 3261 17.1.3: the key is our branch and the method, known without parsing
        # our own Via back (when a probe showed that it reads back as written).
        plain = self._plain_via
        if plain is None:
            plain = self._plain_via = _reads_back(cfg)
        key = transaction_key(branch_id, None, request.method) if plain else None
        tx, outputs = self.transactions.start_client(copy, destination, now, key=key)
        branch = Branch(index, target, tx)
        ctx.branches.append(branch)
        self._by_client[tx.key] = (ctx.id, index)
        self._absorb(tx, outputs, now, out)
        if isinstance(tx, InviteClientTransaction) and not tx.terminated:
            # RFC 3261 16.6 item 11: Timer C for every INVITE branch.
            start_branch_timer(ctx.id, branch, "C", now + cfg.timer_c, out)
            if cfg.forking == "sequential" and cfg.sequential_timeout is not None:
                start_branch_timer(ctx.id, branch, "next", now + cfg.sequential_timeout, out)

    def _try_next(self, ctx: ResponseContext, now: float, out: list[Any]) -> bool:
        """Sequential forking: fork the next target unless a branch is still live."""
        live = any(b.final is None and not (b.cancel_sent or b.cancel_pending or b.timed_out)
                   for b in ctx.branches)
        if ctx.targets and not ctx.final_sent and not ctx.cancelled and not live:
            self._fork(ctx, ctx.targets.pop(0), now, out)
            return True
        return False

    def _cancel_branch(self, ctx: ResponseContext, branch: Branch, now: float,
                       out: list[Any]) -> None:
        """RFC 3261 16.10 / 9.1: CANCEL a pending INVITE branch (after its first 1xx)."""
        tx = branch.tx
        if branch.final is not None or branch.cancel_sent or not isinstance(tx, InviteClientTransaction):
            return
        if tx.terminated:
            return
        if tx.can_cancel:
            branch.cancel_sent = True
            cancel_tx, outputs = self.transactions.start_client(make_cancel(tx.request),
                                                                tx.destination, now)
            self._cancels[cancel_tx.key] = ctx.id
            self._absorb(cancel_tx, outputs, now, out)
            # RFC 3261 9.1: without a final response 64*T1 after the CANCEL, the branch's
            # INVITE transaction is destroyed (and counts as a 408, 16.7 step 1).
            start_branch_timer(ctx.id, branch, "abandon", now + 64 * self.config.timers.t1,
                               out)
        else:
            branch.cancel_pending = True

    def _branch_timer(self, ctx: ResponseContext, branch: Branch, kind: str, now: float,
                      out: list[Any]) -> None:
        if branch.final is not None:
            return
        if kind == "C":
            # RFC 3261 16.8: Timer C fired: CANCEL the branch if it had a provisional
            # response, else behave as if it had received a 408.
            if branch.provisional:
                # The callee never answered: its 487 will be passed upstream as 408
                # (the caller did not cancel; the proxy gave up).
                branch.timed_out = True
                self._cancel_branch(ctx, branch, now, out)
            else:
                branch.final = self._synthetic(branch.tx.request, 408)
                self._maybe_finish(ctx, now, out)
        elif kind == "abandon":
            tx = branch.tx
            out.extend(self.transactions.discard(tx))
            branch.final = self._synthetic(tx.request, 408)
            self._terminated(tx, now, out)
            self._maybe_finish(ctx, now, out)
            self._maybe_drop_context(ctx)
        elif kind == "next":
            # Sequential forking: this target had its time; its 487 counts as a timeout.
            branch.timed_out = True
            self._cancel_branch(ctx, branch, now, out)
            if branch.cancel_pending or branch.cancel_sent:
                self._try_next(ctx, now, out)

    def _branch_response(self, tx: ClientTransaction, response: Response, now: float,
                         out: list[Any]) -> None:
        where = self._by_client.get(tx.key)
        if where is None:
            return  # the response to one of our CANCELs: nothing to do (16.10)
        ctx = self._contexts[where[0]]
        branch = ctx.branches[where[1]]
        code = response.status_code
        if code < 200:
            branch.provisional = True
            if branch.cancel_pending:
                branch.cancel_pending = False
                self._cancel_branch(ctx, branch, now, out)
            if code == 100:
                return
            # RFC 3261 16.7 step 2 / 16.8: a provisional response restarts Timer C ...
            start_branch_timer(ctx.id, branch, "C", now + self.config.timer_c, out)
            # ... and is forwarded at once (step 5).
            if not ctx.final_sent:
                self._forward_response(ctx, response, now, out)
            return
        if code < 300:
            # RFC 3261 16.7 step 5: every 2xx is forwarded immediately (forking may give
            # several) and the other branches are cancelled (step 10).
            first = branch.final is None
            branch.final = branch.final or response
            self._forward_response(ctx, response, now, out)
            if not ctx.final_sent or first:
                ctx.final_sent = True
                ctx.targets.clear()
                cancel_branch_timers(ctx.id, branch, ("C",), out)
                for other in ctx.branches:
                    if other is not branch:
                        self._cancel_branch(ctx, other, now, out)
            return
        if branch.final is not None:
            return
        if code == 487 and branch.timed_out and not ctx.cancelled:
            response = self._synthetic(tx.request, 408, to_tag=response.to.tag)
        branch.final = response
        cancel_branch_timers(ctx.id, branch, ("C", "next"), out)
        if code >= 600:
            # RFC 3261 16.7 step 5 (6xx): cancel every pending branch, try nothing else.
            ctx.targets.clear()
            for other in ctx.branches:
                self._cancel_branch(ctx, other, now, out)
        elif ctx.sequential_next(self.config.forking):
            self._try_next(ctx, now, out)
        self._maybe_finish(ctx, now, out)

    def _synthetic(self, request: Request, status: int, *, to_tag: str | None = None) -> Response:
        """A final response the proxy makes up for a branch (timeouts, 16.7 step 1 / 16.8)."""
        return make_response(request, status, to_tag=to_tag or new_tag(self.rng))

    def _maybe_finish(self, ctx: ResponseContext, now: float, out: list[Any]) -> None:
        """RFC 3261 16.7 step 6: when every branch is final and no target is left, send the
        best response."""
        if ctx.final_sent or ctx.targets:
            return
        if any(b.final is None for b in ctx.branches):
            return
        finals = [b.final for b in ctx.branches if b.final is not None]
        best = best_response(finals)
        if best is None:
            best = make_response(ctx.server.request, 408)
        elif best.status_code in (401, 407):
            best = _aggregate_challenges(best, finals)
        ctx.final_sent = True
        self._forward_response(ctx, best, now, out)

    def _forward_response(self, ctx: ResponseContext, response: Response, now: float,
                          out: list[Any]) -> None:
        forwarded = pop_via(response)
        code = forwarded.status_code
        if code == 503:
            # RFC 3261 16.7 step 6: a 503 is not passed upstream as such.
            forwarded = Response(500, "Server Internal Error", forwarded.headers, forwarded.body)
        if forwarded.headers.get("Via") is None:
            # A response we generated ourselves for a branch (408): rebuild for upstream.
            forwarded = make_response(ctx.server.request, code, to_tag=new_tag(self.rng))
        server = ctx.server
        if server.terminated:
            if 200 <= code < 300:
                out.append(fast_send(forwarded, response_address(forwarded)))
            return
        self._absorb(server, self.transactions.send_response(server, forwarded, now), now, out)


def _aggregate_challenges(best: Response, finals: list[Response]) -> Response:
    """RFC 3261 16.7 step 7: a forwarded 401/407 carries the WWW-Authenticate and
    Proxy-Authenticate values of every 401/407 the branches received."""
    headers = best.headers.copy()
    for name in ("WWW-Authenticate", "Proxy-Authenticate"):
        values: list[str] = []
        for r in finals:
            if r.status_code in (401, 407):
                values.extend(v for v in r.headers.get_all(name) if v not in values)
        headers.remove(name)
        for v in values:
            headers.add(name, v)
    return Response(best.status_code, best.reason, headers, best.body, best.version)


def _reads_back(config: ProxyConfig) -> bool:
    """Whether the Via :meth:`ForkingMixin._fork` puts on a request gives its branch back
    when parsed."""
    return via_reads_back(f"SIP/2.0/{config.transport} {config.sent_by}", "z9hG4bK0123456789ab.1")
