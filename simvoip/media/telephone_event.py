"""RFC 4733 named telephone events (DTMF) payload.

RFC 4733 2.3, Figure 1::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     event     |E|R| volume    |          duration             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

The packet sequence for one event (M bit, same timestamp, three end packets)
is built by :meth:`simvoip.media.rtp.RtpSender.telephone_event`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from simvoip.media.errors import LocalProtocolError, RtpParseError

__all__ = ["DTMF_EVENTS", "TelephoneEvent", "decode_telephone_event"]

#: RFC 4733 3.2, Table 7: DTMF named events.
DTMF_EVENTS: dict[str, int] = {
    **{str(d): d for d in range(10)}, "*": 10, "#": 11, "A": 12, "B": 13, "C": 14, "D": 15,
}


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """One named-event report.

    Parameters
    ----------
    event : int
        0-255 (RFC 4733 2.3.1); DTMF digits per :data:`DTMF_EVENTS`.
    end : bool
        E bit (2.3.2).
    volume : int
        0-63, power level in -dBm0 (2.3.4).
    duration : int
        Duration so far in timestamp units, 0-65535 (2.3.5).

    Examples
    --------
    >>> TelephoneEvent(DTMF_EVENTS["#"], end=True, volume=10, duration=800).encode().hex()
    '0b8a0320'
    >>> decode_telephone_event(bytes.fromhex("0b8a0320"))
    TelephoneEvent(event=11, end=True, volume=10, duration=800)
    """

    event: int
    end: bool = False
    volume: int = 10
    duration: int = 0

    def encode(self) -> bytes:
        """The 4-byte payload; the R bit is always zero (2.3.3)."""
        if not 0 <= self.event <= 255:
            raise LocalProtocolError(f"telephone event {self.event} out of 0-255")
        if not 0 <= self.volume <= 63:
            raise LocalProtocolError(f"telephone-event volume {self.volume} out of 0-63")
        if not 0 <= self.duration <= 0xFFFF:
            raise LocalProtocolError(f"telephone-event duration {self.duration} out of range")
        flags = (0x80 if self.end else 0) | self.volume
        return struct.pack("!BBH", self.event, flags, self.duration)


def decode_telephone_event(payload: bytes) -> TelephoneEvent:
    """Decode a telephone-event payload; only the first report is returned.

    Raises :class:`RtpParseError` when fewer than 4 bytes are given. The R bit
    is ignored (RFC 4733 2.3.3: the receiver MUST ignore it).

    >>> decode_telephone_event(b"\\x05\\x0a")
    Traceback (most recent call last):
    ...
    simvoip.media.errors.RtpParseError: telephone-event payload of 2 bytes, need 4
    """
    if len(payload) < 4:
        raise RtpParseError(f"telephone-event payload of {len(payload)} bytes, need 4", offset=0)
    event, flags, duration = struct.unpack_from("!BBH", payload, 0)
    return TelephoneEvent(event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)
