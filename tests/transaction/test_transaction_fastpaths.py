"""The transaction layer's fast paths give the same values as the plain constructors.

Effects and keys are built without their frozen dataclass ``__init__``; a server
transaction reuses the key its table computed while matching; ``Transaction.handle_timer``
maps timer names through a dict; the table reaps a transaction only when a step
reports Terminated. Each is checked against the slow, obvious version.
"""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from simvoip.sip.effects import (
    Address,
    CancelTimer,
    Send,
    StartTimer,
    fast_address,
    fast_cancel_timer,
    fast_send,
    fast_start_timer,
)
from simvoip.sip.errors import LocalProtocolError
from simvoip.sip.message import Headers, Request, Response, parse_message
from simvoip.sip.transaction import (
    InviteClientTransaction,
    NonInviteClientTransaction,
    Timer,
    TimerConfig,
)
from simvoip.sip.transaction.builders import make_ack, make_cancel, make_trying
from simvoip.sip.transaction.events import TERMINATED
from simvoip.sip.transaction.keys import TransactionKey, client_key, server_key
from simvoip.sip.ua.transactions import TransactionTable

INVITE = parse_message(
    b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8\r\n"
    b"Via: SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1\r\n"
    b"Max-Forwards: 70\r\nRoute: <sip:ss1.atlanta.example.com;lr>\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710\r\nCSeq: 314159 INVITE\r\nTimestamp: 54\r\n"
    b"Contact: <sip:alice@pc33.atlanta.example.com>\r\n\r\n")
assert isinstance(INVITE, Request)


@pytest.mark.parametrize(("fast", "slow"), [
    (lambda: fast_send(INVITE, fast_address("a.example", 5070, "TCP")),
     lambda: Send(INVITE, Address("a.example", 5070, "TCP"))),
    (lambda: fast_start_timer("A", 0.5, ("k", 1)), lambda: StartTimer("A", 0.5, ("k", 1))),
    (lambda: fast_cancel_timer("C", ("k", 1)), lambda: CancelTimer("C", ("k", 1))),
    (lambda: fast_address("b.example", 5061, "TLS"), lambda: Address("b.example", 5061, "TLS")),
])
def test_fast_effects_are_the_dataclass_values(fast, slow):
    f, s = fast(), slow()
    assert type(f) is type(s)
    assert f == s and repr(f) == repr(s)
    if not isinstance(f, Send):  # a Send holds a (mutable, unhashable) message
        assert hash(f) == hash(s)
    assert dataclasses.astuple(f) == dataclasses.astuple(s)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(f, dataclasses.fields(f)[0].name, 9.0)


def test_fast_address_keeps_the_reliable_rule():
    assert not fast_address("a", 5060, "UDP").reliable
    assert fast_address("a", 5060, "TCP").reliable


def test_keys_built_fast_equal_and_hash_like_the_constructor():
    key = server_key(INVITE)
    plain = TransactionKey("z9hG4bKnashds8", "pc33.atlanta.example.com:5060", "INVITE")
    assert key == plain and hash(key) == hash(plain) and repr(key) == repr(plain)
    assert {key: 1}[plain] == 1
    ck = client_key(INVITE)
    assert ck == TransactionKey("z9hG4bKnashds8", None, "INVITE")
    assert hash(ck) == hash(TransactionKey("z9hG4bKnashds8", None, "INVITE"))
    again = pickle.loads(pickle.dumps(key))
    assert again == key and hash(again) == hash(key)


def test_start_server_reuses_the_key_only_for_the_request_just_matched():
    other = parse_message(INVITE.encode().replace(b"z9hG4bKnashds8", b"z9hG4bKother"))
    assert isinstance(other, Request)
    table = TransactionTable()
    assert table.find_server(INVITE) is None
    # A different request started after the lookup gets its own key ...
    tx_other, _ = table.start_server(other, 0.0)
    assert tx_other.key == server_key(other)
    # ... and the matched one its own (computed again, the memo was for INVITE).
    tx, _ = table.start_server(INVITE, 0.0)
    assert tx.key == server_key(INVITE)
    assert table.find_server(INVITE) is tx and table.find_server(other) is tx_other
    # Lookup, then start of the same request: the key of the lookup, same as computed.
    fresh = TransactionTable()
    assert fresh.find_server(other) is None
    started, _ = fresh.start_server(other, 0.0)
    assert started.key == server_key(other) and fresh.servers[started.key] is started


