"""One RTP stream at the receiving end: bytes in, QualityReport out.

:class:`MediaReceiver` is what a node adapter feeds: every datagram of the
stream with its arrival time. It parses the RTP header, keeps the RFC 3550
receiver statistics, runs the playout buffer, collects RFC 4733 telephone
events, and at the end builds a :class:`~simvoip.media.quality.QualityReport`
(the number behind ``call.mos``).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

import numpy as np

from simvoip.media.codecs import Codec
from simvoip.media.emodel import EModel
from simvoip.media.errors import RtpParseError
from simvoip.media.jitter_buffer import FixedJitterBuffer, JitterBuffer, PlayoutResult
from simvoip.media.quality import QualityReport, build_quality_report
from simvoip.media.rtcp import ReportBlock
from simvoip.media.rtp import RtpPacket, decode_rtp
from simvoip.media.statistics import ReceptionStatistics
from simvoip.media.telephone_event import TelephoneEvent, decode_telephone_event

__all__ = ["MediaReceiver"]


def _unwrap(value: int, reference: int, bits: int) -> int:
    """The integer congruent to ``value`` mod 2**bits that is closest to ``reference``."""
    mod = 1 << bits
    return reference + ((value - reference + mod // 2) % mod) - mod // 2


@dataclass(slots=True)
class MediaReceiver:
    """Receiver of one RTP stream (one SSRC).

    Parameters
    ----------
    codec : Codec
        Negotiated audio codec (SDP).
    buffer : FixedJitterBuffer or AdaptiveJitterBuffer
        Playout buffer (a 60 ms fixed buffer by default).
    ptime_ms : float, optional
        Negotiated packetisation time (codec default when omitted).
    event_payload_type : int or None
        Negotiated telephone-event PT (RFC 4733); such packets count in the
        RTP statistics but not as audio.
    emodel : EModel, optional
        Non-default G.107 parameters.

    Notes
    -----
    Audio and telephone-event packets share one sequence space (RFC 4733
    2.5.1.2), so a *lost* event packet cannot be told from a lost audio
    packet and counts as audio loss. Sending times come from the RTP
    timestamps, so VAD silences (timestamp jumps) do not count as loss.

    Examples
    --------
    >>> import random
    >>> from simvoip.media.codecs import codec_by_name
    >>> from simvoip.media.rtp import RtpSender, encode_rtp
    >>> sender = RtpSender(codec_by_name("PCMU"), random.Random(1))
    >>> rx = MediaReceiver(codec_by_name("PCMU"))
    >>> for i in range(100):
    ...     raw = encode_rtp(sender.audio_packet())
    ...     if i != 40:                                  # one packet lost
    ...         _ = rx.receive(raw, now=0.02 * i + 0.05)
    >>> report = rx.report(packets_sent=100)
    >>> report.packets_lost, report.ppl, round(report.mouth_to_ear_ms, 1), round(report.mos, 2)
    (1, 1.0, 130.0, 4.33)
    """

    codec: Codec
    buffer: JitterBuffer = field(default_factory=lambda: FixedJitterBuffer(0.060))
    ptime_ms: float | None = None
    event_payload_type: int | None = 101
    emodel: EModel | None = None
    statistics: ReceptionStatistics = field(init=False)
    events: list[TelephoneEvent] = field(init=False, default_factory=list)
    duplicates: int = field(init=False, default=0)
    other_ssrc: int = field(init=False, default=0)
    _ssrc: int | None = field(init=False, default=None)
    _first_seq: int = field(init=False, default=0)
    _first_ts: int = field(init=False, default=0)
    _last_ext_seq: int = field(init=False, default=0)
    _last_ext_ts: int = field(init=False, default=0)
    _audio: dict[int, tuple[float, float, float]] = field(init=False, default_factory=dict)
    _late: set[int] = field(init=False, default_factory=set)
    _non_audio: set[int] = field(init=False, default_factory=set)
    _talkspurt_starts: list[int] = field(init=False, default_factory=list)
    _event_seen: set[tuple[int, int]] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self.statistics = ReceptionStatistics(self.codec.clock_rate, min_sequential=0)

    @property
    def ssrc(self) -> int | None:
        """SSRC of the stream (from its first packet)."""
        return self._ssrc

    def receive(self, data: bytes, now: float) -> RtpPacket:
        """Handle one datagram that arrived at ``now``.

        Raises
        ------
        RtpParseError
            For malformed bytes (the adapter counts and traces them). Packets
            of another SSRC are counted in ``other_ssrc`` and ignored.
        """
        packet = decode_rtp(data)
        if self._ssrc is None:
            self._ssrc = packet.ssrc
            self.statistics.ssrc = packet.ssrc
            self._first_seq = self._last_ext_seq = packet.sequence_number
            self._first_ts = self._last_ext_ts = packet.timestamp
        elif packet.ssrc != self._ssrc:
            self.other_ssrc += 1
            return packet
        ext_seq = _unwrap(packet.sequence_number, self._last_ext_seq, 16)
        ext_ts = _unwrap(packet.timestamp, self._last_ext_ts, 32)
        self._last_ext_seq = max(self._last_ext_seq, ext_seq)
        self._last_ext_ts = max(self._last_ext_ts, ext_ts)
        self.statistics.receive(packet.sequence_number, packet.timestamp, now)
        if packet.payload_type != self.codec.payload_type:
            self._non_audio.add(ext_seq)
            if packet.payload_type == self.event_payload_type:
                self._on_event(packet)
            return packet
        if ext_seq in self._audio:
            self.duplicates += 1
            return packet
        if packet.marker:
            bisect.insort(self._talkspurt_starts, ext_ts)
        talkspurt = bisect.bisect_right(self._talkspurt_starts, ext_ts)
        send_time = (ext_ts - self._first_ts) / self.codec.clock_rate
        playout = self.buffer.arrive(send_time, now, talkspurt)
        if playout is None:
            self._late.add(ext_seq)
        self._audio[ext_seq] = (send_time, now, math.nan if playout is None else playout)
        return packet

    def _on_event(self, packet: RtpPacket) -> None:
        try:
            event = decode_telephone_event(packet.payload)
        except RtpParseError:
            return
        # RFC 4733 2.5.2: report an event once, when its end is first seen.
        key = (packet.timestamp, event.event)
        if event.end and key not in self._event_seen:
            self._event_seen.add(key)
            self.events.append(event)

    def report_block(self, now: float) -> ReportBlock:
        """RFC 3550 reception report block for the stream (for an RR/SR)."""
        return self.statistics.report_block(now)

    def playout(self, packets_sent: int | None = None) -> PlayoutResult:
        """Per-packet record of the audio packets so far, in sequence order.

        ``packets_sent`` (audio packets, from the sender) lets trailing losses count.
        """
        if not self._audio:
            n = packets_sent or 0
            nan = np.full(n, np.nan)
            lost = np.ones(n, dtype=bool)
            return PlayoutResult(np.arange(n, dtype=float), nan, nan.copy(), lost,
                                 np.zeros(n, dtype=bool), np.zeros(n, dtype=bool))
        first = min(self._first_seq, min(self._audio))
        last = max(self._audio)
        slots = [s for s in range(first, last + 1) if s not in self._non_audio]
        if packets_sent is not None and packets_sent > len(slots):
            slots.extend(range(last + 1, last + 1 + packets_sent - len(slots)))
        step = self.codec.timestamp_increment(self.ptime_ms) / self.codec.clock_rate
        send = np.empty(len(slots))
        arrival = np.full(len(slots), np.nan)
        playout = np.full(len(slots), np.nan)
        previous = None
        for i, seq in enumerate(slots):
            record = self._audio.get(seq)
            if record is None:
                # Lost: interpolate its sending time from the neighbour.
                send[i] = (previous + step) if previous is not None else 0.0
            else:
                send[i], arrival[i], playout[i] = record
            previous = send[i]
        lost = np.isnan(arrival)
        late = np.array([seq in self._late for seq in slots], dtype=bool)
        return PlayoutResult(send, arrival, playout, lost, late, ~lost & ~late, self.duplicates)

    def report(self, packets_sent: int | None = None) -> QualityReport:
        """Per-call :class:`QualityReport` of this direction."""
        return build_quality_report(self.codec, self.statistics, self.playout(packets_sent),
                                    ptime_ms=self.ptime_ms, emodel=self.emodel)
