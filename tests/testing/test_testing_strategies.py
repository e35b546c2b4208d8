"""The SIP strategies generate what they promise: valid values round-trip, mutants never crash."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simvoip.sip import (
    NameAddr,
    ParseError,
    Request,
    Response,
    SessionDescription,
    SipUri,
    Via,
    parse_message,
    validate_request,
)
from simvoip.sip.grammar import is_token
from simvoip.sip.headers import MAGIC_COOKIE, CSeq
from simvoip.testing import strategies as sst


@given(sst.sip_uris())
def test_sip_uris_round_trip(uri: SipUri) -> None:
    assert SipUri.parse(str(uri)) == uri


@given(sst.sip_uris(with_user=True, escapes=False))
def test_sip_uris_without_escapes_need_none(uri: SipUri) -> None:
    assert "%" not in str(uri)
    assert uri.user is not None


@given(sst.vias())
def test_vias_round_trip_and_carry_a_magic_cookie_branch(via: Via) -> None:
    assert Via.parse(str(via)) == via
    assert via.branch is not None and via.branch.startswith(MAGIC_COOKIE)


@given(sst.name_addrs(tag=sst.tags()))
def test_name_addrs_round_trip(value: NameAddr) -> None:
    assert NameAddr.parse(str(value)) == value
    assert value.tag is not None and is_token(value.tag)


@given(sst.cseqs("INVITE"))
def test_cseqs_are_below_2_to_31(cseq: CSeq) -> None:
    # RFC 3261 8.1.1.5: the sequence number MUST be less than 2**31.
    assert 0 <= cseq.number < 2**31 and cseq.method == "INVITE"
    assert CSeq.parse(str(cseq)) == cseq


@given(sst.requests())
def test_requests_round_trip_and_validate(request: Request) -> None:
    wire = request.encode()
    parsed = parse_message(wire)
    assert parsed == request
    assert parsed.encode() == wire
    # RFC 3261 8.1.1: the mandatory header fields are there and well formed.
    assert parsed.cseq.method == request.method
    assert parsed.from_.tag is not None
    assert parsed.top_via.branch.startswith(MAGIC_COOKIE)
    assert validate_request(parsed) is None


@given(sst.requests("INVITE"))
def test_invites_carry_contact_and_sdp(request: Request) -> None:
    assert request.contacts and request.headers.get("Content-Type") == "application/sdp"
    assert SessionDescription.parse(request.body).media


@given(sst.responses())
def test_responses_round_trip(response: Response) -> None:
    parsed = parse_message(response.encode())
    assert parsed == response
    assert isinstance(parsed, Response) and 100 <= parsed.status_code <= 699


@given(st.data())
def test_responses_answer_the_given_request(data: st.DataObject) -> None:
    request = data.draw(sst.requests("OPTIONS"))
    response = data.draw(sst.responses(200, to=request))
    assert response.call_id == request.call_id and response.cseq == request.cseq
    assert response.headers.get_all("Via") == request.headers.get_all("Via")
    assert response.to.tag is not None  # RFC 3261 8.2.6.2: a final response gets a To tag


@given(sst.sdp_offers())
def test_sdp_offers_round_trip(offer: SessionDescription) -> None:
    assert SessionDescription.parse(offer.encode()) == offer
    assert all(m.media == "audio" and m.port % 2 == 0 for m in offer.media)


@given(sst.mutated_messages())
def test_mutated_messages_parse_or_raise_parse_error_only(data: bytes) -> None:
    try:
        message = parse_message(data)
    except ParseError as exc:
        assert exc.status_code in (400, 416, 505, None) or 400 <= exc.status_code < 600
        return
    # Whatever parsed must encode again without crashing.
    assert isinstance(message.encode(), bytes)


def test_mutations_actually_break_messages() -> None:
    # The mutator is not a no-op: over a deterministic sample most mutants differ from
    # the original and some no longer parse.
    seen: list[tuple[bool, bool]] = []

    @settings(max_examples=60, derandomize=True, database=None)
    @given(st.data())
    def collect(data: st.DataObject) -> None:
        original = data.draw(sst.requests("OPTIONS", body=False))
        mutant = data.draw(sst.mutated_messages(st.just(original)))
        try:
            parse_message(mutant)
            ok = True
        except ParseError:
            ok = False
        seen.append((mutant != original.encode(), ok))

    collect()
    assert sum(changed for changed, _ in seen) > len(seen) * 0.8
    assert any(not ok for _, ok in seen) and any(ok for _, ok in seen)
