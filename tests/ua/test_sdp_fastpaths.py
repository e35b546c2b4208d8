"""The templated SDP bodies of :mod:`simvoip.sip.sdp_session` are byte for byte what the
full construction (build a SessionDescription, parse the offer back, encode) gave.

The reference functions below are the construction the UA used before the fast
paths, copied unchanged; the caches of the module under test stay warm across
examples, so one example's templates are checked against the next one's inputs.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simvoip.sip import offer_answer, sdp_session
from simvoip.sip.errors import LocalProtocolError, ParseError
from simvoip.sip.offer_answer import G729, OPUS, PCMA, PCMU, TELEPHONE_EVENT
from simvoip.sip.sdp import SessionDescription

# -- the reference: sdp_session as it was (commit 447937f) ------------------------------------


def ref_make_offer(host: str, port: int, *, direction: str = "sendrecv", session_id: int = 1,
                   version: int = 1) -> bytes:
    return offer_answer.make_offer(address=host, port=port, session_id=session_id,
                                   session_version=version, direction=direction).encode()


def ref_make_answer(offer: bytes, host: str, port: int, *, session_id: int = 1,
                    version: int = 1) -> bytes:
    try:
        parsed = SessionDescription.parse(offer)
    except ParseError:
        return ref_make_offer(host, port, session_id=session_id, version=version)
    return offer_answer.make_answer(parsed, address=host, port=port, session_id=session_id,
                                    session_version=version).encode()


def ref_direction_of(body: bytes) -> str:
    try:
        sdp = SessionDescription.parse(body)
    except ParseError:
        return "sendrecv"
    return sdp.media[0].direction if sdp.media else "sendrecv"


# -- inputs -------------------------------------------------------------------------------

PLAIN_HOSTS = ["192.0.2.1", "198.51.100.7", "10.0.0.1", "2001:db8::1", "::1", "pc33.atlanta.com",
               "ep0", "ep17", "proxy.b.example", "a", "-", "1.2.3.4.5"]
ODD_HOSTS = ["0.0.0.0", "::", "", "two words", "tab\there", "a\r\nb", "ä.example", "x/y",
             "host:5060", "[2001:db8::2]"]
plain_hosts = st.one_of(st.sampled_from(PLAIN_HOSTS),
                        st.from_regex(r"[A-Za-z0-9.:\-]{1,24}", fullmatch=True))
hosts = st.one_of(st.sampled_from(PLAIN_HOSTS + ODD_HOSTS), plain_hosts,
                  st.text(st.characters(min_codepoint=32, max_codepoint=0x17F), max_size=12))
ports = st.one_of(st.sampled_from([0, 1, 49170, 65535, 65536, 70000, -1]),
                  st.integers(0, 65535))
numbers = st.one_of(st.sampled_from([0, 1, 2890844526, 10**19 - 1, 10**19, 10**20, -5, 2**64]),
                    st.integers(0, 2**32))
directions = st.sampled_from(["sendrecv", "sendonly", "recvonly", "inactive"])


def both(fast, ref, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Same result, or the same exception type, from ``fast`` and ``ref``."""
    try:
        expected = ref(*args, **kwargs)
    except LocalProtocolError:
        with pytest.raises(LocalProtocolError):
            fast(*args, **kwargs)
        return None
    got = fast(*args, **kwargs)
    assert got == expected
    assert type(got) is bytes
    return got


offers = st.tuples(hosts, ports, directions, numbers, numbers)
answers = st.tuples(hosts, ports, numbers, numbers)


@given(st.lists(st.tuples(offers, st.lists(answers, min_size=1, max_size=3)),
                min_size=1, max_size=6))
def test_offers_and_answers_to_own_offers_are_byte_identical(
        rounds: list[tuple[tuple, list[tuple]]]) -> None:  # type: ignore[type-arg]
    for (host, port, direction, sid, ver), answerers in rounds:
        offer = both(sdp_session.make_offer, ref_make_offer, host, port, direction=direction,
                     session_id=sid, version=ver)
        assert offer is not None
        assert sdp_session.direction_of(offer) == ref_direction_of(offer)
        for a_host, a_port, a_sid, a_ver in answerers:
            answer = both(sdp_session.make_answer, ref_make_answer, offer, a_host, a_port,
                          session_id=a_sid, version=a_ver)
            # The UA's call: default session id and version.
            both(sdp_session.make_answer, ref_make_answer, offer, a_host, a_port)
            if answer is not None:
                assert sdp_session.direction_of(answer) == ref_direction_of(answer)


@given(directions, st.lists(st.tuples(plain_hosts, ports, numbers, numbers, plain_hosts),
                           min_size=2, max_size=8))
def test_one_shape_many_values(direction: str,
                               values: list[tuple[str, int, int, int, str]]) -> None:
    """A template made from the first host and numbers serves the others (other hosts of
    the same address type) with the same bytes."""
    for host, port, sid, ver, a_host in values:
        offer = both(sdp_session.make_offer, ref_make_offer, host, port, direction=direction,
                     session_id=sid, version=ver)
        assert offer is not None
        assert sdp_session.direction_of(offer) == ref_direction_of(offer)
        for answerer in ("192.0.2.2", "2001:db8::2", host, a_host):
            both(sdp_session.make_answer, ref_make_answer, offer, answerer, 4000 + port % 9)


CODECS = [PCMU, PCMA, G729, OPUS, TELEPHONE_EVENT]


@given(st.lists(st.sampled_from(CODECS), min_size=1, max_size=4, unique=True), hosts, ports,
       directions, st.lists(answers, min_size=1, max_size=3))
def test_answers_to_foreign_offers_are_byte_identical(
        codecs: list, host: str, port: int, direction: str,  # type: ignore[type-arg]
        answerers: list[tuple]) -> None:  # type: ignore[type-arg]
    """Offers not made by make_offer (other codecs, other bodies) take the full path."""
    try:
        offer = offer_answer.make_offer(address=host, port=port, session_id=7, codecs=codecs,
                                        direction=direction, ptime=None).encode()
    except LocalProtocolError:
        return
    for body in (offer, offer.replace(b"\r\n", b"\n"), offer + b"a=x\r\n", offer[:40]):
        for a_host, a_port, a_sid, a_ver in answerers:
            both(sdp_session.make_answer, ref_make_answer, body, a_host, a_port,
                 session_id=a_sid, version=a_ver)
        assert sdp_session.direction_of(body) == ref_direction_of(body)


def test_unknown_direction_still_raises() -> None:
    for _ in range(2):  # the second time with the template cache consulted
        with pytest.raises(LocalProtocolError):
            sdp_session.make_offer("192.0.2.1", 4000, direction="sideways")


def test_answer_to_own_offer_does_not_parse_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """After the first answer of a shape, answers to our own offers skip the SDP parser."""
    first = sdp_session.make_offer("192.0.2.10", 4000, session_id=1)
    sdp_session.make_answer(first, "192.0.2.20", 5000)  # makes the template
    offer = sdp_session.make_offer("192.0.2.11", 4002, session_id=99, version=3)
    expected = ref_make_answer(offer, "192.0.2.20", 5000)

    def no_parse(data: object) -> SessionDescription:
        raise AssertionError("parsed our own offer")

    monkeypatch.setattr(SessionDescription, "parse", no_parse)
    assert sdp_session.make_answer(offer, "192.0.2.20", 5000) == expected
    assert b"m=audio 5000 RTP/AVP 0 8 101\r\n" in expected
