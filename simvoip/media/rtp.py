"""RTP data packets (RFC 3550 section 5.1) and a sans-I/O RTP sender.

RFC 3550 5.1, fixed header::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                           timestamp                           |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |           synchronization source (SSRC) identifier            |
    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
    |            contributing source (CSRC) identifiers             |
    |                             ....                              |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

The CSRC count (CC) and the P and X bits are derived from the fields of
:class:`RtpPacket` (``len(csrc)``, ``padding > 0``, ``extension is not None``),
so a packet object cannot contradict its own header.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

from simvoip.media.codecs import Codec
from simvoip.media.errors import LocalProtocolError, RtpParseError
from simvoip.media.rtcp import ReportBlock, SenderReport, ntp_timestamp
from simvoip.media.telephone_event import TelephoneEvent

__all__ = [
    "RTP_HEADER_BYTES",
    "RTP_VERSION",
    "RtpHeaderExtension",
    "RtpPacket",
    "RtpSender",
    "decode_rtp",
    "encode_rtp",
]

RTP_VERSION = 2
RTP_HEADER_BYTES = 12
_FIXED = struct.Struct("!BBHII")


@dataclass(frozen=True, slots=True)
class RtpHeaderExtension:
    """RFC 3550 5.3.1 header extension: 16-bit profile value and 32-bit words.

    ``data`` must be a multiple of 4 bytes long (the length field counts words).
    """

    profile: int
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP data packet.

    Parameters
    ----------
    payload_type : int
        PT, 0-127.
    sequence_number : int
        16-bit sequence number.
    timestamp : int
        32-bit RTP timestamp (sampling instant of the first octet).
    ssrc : int
        32-bit synchronisation source.
    payload : bytes
    marker : bool
        M bit (first packet of a talkspurt for audio, RFC 3551 4.1).
    csrc : tuple of int
        Contributing sources, at most 15.
    extension : RtpHeaderExtension or None
        Header extension (X bit).
    padding : int
        Number of padding octets (P bit set when > 0), 0-255, the last of
        which holds the count (RFC 3550 5.1).

    Examples
    --------
    >>> pkt = RtpPacket(payload_type=0, sequence_number=1, timestamp=160, ssrc=0x1234,
    ...                 payload=b"\\xff" * 160, marker=True)
    >>> raw = encode_rtp(pkt)
    >>> len(raw), raw[:2].hex()
    (172, '8080')
    >>> decode_rtp(raw) == pkt
    True
    """

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension: RtpHeaderExtension | None = None
    padding: int = 0

    @property
    def csrc_count(self) -> int:
        """CC field."""
        return len(self.csrc)

    @property
    def header_size(self) -> int:
        """Bytes before the payload: fixed header, CSRCs and extension."""
        ext = 0 if self.extension is None else 4 + len(self.extension.data)
        return RTP_HEADER_BYTES + 4 * len(self.csrc) + ext

    @property
    def size(self) -> int:
        """Encoded length in bytes."""
        return self.header_size + len(self.payload) + self.padding


def _check_range(name: str, value: int, bits: int) -> None:
    if not 0 <= value < (1 << bits):
        raise LocalProtocolError(f"RTP {name} {value} does not fit in {bits} bits")


