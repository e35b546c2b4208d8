"""MediaReceiver: a whole RTP stream (VAD, DTMF, loss, reordering) end to end."""

from __future__ import annotations

import random

import pytest

from simvoip.media.codecs import codec_by_name
from simvoip.media.emodel import EModel
from simvoip.media.errors import RtpParseError
from simvoip.media.jitter_buffer import AdaptiveJitterBuffer, FixedJitterBuffer
from simvoip.media.receiver import MediaReceiver
from simvoip.media.rtcp import (
    ReceiverReport,
    SenderReport,
    decode_compound,
    encode_compound,
    ntp_middle32,
    ntp_timestamp,
    round_trip_time,
)
from simvoip.media.rtp import RtpPacket, RtpSender, encode_rtp
from simvoip.media.telephone_event import DTMF_EVENTS


def make_stream(seed: int, *, dtmf: bool = True):
    """(send_time, bytes, is_audio) for a 20 s G.711 stream with VAD and two DTMF digits.

    Send times follow the media clock: audio packets leave at their timestamp,
    event updates every 20 ms from the event start (RFC 4733 2.5.1.2), the two
    retransmissions of the end packet 20 and 40 ms after it (2.5.1.4), beside
    the audio that has resumed.
    """
    rng = random.Random(seed)
    sender = RtpSender(codec_by_name("PCMU"), rng)
    ts0 = sender.timestamp
    out = []
    for spurt in range(10):
        for _ in range(60):  # 1.2 s of speech
            pkt = sender.audio_packet()
            out.append((((pkt.timestamp - ts0) % 2**32) / 8000, encode_rtp(pkt), True))
        if dtmf and spurt in (3, 7):
            events = sender.telephone_event(DTMF_EVENTS["5" if spurt == 3 else "#"], 100)
            start = ((events[0].timestamp - ts0) % 2**32) / 8000
            for k, pkt in enumerate(events):
                out.append((start + 0.02 * k, encode_rtp(pkt), False))
        sender.silence(40)  # 0.8 s of silence
    out.sort(key=lambda item: item[0])
    return sender, out


def test_clean_stream_reports_no_loss_and_events():
    sender, stream = make_stream(1)
    rx = MediaReceiver(codec_by_name("PCMU"), buffer=FixedJitterBuffer(0.03))
    for t, raw, _ in stream:
        rx.receive(raw, now=t + 0.04)
    audio = sum(1 for *_, is_audio in stream if is_audio)
    report = rx.report(packets_sent=audio)
    assert audio == 600
    assert (report.packets_sent, report.packets_lost, report.packets_discarded) == (600, 0, 0)
    assert report.mouth_to_ear_ms == pytest.approx(40 + 20 + 30)
    assert report.r == pytest.approx(EModel(ie=0, bpl=25.1).r)
    assert [e.event for e in rx.events] == [5, 11]
    assert all(e.end and e.duration == 800 for e in rx.events)
    assert rx.statistics.received == len(stream) and rx.statistics.cumulative_lost == 0


def test_lossy_reordered_stream_counts_match_ground_truth():
    sender, stream = make_stream(2)
    rng = random.Random(7)
    rx = MediaReceiver(codec_by_name("PCMU"), buffer=AdaptiveJitterBuffer())
    deliveries = []
    lost_audio = 0
    for t, raw, is_audio in stream:
        # Only audio is lost here: a lost telephone-event packet looks like a
        # lost audio packet to the receiver (they share the sequence space).
        if is_audio and rng.random() < 0.05:
            lost_audio += 1
            continue
        deliveries.append((t + 0.03 + rng.expovariate(1 / 0.012), raw))
        if rng.random() < 0.01:  # network duplicate
            deliveries.append((t + 0.2, raw))
    deliveries.sort()
    with pytest.raises(RtpParseError):
        rx.receive(b"\x00garbage", now=0.0)
    for when, raw in deliveries:
        rx.receive(raw, now=when)
    report = rx.report(packets_sent=600)
    assert report.packets_lost == lost_audio
    assert report.packets_sent == 600
    played = report.packets_sent - report.packets_lost - report.packets_discarded
    assert report.ppl == pytest.approx(100 * (600 - played) / 600)
    assert report.packets_discarded > 0  # some late packets under 12 ms mean jitter
    assert 8 < report.jitter_ms < 20
    assert report.r < EModel(ie=0, bpl=25.1).r


def test_other_ssrc_is_ignored():
    rx = MediaReceiver(codec_by_name("PCMU"))
    rx.receive(encode_rtp(RtpPacket(0, 1, 160, ssrc=1, payload=bytes(160))), now=0.1)
    rx.receive(encode_rtp(RtpPacket(0, 2, 320, ssrc=2, payload=bytes(160))), now=0.12)
    assert rx.ssrc == 1 and rx.other_ssrc == 1 and rx.statistics.received == 1


def test_sr_rr_exchange_gives_round_trip_time():
    """Alice sends RTP + SR; Bob answers with an RR; Alice computes RTT (RFC 3550 6.4.1)."""
    one_way = 0.045
    sender = RtpSender(codec_by_name("G729"), random.Random(4))
    rx = MediaReceiver(codec_by_name("G729"))
    for i in range(250):
        rx.receive(encode_rtp(sender.audio_packet()), now=0.02 * i + one_way)
    sr = sender.sender_report(now=5.0)
    wire = decode_compound(encode_compound([sr]))[0]
    assert isinstance(wire, SenderReport) and wire.packet_count == 250
    rx.statistics.on_sender_report(wire.ntp_timestamp, arrival=5.0 + one_way)
    rr = ReceiverReport(ssrc=0xB0B, reports=(rx.report_block(now=5.0 + one_way + 0.7),))
    block = decode_compound(encode_compound([rr]))[0].reports[0]
    assert block.ssrc == sender.ssrc and block.cumulative_lost == 0
    arrival = ntp_middle32(ntp_timestamp(5.0 + one_way + 0.7 + one_way))
    assert round_trip_time(arrival, block.lsr, block.dlsr) == pytest.approx(2 * one_way, abs=1e-4)