def test_handle_timer_accepts_names_and_enums_and_refuses_others():
    nict = NonInviteClientTransaction(make_cancel(INVITE), Address("p"))
    nict.start(0.0)
    assert [o.at for o in nict.handle_timer("E", 0.5) if isinstance(o, StartTimer)] == [1.5]
    assert [o.at for o in nict.handle_timer(Timer.E, 1.5) if isinstance(o, StartTimer)] == [3.5]
    assert nict.handle_timer("A", 2.0) == []          # a real timer that is not armed
    for bad in ("Z", "e", 5, None, ("E",)):
        with pytest.raises(LocalProtocolError):
            nict.handle_timer(bad, 2.0)  # type: ignore[arg-type]


def test_table_reaps_exactly_on_termination():
    table = TransactionTable()
    tx, _ = table.start_client(INVITE, Address("p"), 0.0)
    assert isinstance(tx, InviteClientTransaction)
    busy = Response(486, "Busy Here", Headers([(n, v) for n, v in INVITE.headers
                                               if n in ("Via", "From", "To", "Call-ID", "CSeq")]))
    out = table.receive_response(tx, busy, 0.1)
    assert TERMINATED not in out and table.clients.get(tx.key) is tx      # Completed
    out = table.handle_timer("D", tx.key, 32.1)[1]
    assert out[-1] is TERMINATED and tx.key not in table.clients


@pytest.mark.parametrize("reliable", [False, True])
def test_timer_durations_unchanged(reliable):
    c = TimerConfig(t1=0.25, t2=2.0, t4=3.0, timer_c=200.0)
    expected = {"B": 16.0, "F": 16.0, "H": 16.0, "L": 16.0, "M": 16.0, "C": 200.0,
                "D": 0.0 if reliable else 32.0, "J": 0.0 if reliable else 16.0,
                "I": 0.0 if reliable else 3.0, "K": 0.0 if reliable else 3.0}
    for name, seconds in expected.items():
        assert c.duration(name, reliable=reliable) == seconds
        assert c.duration(Timer(name), reliable=reliable) == seconds
    for name in ("A", "E", "G"):
        if reliable:
            with pytest.raises(LocalProtocolError):
                c.duration(name, reliable=True)
        else:
            assert c.duration(name, reliable=False) == 0.25


def _slow_copy_of_invite(invite: Request, method: str, to_row: str) -> Request:
    headers = Headers()
    headers.add("Via", invite.headers.get("Via") or "")
    headers.add("Max-Forwards", invite.headers.get("Max-Forwards") or "70")
    for route in invite.headers.get_all("Route"):
        headers.add("Route", route)
    headers.add("From", invite.headers.get("From") or "")
    headers.add("To", to_row)
    headers.add("Call-ID", invite.headers.get("Call-ID") or "")
    headers.add("CSeq", f"{invite.cseq.number} {method}")
    return Request(method, invite.uri, headers, b"", invite.version)


def test_builders_give_the_rows_of_one_add_per_header():
    # The INVITE's Via rows are two separate rows here: the first row is copied as is.
    busy = Response(486, "Busy Here", Headers([("To", "Bob <sip:bob@biloxi.example.com>;tag=9")]))
    assert make_ack(INVITE, busy) == _slow_copy_of_invite(INVITE, "ACK", busy.headers.get("To"))
    assert make_cancel(INVITE) == _slow_copy_of_invite(INVITE, "CANCEL", INVITE.headers.get("To"))
    slow = Headers()
    for name, value in INVITE.headers:
        if name in ("Via", "From", "To", "Call-ID", "CSeq", "Timestamp"):
            slow.add(name, value)
    assert make_trying(INVITE) == Response(100, "Trying", slow)
    assert make_trying(INVITE).headers.get("Timestamp") == "54"
