"""The UA and proxy cores' fast paths agree with the slow, obvious computation.

* A UA counts, per owner (Call-ID), the transactions of its two bookkeeping maps
  instead of scanning them when it decides to retire a finished call: after every
  input of many call flows (answered, busy, cancelled, authenticated, lossy) the
  counts equal what a scan finds, and every finished call still retires.
* ``make_response`` builds its rows at once, a proxy pops its Via without a dummy
  request and computes the loop hash of a request once: same results as before.
* The INVITE client transaction a UA records for a call is the one its table holds
  under the INVITE's key.
"""

from __future__ import annotations

from collections import Counter

import pytest
from ua_topologies import BOB_AOR, dial, trapezoid
from ua_topologies import CALL_SCENARIOS as SCENARIOS

from simvoip.sip.grammar import split_commas
from simvoip.sip.message import Headers, Request, Response, parse_message
from simvoip.sip.proxy.routing import loop_hash
from simvoip.sip.proxy.stateless import pop_via
from simvoip.sip.transaction.keys import client_key
from simvoip.sip.ua import UABehaviour, UserAgent
from simvoip.sip.ua.messages import make_response

INVITE = parse_message(
    b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP ss1.atlanta.example.com;branch=z9hG4bK2d4790.1, "
    b"SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8;received=192.0.2.101\r\n"
    b"Via: SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1\r\n"
    b"Max-Forwards: 69\r\nRecord-Route: <sip:ss1.atlanta.example.com;lr>\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710\r\nCSeq: 314159 INVITE\r\nTimestamp: 54\r\n"
    b"Contact: <sip:alice@pc33.atlanta.example.com>\r\n\r\n")
assert isinstance(INVITE, Request)


def _scanned(ua: UserAgent) -> Counter[str]:
    owners: Counter[str] = Counter(owner for _, owner in ua._purpose.values())
    owners.update(ua._server_call.values())
    return owners


