"""RTCP on the simulated wire (RFC 3550 section 6): one reporting agent per call and endpoint.

When an endpoint's RTP stream of a call starts, its :class:`RtcpAgent` starts
too. Every RTCP interval (RFC 3550 A.7 ``rtcp_interval``: 2.5 s minimum for
the first report, 5 s after, randomised over [0.5, 1.5) and divided by
e - 3/2) it sends one compound packet to the peer's RTCP port (RTP port + 1
in the pcap export):

* an SR while it sends RTP (packet and octet counts, NTP and RTP timestamps
  of "now"), else an RR; either carries one report block about the stream it
  receives from the peer (fraction lost, cumulative lost, extended highest
  sequence, interarrival jitter, LSR and DLSR -- RFC 3550 6.4);
* an SDES with its CNAME (6.5, ``user@address``);
* at hang-up (BYE sent or received) a last report with an RTCP BYE (6.6).

A received SR sets LSR/arrival for the receiving side's next report block;
a received report block about the agent's own stream gives a round-trip time
``A - LSR - DLSR`` (6.4.1), kept in :attr:`RtcpAgent.rtt` (the simulated
clock serves as the NTP clock of both ends, so these are exact network RTTs,
queueing included). Packets are traced with ``kind="rtcp"`` and cross the
links like RTP: they can be lost, queued and delayed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from simvoip.media.errors import RtcpParseError
from simvoip.media.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    RtcpPacket,
    SdesChunk,
    SenderReport,
    SourceDescription,
    decode_compound,
    encode_compound,
    ntp_middle32,
    ntp_timestamp,
    round_trip_time,
    rtcp_interval,
)

if TYPE_CHECKING:
    from simvoip.sim.media import RtpStream

__all__ = ["RtcpAgent", "session_bandwidth", "RTCP_FRACTION", "IP_UDP_OVERHEAD"]

#: RFC 3550 6.2: RTCP gets 5 % of the session bandwidth.
RTCP_FRACTION = 0.05
#: IPv4 + UDP header octets, counted in RTCP packet sizes (RFC 3550 6.2, A.7).
IP_UDP_OVERHEAD = 28
_RTP_HEADER = 12
_CNAME = 1  # RFC 3550 6.5.1 SDES item type


def session_bandwidth(stream: RtpStream) -> float:
    """Octets/s of the two RTP streams of a call (RFC 3550 6.2: the sum of the senders').

    >>> import random
    >>> from types import SimpleNamespace
    >>> from simvoip.media.codecs import codec_by_name
    >>> from simvoip.media.rtp import RtpSender
    >>> s = SimpleNamespace(sender=RtpSender(codec_by_name("PCMU"), random.Random(1)))
    >>> session_bandwidth(s)  # 2 x (160 + 12 + 28) octets every 20 ms
    20000.0
    """
    sender = stream.sender
    assert sender.ptime_ms is not None
    payload = sender.codec.payload_bytes(sender.ptime_ms)
    return 2 * (payload + _RTP_HEADER + IP_UDP_OVERHEAD) * 1000.0 / sender.ptime_ms


@dataclass(slots=True)
class RtcpAgent:
    """The RTCP side of one endpoint (``node``) in one call with ``peer``."""

    call_id: str
    node: str
    peer: str
    cname: bytes
    rng: random.Random
    rtcp_bw: float
    #: RFC 3550 A.7 ``avg_rtcp_size``, first set to a probable compound size.
    avg_size: float = 100.0
    initial: bool = True
    running: bool = True
    #: Compound packets sent and received; received ones that did not decode.
    sent: int = 0
    received: int = 0
    errors: int = 0
    #: Round-trip times (s) from the peer's report blocks about our stream, in order.
    rtt: list[float] = field(default_factory=list)
    #: Report blocks the peer sent about our stream (what it saw of our RTP).
    peer_reports: list[ReportBlock] = field(default_factory=list)

    def next_interval(self, we_sent: bool) -> float:
        """Seconds to the next report (RFC 3550 A.7, two members, both senders)."""
        t = rtcp_interval(2, 2, self.rtcp_bw, we_sent, self.avg_size, self.initial, self.rng)
        self.initial = False
        return t

    def compound(self, own: RtpStream | None, incoming: RtpStream | None, now: float,
                 bye: bool = False) -> bytes:
        """The compound packet to send at ``now`` (RFC 3550 6.1: SR or RR first, then SDES)."""
        blocks: tuple[ReportBlock, ...] = ()
        if incoming is not None and incoming.receiver.ssrc is not None:
            blocks = (incoming.receiver.report_block(now),)
        packets: list[RtcpPacket] = []
        ssrc = self.ssrc(own)
        if own is not None and own.sender.packets_sent > 0:
            packets.append(own.sender.sender_report(now, reports=blocks))
        else:
            packets.append(ReceiverReport(ssrc, blocks))
        packets.append(SourceDescription((SdesChunk(ssrc, ((_CNAME, self.cname),)),)))
        if bye:
            packets.append(Bye((ssrc,)))
        data = encode_compound(packets)
        # RFC 3550 A.7: avg_rtcp_size = 1/16 * packet_size + 15/16 * avg_rtcp_size.
        self.avg_size += (len(data) + IP_UDP_OVERHEAD - self.avg_size) / 16.0
        self.sent += 1
        return data

    @staticmethod
    def ssrc(own: RtpStream | None) -> int:
        return (own.sender.ssrc or 0) if own is not None else 0

    def receive(self, data: bytes, own: RtpStream | None, incoming: RtpStream | None,
                now: float) -> list[RtcpPacket]:
        """Take a compound packet from the peer; returns its packets (``[]`` if malformed)."""
        try:
            packets = decode_compound(data)
        except RtcpParseError:
            self.errors += 1
            return []
        self.received += 1
        mine = self.ssrc(own)
        for packet in packets:
            if isinstance(packet, SenderReport) and incoming is not None:
                # RFC 3550 6.4.1: remember the SR for LSR / DLSR of our next report.
                incoming.receiver.statistics.on_sender_report(packet.ntp_timestamp, now)
            if isinstance(packet, (SenderReport, ReceiverReport)):
                for block in packet.reports:
                    if block.ssrc != mine or own is None:
                        continue
                    self.peer_reports.append(block)
                    rtt = round_trip_time(ntp_middle32(ntp_timestamp(now)), block.lsr,
                                          block.dlsr)
                    if rtt is not None:
                        self.rtt.append(rtt)
        return packets
