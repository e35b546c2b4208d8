"""Codec table: RTP payload types, clocks, frame sizes and E-model planning values.

No audio is coded; a :class:`Codec` is the handful of numbers the simulator and
the E-model need: payload type (RFC 3551 Table 4), RTP clock rate, frame
duration, bytes per frame, bit rate, default packetisation time (RFC 3551
section 4.2 / Table 1), the ITU-T G.113 Appendix I planning values ``ie`` and
``bpl`` used by G.107, and whether packet loss concealment (PLC) exists.

Bandwidth helpers reproduce the usual arithmetic: IPv4 20 + UDP 8 + RTP 12
bytes of headers per packet; Ethernet adds 14 bytes MAC header + 4 bytes FCS
per frame (and 4 more for an 802.1Q tag); on the wire there are another 8
bytes of preamble/SFD and a 12-byte inter-frame gap.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from simvoip.sip.errors import LocalProtocolError

__all__ = [
    "CODECS",
    "Codec",
    "G711_NO_PLC_BPL",
    "IP_UDP_RTP_HEADER_BYTES",
    "Bandwidth",
    "bandwidth",
    "codec_by_name",
    "codec_by_payload_type",
]

#: IPv4 (RFC 791) 20 + UDP (RFC 768) 8 + RTP fixed header (RFC 3550 5.1) 12 bytes.
IP_UDP_RTP_HEADER_BYTES = 40
_ETHERNET_FRAME_OVERHEAD = 14 + 4  # MAC header + FCS
_ETHERNET_WIRE_OVERHEAD = _ETHERNET_FRAME_OVERHEAD + 8 + 12  # + preamble/SFD + inter-frame gap
_DOT1Q_TAG = 4

#: G.113 Appendix I: Bpl of G.711 without PLC (random loss).
G711_NO_PLC_BPL = 4.3


@dataclass(frozen=True, slots=True)
class Codec:
    """One RTP audio encoding.

    Parameters
    ----------
    name : str
        Encoding name as in RFC 3551 / SDP ``a=rtpmap`` (``"PCMU"``, ``"G729"`` ...).
    payload_type : int
        Static payload type of RFC 3551 Table 4, or the usual dynamic value
        (96-127) for dynamic encodings (Opus 111, telephone-event 101).
    clock_rate : int
        RTP timestamp clock in Hz.
    frame_ms : float
        Duration of one codec frame; for sample-based codecs (G.711) one
        sample, 0.125 ms.
    frame_bytes : int
        Payload bytes per frame (per sample for G.711).
    bitrate : int
        Coded bit rate in bit/s.
    default_ptime_ms : float
        Default packetisation interval (RFC 3551 Table 1, column ms/packet).
    ie : float
        G.107 equipment impairment factor (G.113 Appendix I).
    bpl : float
        G.107 packet-loss robustness factor for the codec *as configured*
        (with PLC if ``plc`` is true).
    plc : bool
        Whether the decoder conceals lost packets.
    lookahead_ms : float
        Algorithmic look-ahead added to the packetisation delay.
    provisional : bool
        ``True`` when ``ie``/``bpl`` are not from G.113 but a stated assumption.

    Examples
    --------
    >>> pcmu = codec_by_name("PCMU")
    >>> pcmu.payload_type, pcmu.clock_rate, pcmu.payload_bytes(20)
    (0, 8000, 160)
    >>> pcmu.timestamp_increment(20)
    160
    >>> pcmu.without_plc().bpl
    4.3
    """

    name: str
    payload_type: int
    clock_rate: int
    frame_ms: float
    frame_bytes: int
    bitrate: int
    default_ptime_ms: float
    ie: float
    bpl: float
    plc: bool
    lookahead_ms: float = 0.0
    provisional: bool = False

    def frames_per_packet(self, ptime_ms: float | None = None) -> int:
        """Number of codec frames in one packet of ``ptime_ms`` (default ptime)."""
        ptime = self.default_ptime_ms if ptime_ms is None else ptime_ms
        frames = ptime / self.frame_ms
        if frames < 1 or abs(frames - round(frames)) > 1e-9:
            raise LocalProtocolError(
                f"{self.name}: ptime {ptime} ms is not a multiple of the {self.frame_ms} ms frame"
            )
        return int(round(frames))

    def payload_bytes(self, ptime_ms: float | None = None) -> int:
        """RTP payload size in bytes for one packet."""
        return self.frames_per_packet(ptime_ms) * self.frame_bytes

    def timestamp_increment(self, ptime_ms: float | None = None) -> int:
        """RTP timestamp units per packet (RFC 3550 5.1: sampling instants)."""
        ptime = self.default_ptime_ms if ptime_ms is None else ptime_ms
        self.frames_per_packet(ptime)
        return int(round(self.clock_rate * ptime / 1000.0))

    def packetisation_delay_ms(self, ptime_ms: float | None = None) -> float:
        """Sender delay: one packet of speech plus the codec look-ahead."""
        ptime = self.default_ptime_ms if ptime_ms is None else ptime_ms
        return ptime + self.lookahead_ms

    def without_plc(self) -> Codec:
        """The same codec with PLC disabled (G.711 only has a G.113 Bpl for that).

        Codecs whose loss concealment is part of the codec itself (G.729,
        G.723.1, Opus) cannot drop it and raise :class:`LocalProtocolError`.
        """
        if self.name not in ("PCMU", "PCMA"):
            raise LocalProtocolError(f"{self.name} has built-in loss concealment")
        return dataclasses.replace(self, plc=False, bpl=G711_NO_PLC_BPL)


@dataclass(frozen=True, slots=True)
class Bandwidth:
    """Bandwidth of one direction of a continuous RTP stream (no VAD, no cRTP).

    All rates in kbit/s (1 kbit = 1000 bit).
    """

    payload_bytes: int
    packets_per_s: float
    ip_packet_bytes: int
    ip_kbps: float
    ethernet_frame_kbps: float
    ethernet_on_wire_kbps: float
    ethernet_8021q_frame_kbps: float


def bandwidth(codec: Codec, ptime_ms: float | None = None) -> Bandwidth:
    """IP and Ethernet bandwidth of one RTP stream.

    Parameters
    ----------
    codec : Codec
    ptime_ms : float, optional
        Packetisation interval; the codec default when omitted.

    Examples
    --------
    >>> bw = bandwidth(codec_by_name("PCMU"), 20)
    >>> bw.ip_packet_bytes, bw.packets_per_s, bw.ip_kbps, bw.ethernet_frame_kbps
    (200, 50.0, 80.0, 87.2)
    """
    ptime = codec.default_ptime_ms if ptime_ms is None else ptime_ms
    payload = codec.payload_bytes(ptime)
    pps = 1000.0 / ptime
    ip_bytes = payload + IP_UDP_RTP_HEADER_BYTES

    def kbps(nbytes: int) -> float:
        return round(nbytes * 8 * pps / 1000.0, 9)

    return Bandwidth(
        payload_bytes=payload,
        packets_per_s=pps,
        ip_packet_bytes=ip_bytes,
        ip_kbps=kbps(ip_bytes),
        ethernet_frame_kbps=kbps(ip_bytes + _ETHERNET_FRAME_OVERHEAD),
        ethernet_on_wire_kbps=kbps(ip_bytes + _ETHERNET_WIRE_OVERHEAD),
        ethernet_8021q_frame_kbps=kbps(ip_bytes + _ETHERNET_FRAME_OVERHEAD + _DOT1Q_TAG),
    )


# Planning values: G.113 Appendix I as given in tests/data/reference_values.json
# (emodel.codec_Ie_Bpl). G.711 is listed with its Appendix I PLC (Bpl 25.1);
# Codec.without_plc() gives Bpl 4.3. G.729 uses the "G.729A + VAD" row.
CODECS: dict[str, Codec] = {
    c.name: c
    for c in (
        # RFC 3551 4.5.14: PCMU/PCMA, 8 bits per sample at 8000 Hz.
        Codec("PCMU", 0, 8000, 0.125, 1, 64_000, 20.0, ie=0.0, bpl=25.1, plc=True),
        Codec("PCMA", 8, 8000, 0.125, 1, 64_000, 20.0, ie=0.0, bpl=25.1, plc=True),
        # RFC 3551 4.5.6: G.729, 10 ms frames of 10 octets; 5 ms look-ahead (G.729).
        Codec("G729", 18, 8000, 10.0, 10, 8_000, 20.0, ie=11.0, bpl=19.0, plc=True,
              lookahead_ms=5.0),
        # RFC 3551 4.5.3: G.723.1 6.3 kbit/s, 30 ms frames of 24 octets; 7.5 ms look-ahead.
        Codec("G723", 4, 8000, 30.0, 24, 6_300, 30.0, ie=15.0, bpl=16.1, plc=True,
              lookahead_ms=7.5),
        # RFC 7587: Opus RTP clock is always 48000 Hz; dynamic PT (111 is customary).
        # 20 ms frames at 24 kbit/s = 60 bytes. G.113 has no narrowband Ie/Bpl for
        # Opus: the values below are an ASSUMPTION (as good as G.711 + PLC).
        Codec("opus", 111, 48000, 20.0, 60, 24_000, 20.0, ie=0.0, bpl=25.1, plc=True,
              lookahead_ms=6.5, provisional=True),
        # RFC 4733: telephone-event, dynamic PT (101 is customary), 8000 Hz clock.
        Codec("telephone-event", 101, 8000, 20.0, 4, 0, 20.0, ie=0.0, bpl=1.0, plc=False,
              provisional=True),
    )
}


def codec_by_name(name: str) -> Codec:
    """Look a codec up by encoding name (case-insensitive).

    >>> codec_by_name("g729").payload_bytes()
    20
    """
    for codec in CODECS.values():
        if codec.name.lower() == name.lower():
            return codec
    raise LocalProtocolError(f"unknown codec {name!r}")


def codec_by_payload_type(payload_type: int) -> Codec:
    """Look a codec up by (static or customary dynamic) payload type.

    >>> codec_by_payload_type(8).name
    'PCMA'
    """
    for codec in CODECS.values():
        if codec.payload_type == payload_type:
            return codec
    raise LocalProtocolError(f"unknown payload type {payload_type}")
