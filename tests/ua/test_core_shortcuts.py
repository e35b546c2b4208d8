"""Shortcuts the UA and proxy cores take give what the general computation gives.

* A core that builds the top Via of a request itself hands the key of its client
  transaction over (branch and method, RFC 3261 17.1.3) instead of parsing the Via
  back: over the RFC 3665 flows, every client transaction's key equals
  ``client_key`` of its request.
* ``make_response`` tags the To value by appending ``;tag=`` to the remembered
  untagged text: the same text as ``str(to.with_tag(tag))`` for any To value,
  including display names, other parameters and a valueless ``tag``.
* ``next_hop``, ``is_own_uri`` and the Contact URI of a dialog are remembered by
  text: the remembered answer is the computed one.
* A transaction step reports Terminated as its last output, so a table only looks
  there; dialogs built without ``__init__`` equal those built with it.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ua_topologies import BOB_AOR, dial, trapezoid
from ua_topologies import CALL_SCENARIOS as SCENARIOS

from simvoip.sip import dialog as dialog_module
from simvoip.sip.dialog import Dialog, DialogState, next_hop
from simvoip.sip.effects import Address
from simvoip.sip.message import Headers, Request, parse_message
from simvoip.sip.proxy import routing
from simvoip.sip.proxy.routing import is_own_uri
from simvoip.sip.transaction.client import InviteClientTransaction
from simvoip.sip.transaction.events import Terminated
from simvoip.sip.transaction.keys import client_key, transaction_key
from simvoip.sip.ua.messages import make_response
from simvoip.sip.ua.transactions import TransactionTable


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_client_transaction_keys_equal_the_parsed_ones(name, monkeypatch):
    started: list[tuple[str, object]] = []
    original = TransactionTable.start_client

    def start_client(self, request, destination, now, *, key=None):  # type: ignore[no-untyped-def]
        tx, out = original(self, request, destination, now, key=key)
        # The key handed over (if any) is the one RFC 3261 17.1.3 reads from the request.
        assert tx.key == client_key(request)
        started.append((request.method, key))
        return tx, out

    monkeypatch.setattr(TransactionTable, "start_client", start_client)
    t = trapezoid(**SCENARIOS[name])
    calls = [dial(t, at=0.0), dial(t, at=0.3, target=BOB_AOR)]
    t.net.run(until=400.0)
    assert all(c in t.alice.history for c in calls)
    # The shortcut was taken: UA INVITEs and BYEs and every proxy branch had a key.
    assert any(method == "INVITE" and key is not None for method, key in started)
    if name in ("answered", "callee-hangs-up"):
        assert any(method == "BYE" and key is not None for method, key in started)


def test_a_sent_by_that_does_not_read_back_gets_no_key():
    # An odd sent-by (a comma starts a second Via value): the UA parses its Via back.
    from simvoip.sip.ua.base import _reads_back
    from simvoip.sip.ua.config import UAConfig

    assert _reads_back(UAConfig(aor="sip:a@a.example", host="pc.a.example"))
    assert not _reads_back(UAConfig(aor="sip:a@a.example", host="pc.a.example,x"))


# -- make_response: the To tag --------------------------------------------------------------

_DISPLAY = st.sampled_from(["", "Bob ", '"Bob B." ', '"a \\"q\\"" ', "Bob Smith "])
_URI = st.sampled_from(["sip:bob@biloxi.example.com", "sip:bob@b;transport=tcp",
                        "sips:b@192.0.2.4:5061", "tel:+15551234"])
_PARAMS = st.lists(st.sampled_from([";x=1", ";tag", ";Tag", ";y", ";expires=60", ";q=0.5"]),
                   max_size=3).map("".join)


def _to_values(display: str, uri: str, params: str, bare: bool) -> str:
    return f"{uri}{params}" if bare and not display and "tel:" not in uri else \
        f"{display}<{uri}>{params}"


@given(_DISPLAY, _URI, _PARAMS, st.booleans(), st.sampled_from(["a6c85cf", "1", "x-y.z"]),
       st.sampled_from([180, 200, 486]))
def test_make_response_tags_to_like_with_tag(display, uri, params, bare, tag, status):
    to = _to_values(display, uri, params, bare)
    invite = Request("INVITE", "sip:bob@b", Headers([
        ("Via", "SIP/2.0/UDP a;branch=z9hG4bK1"), ("From", "<sip:a@a>;tag=1"), ("To", to),
        ("Call-ID", "c"), ("CSeq", "1 INVITE")]))
    parsed = invite.to
    for _ in range(2):  # first computed, then remembered
        response = make_response(invite, status, to_tag=tag)
        expected = to if parsed.tag is not None else str(parsed.with_tag(tag))
        assert response.headers.get_all("To") == [expected]
        assert response.to.tag == (parsed.tag or tag)


def test_make_response_tags_every_to_row_like_the_first():
    invite = Request("INVITE", "sip:bob@b", Headers([
        ("Via", "SIP/2.0/UDP a;branch=z9hG4bK1"), ("To", "<sip:b@b>"), ("To", "<sip:c@c>"),
        ("CSeq", "1 INVITE")]))
    assert make_response(invite, 200, to_tag="t").headers.get_all("To") == [
        "<sip:b@b>;tag=t", "<sip:b@b>;tag=t"]
    # 100 Trying is never tagged, and a missing To stays missing.
    assert make_response(invite, 100, to_tag="t").headers.get_all("To") == [
        "<sip:b@b>", "<sip:c@c>"]
    bare = Request("OPTIONS", "sip:b@b", Headers([("Via", "SIP/2.0/UDP a;branch=z9hG4bK1")]))
    assert make_response(bare, 200, to_tag="t").headers.get_all("To") == []


# -- remembered pure functions ----------------------------------------------------------------

_HOPS = ["<sip:p1.example.com;lr>", "sip:bob@192.0.2.4:5070;transport=tcp", " <sips:x@y> ",
         "sip:a@b;maddr=10.0.0.1", "<sip:ss1.atlanta.example.com;lr;transport=TLS>",
         "sip:ss2.biloxi.example.com"]


@given(st.sampled_from(_HOPS), st.sampled_from(["UDP", "TCP", "tls"]))
def test_next_hop_remembered_equals_computed(uri, transport):
    first = next_hop(uri, transport)
    dialog_module._NEXT_HOPS.clear()
    computed = next_hop(uri, transport)
    assert first == computed == next_hop(uri, transport)
    assert isinstance(computed, Address)


@given(st.sampled_from(_HOPS + ["sip:bob@ss1.atlanta.example.com", "<bad", "sip:"]),
       st.sampled_from(["ss1.atlanta.example.com", "SS2.biloxi.example.com", "p1.example.com"]),
       st.sampled_from([5060, 5061]))
def test_is_own_uri_remembered_equals_computed(uri, host, port):
    first = is_own_uri(uri, host, port)
    routing._OWN_URIS.clear()
    assert is_own_uri(uri, host, port) == first == is_own_uri(uri, host, port)


@pytest.mark.parametrize(("contact", "uri"), [
    ("<sip:alice@pc33.atlanta.example.com>", "sip:alice@pc33.atlanta.example.com"),
    ('"A" <sip:a@b;transport=tcp>;expires=60, <sip:c@d>', "sip:a@b;transport=tcp"),
    ("*", None), (" * ", None), (None, None),
])
def test_contact_uri_remembered_equals_computed(contact, uri):
    rows = [("Contact", contact)] if contact is not None else []
    message = Request("INVITE", "sip:b@b", Headers(rows))
    assert dialog_module._contact_uri(message) == uri
    assert dialog_module._contact_uri(message) == uri  # remembered


# -- transactions and dialogs ---------------------------------------------------------------------

INVITE = parse_message(
    b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP ss1.atlanta.example.com;branch=z9hG4bK2d4790.1\r\n"
    b"Record-Route: <sip:ss1.atlanta.example.com;lr>\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710\r\nCSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@pc33.atlanta.example.com>\r\n\r\n")
assert isinstance(INVITE, Request)


def test_terminated_is_the_last_output_and_the_table_forgets_only_then():
    table = TransactionTable()
    tx, out = table.start_client(INVITE, Address("b"), 0.0,
                                 key=transaction_key("z9hG4bK2d4790.1", None, "INVITE"))
    assert isinstance(tx, InviteClientTransaction) and len(table) == 1
    out = table.handle_timer("B", tx.key, 32.0)[1]
    assert isinstance(out[-1], Terminated)
    assert sum(isinstance(o, Terminated) for o in out) == 1
    assert len(table) == 0
    # A stale timer of the destroyed transaction does nothing.
    assert table.reap(tx, tx.handle_timer("A", 33.0)) == []


class _Subclassed(Dialog):
    __slots__ = ()


def test_dialogs_built_without_init_equal_those_built_with_it():
    uas = Dialog.from_uas_request(INVITE, "a6c85cf", local_contact="sip:bob@192.0.2.4")
    assert uas == Dialog(
        call_id="a84b4c76e66710", local_tag="a6c85cf", remote_tag="1928301774",
        local_uri='"Bob" <sip:bob@biloxi.example.com>',
        remote_uri='"Alice" <sip:alice@atlanta.example.com>',
        remote_target="sip:alice@pc33.atlanta.example.com",
        route_set=["<sip:ss1.atlanta.example.com;lr>"], local_cseq=0, remote_cseq=314159,
        local_contact="sip:bob@192.0.2.4", state=DialogState.EARLY, is_caller=False,
        secure=False)
    sub = _Subclassed.from_uas_request(INVITE, "a6c85cf", local_contact="sip:bob@192.0.2.4")
    assert type(sub) is _Subclassed and sub.remote_target == uas.remote_target
    ok = make_response(INVITE, 200, to_tag="a6c85cf",
                       extra=[("Contact", "<sip:bob@192.0.2.4>"),
                              ("Record-Route", "<sip:ss1.atlanta.example.com;lr>")])
    uac = Dialog.from_uac_response(INVITE, ok)
    assert (uac.local_tag, uac.remote_tag, uac.remote_target, uac.state, uac.is_caller) == (
        "1928301774", "a6c85cf", "sip:bob@192.0.2.4", DialogState.CONFIRMED, True)
    assert uac.local_cseq == 314159 and uac.remote_cseq is None
    assert uac.local_contact == "sip:alice@pc33.atlanta.example.com"


def test_effects_and_events_built_without_init_equal_the_dataclasses():
    from simvoip.sip.effects import (
        CancelTimer,
        Send,
        StartTimer,
        fast_address,
        fast_cancel_timer,
        fast_send,
        fast_start_timer,
    )
    from simvoip.sip.ua import events

    built = [
        (fast_address("p", 5070, "TCP"), Address("p", 5070, "TCP")),
        (fast_send(INVITE, Address("p")), Send(INVITE, Address("p"))),
        (fast_start_timer("A", 0.5, "k"), StartTimer("A", 0.5, "k")),
        (fast_cancel_timer("A", "k"), CancelTimer("A", "k")),
        (events.call_started("c", "sip:b@b", 1.0), events.CallStarted("c", "sip:b@b", 1.0)),
        (events.call_progress("c", 180, "Ringing", 1.0),
         events.CallProgress("c", 180, "Ringing", 1.0)),
        (events.call_answered("c", 1.0, 200), events.CallAnswered("c", 1.0)),
        (events.call_ended("c", "local-bye", 1.0), events.CallEnded("c", "local-bye", 1.0)),
        (events.incoming_call("c", "<sip:a@a>", 1.0), events.IncomingCall("c", "<sip:a@a>", 1.0)),
    ]
    for fast, slow in built:
        assert type(fast) is type(slow) and fast == slow and repr(fast) == repr(slow)
        if not isinstance(fast, Send):  # a Send holds a message (mutable, unhashable)
            assert hash(fast) == hash(slow)