def encode_rtp(packet: RtpPacket) -> bytes:
    """Encode an :class:`RtpPacket` to bytes (RFC 3550 5.1).

    Raises :class:`~simvoip.sip.errors.LocalProtocolError` for fields out of range.

    >>> encode_rtp(RtpPacket(8, 65535, 0, 1)).hex()
    '8008ffff0000000000000001'
    """
    _check_range("payload type", packet.payload_type, 7)
    _check_range("sequence number", packet.sequence_number, 16)
    _check_range("timestamp", packet.timestamp, 32)
    _check_range("SSRC", packet.ssrc, 32)
    if len(packet.csrc) > 15:
        raise LocalProtocolError("RTP allows at most 15 CSRC identifiers")
    for csrc in packet.csrc:
        _check_range("CSRC", csrc, 32)
    if not 0 <= packet.padding <= 255:
        raise LocalProtocolError("RTP padding must be 0-255 octets")
    first = (RTP_VERSION << 6) | (len(packet.csrc) & 0x0F)
    if packet.padding:
        first |= 0x20
    if packet.extension is not None:
        first |= 0x10
    second = (0x80 if packet.marker else 0) | packet.payload_type
    parts = [_FIXED.pack(first, second, packet.sequence_number, packet.timestamp, packet.ssrc)]
    parts.extend(struct.pack("!I", c) for c in packet.csrc)
    if packet.extension is not None:
        ext = packet.extension
        _check_range("extension profile", ext.profile, 16)
        if len(ext.data) % 4:
            raise LocalProtocolError("RTP header extension data must be a multiple of 4 bytes")
        # RFC 3550 5.3.1: length counts 32-bit words, excluding the 4-octet header.
        parts.append(struct.pack("!HH", ext.profile, len(ext.data) // 4))
        parts.append(ext.data)
    parts.append(packet.payload)
    if packet.padding:
        # RFC 3550 5.1: the last octet of the padding is the padding count.
        parts.append(b"\x00" * (packet.padding - 1) + bytes([packet.padding]))
    return b"".join(parts)


def decode_rtp(data: bytes) -> RtpPacket:
    """Decode bytes into an :class:`RtpPacket`.

    Raises
    ------
    RtpParseError
        On any malformed input (short packet, version other than 2, bad
        padding count, truncated CSRC list or extension). Nothing else.

    >>> decode_rtp(bytes.fromhex("8008ffff0000000000000001")).sequence_number
    65535
    >>> decode_rtp(b"\\x40" + bytes(11))
    Traceback (most recent call last):
    ...
    simvoip.media.errors.RtpParseError: RTP version is 1, expected 2
    """
    data = bytes(data)
    if len(data) < RTP_HEADER_BYTES:
        raise RtpParseError(f"RTP packet of {len(data)} bytes is shorter than the 12-byte header",
                            offset=0)
    first, second, seq, ts, ssrc = _FIXED.unpack_from(data, 0)
    version = first >> 6
    if version != RTP_VERSION:
        raise RtpParseError(f"RTP version is {version}, expected 2", offset=0)
    has_padding = bool(first & 0x20)
    has_extension = bool(first & 0x10)
    cc = first & 0x0F
    offset = RTP_HEADER_BYTES
    end = len(data)
    if end < offset + 4 * cc:
        raise RtpParseError(f"RTP CSRC list of {cc} entries is truncated", offset=offset)
    csrc = struct.unpack_from(f"!{cc}I", data, offset)
    offset += 4 * cc
    extension = None
    if has_extension:
        if end < offset + 4:
            raise RtpParseError("RTP header extension header is truncated", offset=offset)
        profile, words = struct.unpack_from("!HH", data, offset)
        offset += 4
        if end < offset + 4 * words:
            raise RtpParseError("RTP header extension is truncated", offset=offset)
        extension = RtpHeaderExtension(profile, data[offset:offset + 4 * words])
        offset += 4 * words
    padding = 0
    if has_padding:
        padding = data[-1]
        # RFC 3550 A.1: the padding count must not exceed what follows the header.
        if padding == 0 or offset + padding > end:
            raise RtpParseError(f"RTP padding count {padding} is invalid", offset=end - 1)
        end -= padding
    return RtpPacket(
        payload_type=second & 0x7F,
        sequence_number=seq,
        timestamp=ts,
        ssrc=ssrc,
        payload=data[offset:end],
        marker=bool(second & 0x80),
        csrc=tuple(csrc),
        extension=extension,
        padding=padding,
    )


@dataclass(slots=True)
class RtpSender:
    """Sans-I/O RTP sender: sequence numbers, timestamps and SSRC for one stream.

    RFC 3550 5.1: the initial sequence number and timestamp SHOULD be random;
    the SSRC is chosen randomly (8.1). All three come from the injected
    ``rng``. Each :meth:`audio_packet` advances the timestamp by one ptime of
    samples and the sequence number by one. The caller sends the packets every
    ``ptime_ms`` of its own (simulated) clock; nothing here reads a clock.

    Parameters
    ----------
    codec : Codec
    rng : random.Random
    ptime_ms : float, optional
        Defaults to ``codec.default_ptime_ms``.
    ssrc : int, optional
        Fixed SSRC (otherwise drawn from ``rng``).
    event_payload_type : int
        Negotiated telephone-event PT (RFC 4733), 101 by custom.

    Examples
    --------
    >>> from simvoip.media.codecs import codec_by_name
    >>> sender = RtpSender(codec_by_name("PCMU"), random.Random(1))
    >>> a, b = sender.audio_packet(), sender.audio_packet()
    >>> (b.sequence_number - a.sequence_number) % 65536, (b.timestamp - a.timestamp) % 2**32
    (1, 160)
    >>> a.marker, b.marker, len(a.payload)
    (True, False, 160)
    """

    codec: Codec
    rng: random.Random
    ptime_ms: float | None = None
    ssrc: int | None = None
    event_payload_type: int = 101
    sequence_number: int = field(init=False)
    timestamp: int = field(init=False)
    packets_sent: int = field(init=False, default=0)
    octets_sent: int = field(init=False, default=0)
    _talkspurt_start: bool = field(init=False, default=True)

    def __post_init__(self) -> None:
        if self.ptime_ms is None:
            self.ptime_ms = self.codec.default_ptime_ms
        if self.ssrc is None:
            self.ssrc = self.rng.getrandbits(32)
        self.sequence_number = self.rng.getrandbits(16)
        self.timestamp = self.rng.getrandbits(32)

    @property
    def samples_per_packet(self) -> int:
        """Timestamp increment per packet."""
        return self.codec.timestamp_increment(self.ptime_ms)

    def _emit(self, payload_type: int, timestamp: int, payload: bytes, marker: bool) -> RtpPacket:
        assert self.ssrc is not None
        packet = RtpPacket(payload_type, self.sequence_number, timestamp, self.ssrc,
                           payload=payload, marker=marker)
        # RFC 3550 5.1: the sequence number increments by one for each packet sent.
        self.sequence_number = (self.sequence_number + 1) & 0xFFFF
        self.packets_sent += 1
        self.octets_sent += len(payload)  # RFC 3550 6.4.1: payload octets only
        return packet

    def audio_packet(self, payload: bytes | None = None) -> RtpPacket:
        """Next audio packet; ``payload`` defaults to silence of the right size.

        The M bit is set on the first packet after :meth:`silence` (RFC 3551
        4.1: first packet of a talkspurt) and on the very first packet.
        """
        if payload is None:
            payload = bytes(self.codec.payload_bytes(self.ptime_ms))
        packet = self._emit(self.codec.payload_type, self.timestamp, payload,
                             self._talkspurt_start)
        self._talkspurt_start = False
        self.timestamp = (self.timestamp + self.samples_per_packet) & 0xFFFFFFFF
        return packet

    def silence(self, packets: int) -> None:
        """Skip ``packets`` ptimes of silence (VAD): the timestamp advances, the
        sequence number does not, and the next packet carries the M bit."""
        self.timestamp = (self.timestamp + packets * self.samples_per_packet) & 0xFFFFFFFF
        self._talkspurt_start = True

    def comfort_noise(self, level_dbov: int = 60) -> RtpPacket:
        """A comfort-noise packet (RFC 3389, static payload type 13) for a silence.

        RFC 3389 3: the payload's first octet is the noise level in -dBov
        (0-127); sent at the start of a silence so the receiver plays noise
        instead of dead air. It takes the current timestamp and a new sequence
        number; the next audio packet starts a talkspurt (M bit).

        >>> from simvoip.media.codecs import codec_by_name
        >>> sender = RtpSender(codec_by_name("PCMU"), random.Random(3))
        >>> cn = sender.comfort_noise(50)
        >>> cn.payload_type, cn.payload
        (13, b'2')
        """
        if not 0 <= level_dbov <= 127:
            raise LocalProtocolError(f"comfort noise level must be 0-127 -dBov, got {level_dbov}")
        packet = self._emit(13, self.timestamp, bytes([level_dbov]), False)
        self._talkspurt_start = True
        return packet

    def telephone_event(self, event: int, duration_ms: float, volume: int = 10) -> list[RtpPacket]:
        """Packets for one DTMF / named event (RFC 4733), to send one per ptime.

        RFC 4733 2.5.1.2: all packets of the event carry the RTP timestamp of
        its start, the duration grows with each update, the first packet has
        the M bit and the final one the E bit. RFC 4733 2.5.1.4: the final
        packet is sent three times in total. RFC 4733 2.5.1.6: every packet,
        retransmissions included, takes a new sequence number. The audio
        timestamp then continues after the event.

        >>> from simvoip.media.codecs import codec_by_name
        >>> from simvoip.media.telephone_event import decode_telephone_event
        >>> sender = RtpSender(codec_by_name("PCMU"), random.Random(2))
        >>> pkts = sender.telephone_event(event=5, duration_ms=100)
        >>> [decode_telephone_event(p.payload).duration for p in pkts]
        [160, 320, 480, 640, 800, 800, 800]
        >>> [decode_telephone_event(p.payload).end for p in pkts]
        [False, False, False, False, True, True, True]
        >>> len({p.timestamp for p in pkts}), pkts[0].marker, pkts[1].marker
        (1, True, False)
        """
        step = self.samples_per_packet
        total = int(round(duration_ms * self.codec.clock_rate / 1000.0))
        if total <= 0 or total > 0xFFFF:
            # Long events need segments (RFC 4733 2.5.1.3), not supported here.
            raise LocalProtocolError("telephone-event duration must be 1..65535 timestamp units")
        start = self.timestamp
        packets: list[RtpPacket] = []
        elapsed = 0
        while elapsed < total:
            elapsed = min(elapsed + step, total)
            end = elapsed == total
            body = TelephoneEvent(event, end=end, volume=volume, duration=elapsed).encode()
            packets.append(self._emit(self.event_payload_type, start, body, not packets))
        for _ in range(2):  # RFC 4733 2.5.1.4: final packet three times in total
            packets.append(self._emit(self.event_payload_type, start, packets[-1].payload, False))
        self.timestamp = (start + total) & 0xFFFFFFFF
        self._talkspurt_start = True
        return packets

    def sender_report(
        self, now: float, rtp_timestamp: int | None = None, reports: tuple[ReportBlock, ...] = ()
    ) -> SenderReport:
        """SR for this stream at ``now`` (RFC 3550 6.4.1).

        ``rtp_timestamp`` is the media time matching ``now``; by default the
        timestamp of the next packet (exact when packets leave on schedule).
        Packet and octet counts are the sender's (payload octets only).

        >>> from simvoip.media.codecs import codec_by_name
        >>> sender = RtpSender(codec_by_name("PCMU"), random.Random(3), ssrc=0xABC)
        >>> for _ in range(50):
        ...     _ = sender.audio_packet()
        >>> sr = sender.sender_report(now=1.0)
        >>> (sr.ssrc, sr.packet_count, sr.octet_count, sr.ntp_timestamp == 1 << 32)
        (2748, 50, 8000, True)
        """
        assert self.ssrc is not None
        return SenderReport(
            ssrc=self.ssrc,
            ntp_timestamp=ntp_timestamp(now),
            rtp_timestamp=self.timestamp if rtp_timestamp is None else rtp_timestamp,
            packet_count=self.packets_sent & 0xFFFFFFFF,
            octet_count=self.octets_sent & 0xFFFFFFFF,
            reports=reports,
        )
