"""RTP header (RFC 3550 5.1), sender and telephone-event (RFC 4733) tests."""

from __future__ import annotations

import random
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simvoip.media.codecs import codec_by_name
from simvoip.media.errors import RtpParseError
from simvoip.media.rtp import RtpHeaderExtension, RtpPacket, RtpSender, decode_rtp, encode_rtp
from simvoip.media.telephone_event import (
    DTMF_EVENTS,
    TelephoneEvent,
    decode_telephone_event,
)
from simvoip.sip.errors import LocalProtocolError, RemoteProtocolError

u32 = st.integers(0, 2**32 - 1)
packets = st.builds(
    RtpPacket,
    payload_type=st.integers(0, 127),
    sequence_number=st.integers(0, 65535),
    timestamp=u32,
    ssrc=u32,
    payload=st.binary(max_size=64),
    marker=st.booleans(),
    csrc=st.lists(u32, max_size=15).map(tuple),
    extension=st.none() | st.builds(
        RtpHeaderExtension, st.integers(0, 65535),
        st.binary(max_size=12).map(lambda b: b + bytes(-len(b) % 4))),
    padding=st.integers(0, 255),
)


def test_fixed_header_layout():
    pkt = RtpPacket(payload_type=18, sequence_number=0x1234, timestamp=0xDEADBEEF,
                    ssrc=0x01020304, payload=b"ab", marker=True, csrc=(7,))
    raw = encode_rtp(pkt)
    # V=2, P=0, X=0, CC=1 -> 0x81; M=1, PT=18 -> 0x92
    assert raw[:12] == bytes.fromhex("81921234deadbeef01020304")
    assert raw[12:16] == struct.pack("!I", 7) and raw[16:] == b"ab"
    assert pkt.header_size == 16 and pkt.size == len(raw)


def test_padding_and_extension_bits():
    pkt = RtpPacket(0, 1, 2, 3, payload=b"x", padding=3,
                    extension=RtpHeaderExtension(0xBEDE, b"\x10\x20\x30\x40"))
    raw = encode_rtp(pkt)
    assert raw[0] == 0x80 | 0x20 | 0x10
    assert raw[-1] == 3  # RFC 3550 5.1: last padding octet is the count
    assert raw[12:16] == bytes.fromhex("bede0001")
    assert decode_rtp(raw) == pkt


@given(packets)
def test_round_trip(pkt):
    raw = encode_rtp(pkt)
    assert len(raw) == pkt.size
    assert decode_rtp(raw) == pkt
    assert encode_rtp(decode_rtp(raw)) == raw


@given(st.binary(max_size=80))
def test_arbitrary_bytes_parse_or_raise_rtp_parse_error(data):
    try:
        pkt = decode_rtp(data)
    except RtpParseError as err:
        assert isinstance(err, RemoteProtocolError)
        assert err.reason
    else:
        assert data[0] >> 6 == 2
        assert encode_rtp(pkt) == data or pkt.padding  # padding octets are not kept


@given(packets, st.data())
def test_corrupted_packets_only_raise_rtp_parse_error(pkt, data):
    raw = bytearray(encode_rtp(pkt))
    cut = data.draw(st.integers(0, len(raw)))
    flip = data.draw(st.integers(0, max(0, len(raw) - 1)))
    if raw:
        raw[flip] ^= data.draw(st.integers(1, 255))
    try:
        decode_rtp(bytes(raw[:cut]))
    except RtpParseError:
        pass


@pytest.mark.parametrize("raw, why", [
    (b"", "shorter"),
    (bytes.fromhex("8000000100000002000000"), "shorter"),
    (bytes.fromhex("400000010000000200000003"), "version is 1"),
    (bytes.fromhex("830000010000000200000003" "00000004"), "CSRC"),
    (bytes.fromhex("900000010000000200000003" "bede"), "extension header"),
    (bytes.fromhex("900000010000000200000003" "bede0002" "00000000"), "extension is truncated"),
    (bytes.fromhex("a00000010000000200000003" "0000"), "padding count 0"),
    (bytes.fromhex("a00000010000000200000003" "0009"), "padding count 9"),
])
def test_malformed_examples(raw, why):
    with pytest.raises(RtpParseError, match=why):
        decode_rtp(raw)


