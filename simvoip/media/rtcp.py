"""RTCP packets (RFC 3550 section 6): SR, RR, SDES, BYE, compound packets, RTT.

Times are NTP-format fixed-point numbers (RFC 3550 section 4): a 64-bit
timestamp with 32 bits of seconds and 32 bits of fraction; LSR/DLSR use the
"middle 32 bits" (16.16). The simulated clock (seconds) is used directly as
NTP seconds: :func:`ntp_timestamp` ``(now)``.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

from simvoip.media.errors import LocalProtocolError, RtcpParseError

__all__ = [
    "BYE",
    "RR",
    "SDES",
    "SR",
    "Bye",
    "ReceiverReport",
    "ReportBlock",
    "RtcpPacket",
    "SdesChunk",
    "SenderReport",
    "SourceDescription",
    "UnknownRtcpPacket",
    "decode_compound",
    "encode_compound",
    "encode_rtcp",
    "ntp_middle32",
    "ntp_timestamp",
    "round_trip_time",
    "rtcp_interval",
    "RTCP_MIN_TIME",
]

SR, RR, SDES, BYE = 200, 201, 202, 203
#: RFC 3550 6.2 / A.7: minimum average time between RTCP packets of one site (s).
RTCP_MIN_TIME = 5.0
_SENDER_BW_FRACTION = 0.25
_COMPENSATION = 2.71828 - 1.5  # RFC 3550 A.7: timer reconsideration converges low
_HEADER = struct.Struct("!BBH")
_BLOCK = struct.Struct("!IIIIII")


def ntp_timestamp(seconds: float) -> int:
    """64-bit NTP timestamp (RFC 3550 4) of ``seconds`` since the NTP epoch.

    >>> hex(ntp_timestamp(3024992005.125))
    '0xb44db70520000000'
    """
    return int(round(seconds * (1 << 32))) & 0xFFFFFFFFFFFFFFFF


def ntp_middle32(ntp: int) -> int:
    """Middle 32 bits of a 64-bit NTP timestamp (RFC 3550 6.4.1, LSR).

    >>> hex(ntp_middle32(ntp_timestamp(3024992005.125)))
    '0xb7052000'
    """
    return (ntp >> 16) & 0xFFFFFFFF


def round_trip_time(arrival: int, lsr: int, dlsr: int) -> float | None:
    """RTT in seconds from a report block: ``A - LSR - DLSR`` (RFC 3550 6.4.1).

    Parameters
    ----------
    arrival : int
        Middle 32 bits of the NTP time ``A`` at which the report arrived.
    lsr, dlsr : int
        LSR and DLSR fields of the report block (16.16 fixed point).

    Returns
    -------
    float or None
        ``None`` when ``lsr`` is 0 (no SR received yet by the reporter).

    Examples
    --------
    RFC 3550 Figure 2:

    >>> round_trip_time(0xB7108000, lsr=0xB7052000, dlsr=0x00054000)
    6.125
    """
    if lsr == 0:
        return None
    return ((arrival - lsr - dlsr) & 0xFFFFFFFF) / 65536.0


def rtcp_interval(members: int, senders: int, rtcp_bw: float, we_sent: bool,
                  avg_rtcp_size: float, initial: bool, rng: random.Random) -> float:
    """Time to the next RTCP report: ``rtcp_interval()`` of RFC 3550 A.7.

    The deterministic interval is ``avg_rtcp_size * n / rtcp_bw`` (senders
    share 25 % of ``rtcp_bw`` when they are at most a quarter of the
    members), at least 5 s (2.5 s for the first report); the result is that
    times a uniform draw in [0.5, 1.5), divided by ``e - 3/2``.

    Parameters
    ----------
    members, senders : int
        Session members and how many of them sent RTP recently.
    rtcp_bw : float
        RTCP bandwidth in octets/s (RFC 3550 6.2: 5 % of the session bandwidth).
    we_sent : bool
        Whether this site sent RTP since the last two reports.
    avg_rtcp_size : float
        Running average of compound RTCP sizes, octets including UDP/IP headers.
    initial : bool
        First report of the site (half the minimum).
    rng : random.Random
        Source of the randomisation (``drand48()`` in the RFC's code).

    Examples
    --------
    A two-party call: the 5 s minimum dominates, so reports come
    2.05 ... 6.16 s apart (2.5 s halved minimum first):

    >>> import random
    >>> rng = random.Random(1)
    >>> t = [rtcp_interval(2, 2, 500.0, True, 100.0, False, rng) for _ in range(1000)]
    >>> 5 * 0.5 / 1.21828 <= min(t) and max(t) < 5 * 1.5 / 1.21828
    True
    >>> abs(sum(t) / len(t) - 5 / 1.21828) < 0.1  # on average 5 s / (e - 3/2) = 4.1 s
    True
    """
    rtcp_min_time = RTCP_MIN_TIME / 2 if initial else RTCP_MIN_TIME
    n = members
    if senders <= members * _SENDER_BW_FRACTION:
        if we_sent:
            rtcp_bw *= _SENDER_BW_FRACTION
            n = senders
        else:
            rtcp_bw *= 1 - _SENDER_BW_FRACTION
            n -= senders
    t = avg_rtcp_size * n / rtcp_bw if rtcp_bw > 0 else rtcp_min_time
    if t < rtcp_min_time:
        t = rtcp_min_time
    return t * (rng.random() + 0.5) / _COMPENSATION


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """One reception report block (RFC 3550 6.4.1).

    ``fraction_lost`` is 8-bit fixed point (lost/expected * 256);
    ``cumulative_lost`` is signed 24 bits (duplicates can make it negative);
    ``jitter`` is in timestamp units; ``lsr``/``dlsr`` are 16.16 fixed point.
    """

    ssrc: int
    fraction_lost: int
    cumulative_lost: int
    extended_highest_sequence: int
    jitter: int
    lsr: int = 0
    dlsr: int = 0

    def encode(self) -> bytes:
        """24 bytes."""
        if not 0 <= self.fraction_lost <= 255:
            raise LocalProtocolError("fraction lost is 8 bits")
        if not -0x800000 <= self.cumulative_lost <= 0x7FFFFF:
            raise LocalProtocolError("cumulative lost is a signed 24-bit number")
        lost = self.cumulative_lost & 0xFFFFFF
        return _BLOCK.pack(self.ssrc, (self.fraction_lost << 24) | lost,
                           self.extended_highest_sequence, self.jitter, self.lsr, self.dlsr)

    @classmethod
    def decode(cls, data: bytes, offset: int) -> ReportBlock:
        ssrc, word, ext, jitter, lsr, dlsr = _BLOCK.unpack_from(data, offset)
        lost = word & 0xFFFFFF
        if lost & 0x800000:
            lost -= 0x1000000
        return cls(ssrc, word >> 24, lost, ext, jitter, lsr, dlsr)


@dataclass(frozen=True, slots=True)
class SenderReport:
    """SR (PT=200, RFC 3550 6.4.1).

    >>> sr = SenderReport(ssrc=1, ntp_timestamp=ntp_timestamp(10.5), rtp_timestamp=80000,
    ...                   packet_count=500, octet_count=80000)
    >>> decode_compound(encode_rtcp(sr)) == [sr]
    True
    >>> len(encode_rtcp(sr))
    28
    """

    ssrc: int
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()
    profile_extension: bytes = b""


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    """RR (PT=201, RFC 3550 6.4.2).

    >>> rr = ReceiverReport(ssrc=2, reports=(ReportBlock(1, 25, 10, 70000, 42),))
    >>> decode_compound(encode_rtcp(rr))[0].reports[0].cumulative_lost
    10
    """

    ssrc: int
    reports: tuple[ReportBlock, ...] = ()
    profile_extension: bytes = b""


@dataclass(frozen=True, slots=True)
class SdesChunk:
    """One SDES chunk: an SSRC and its items ``(type, value)`` (RFC 3550 6.5); CNAME is type 1."""

    ssrc: int
    items: tuple[tuple[int, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class SourceDescription:
    """SDES (PT=202, RFC 3550 6.5)."""

    chunks: tuple[SdesChunk, ...] = ()


@dataclass(frozen=True, slots=True)
class Bye:
    """BYE (PT=203, RFC 3550 6.6)."""

    sources: tuple[int, ...] = ()
    reason: bytes = b""


@dataclass(frozen=True, slots=True)
class UnknownRtcpPacket:
    """Any other packet type (APP, XR, feedback ...), kept as raw body."""

    packet_type: int
    count: int
    body: bytes


RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Bye | UnknownRtcpPacket


def _pad4(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 4)


def _body(packet: RtcpPacket) -> tuple[int, int, bytes]:
    """(packet type, count field, body after the 4-byte header)."""
    if isinstance(packet, SenderReport):
        body = struct.pack("!IQIII", packet.ssrc, packet.ntp_timestamp, packet.rtp_timestamp,
                           packet.packet_count, packet.octet_count)
        return SR, len(packet.reports), (body + b"".join(b.encode() for b in packet.reports)
                                         + packet.profile_extension)
    if isinstance(packet, ReceiverReport):
        body = struct.pack("!I", packet.ssrc)
        return RR, len(packet.reports), (body + b"".join(b.encode() for b in packet.reports)
                                         + packet.profile_extension)
    if isinstance(packet, SourceDescription):
        parts = []
        for chunk in packet.chunks:
            raw = struct.pack("!I", chunk.ssrc)
            for item_type, value in chunk.items:
                if not 1 <= item_type <= 255 or len(value) > 255:
                    raise LocalProtocolError("SDES item type 1-255, value at most 255 bytes")
                raw += bytes([item_type, len(value)]) + value
            # RFC 3550 6.5: the item list ends with one or more null octets,
            # up to the next 32-bit boundary.
            raw += b"\x00"
            parts.append(_pad4(raw))
        return SDES, len(packet.chunks), b"".join(parts)
    if isinstance(packet, Bye):
        body = b"".join(struct.pack("!I", s) for s in packet.sources)
        if packet.reason:
            body += _pad4(bytes([len(packet.reason)]) + packet.reason)
        return BYE, len(packet.sources), body
    return packet.packet_type, packet.count, packet.body


def encode_rtcp(packet: RtcpPacket, padding: int = 0) -> bytes:
    """Encode one RTCP packet; ``padding`` octets (multiple of 4) set the P bit."""
    packet_type, count, body = _body(packet)
    if count > 31:
        raise LocalProtocolError("RTCP count field is 5 bits (at most 31 blocks)")
    if len(body) % 4 or padding % 4 or not 0 <= padding <= 252:
        raise LocalProtocolError("RTCP packets are a whole number of 32-bit words")
    if padding:
        body += b"\x00" * (padding - 1) + bytes([padding])
    first = (2 << 6) | (0x20 if padding else 0) | count
    # RFC 3550 6.4.1: length in 32-bit words minus one, including header and padding.
    return _HEADER.pack(first, packet_type, (len(body) + 4) // 4 - 1) + body


def encode_compound(packets: list[RtcpPacket] | tuple[RtcpPacket, ...]) -> bytes:
    """Concatenate packets into one compound packet (RFC 3550 6.1).

    >>> rr = ReceiverReport(ssrc=7)
    >>> sdes = SourceDescription((SdesChunk(7, ((1, b"bob@b.example"),)),))
    >>> decode_compound(encode_compound([rr, sdes])) == [rr, sdes]
    True
    """
    if not packets or not isinstance(packets[0], SenderReport | ReceiverReport):
        raise LocalProtocolError("RFC 3550 6.1: a compound packet starts with an SR or RR")
    return b"".join(encode_rtcp(p) for p in packets)


def _decode_one(packet_type: int, count: int, body: bytes, offset: int) -> RtcpPacket:
    if packet_type in (SR, RR):
        fixed = 24 if packet_type == SR else 4
        if len(body) < fixed + 24 * count:
            raise RtcpParseError(f"RTCP {packet_type} with {count} report blocks is truncated",
                                 offset=offset)
        reports = tuple(ReportBlock.decode(body, fixed + 24 * i) for i in range(count))
        extension = body[fixed + 24 * count:]
        if packet_type == SR:
            ssrc, ntp, rtp_ts, pkts, octets = struct.unpack_from("!IQIII", body, 0)
            return SenderReport(ssrc, ntp, rtp_ts, pkts, octets, reports, extension)
        return ReceiverReport(struct.unpack_from("!I", body, 0)[0], reports, extension)
    if packet_type == SDES:
        chunks = []
        pos = 0
        for _ in range(count):
            if pos + 4 > len(body):
                raise RtcpParseError("SDES chunk is truncated", offset=offset + pos)
            ssrc = struct.unpack_from("!I", body, pos)[0]
            pos += 4
            items = []
            while True:
                if pos >= len(body):
                    raise RtcpParseError("SDES item list is not terminated", offset=offset + pos)
                item_type = body[pos]
                if item_type == 0:
                    pos += 1
                    pos += -pos % 4
                    break
                if pos + 2 > len(body) or pos + 2 + body[pos + 1] > len(body):
                    raise RtcpParseError("SDES item is truncated", offset=offset + pos)
                length = body[pos + 1]
                items.append((item_type, body[pos + 2:pos + 2 + length]))
                pos += 2 + length
            chunks.append(SdesChunk(ssrc, tuple(items)))
        return SourceDescription(tuple(chunks))
    if packet_type == BYE:
        if len(body) < 4 * count:
            raise RtcpParseError("BYE source list is truncated", offset=offset)
        sources = struct.unpack_from(f"!{count}I", body, 0)
        reason = b""
        rest = body[4 * count:]
        if rest:
            if 1 + rest[0] > len(rest):
                raise RtcpParseError("BYE reason is truncated", offset=offset + 4 * count)
            reason = rest[1:1 + rest[0]]
        return Bye(tuple(sources), reason)
    return UnknownRtcpPacket(packet_type, count, body)


def decode_compound(data: bytes) -> list[RtcpPacket]:
    """Decode a compound RTCP packet with the RFC 3550 A.2 validity checks.

    Raises
    ------
    RtcpParseError
        Version not 2, first packet not SR/RR, padding on a packet other than
        the last, lengths not adding up to the datagram size, or a truncated
        packet body. Nothing else.

    >>> decode_compound(b"\\x80\\xca\\x00\\x00")
    Traceback (most recent call last):
    ...
    simvoip.media.errors.RtcpParseError: RFC 3550 A.2: first RTCP packet type is 202, not SR/RR
    """
    data = bytes(data)
    packets: list[RtcpPacket] = []
    offset = 0
    while offset < len(data):
        if offset + 4 > len(data):
            raise RtcpParseError("RTCP header is truncated", offset=offset)
        first, packet_type, length = _HEADER.unpack_from(data, offset)
        if first >> 6 != 2:
            raise RtcpParseError(f"RTCP version is {first >> 6}, expected 2", offset=offset)
        if not packets and packet_type not in (SR, RR):
            raise RtcpParseError(
                f"RFC 3550 A.2: first RTCP packet type is {packet_type}, not SR/RR", offset=offset)
        end = offset + 4 * (length + 1)
        if end > len(data):
            raise RtcpParseError("RTCP length field runs past the end of the datagram",
                                 offset=offset)
        body = data[offset + 4:end]
        if first & 0x20:
            # RFC 3550 A.2: padding only on the last packet of the compound.
            if end != len(data):
                raise RtcpParseError("RTCP padding on a packet that is not the last",
                                     offset=offset)
            pad = body[-1] if body else 0
            if pad == 0 or pad > len(body):
                raise RtcpParseError(f"RTCP padding count {pad} is invalid", offset=end - 1)
            body = body[:-pad]
        packets.append(_decode_one(packet_type, first & 0x1F, body, offset + 4))
        offset = end
    if not packets:
        raise RtcpParseError("empty RTCP datagram", offset=0)
    return packets
