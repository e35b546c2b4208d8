"""SDP parse/format (RFC 4566/8866) and RFC 3264 offer/answer outcomes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simvoip.sip import ParseError
from simvoip.sip.offer_answer import (
    G729,
    OPUS,
    PCMA,
    PCMU,
    TELEPHONE_EVENT,
    Codec,
    answer_direction,
    hold,
    make_answer,
    make_offer,
    negotiated_codecs,
)
from simvoip.sip.sdp import (
    DIRECTIONS,
    Connection,
    MediaDescription,
    Origin,
    RtpMap,
    SessionDescription,
    Timing,
)

# RFC 4566 section 5 example (with CRLF line ends).
RFC4566_EXAMPLE = (
    "v=0\r\n"
    "o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\r\n"
    "s=SDP Seminar\r\n"
    "i=A Seminar on the session description protocol\r\n"
    "u=http://www.example.com/seminars/sdp.pdf\r\n"
    "e=j.doe@example.com (Jane Doe)\r\n"
    "c=IN IP4 224.2.17.12/127\r\n"
    "t=2873397496 2873404696\r\n"
    "a=recvonly\r\n"
    "m=audio 49170 RTP/AVP 0\r\n"
    "m=video 51372 RTP/AVP 99\r\n"
    "a=rtpmap:99 h263-1998/90000\r\n"
)


def test_rfc4566_example_roundtrip() -> None:
    sd = SessionDescription.parse(RFC4566_EXAMPLE)
    assert sd.origin.username == "jdoe" and sd.origin.session_id == 2890844526
    assert sd.origin.session_version == 2890842807 and sd.origin.address == "10.47.16.5"
    assert sd.session_name == "SDP Seminar" and sd.uri == "http://www.example.com/seminars/sdp.pdf"
    assert sd.emails == ("j.doe@example.com (Jane Doe)",)
    assert sd.connection == Connection("224.2.17.12/127", "IN", "IP4")
    assert (sd.times[0].start, sd.times[0].stop) == (2873397496, 2873404696)
    audio, video = sd.media
    assert (audio.media, audio.port, audio.proto, audio.formats) == ("audio", 49170, "RTP/AVP", ("0",))
    assert audio.rtpmap(0) == RtpMap(0, "PCMU", 8000)
    assert video.rtpmaps == {99: RtpMap(99, "h263-1998", 90000)}
    # Session-level recvonly applies to media without their own direction.
    assert sd.direction == audio.direction == video.direction == "recvonly"
    assert str(sd) == RFC4566_EXAMPLE
    assert SessionDescription.parse(sd.encode()) == sd


def test_media_level_attributes() -> None:
    text = ("v=0\no=- 1 2 IN IP6 2001:db8::1\ns=-\nt=0 0\n"
            "m=audio 5004/2 RTP/AVP 96 97 101\nc=IN IP6 2001:db8::2\nb=AS:64\n"
            "a=rtpmap:96 opus/48000/2\na=fmtp:96 useinbandfec=1\na=rtpmap:97 PCMA/8000\n"
            "a=rtpmap:101 telephone-event/8000\na=fmtp:101 0-15\na=ptime:30\na=inactive\n")
    sd = SessionDescription.parse(text)
    m = sd.media[0]
    assert (m.port, m.port_count) == (5004, 2)
    assert sd.connection is None and sd.connection_for(m) == Connection("2001:db8::2", "IN", "IP6")
    assert m.rtpmap(96) == RtpMap(96, "opus", 48000, 2)
    assert m.fmtp == {96: "useinbandfec=1", 101: "0-15"}
    assert m.ptime == 30 and m.direction == "inactive" and m.bandwidths == ("AS:64",)
    assert m.payload_types == [96, 97, 101]
    assert SessionDescription.parse(str(sd)) == sd


@pytest.mark.parametrize("bad", [
    "",
    "v=1\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\n",                    # wrong version
    "v=0\r\ns=-\r\no=- 1 1 IN IP4 a\r\nt=0 0\r\n",                    # order
    "v=0\r\no=- 1 IN IP4 a\r\ns=-\r\nt=0 0\r\n",                      # short o=
    "v=0\r\no=- x 1 IN IP4 a\r\ns=-\r\nt=0 0\r\n",                    # sess-id not a number
    "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4 a\r\n",               # no t=
    "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n",   # no c= anywhere
    "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4 a\r\nt=0 0\r\nm=audio x RTP/AVP 0\r\n",
    "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4 a\r\nt=0 0\r\nm=audio 1 RTP/AVP\r\n",
    "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4 a\r\nt=0 0\r\nx=unknown\r\n",
    "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4 a\r\nt=0 0\r\ngarbage\r\n",
    "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4\r\nt=0 0\r\n",
    "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4 a\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\nt=0 0\r\n",
])
def test_bad_sdp(bad: str) -> None:
    with pytest.raises(ParseError):
        SessionDescription.parse(bad)
    with pytest.raises(ParseError):
        SessionDescription.parse(b"\xff\xfe" + bad.encode())


def test_offer_lists_codecs_with_dynamic_numbers() -> None:
    offer = make_offer(address="192.0.2.1", port=49170, session_id=7,
                       codecs=[OPUS, PCMU, PCMA, G729, TELEPHONE_EVENT])
    m = offer.media[0]
    assert m.formats == ("101", "0", "8", "18", "102")
    assert m.rtpmap(101) == RtpMap(101, "opus", 48000, 2)
    assert m.rtpmap(102) == RtpMap(102, "telephone-event", 8000)
    assert m.fmtp == {18: "annexb=no", 102: "0-16"}
    assert m.ptime == 20 and m.direction == "sendrecv"
    assert offer.connection == Connection("192.0.2.1") and offer.origin.session_id == 7
    assert SessionDescription.parse(offer.encode()) == offer


def test_answer_keeps_offerer_payload_numbers_and_order() -> None:
    # RFC 3264 6.1: the answer uses the offerer's payload type numbers.
    offer = SessionDescription.parse(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 18 8 0 110 99\r\na=rtpmap:110 telephone-event/8000\r\n"
        "a=rtpmap:99 OPUS/48000/2\r\n")
    answer = make_answer(offer, address="192.0.2.2", port=5000, session_id=9,
                         codecs=[PCMU, OPUS, TELEPHONE_EVENT])
    m = answer.media[0]
    assert (m.port, m.formats) == (5000, ("0", "110", "99"))
    assert m.rtpmap(99) == RtpMap(99, "OPUS", 48000, 2)
    assert m.rtpmap(110) == RtpMap(110, "telephone-event", 8000)
    assert [(c.name, c.payload_type) for c in negotiated_codecs(offer.media[0], m)] == [
        ("PCMU", 0), ("telephone-event", 110), ("OPUS", 99)]


def test_answer_rejects_streams_without_common_codec() -> None:
    offer = SessionDescription.parse(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 18 101\r\na=rtpmap:101 telephone-event/8000\r\n"
        "m=video 4002 RTP/AVP 31\r\n")
    answer = make_answer(offer, address="192.0.2.2", port=5000, session_id=1, codecs=[PCMU, TELEPHONE_EVENT])
    # RFC 3264 6: one m= per offered m=, rejected ones with port 0 and the offered formats.
    assert [(m.media, m.port, m.formats) for m in answer.media] == [
        ("audio", 0, ("18", "101")), ("video", 0, ("31",))]
    assert all(m.is_rejected for m in answer.media)
    assert negotiated_codecs(offer.media[0], answer.media[0]) == []


def test_only_first_audio_stream_accepted() -> None:
    offer = make_offer(address="192.0.2.1", port=4000, session_id=1, codecs=[PCMU])
    offer = replace(offer, media=(offer.media[0], replace(offer.media[0], port=4002)))
    answer = make_answer(offer, address="192.0.2.2", port=6000, session_id=2, codecs=[PCMU])
    assert [m.port for m in answer.media] == [6000, 0]


@pytest.mark.parametrize(("offered", "local", "expected"), [
    ("sendrecv", "sendrecv", "sendrecv"),
    ("sendonly", "sendrecv", "recvonly"),   # RFC 3264 6.1: hold
    ("recvonly", "sendrecv", "sendonly"),
    ("inactive", "sendrecv", "inactive"),
    ("sendrecv", "recvonly", "recvonly"),
    ("sendonly", "sendonly", "inactive"),
])
def test_direction_rules(offered: str, local: str, expected: str) -> None:
    assert answer_direction(offered, local) == expected
    offer = make_offer(address="192.0.2.1", port=4000, session_id=1, codecs=[PCMA], direction=offered)
    answer = make_answer(offer, address="192.0.2.2", port=5000, session_id=2, codecs=[PCMA], direction=local)
    assert answer.media[0].direction == expected


def test_hold_reoffer_and_legacy_hold() -> None:
    offer = make_offer(address="192.0.2.1", port=4000, session_id=1, session_version=3)
    held = hold(offer)
    assert held.media[0].direction == "sendonly" and held.origin.session_version == 4
    answer = make_answer(held, address="192.0.2.2", port=5000, session_id=2)
    assert answer.media[0].direction == "recvonly"
    # RFC 3264 8.4: c=0.0.0.0 is the old way of saying the same.
    legacy = replace(offer, connection=Connection("0.0.0.0"))
    assert make_answer(legacy, address="192.0.2.2", port=5000, session_id=2).media[0].direction == "recvonly"


def test_codec_matching() -> None:
    assert PCMU.matches("pcmu", 8000, None) and PCMU.matches("PCMU", 8000, 1)
    assert not PCMU.matches("PCMU", 16000, None)
    assert not OPUS.matches("opus", 48000, 1)
    assert Codec("G722", 8000, 9).matches("G722", 8000, None)
    assert MediaDescription("audio", 0, "RTP/AVP", ("0",)).is_rejected


def test_answer_keeps_the_offered_transport_protocol() -> None:
    offer = make_offer(address="192.0.2.1", port=4000, session_id=1, codecs=[PCMU])
    offer = replace(offer, media=(replace(offer.media[0], proto="RTP/SAVP"),))
    answer = make_answer(offer, address="192.0.2.2", port=5000, session_id=2, codecs=[PCMU])
    assert answer.media[0].proto == "RTP/SAVP" and answer.media[0].port == 5000


# --- generated session descriptions round-trip ------------------------------------------

_word = st.text("abcdefghijklmnopqrstuvwxyz0123456789-._", min_size=1, max_size=10)
_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20)
_addr = st.sampled_from(["192.0.2.1", "2001:db8::1", "0.0.0.0", "224.2.17.12/127"])
_conn = _addr.map(lambda a: Connection(a, "IN", "IP6" if ":" in a else "IP4"))
_attr_name = _word.filter(lambda w: w not in DIRECTIONS)
_attrs = st.lists(
    st.one_of(
        st.tuples(_attr_name, st.one_of(st.none(), _text)),
        st.sampled_from([(d, None) for d in DIRECTIONS]),
    ),
    max_size=5,
).map(tuple)


@st.composite
def _media(draw: st.DrawFn, need_conn: bool) -> MediaDescription:
    pts = draw(st.lists(st.integers(0, 127).map(str), min_size=1, max_size=4))
    conns = tuple(draw(st.lists(_conn, min_size=1 if need_conn else 0, max_size=2)))
    return MediaDescription(
        draw(st.sampled_from(["audio", "video", "application"])), draw(st.integers(0, 65535)),
        draw(st.sampled_from(["RTP/AVP", "RTP/SAVP", "udp"])), tuple(pts),
        draw(st.one_of(st.none(), st.integers(1, 4))), draw(st.one_of(st.none(), _text)),
        conns, tuple(draw(st.lists(st.sampled_from(["AS:64", "TIAS:64000"]), max_size=1))), None,
        draw(_attrs),
    )


@st.composite
def _sessions(draw: st.DrawFn) -> SessionDescription:
    conn = draw(st.one_of(st.none(), _conn))
    media = tuple(draw(st.lists(_media(need_conn=conn is None), max_size=3)))
    origin = Origin(draw(_word), draw(st.integers(0, 2**63)), draw(st.integers(0, 2**63)),
                    draw(_addr.filter(lambda a: "/" not in a)))
    times = tuple(draw(st.lists(
        st.builds(Timing, st.integers(0, 2**40), st.integers(0, 2**40),
                  st.lists(st.just("604800 3600 0 90000"), max_size=1).map(tuple)),
        min_size=1, max_size=2)))
    return SessionDescription(
        origin, draw(_text), conn, times, draw(_attrs), media,
        information=draw(st.one_of(st.none(), _text)), emails=("a@b.example",) if draw(st.booleans()) else (),
    )


@given(_sessions())
def test_generated_sdp_roundtrip(sd: SessionDescription) -> None:
    again = SessionDescription.parse(sd.encode())
    assert again == sd
    assert str(again) == str(sd)
    for m_in, m_out in zip(sd.media, again.media, strict=True):
        # the parser also resolves the session-level direction for each stream
        assert m_out.direction == (next((n for n, _ in reversed(m_in.attributes) if n in DIRECTIONS), None)
                                   or sd.direction)