def test_encode_rejects_out_of_range_fields():
    for bad in (RtpPacket(128, 0, 0, 0), RtpPacket(0, 65536, 0, 0), RtpPacket(0, 0, 2**32, 0),
                RtpPacket(0, 0, 0, 0, csrc=tuple(range(16))), RtpPacket(0, 0, 0, 0, padding=256),
                RtpPacket(0, 0, 0, 0, extension=RtpHeaderExtension(1, b"abc"))):
        with pytest.raises(LocalProtocolError):
            encode_rtp(bad)


def test_sender_progression_and_wrap():
    rng = random.Random(5)
    expected = random.Random(5)
    sender = RtpSender(codec_by_name("G729"), rng)
    # RFC 3550 5.1: random initial SSRC, sequence number and timestamp from the injected rng.
    assert sender.ssrc == expected.getrandbits(32)
    first_seq, first_ts = expected.getrandbits(16), expected.getrandbits(32)
    assert (sender.sequence_number, sender.timestamp) == (first_seq, first_ts)
    sender.sequence_number, sender.timestamp = 65534, 2**32 - 160
    sent = [sender.audio_packet() for _ in range(4)]
    assert [p.sequence_number for p in sent] == [65534, 65535, 0, 1]
    assert [p.timestamp for p in sent] == [2**32 - 160, 0, 160, 320]
    assert [p.marker for p in sent] == [True, False, False, False]
    assert all(len(p.payload) == 20 and p.payload_type == 18 for p in sent)
    assert sender.packets_sent == 4 and sender.octets_sent == 80


def test_sender_silence_sets_marker_and_skips_timestamp():
    sender = RtpSender(codec_by_name("PCMU"), random.Random(1))
    a = sender.audio_packet()
    sender.silence(10)
    b = sender.audio_packet()
    assert b.marker and (b.timestamp - a.timestamp) % 2**32 == 11 * 160
    assert (b.sequence_number - a.sequence_number) % 65536 == 1


def test_dtmf_rfc4733_sending_rules():
    sender = RtpSender(codec_by_name("PCMU"), random.Random(9), event_payload_type=101)
    before = sender.audio_packet()
    start_ts = sender.timestamp
    events = sender.telephone_event(DTMF_EVENTS["7"], duration_ms=90, volume=13)
    after = sender.audio_packet()
    reports = [decode_telephone_event(p.payload) for p in events]
    assert [p.payload_type for p in events] == [101] * len(events)
    # 2.5.1.2: same timestamp as the start, duration growing to the total, M on first only.
    assert {p.timestamp for p in events} == {start_ts}
    assert [r.duration for r in reports] == [160, 320, 480, 640, 720, 720, 720]
    assert [p.marker for p in events] == [True] + [False] * 6
    # E bit on the final packet, which is sent three times in total (2.5.1.4).
    assert [r.end for r in reports] == [False] * 4 + [True] * 3
    assert all(r.event == 7 and r.volume == 13 for r in reports)
    # 2.5.1.6: every packet, retransmissions included, takes the next sequence number.
    seqs = [before.sequence_number] + [p.sequence_number for p in events] + [after.sequence_number]
    assert all((b - a) % 65536 == 1 for a, b in zip(seqs, seqs[1:], strict=False))
    # The audio stream continues after the event, starting a new talkspurt.
    assert (after.timestamp - start_ts) % 2**32 == 720 and after.marker


@given(st.integers(0, 255), st.booleans(), st.integers(0, 63), st.integers(0, 65535))
def test_telephone_event_round_trip(event, end, volume, duration):
    ev = TelephoneEvent(event, end, volume, duration)
    raw = ev.encode()
    assert len(raw) == 4 and raw[1] & 0x40 == 0  # R bit zero
    assert decode_telephone_event(raw) == ev
    # RFC 4733 2.3.3: the receiver ignores the R bit.
    assert decode_telephone_event(raw[:1] + bytes([raw[1] | 0x40]) + raw[2:]) == ev


def test_telephone_event_errors():
    with pytest.raises(RtpParseError):
        decode_telephone_event(b"\x01")
    with pytest.raises(LocalProtocolError):
        TelephoneEvent(1, volume=64).encode()
    with pytest.raises(LocalProtocolError):
        RtpSender(codec_by_name("PCMU"), random.Random(0)).telephone_event(1, duration_ms=9000)
