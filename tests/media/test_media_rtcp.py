"""RTCP SR/RR/SDES/BYE encode/decode, A.2 checks, RTT (RFC 3550 6.4.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simvoip.media.errors import RtcpParseError, RtpParseError
from simvoip.media.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    SdesChunk,
    SenderReport,
    SourceDescription,
    UnknownRtcpPacket,
    decode_compound,
    encode_compound,
    encode_rtcp,
    ntp_middle32,
    ntp_timestamp,
    round_trip_time,
)
from simvoip.media.statistics import ReceptionStatistics
from simvoip.sip.errors import LocalProtocolError

u32 = st.integers(0, 2**32 - 1)
words = st.binary(max_size=16).map(lambda b: b + bytes(-len(b) % 4))
blocks = st.builds(ReportBlock, u32, st.integers(0, 255), st.integers(-0x800000, 0x7FFFFF),
                   u32, u32, u32, u32)
reports = st.lists(blocks, max_size=4).map(tuple)
sr = st.builds(SenderReport, u32, st.integers(0, 2**64 - 1), u32, u32, u32, reports, words)
rr = st.builds(ReceiverReport, u32, reports, words)
text = st.binary(min_size=0, max_size=20)
sdes = st.builds(SourceDescription, st.lists(st.builds(
    SdesChunk, u32, st.lists(st.tuples(st.integers(1, 8), text), max_size=3).map(tuple)),
    max_size=3).map(tuple))
bye = st.builds(Bye, st.lists(u32, max_size=4).map(tuple), text)
other = st.builds(UnknownRtcpPacket, st.sampled_from([204, 207, 205]), st.integers(0, 31), words)
compound = st.tuples(sr | rr, st.lists(sdes | bye | other | rr, max_size=3)).map(
    lambda t: [t[0], *t[1]])


def test_rtt_rfc3550_figure_2():
    # SR sent at 3024992005.125 s NTP: LSR 0xb7052000; RR arrives at A = 0xb710:8000.
    lsr = ntp_middle32(ntp_timestamp(3024992005.125))
    assert lsr == 0xB7052000
    assert round_trip_time(0xB7108000, lsr, 0x00054000) == pytest.approx(6.125)
    assert round_trip_time(0xB7108000, 0, 0) is None  # no SR received yet


def test_sr_layout():
    packet = SenderReport(ssrc=0x11, ntp_timestamp=0x0102030405060708, rtp_timestamp=0x21,
                          packet_count=3, octet_count=480,
                          reports=(ReportBlock(0x22, 64, -1, 0x10005, 17, 0xAA, 0xBB),))
    raw = encode_rtcp(packet)
    assert raw[:4] == bytes.fromhex("81c8000c")  # V=2 RC=1, PT=200, length 12 words
    assert raw[28:32] == bytes.fromhex("00000022")
    assert raw[32:36] == bytes.fromhex("40ffffff")  # fraction 64, cumulative lost -1 (24 bit)
    assert decode_compound(raw) == [packet]


@given(compound)
def test_compound_round_trip(packets):
    raw = encode_compound(packets)
    assert len(raw) % 4 == 0
    assert decode_compound(raw) == packets


@given(compound, st.data())
def test_corrupted_compound_only_raises_rtcp_parse_error(packets, data):
    raw = bytearray(encode_compound(packets))
    cut = data.draw(st.integers(0, len(raw)))
    flip = data.draw(st.integers(0, len(raw) - 1))
    raw[flip] ^= data.draw(st.integers(1, 255))
    try:
        decode_compound(bytes(raw[:cut]))
    except RtcpParseError as err:
        assert isinstance(err, RtpParseError)


@given(st.binary(max_size=64))
def test_random_bytes_only_raise_rtcp_parse_error(raw):
    try:
        decode_compound(raw)
    except RtcpParseError:
        pass


def test_a2_validity_checks():
    rr = encode_rtcp(ReceiverReport(1))
    sdes = encode_rtcp(SourceDescription((SdesChunk(1, ((1, b"a@b"),)),)))
    with pytest.raises(RtcpParseError, match="not SR/RR"):
        decode_compound(sdes + rr)
    with pytest.raises(RtcpParseError, match="version"):
        decode_compound(bytes([0x40]) + rr[1:])
    padded = encode_rtcp(ReceiverReport(1), padding=4)
    assert decode_compound(rr + padded) == [ReceiverReport(1), ReceiverReport(1)]
    with pytest.raises(RtcpParseError, match="not the last"):
        decode_compound(padded + rr)
    with pytest.raises(RtcpParseError, match="past the end"):
        decode_compound(rr[:2] + b"\x00\x05" + rr[4:])
    with pytest.raises(RtcpParseError):
        decode_compound(b"")
    with pytest.raises(LocalProtocolError):
        encode_compound([SourceDescription()])


def test_report_block_consistent_with_receiver_counts():
    stats = ReceptionStatistics(8000, ssrc=0xCAFE, min_sequential=0)
    first = 65500  # the extended sequence number wraps in the middle
    for i in range(500):
        if i % 25 == 5:  # 20 of 500 lost
            continue
        stats.receive((first + i) % 65536, 160 * i, 0.02 * i + 0.03 + (0.004 if i % 2 else 0))
    stats.on_sender_report(ntp_timestamp(100.0), arrival=9.0)
    block = stats.report_block(now=10.5)
    rr = ReceiverReport(ssrc=7, reports=(block,))
    got = decode_compound(encode_compound([rr]))[0].reports[0]
    assert got.ssrc == 0xCAFE
    assert got.cumulative_lost == stats.expected - stats.received == 20
    assert got.extended_highest_sequence == first + 499 == 65536 + 463
    assert got.fraction_lost == (20 * 256) // 500
    assert got.jitter == stats.jitter_reported > 0
    assert got.lsr == ntp_middle32(ntp_timestamp(100.0))
    assert got.dlsr == int(1.5 * 65536)
    # The SR sender gets the report back 0.2 s later: RTT = A - LSR - DLSR.
    # SR left the sender at NTP 100.0; RR left the receiver 1.5 s after the SR arrived.
    arrival = ntp_middle32(ntp_timestamp(100.0 + 0.1 + 1.5 + 0.1))
    assert round_trip_time(arrival, got.lsr, got.dlsr) == pytest.approx(0.2, abs=1e-4)


def test_report_block_field_ranges():
    with pytest.raises(LocalProtocolError):
        ReportBlock(1, 256, 0, 0, 0).encode()
    with pytest.raises(LocalProtocolError):
        ReportBlock(1, 0, 0x800000, 0, 0).encode()
    with pytest.raises(LocalProtocolError):
        encode_rtcp(ReceiverReport(1, reports=(ReportBlock(1, 0, 0, 0, 0),) * 32))
