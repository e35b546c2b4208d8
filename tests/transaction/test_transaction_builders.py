"""ACK (RFC 3261 17.1.1.3), CANCEL (9.1) and 100 Trying (8.2.6.1) construction."""

from __future__ import annotations

import pytest
from transaction_helpers import make_request, make_response

from simvoip.sip.effects import Address, Send
from simvoip.sip.errors import LocalProtocolError
from simvoip.sip.message import Request, parse_message
from simvoip.sip.transaction import (
    InviteClientTransaction,
    NonInviteClientTransaction,
    TransactionTable,
    make_ack,
    make_cancel,
    make_trying,
)

ROUTES = ("<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>, <sip:p3.example.com;lr>")
PROXY_VIA = ("SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1",)


def invite_with_routes() -> Request:
    return make_request("INVITE", routes=ROUTES, extra_vias=PROXY_VIA)


def test_ack_headers_follow_17_1_1_3() -> None:
    invite = invite_with_routes()
    busy = make_response(invite, 486, "Busy Here", to_tag="8321234356")
    ack = make_ack(invite, busy)
    # "The Request-URI of the ACK MUST be the same as the Request-URI of the original request."
    assert ack.method == "ACK" and ack.uri == invite.uri == "sip:bob@biloxi.com"
    # "The Call-ID, From, and Request-URI ... MUST be the same" ... "the CSeq header field
    # ... MUST contain the same value for the sequence number ..., but the method MUST be ACK."
    assert ack.call_id == invite.call_id
    assert ack.headers.get("From") == invite.headers.get("From")
    assert (ack.cseq.number, ack.cseq.method) == (invite.cseq.number, "ACK")
    # "The To header field in the ACK MUST equal the To header field in the response".
    assert ack.headers.get("To") == busy.headers.get("To")
    assert ack.to.tag == "8321234356"
    # "The ACK MUST contain a single Via header field, and this MUST be equal to the top
    # Via header field of the original request."
    assert ack.headers.get_all("Via") == [invite.headers.get_all("Via")[0]]
    assert len(ack.vias) == 1 and ack.branch == invite.branch
    # "If the INVITE request ... contained Route header fields, the ACK MUST contain the
    # same Route header fields."
    assert ack.headers.get_all("Route") == list(ROUTES)
    assert ack.body == b"" and ack.headers.get("Contact") is None
    assert parse_message(ack.encode()) == ack


def test_ack_for_2xx_is_not_built_here() -> None:
    invite = make_request("INVITE")
    with pytest.raises(LocalProtocolError):
        make_ack(invite, make_response(invite, 200))


def test_cancel_headers_follow_9_1() -> None:
    invite = invite_with_routes()
    cancel = make_cancel(invite)
    # "The Request-URI, Call-ID, To, the numeric part of CSeq, and From header fields in the
    # CANCEL request MUST be identical to those in the request being cancelled, including tags."
    assert cancel.method == "CANCEL" and cancel.uri == invite.uri
    for name in ("Call-ID", "To", "From"):
        assert cancel.headers.get(name) == invite.headers.get(name)
    assert (cancel.cseq.number, cancel.cseq.method) == (invite.cseq.number, "CANCEL")
    # "A CANCEL constructed by a client MUST have only a single Via header field value
    # matching the top Via value in the request being cancelled."
    assert len(cancel.vias) == 1 and str(cancel.top_via) == str(invite.top_via)
    # "If the request being cancelled contains a Route header field, the CANCEL request MUST
    # include that Route header field's values."
    assert cancel.headers.get_all("Route") == list(ROUTES)
    assert parse_message(cancel.encode()) == cancel


def test_cancel_only_for_invite() -> None:
    with pytest.raises(LocalProtocolError):
        make_cancel(make_request("OPTIONS"))


def test_cancel_runs_in_its_own_nict_and_responses_find_the_right_transaction() -> None:
    invite = make_request("INVITE")
    dst = Address("biloxi.com")
    table = TransactionTable()
    ict = table.add(InviteClientTransaction(invite, dst))
    ict.start(0.0)
    ict.receive_response(make_response(invite, 180), 0.1)
    assert ict.can_cancel
    cancel = make_cancel(invite)
    nict = table.add(NonInviteClientTransaction(cancel, dst))
    out = nict.start(0.2)
    assert out[0] == Send(cancel, dst)
    assert nict.key != ict.key and nict.key.branch == ict.key.branch
    # RFC 3261 17.1.3: the CSeq method separates the two transactions sharing a branch.
    assert table.match_response(make_response(cancel, 200)) is nict
    assert table.match_response(make_response(invite, 487)) is ict


def test_trying_copies_8_2_6_fields_without_to_tag() -> None:
    invite = make_request("INVITE", extra_vias=PROXY_VIA)
    invite.headers.add("Timestamp", "54")
    trying = make_trying(invite)
    assert trying.status_code == 100
    assert trying.headers.get_all("Via") == invite.headers.get_all("Via")
    for name in ("From", "To", "Call-ID", "CSeq", "Timestamp"):
        assert trying.headers.get(name) == invite.headers.get(name)
    assert trying.to.tag is None and trying.headers.get("Contact") is None
