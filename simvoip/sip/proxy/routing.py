"""Proxy request rules that need no state: validation (16.3), Route pre-processing (16.4),
request copies for a target (16.6), branch and loop hashes (16.6 item 8, 16.11).

>>> from simvoip.sip.message import parse_message
>>> r = parse_message(b"INVITE sip:bob@b.example SIP/2.0\\r\\n"
...     b"Via: SIP/2.0/UDP pc.a.example;branch=z9hG4bK1\\r\\nMax-Forwards: 0\\r\\n"
...     b"From: <sip:alice@a.example>;tag=1\\r\\nTo: <sip:bob@b.example>\\r\\n"
...     b"Call-ID: c\\r\\nCSeq: 1 INVITE\\r\\n\\r\\n")
>>> validate(r, host="ss1.a.example", port=5060, supported=())
(483, [])
"""

from __future__ import annotations

import hashlib

from simvoip.sip.errors import ParseError
from simvoip.sip.grammar import remember, split_commas
from simvoip.sip.headers import MAGIC_COOKIE, NameAddr
from simvoip.sip.message import Headers, Request
from simvoip.sip.uri import SipUri
from simvoip.sip.validate import validate_request

__all__ = [
    "LOOP_HASH_LENGTH", "loop_hash", "stateless_branch", "stateful_branch", "validate",
    "preprocess_routes", "preprocess_with_routes", "forward_copy", "routes_of", "is_own_uri",
]

#: Hex digits of the loop-detection part of our branches (16.6 item 8).
LOOP_HASH_LENGTH = 8
_TX_PART = 6