def _checked(ua: UserAgent) -> None:
    original_receive, original_timer = ua.receive, ua.handle_timer

    def receive(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = original_receive(*args, **kwargs)
        assert Counter(ua._live) == _scanned(ua)
        return out

    def handle_timer(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = original_timer(*args, **kwargs)
        assert Counter(ua._live) == _scanned(ua)
        return out

    ua.receive = receive  # type: ignore[method-assign]
    ua.handle_timer = handle_timer  # type: ignore[method-assign]




OUTCOMES = {"answered": "answered", "busy": "busy", "no-answer-cancelled": "cancelled",
            "authenticated": "answered", "lossy": "answered", "ignores-ack": "answered",
            "callee-hangs-up": "answered"}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_live_counts_equal_a_scan_and_calls_retire(name):
    t = trapezoid(**SCENARIOS[name])
    _checked(t.alice)
    _checked(t.bob)
    call_ids = [dial(t, at=0.0), dial(t, at=0.3, target=BOB_AOR)]
    t.net.run(until=400.0)
    for ua in (t.alice, t.bob):
        assert not ua._live and not ua._purpose and not ua._server_call
        assert not ua.calls                      # every call finished and retired
    outcomes = [t.alice.history[c].outcome for c in call_ids]
    assert outcomes == [OUTCOMES[name]] * 2


def test_invite_tx_of_a_call_is_the_table_entry_under_its_key():
    t = trapezoid(bob=UABehaviour(answer_delay=None))
    call_id = dial(t)
    call = t.alice.calls[call_id]
    assert call.invite is not None and call.invite_tx is not None
    assert t.alice.transactions.clients[client_key(call.invite)] is call.invite_tx


def _slow_make_response(request: Request, status: int, reason: str, to_tag: str | None,
                        extra: list[tuple[str, str]]) -> Response:
    headers = Headers()
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        for value in request.headers.get_all(name):
            if name == "To" and to_tag is not None and status != 100 and request.to.tag is None:
                value = str(request.to.with_tag(to_tag))
            headers.add(name, value)
    if status == 100 and "Timestamp" in request.headers:
        headers.add("Timestamp", request.headers.get("Timestamp") or "")
    for name, value in extra:
        headers.add(name, value)
    return Response(status, reason, headers)


@pytest.mark.parametrize(("status", "reason", "to_tag", "extra"), [
    (100, "Trying", "ignored", []),
    (180, "Ringing", "a6c85cf", [("Contact", "<sip:bob@192.0.2.4>")]),
    (200, "OK", "a6c85cf", [("record-route", "<sip:ss1.atlanta.example.com;lr>"),
                            ("m", "<sip:bob@192.0.2.4>"), ("Content-Type", "application/sdp")]),
    (486, "Busy Here", None, []),
])
def test_make_response_rows_equal_one_add_per_row(status, reason, to_tag, extra):
    fast = make_response(INVITE, status, to_tag=to_tag, extra=extra)
    assert fast == _slow_make_response(INVITE, status, reason, to_tag, extra)
    assert fast.reason == reason
    assert fast.encode() == _slow_make_response(INVITE, status, reason, to_tag, extra).encode()


def _slow_pop_via(response: Response) -> Response:
    rows: list[tuple[str, str]] = []
    done = False
    for name, row in response.headers:
        if name == "Via" and not done:
            done = True
            rest = split_commas(row)[1:]
            if rest:
                rows.append((name, ", ".join(rest)))
            continue
        rows.append((name, row))
    return Response(response.status_code, response.reason, Headers(rows), response.body,
                    response.version)


def test_pop_via_removes_exactly_the_first_value():
    ok = make_response(INVITE, 200, to_tag="x")
    popped = pop_via(ok)
    assert popped == _slow_pop_via(ok)
    assert [v.host for v in popped.vias] == ["pc33.atlanta.example.com",
                                             "bigbox3.site3.atlanta.example.com"]
    single = Response(200, "OK", Headers([("Via", "SIP/2.0/UDP a;branch=z9hG4bK1"),
                                          ("CSeq", "1 BYE")]), b"x")
    assert pop_via(single) == Response(200, "OK", Headers([("CSeq", "1 BYE")]), b"x")


def test_proxy_context_keeps_the_loop_hash_of_the_request():
    t = trapezoid(bob=UABehaviour(answer_delay=None))
    dial(t)
    t.net.run(until=0.5)
    (ctx,) = t.ss1._contexts.values()
    assert ctx.loop == loop_hash(ctx.server.request)


def _slow_forward_copy(request: Request, target: str, *, via: str,
                       record_route: str | None) -> tuple[Request, str]:
    # forward_copy as it was: one Headers, then Headers.prepend for each insertion.
    from simvoip.sip.headers import NameAddr
    from simvoip.sip.proxy.routing import _has_lr, _with_routes, routes_of

    rows = []
    have_mf = False
    for name, value in request.headers:
        if name == "Max-Forwards":
            value = str(max(int(value) - 1, 0))
            have_mf = True
        rows.append((name, value))
    headers = Headers(rows)
    if not have_mf:
        headers.prepend("Max-Forwards", "70")
    if record_route is not None:
        headers.prepend("Record-Route", record_route)
    uri = target
    routes = routes_of(Request(request.method, uri, headers))
    strict = bool(routes) and not _has_lr(NameAddr.parse(routes[0]).uri)
    if strict:
        first = NameAddr.parse(routes[0]).uri
        routes = routes[1:] + [f"<{uri}>"]
        uri = first
        headers = _with_routes(headers, routes)
    headers.prepend("Via", via)
    copy = Request(request.method, uri, headers, request.body, request.version)
    if strict or not routes:
        return copy, uri
    return copy, NameAddr.parse(routes[0]).uri


ROWS = {
    "via": ("Via", "SIP/2.0/UDP pc.a.example;branch=z9hG4bK1"),
    "via2": ("Via", "SIP/2.0/UDP p0.a.example;branch=z9hG4bK0"),
    "mf": ("Max-Forwards", "5"),
    "rr": ("Record-Route", "<sip:p9.example;lr>"),
    "loose": ("Route", "<sip:p2.example;lr>"),
    "strict": ("Route", "<sip:p3.example>, <sip:p4.example;lr>"),
    "from": ("From", "<sip:alice@a.example>;tag=1"),
    "cseq": ("CSeq", "1 INVITE"),
}


@pytest.mark.parametrize("layout", [
    "via mf from cseq", "from cseq", "mf via from cseq", "rr via mf loose from",
    "from rr via2 via mf strict cseq", "cseq strict", "loose rr from", "from via rr",
    "mf mf via", "rr rr via via2 loose loose",
])
@pytest.mark.parametrize("record_route", [None, "<sip:p1.example;lr>"])
def test_forward_copy_inserts_where_prepend_would(layout, record_route):
    from simvoip.sip.proxy.routing import forward_copy

    request = Request("INVITE", "sip:bob@b.example", Headers([ROWS[k] for k in layout.split()]),
                      b"v=0\r\n")
    via = "SIP/2.0/UDP p1.example;branch=z9hG4bKp1"
    fast = forward_copy(request, "sip:bob@192.0.2.4", via=via, record_route=record_route)
    slow = _slow_forward_copy(request, "sip:bob@192.0.2.4", via=via, record_route=record_route)
    assert fast == slow
    assert list(fast[0].headers) == list(slow[0].headers)
