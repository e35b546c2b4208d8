"""RFC 3264 offer/answer: build offers, answer them with common codecs.

>>> offer = make_offer(address="192.0.2.1", port=49170, session_id=1,
...                    codecs=[PCMU, PCMA, TELEPHONE_EVENT])
>>> offer.media[0].formats
('0', '8', '101')
>>> answer = make_answer(offer, address="192.0.2.2", port=3456, session_id=2,
...                      codecs=[PCMA, TELEPHONE_EVENT])
>>> answer.media[0].port, answer.media[0].formats, answer.media[0].direction
(3456, ('8', '101'), 'sendrecv')
>>> [c.name for c in negotiated_codecs(offer.media[0], answer.media[0])]
['PCMA', 'telephone-event']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from simvoip.sip.errors import LocalProtocolError
from simvoip.sip.sdp import (
    DIRECTIONS,
    Attribute,
    Connection,
    MediaDescription,
    Origin,
    SessionDescription,
)

__all__ = [
    "Codec", "PCMU", "PCMA", "G729", "OPUS", "TELEPHONE_EVENT", "make_offer", "make_answer",
    "negotiated_codecs", "answer_direction", "hold",
]


@dataclass(frozen=True, slots=True)
class Codec:
    """A payload format: encoding name, clock rate, channels, preferred payload type.

    ``payload_type`` is the static number (RFC 3551) or ``None`` for a dynamic
    one (96-127, assigned by the offerer).

    >>> OPUS.matches("OPUS", 48000, 2), PCMU.is_telephone_event
    (True, False)
    """

    name: str
    clock_rate: int
    payload_type: int | None = None
    channels: int | None = None
    fmtp: str | None = None
    media: str = "audio"

    def matches(self, name: str, clock_rate: int, channels: int | None) -> bool:
        """Same encoding (case-insensitive), clock rate and channel count (1 == None)."""
        return (
            self.name.lower() == name.lower()
            and self.clock_rate == clock_rate
            and (self.channels or 1) == (channels or 1)
        )

    @property
    def is_telephone_event(self) -> bool:
        return self.name.lower() == "telephone-event"


PCMU = Codec("PCMU", 8000, 0)
PCMA = Codec("PCMA", 8000, 8)
G729 = Codec("G729", 8000, 18, fmtp="annexb=no")
OPUS = Codec("opus", 48000, None, channels=2)
#: RFC 4733 DTMF events 0-15 (and 16, flash).
TELEPHONE_EVENT = Codec("telephone-event", 8000, None, fmtp="0-16")


def _media_for(
    media: str, port: int, formats: list[tuple[int, Codec]], direction: str, ptime: int | None,
    proto: str = "RTP/AVP",
) -> MediaDescription:
    attrs: list[Attribute] = []
    for pt, codec in formats:
        ch = f"/{codec.channels}" if codec.channels else ""
        attrs.append(("rtpmap", f"{pt} {codec.name}/{codec.clock_rate}{ch}"))
        if codec.fmtp:
            attrs.append(("fmtp", f"{pt} {codec.fmtp}"))
    if ptime is not None:
        attrs.append(("ptime", str(ptime)))
    attrs.append((direction, None))
    return MediaDescription(media, port, proto, tuple(str(pt) for pt, _ in formats),
                            attributes=tuple(attrs))


def _addrtype(address: str) -> str:
    return "IP6" if ":" in address else "IP4"


def make_offer(
    *,
    address: str,
    port: int,
    session_id: int,
    codecs: Sequence[Codec] = (),
    session_version: int = 0,
    username: str = "-",
    direction: str = "sendrecv",
    ptime: int | None = 20,
    media: str = "audio",
) -> SessionDescription:
    """An SDP offer with one RTP/AVP stream listing ``codecs`` in preference order.

    Dynamic payload types are numbered from 101 upwards (RFC 3551 3: 96-127).
    ``session_id`` comes from the caller (no randomness here, RFC 4566 5.2
    suggests an NTP timestamp).

    >>> o = make_offer(address="2001:db8::1", port=4000, session_id=5, codecs=[G729])
    >>> str(o.connection), o.media[0].formats, o.media[0].fmtp
    ('IN IP6 2001:db8::1', ('18',), {18: 'annexb=no'})
    """
    if direction not in DIRECTIONS:
        raise LocalProtocolError(f"unknown direction {direction!r}")
    if not codecs:
        codecs = (PCMU, PCMA, TELEPHONE_EVENT)
    formats: list[tuple[int, Codec]] = []
    next_dynamic = 101
    for c in codecs:
        if c.payload_type is not None:
            formats.append((c.payload_type, c))
        else:
            formats.append((next_dynamic, c))
            next_dynamic += 1
    at = _addrtype(address)
    return SessionDescription(
        origin=Origin(username, session_id, session_version, address, "IN", at),
        connection=Connection(address, "IN", at),
        media=(_media_for(media, port, formats, direction, ptime),),
    )


def answer_direction(offered: str, local: str = "sendrecv") -> str:
    """RFC 3264 6.1: the answer's direction for an offered one, capped by ``local``.

    >>> answer_direction("sendonly"), answer_direction("recvonly"), answer_direction("inactive")
    ('recvonly', 'sendonly', 'inactive')
    >>> answer_direction("sendrecv", local="sendonly")
    'sendonly'
    """
    # What the answerer may do given the offer: it may send if the offerer receives.
    can_send = offered in ("sendrecv", "recvonly") and local in ("sendrecv", "sendonly")
    can_recv = offered in ("sendrecv", "sendonly") and local in ("sendrecv", "recvonly")
    if can_send and can_recv:
        return "sendrecv"
    if can_send:
        return "sendonly"
    if can_recv:
        return "recvonly"
    return "inactive"


def _offered_codecs(m: MediaDescription) -> list[tuple[int, str, int, int | None]]:
    out = []
    for pt in m.payload_types:
        rm = m.rtpmap(pt)
        if rm is not None:
            out.append((pt, rm.encoding, rm.clock_rate, rm.channels))
    return out


def make_answer(
    offer: SessionDescription,
    *,
    address: str,
    port: int,
    session_id: int,
    codecs: Sequence[Codec] = (),
    session_version: int = 0,
    username: str = "-",
    direction: str = "sendrecv",
    ptime: int | None = None,
) -> SessionDescription:
    """Answer ``offer`` per RFC 3264 6.

    One m= line per offered m= line, in the same order. The first offered
    stream of a media type we have codecs for is accepted on ``port``
    with the common codecs in the *offerer's* order and payload type numbers
    (6.1); every other stream, and a stream with no common codec other than
    telephone-event, is rejected with port 0 (6: it keeps the offered formats).

    >>> offer = make_offer(address="192.0.2.1", port=4000, session_id=1, codecs=[G729],
    ...                    direction="sendonly")
    >>> a = make_answer(offer, address="192.0.2.2", port=5000, session_id=2, codecs=[PCMU])
    >>> a.media[0].port, a.media[0].formats
    (0, ('18',))
    >>> make_answer(offer, address="192.0.2.2", port=5000, session_id=2,
    ...             codecs=[G729]).media[0].direction
    'recvonly'
    """
    if direction not in DIRECTIONS:
        raise LocalProtocolError(f"unknown direction {direction!r}")
    if not codecs:
        codecs = (PCMU, PCMA, TELEPHONE_EVENT)
    accepted_one = False
    streams: list[MediaDescription] = []
    for m in offer.media:
        chosen: list[tuple[int, Codec]] = []
        if not accepted_one and m.port != 0 and m.proto.upper().startswith("RTP/"):
            for pt, name, rate, channels in _offered_codecs(m):
                for c in codecs:
                    if c.media == m.media and c.matches(name, rate, channels):
                        # 6.1: keep the offerer's payload type number and name.
                        chosen.append((pt, replace(c, name=name)))
                        break
        if not any(not c.is_telephone_event for _, c in chosen):
            streams.append(MediaDescription(m.media, 0, m.proto, m.formats))
            continue
        accepted_one = True
        offered_dir = m.direction
        conn = offer.connection_for(m)
        if conn is not None and conn.is_null:
            offered_dir = "sendonly"  # RFC 3264 8.4: legacy hold with c=0.0.0.0
        # RFC 3264 6.1: same media type and transport protocol as the offered stream.
        streams.append(_media_for(m.media, port, chosen, answer_direction(offered_dir, direction),
                                  ptime, m.proto))
    at = _addrtype(address)
    return SessionDescription(
        origin=Origin(username, session_id, session_version, address, "IN", at),
        connection=Connection(address, "IN", at),
        times=offer.times,
        media=tuple(streams),
    )


def negotiated_codecs(offer_media: MediaDescription, answer_media: MediaDescription) -> list[Codec]:
    """Codecs both sides agreed on, in the answer's order, with their payload types.

    >>> offer = make_offer(address="192.0.2.1", port=4000, session_id=1, codecs=[PCMA, OPUS])
    >>> answer = make_answer(offer, address="192.0.2.2", port=5000, session_id=2, codecs=[OPUS])
    >>> [(c.name, c.payload_type) for c in negotiated_codecs(offer.media[0], answer.media[0])]
    [('opus', 101)]
    """
    if answer_media.port == 0:
        return []
    out = []
    offered = {pt for pt, *_ in _offered_codecs(offer_media)}
    for pt in answer_media.payload_types:
        rm = answer_media.rtpmap(pt)
        if rm is not None and pt in offered:
            out.append(Codec(rm.encoding, rm.clock_rate, pt, rm.channels,
                             answer_media.fmtp.get(pt), answer_media.media))
    return out


def hold(sdp: SessionDescription) -> SessionDescription:
    """A re-offer putting every active stream on hold (RFC 3264 8.4: ``sendonly``).

    The origin's session version is incremented (RFC 3264 8).

    >>> held = hold(make_offer(address="192.0.2.1", port=4000, session_id=1))
    >>> held.media[0].direction, held.origin.session_version
    ('sendonly', 1)
    """
    media = []
    for m in sdp.media:
        if m.port == 0:
            media.append(m)
            continue
        current = m.direction
        new = "sendonly" if current in ("sendrecv", "sendonly") else "inactive"
        attrs = tuple(a for a in m.attributes if a[0] not in DIRECTIONS) + ((new, None),)
        media.append(replace(m, attributes=attrs))
    origin = replace(sdp.origin, session_version=sdp.origin.session_version + 1)
    return replace(sdp, origin=origin, media=tuple(media))