def _h(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def routes_of(request: Request) -> list[str]:
    return [v for row in request.headers.get_all("Route") for v in split_commas(row)]


def is_own_uri(uri: str, host: str, port: int) -> bool:
    """True if ``uri`` (or ``<uri>``) names this proxy: same host and port, no user.

    >>> is_own_uri("<sip:ss1.a.example;lr>", "ss1.a.example", 5060)
    True
    >>> is_own_uri("sip:bob@ss1.a.example", "ss1.a.example", 5060)
    False
    """
    # A pure function of its arguments, asked for the Request-URI and first Route of
    # every request: remembered.
    key = (uri, host, port)
    own = _OWN_URIS.get(key)
    if own is None:
        try:
            u = SipUri.parse(NameAddr.parse(uri).uri if "<" in uri else uri)
        except ParseError:
            own = False
        else:
            own = u.host.lower() == host.lower() and (u.port or 5060) == port and u.user is None
        remember(_OWN_URIS, key, own)
    return own


#: (URI or name-addr text, host, port) -> is_own_uri(...).
_OWN_URIS: dict[tuple[str, str, int], bool] = {}


def loop_hash(request: Request) -> str:
    """The loop-detection part of the branch (RFC 3261 16.6 item 8).

    Over To tag, From tag, Call-ID, Request-URI, CSeq number, Proxy-Require
    and Proxy-Authorization of the request as received. The top Via, which
    16.6 also lists, is left out: when the request comes back after a loop
    its top Via is another hop's, so including it would hide every loop (the
    RFC 5393 reading of 16.3 item 4).

    >>> from simvoip.sip.message import parse_message
    >>> r = parse_message(b"INVITE sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\n"
    ...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>\\r\\nCall-ID: c\\r\\nCSeq: 1 INVITE\\r\\n\\r\\n")
    >>> len(loop_hash(r)) == LOOP_HASH_LENGTH
    True
    """
    return _h(
        request.to.tag or "", request.from_.tag or "", request.call_id, request.uri,
        str(request.cseq.number), ",".join(request.headers.get_all("Proxy-Require")),
        ",".join(request.headers.get_all("Proxy-Authorization")),
    )[:LOOP_HASH_LENGTH]


def stateful_branch(random_part: int, loop: str, index: int) -> str:
    """``z9hG4bK`` + random transaction part + loop part + ``.index`` (RFC 3665 style)."""
    return f"{MAGIC_COOKIE}{random_part:0{_TX_PART}x}{loop}.{index}"


def branch_loop_part(branch: str | None) -> str | None:
    if not branch or not branch.startswith(MAGIC_COOKIE):
        return None
    body = branch[len(MAGIC_COOKIE):].partition(".")[0]
    if len(body) != _TX_PART + LOOP_HASH_LENGTH:
        return None
    return body[_TX_PART:]


def stateless_branch(request: Request) -> str:
    """The branch a stateless proxy puts on a forwarded request (RFC 3261 16.11).

    A hash of the received branch if it has the magic cookie (so a
    retransmission, its CANCEL and its non-2xx ACK get the same branch),
    else of top Via, To tag, From tag, Call-ID, CSeq number and Request-URI.

    >>> from simvoip.sip.message import parse_message
    >>> inv = parse_message(b"INVITE sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\n"
    ...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>\\r\\nCall-ID: c\\r\\nCSeq: 1 INVITE\\r\\n\\r\\n")
    >>> stateless_branch(inv) == stateless_branch(inv), stateless_branch(inv)[:7]
    (True, 'z9hG4bK')
    """
    via = request.top_via
    received = via.branch
    if received and received.startswith(MAGIC_COOKIE):
        digest = _h("branch", received, str(via.sent_by))
    else:
        digest = _h(str(via), request.to.tag or "", request.from_.tag or "", request.call_id,
                    str(request.cseq.number), request.uri)
    return f"{MAGIC_COOKIE}{digest[:16]}"


def validate(request: Request, *, host: str, port: int,
             supported: tuple[str, ...]) -> tuple[int | None, list[tuple[str, str]]]:
    """RFC 3261 16.3 steps 1-5: ``(status, extra headers)`` of the error response, or
    ``(None, [])`` when the request may be forwarded. The rules are those of
    :func:`simvoip.sip.validate.validate_request` for the ``proxy`` role (syntax
    400, scheme 416, Max-Forwards 483, Proxy-Require 420); loop detection is
    done by the caller with :func:`detect_loop`."""
    failure = validate_request(request, role="proxy", supported=supported)
    if failure is None or failure.status_code is None:
        return None, []
    extra = [("Unsupported", ", ".join(failure.unsupported))] if failure.unsupported else []
    return failure.status_code, extra


def detect_loop(request: Request, *, host: str, port: int, loop: str | None = None) -> bool:
    """RFC 3261 16.3 item 4: a Via of ours whose loop part matches this request's hash.

    ``loop``: :func:`loop_hash` of ``request`` when the caller has it already.
    """
    mine = loop
    host = host.lower()
    for via in request.vias:
        if via.host.lower() == host and (via.port or 5060) == port:
            if mine is None:
                # Only a request that passed here before needs the hash.
                mine = loop_hash(request)
            if branch_loop_part(via.branch) == mine:
                return True
    return False


def preprocess_routes(request: Request, *, host: str, port: int) -> Request:
    """RFC 3261 16.4: undo a strict router's rewrite and pop our own Route entry.

    Returns a copy when something changed.

    >>> from simvoip.sip.message import Headers, Request
    >>> r = Request("BYE", "sip:alice@pc.a.example", Headers([
    ...     ("Route", "<sip:ss1.a.example;lr>, <sip:ss2.b.example;lr>")]))
    >>> preprocess_routes(r, host="ss1.a.example", port=5060).headers.get_all("Route")
    ['<sip:ss2.b.example;lr>']
    """
    return preprocess_with_routes(request, host, port)[0]


def preprocess_with_routes(request: Request, host: str, port: int) -> tuple[Request, list[str]]:
    """:func:`preprocess_routes`, with the Route values of the request it returns.

    >>> from simvoip.sip.message import Headers, Request
    >>> r = Request("BYE", "sip:alice@pc.a.example", Headers([
    ...     ("Route", "<sip:ss1.a.example;lr>, <sip:ss2.b.example;lr>")]))
    >>> preprocess_with_routes(r, "ss1.a.example", 5060)[1]
    ['<sip:ss2.b.example;lr>']
    """
    routes = routes_of(request)
    uri = request.uri
    changed = False
    if is_own_uri(uri, host, port) and routes and _has_lr(uri):
        # The previous hop was a strict router: our Record-Route URI is the Request-URI.
        # "replace the Request-URI with the last value from the Route header field".
        uri = NameAddr.parse(routes[-1]).uri
        routes = routes[:-1]
        changed = True
    if routes and is_own_uri(routes[0], host, port):
        routes = routes[1:]
        changed = True
    if not changed:
        return request, routes
    headers = _with_routes(request.headers, routes)
    return Request(request.method, uri, headers, request.body, request.version), routes


def _has_lr(uri: str) -> bool:
    try:
        return SipUri.parse(uri).lr
    except ParseError:
        return False


def _with_routes(headers: Headers, routes: list[str]) -> Headers:
    """A copy of ``headers`` with the Route rows replaced by ``routes`` (same position)."""
    rows: list[tuple[str, str]] = []
    placed = False
    for name, value in headers:
        if name == "Route":
            if not placed:
                rows.extend(("Route", r) for r in routes)
                placed = True
            continue
        rows.append((name, value))
    if not placed and routes:
        # Insert after Max-Forwards (or the Vias) like the RFC examples.
        idx = next((i + 1 for i, (n, _) in enumerate(rows) if n == "Max-Forwards"), len(rows))
        rows[idx:idx] = [("Route", r) for r in routes]
    return Headers._from_canonical(tuple(rows))  # canonical names: no renaming pass


def _shifted(index: int, inserted_at: int) -> int:
    """Where row ``index`` (-1: no such row) is after inserting a row at ``inserted_at``."""
    return index + 1 if index >= 0 and index >= inserted_at else index


def forward_copy(request: Request, target: str, *, via: str, record_route: str | None,
                 routes: list[str] | None = None) -> tuple[Request, str]:
    """The copy of ``request`` forwarded to ``target`` (RFC 3261 16.6 steps 1-8).

    Returns the copy and the URI that decides the next hop (first Route, else
    the Request-URI; step 7). ``routes``: :func:`routes_of` ``request``, when the
    caller has it already.

    >>> from simvoip.sip.message import Headers, Request
    >>> r = Request("INVITE", "sip:bob@b.example", Headers([
    ...     ("Via", "SIP/2.0/UDP pc.a.example;branch=z9hG4bK1"), ("Max-Forwards", "70")]))
    >>> copy, hop = forward_copy(r, "sip:bob@192.0.2.4", via="SIP/2.0/UDP p1;branch=z9hG4bK2",
    ...                          record_route="<sip:p1;lr>")
    >>> copy.uri, copy.headers.get("Max-Forwards"), copy.headers.get("Record-Route"), hop
    ('sip:bob@192.0.2.4', '69', '<sip:p1;lr>', 'sip:bob@192.0.2.4')
    >>> [v.host for v in copy.vias]
    ['p1', 'pc.a.example']
    """
    # One pass over the rows; the three insertions below land where Headers.prepend would
    # put them (before the first row of the same name, else on top).
    rows: list[tuple[str, str]] = []
    mf_at = rr_at = via_at = -1
    for name, value in request.headers:
        if name == "Max-Forwards":
            # 3. Decrement Max-Forwards.
            value = str(max(int(value) - 1, 0))
            if mf_at < 0:
                mf_at = len(rows)
        elif name == "Record-Route":
            if rr_at < 0:
                rr_at = len(rows)
        elif name == "Via" and via_at < 0:
            via_at = len(rows)
        rows.append((name, value))
    if mf_at < 0:
        # 3. "If the copy does not contain a Max-Forwards header field, the proxy MUST
        # add one with a field value, which SHOULD be 70."
        rows.insert(0, ("Max-Forwards", "70"))
        rr_at, via_at = _shifted(rr_at, 0), _shifted(via_at, 0)
    if record_route is not None:
        # 4. Record-Route: our URI (with lr) on top of the existing values.
        at = rr_at if rr_at >= 0 else 0
        rows.insert(at, ("Record-Route", record_route))
        via_at = _shifted(via_at, at)
    uri = target
    # The Route rows are those of the request (only Max-Forwards and Record-Route changed).
    if routes is None:
        routes = routes_of(request)
    strict = bool(routes) and not _has_lr(NameAddr.parse(routes[0]).uri)
    if strict:
        # 6. Postprocess routing: the next hop is a strict router: the Request-URI goes
        # last in Route and the strict router's URI becomes the Request-URI.
        first = NameAddr.parse(routes[0]).uri
        routes = routes[1:] + [f"<{uri}>"]
        uri = first
        headers = _with_routes(Headers._from_canonical(tuple(rows)), routes)
        # 8. Our Via on top.
        headers.prepend("Via", via)
    else:
        # 8. Our Via on top.
        rows.insert(via_at if via_at >= 0 else 0, ("Via", via))
        # The rows of a Headers and literal names: canonical already, no renaming pass.
        headers = Headers._from_canonical(tuple(rows))
    copy = Request(request.method, uri, headers, request.body, request.version)
    # 7. Next hop: the first Route, or the Request-URI (also when we reformatted the
    # request for a strict router).
    if strict or not routes:
        return copy, uri
    return copy, NameAddr.parse(routes[0]).uri
