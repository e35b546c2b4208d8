"""Dialog state of RFC 3261 section 12."""

from __future__ import annotations

import pytest

from simvoip.sip.dialog import Dialog, DialogState
from simvoip.sip.errors import LocalProtocolError
from simvoip.sip.message import Headers, Request, Response

VIA = "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds"


def invite(record_route=None):
    h = Headers([("Via", VIA), ("From", "Alice <sip:alice@atlanta.com>;tag=1928301774"),
                 ("To", "Bob <sip:bob@biloxi.com>"), ("Call-ID", "a84b4c76e66710"),
                 ("CSeq", "314159 INVITE"), ("Contact", "<sip:alice@pc33.atlanta.com>")])
    if record_route:
        h.add("Record-Route", record_route)
    return Request("INVITE", "sip:bob@biloxi.com", h)


def response(code, tag="a6c85cf", record_route=None, contact="<sip:bob@192.0.2.4>"):
    h = Headers([("Via", VIA), ("From", "Alice <sip:alice@atlanta.com>;tag=1928301774"),
                 ("To", f"Bob <sip:bob@biloxi.com>;tag={tag}"), ("Call-ID", "a84b4c76e66710"),
                 ("CSeq", "314159 INVITE"), ("Contact", contact)])
    if record_route:
        h.add("Record-Route", record_route)
    return Response(code, "", h)


def test_uac_dialog_from_early_then_confirmed():
    d = Dialog.from_uac_response(invite(), response(180, record_route="<sip:p1;lr>"))
    assert d.state is DialogState.EARLY and d.route_set == ["<sip:p1;lr>"]
    # 12.1.2 / 13.2.2.4: the 2xx recomputes the route set and confirms the dialog.
    d.update_from_response(response(200, record_route="<sip:p2;lr>, <sip:p1;lr>",
                                    contact="<sip:bob@192.0.2.9>"))
    assert d.state is DialogState.CONFIRMED
    assert d.route_set == ["<sip:p1;lr>", "<sip:p2;lr>"] and d.remote_target == "sip:bob@192.0.2.9"
    # Once confirmed the route set is fixed.
    d.update_from_response(response(200, record_route="<sip:other;lr>"))
    assert d.route_set == ["<sip:p1;lr>", "<sip:p2;lr>"]


def test_uas_dialog_and_remote_cseq():
    d = Dialog.from_uas_request(invite("<sip:p2;lr>, <sip:p1;lr>"), "b0b",
                                local_contact="sip:bob@192.0.2.4")
    assert d.id.local_tag == "b0b" and d.id.remote_tag == "1928301774"
    assert d.route_set == ["<sip:p2;lr>", "<sip:p1;lr>"]   # not reversed at the UAS
    assert d.remote_target == "sip:alice@pc33.atlanta.com" and d.remote_cseq == 314159
    bye, hop = d.create_request("BYE", via="SIP/2.0/UDP b;branch=z9hG4bK1")
    assert str(bye.cseq) == "1 BYE"   # the UAS's own CSeq space
    assert bye.headers.get("From") == '"Bob" <sip:bob@biloxi.com>;tag=b0b'
    assert hop.host == "p2"
    later = invite()
    later.headers.set("CSeq", "314160 BYE")
    assert d.accept_remote_request(Request("BYE", "sip:x", later.headers))
    older = invite()
    older.headers.set("CSeq", "314158 BYE")
    assert not d.accept_remote_request(Request("BYE", "sip:x", older.headers))


def test_strict_route_set_in_dialog():
    # 12.2.1.1: the first route is a strict router: it becomes the Request-URI and the
    # remote target goes last in Route.
    d = Dialog.from_uac_response(invite(), response(200, record_route="<sip:p2;lr>, <sip:p1>"))
    bye, hop = d.create_request("BYE", via="SIP/2.0/UDP a;branch=z9hG4bK2")
    assert bye.uri == "sip:p1" and hop.host == "p1"
    assert bye.headers.get_all("Route") == ["<sip:p2;lr>", "<sip:bob@192.0.2.4>"]


def test_ack_and_cancel_need_the_invite_cseq():
    d = Dialog.from_uac_response(invite(), response(200))
    with pytest.raises(LocalProtocolError):
        d.create_request("ACK", via="SIP/2.0/UDP a;branch=z9hG4bK3")
    ack, _ = d.create_request("ACK", via="SIP/2.0/UDP a;branch=z9hG4bK3", cseq=314159)
    assert str(ack.cseq) == "314159 ACK" and d.local_cseq == 314159
