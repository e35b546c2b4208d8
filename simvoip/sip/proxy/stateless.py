"""Stateless proxying (RFC 3261 16.11): forward without transactions.

Used for every request by a proxy configured ``stateful=False``, and by a
stateful proxy for what has no transaction: the ACK of a 2xx, a CANCEL with
no response context (16.10), responses that match no client transaction.

>>> from simvoip.sip.message import Headers, Response
>>> r = Response(200, "OK", Headers([("Via", "SIP/2.0/UDP p1;branch=z9hG4bK1"),
...                                  ("Via", "SIP/2.0/UDP pc;branch=z9hG4bK0")]))
>>> pop_via(r).headers.get_all("Via")
['SIP/2.0/UDP pc;branch=z9hG4bK0']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simvoip.sip.dialog import next_hop
from simvoip.sip.effects import fast_send
from simvoip.sip.grammar import split_commas
from simvoip.sip.message import Headers, Request, Response
from simvoip.sip.proxy.routing import (
    detect_loop,
    forward_copy,
    preprocess_with_routes,
    stateless_branch,
    validate,
)
from simvoip.sip.ua.messages import make_response, new_tag
from simvoip.sip.ua.transactions import replace_top_via, response_address

if TYPE_CHECKING:
    from simvoip.sip.proxy.core import Proxy

__all__ = ["stateless_request", "pop_via"]


def stateless_request(proxy: Proxy, request: Request, now: float, out: list[Any]) -> None:
    """Validate, route and forward ``request`` to one target without a transaction."""
    cfg = proxy.config
    status, extra = validate(request, host=cfg.host, port=cfg.port, supported=cfg.supported)
    if status is None and request.method != "ACK" and detect_loop(request, host=cfg.host,
                                                                   port=cfg.port):
        status = 482
    if status is not None:
        if request.method != "ACK":
            # A stateless proxy answers errors statelessly (no transaction).
            response = make_response(request, status, to_tag=new_tag(proxy.rng), extra=extra)
            out.append(fast_send(response, response_address(request)))
        return
    if request.method == "REGISTER" and proxy._is_registrar_for(request):
        assert proxy.registrar is not None
        response = proxy.registrar.handle_register(request, now)
        out.append(fast_send(response, response_address(request)))
        return
    request, routes = preprocess_with_routes(request, cfg.host, cfg.port)
    targets, status = proxy._targets(request, now, routes)
    if status is not None:
        if request.method != "ACK":
            response = make_response(request, status, to_tag=new_tag(proxy.rng))
            out.append(fast_send(response, response_address(request)))
        return
    # 16.11: one target only, chosen from the message and time-invariant state.
    branch = stateless_branch(request)
    record = (cfg.record_route and request.method == "INVITE" and not request.to.tag)
    copy, hop_uri = forward_copy(
        request, targets[0], via=f"SIP/2.0/{cfg.transport} {cfg.sent_by};branch={branch}",
        record_route=cfg.record_route_uri if record else None, routes=routes)
    proxy._count("stateless-request")
    destination = next_hop(hop_uri, cfg.transport)
    if destination.transport != cfg.transport:
        # RFC 3261 8.1.1.7: the Via names the transport the request really goes over.
        copy = replace_top_via(copy, f"SIP/2.0/{destination.transport} {cfg.sent_by};branch={branch}")
    out.append(fast_send(copy, destination))


def pop_via(response: Response) -> Response:
    """The response with its top Via value removed (16.7 step 9 / 16.11)."""
    rows = list(response.headers)
    for i, (name, row) in enumerate(rows):
        if name == "Via":  # the first Via row (usually the first row of all)
            rest = split_commas(row)[1:]
            if rest:
                rows[i] = (name, ", ".join(rest))
            else:
                del rows[i]
            break
    # Rows of a Headers have canonical names already: no renaming pass.
    return Response(response.status_code, response.reason, Headers._from_canonical(tuple(rows)),
                    response.body, response.version)
