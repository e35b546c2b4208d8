"""Transaction matching: RFC 3261 17.1.3 (client), 17.2.3 (server, incl. RFC 2543), 9.2 (CANCEL)."""

from __future__ import annotations

from transaction_helpers import make_request, make_response

from simvoip.sip.effects import Address
from simvoip.sip.message import Response
from simvoip.sip.transaction import (
    InviteClientTransaction,
    InviteServerTransaction,
    LegacyKey,
    NonInviteServerTransaction,
    TransactionKey,
    TransactionTable,
    cancel_target_key,
    client_key,
    server_key,
)

DST = Address("pc33.atlanta.com")


def test_server_key_maps_ack_to_invite_and_includes_sent_by() -> None:
    invite = make_request("INVITE", sent_by="PC33.atlanta.com")
    ack = make_request("ACK", sent_by="pc33.atlanta.com:5060", to_tag="a6c85cf")
    assert server_key(invite) == server_key(ack) == TransactionKey(
        "z9hG4bK776asdhds", "pc33.atlanta.com:5060", "INVITE")
    assert server_key(make_request("CANCEL")).method == "CANCEL"


def test_server_matching_by_branch_sent_by_and_method() -> None:
    table = TransactionTable()
    invite = make_request("INVITE")
    ist = table.add(InviteServerTransaction(invite, DST))
    assert table.match_request(invite) is ist
    assert table.match_request(make_request("ACK", to_tag="a6c85cf")) is ist
    # Same branch from another client (sent-by differs): no match (17.2.3 rule 2).
    assert table.match_request(make_request("INVITE", sent_by="evil.example.com")) is None
    # Same branch, other method: another transaction (rule 3).
    assert table.match_request(make_request("OPTIONS")) is None
    assert table.match_request(make_request("INVITE", branch="z9hG4bKother")) is None
    options = make_request("OPTIONS", branch="z9hG4bKopt")
    nist = table.add(NonInviteServerTransaction(options, DST))
    assert table.match_request(options) is nist
    assert table.get(nist.key) is nist and len(table) == 2
    table.remove(nist)
    assert table.match_request(options) is None and len(table) == 1


def test_cancel_matches_the_invite_server_transaction() -> None:
    table = TransactionTable()
    invite = make_request("INVITE")
    ist = table.add(InviteServerTransaction(invite, DST))
    cancel = make_request("CANCEL")
    assert cancel_target_key(cancel) == ist.key
    assert table.match_request(cancel) is None        # CANCEL is its own transaction
    assert table.match_cancel(cancel) is ist
    assert table.match_cancel(make_request("CANCEL", branch="z9hG4bKnope")) is None
    assert table.match_cancel(make_request("CANCEL", sent_by="other.example.com")) is None


def test_rfc2543_fallback_matching() -> None:
    table = TransactionTable()
    invite = make_request("INVITE", branch="")
    assert isinstance(server_key(invite), LegacyKey)
    ist = table.add(InviteServerTransaction(invite, DST, auto_trying=False))
    assert table.match_request(make_request("INVITE", branch="")) is ist
    # A different CSeq is a new transaction.
    assert table.match_request(make_request("INVITE", branch="", cseq=314160)) is None
    # The INVITE had no To tag: an INVITE with a tag is a different request.
    assert table.match_request(make_request("INVITE", branch="", to_tag="zz")) is None
    # An ACK matches only once a response was sent, and only with that response's To tag.
    ack = make_request("ACK", branch="", to_tag="a6c85cf")
    assert table.match_request(ack) is None
    ist.send_response(make_response(invite, 404, to_tag="a6c85cf"), 0.0)
    assert table.match_request(ack) is ist
    assert table.match_request(make_request("ACK", branch="", to_tag="other")) is None
    # A branch without the magic cookie is an RFC 2543 branch: legacy rules too.
    old_style = make_request("INVITE", branch="1234")
    assert isinstance(server_key(old_style), LegacyKey)
    # CANCEL with the legacy rules (9.2).
    assert table.match_cancel(make_request("CANCEL", branch="")) is ist
    assert table.match_cancel(make_request("CANCEL", branch="", to_tag="zz")) is None


def test_client_matching_by_branch_and_cseq_method() -> None:
    table = TransactionTable()
    invite = make_request("INVITE")
    ict = table.add(InviteClientTransaction(invite, DST))
    assert client_key(invite) == ict.key == TransactionKey("z9hG4bK776asdhds", None, "INVITE")
    assert table.match_response(make_response(invite, 180)) is ict
    assert table.match_response(make_response(make_request("INVITE", branch="z9hG4bKx"), 180)) is None
    # Unreadable or branch-less responses match nothing instead of raising.
    assert table.match_response(Response(200, "OK")) is None
    assert table.match_response(make_response(make_request("INVITE", branch=""), 200)) is None
    assert table.get(ict.key) is ict and list(table) == [ict]
