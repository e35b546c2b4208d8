"""SDP bodies for the UA core: offers, answers, hold/resume (RFC 3264 via
:mod:`simvoip.sip.offer_answer`), as bytes ready for a message body.

>>> offer = make_offer("client.atlanta.example.com", 49170, session_id=2890844526)
>>> direction_of(offer)
'sendrecv'
>>> direction_of(make_answer(make_offer("a", 4000, direction="sendonly"), "b", 5000))
'recvonly'

Fast paths (same bytes as building and encoding a
:class:`~simvoip.sip.sdp.SessionDescription` every time): a body is built once
per shape (address type, direction) and kept as a :class:`_Template`; later
bodies of the same shape only format what changes (the o= session id and
version, the host in o= and c=, the accepted m= port). An answer to one of our
own offers is built from what the offer was made of, without parsing the offer
back. Hosts that are not one plain token (see :func:`_host_class`) and odd
numbers take the full construction. Every template checks itself against the full
construction when it is made; the caches are bounded and what they hold never
changes a result.
"""

from __future__ import annotations

import re
from dataclasses import replace

from simvoip.sip import offer_answer
from simvoip.sip.errors import ParseError
from simvoip.sip.sdp import SessionDescription

__all__ = ["make_offer", "make_answer", "direction_of", "ANSWER_DIRECTION"]

#: RFC 3264 6.1: the answer's direction given the offer's.
ANSWER_DIRECTION = {d: offer_answer.answer_direction(d)
                    for d in ("sendrecv", "sendonly", "recvonly", "inactive")}

_MAX_ENTRIES = 4096
#: Largest session id / version written as at most 19 digits (parsers take up to 20).
_MAX_NUMBER = 10**19 - 1


class _Template:
    """An encoded session description with holes for what changes between calls.

    ``head sid ver origin_lead host connection_lead host middle [port tail]``: the
    o= session id and version, the host (o= and session c= address) and, when
    ``port_slot``, the port of the one m= line that has ours.
    """

    __slots__ = ("head", "origin_lead", "connection_lead", "middle", "tail", "port_slot")

    def __init__(self, sd: SessionDescription, port_index: int | None) -> None:
        origin, conn = sd.origin, sd.connection
        assert conn is not None
        # RFC 4566 5: v=, o=, s=, [i= u= e= p=], c=, [b=], t= ..., a= ..., then the media.
        lines = str(replace(sd, media=())).split("\r\n")
        at = next(i for i, line in enumerate(lines) if i > 1 and line.startswith("c="))
        # RFC 4566 5.2: o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>
        self.head = f"{lines[0]}\r\no={origin.username} "
        self.origin_lead = f" {origin.nettype} {origin.addrtype} "
        self.connection_lead = ("\r\n" + "".join(line + "\r\n" for line in lines[2:at])
                                + f"c={conn.nettype} {conn.addrtype} ")
        middle = "\r\n" + "".join(line + "\r\n" for line in lines[at + 1:-1])
        media = [str(m) for m in sd.media]
        self.port_slot = port_index is not None
        if port_index is None:
            self.middle, self.tail = middle + "".join(media), ""
        else:
            m = sd.media[port_index]
            lead = f"m={m.media} "
            self.middle = middle + "".join(media[:port_index]) + lead
            self.tail = (media[port_index][len(lead) + len(str(m.port)):]
                         + "".join(media[port_index + 1:]))

    def build(self, session_id: int, version: int, host: str, port: int) -> bytes:
        if self.port_slot:
            return (f"{self.head}{session_id} {version}{self.origin_lead}{host}"
                    f"{self.connection_lead}{host}{self.middle}{port}{self.tail}").encode()
        return (f"{self.head}{session_id} {version}{self.origin_lead}{host}"
                f"{self.connection_lead}{host}{self.middle}").encode()


def _checked(sd: SessionDescription, port_index: int | None) -> _Template | None:
    """The template of ``sd``, or None if it does not give back ``sd``'s own bytes."""
    host = sd.origin.address
    conn = sd.connection
    if conn is None or conn.address != host or any(m.connections for m in sd.media):
        return None
    if port_index is not None and sd.media[port_index].port_count is not None:
        return None
    template = _Template(sd, port_index)
    port = sd.media[port_index].port if port_index is not None else 0
    if template.build(sd.origin.session_id, sd.origin.session_version, host, port) != sd.encode():
        return None
    return template


def _plain(number: int, top: int) -> bool:
    """A plain int in 0..top: written as digits only, the same in every body."""
    return type(number) is int and 0 <= number <= top


def _bounded_put(memo: dict, key: object, value: object) -> None:  # type: ignore[type-arg]
    if len(memo) >= _MAX_ENTRIES:
        memo.clear()  # emptied wholesale: deterministic, results never depend on it
    memo[key] = value


#: A host name or address the SDP parser keeps as one plain token (c=, o=).
_PLAIN_HOST = re.compile(r"[A-Za-z0-9.:\-]+\Z", re.ASCII)
_HOST_CLASS: dict[str, tuple[str, str]] = {}


def _host_class(host: str) -> tuple[str, str]:
    """``("plain", addrtype)`` for a host that is one plain token and not a null
    (hold) address (RFC 3264 8.4): bodies differ only where it is written, and an
    answer to its offers does not depend on it. ``("exact", host)`` otherwise."""
    try:
        return _HOST_CLASS[host]
    except KeyError:
        pass
    if _PLAIN_HOST.match(host) and host not in ("0.0.0.0", "::"):
        cls = ("plain", "IP6" if ":" in host else "IP4")  # offer_answer._addrtype
    else:
        cls = ("exact", host)
    _bounded_put(_HOST_CLASS, host, cls)
    return cls


#: (addrtype, direction) -> offer template (None: not templatable, build in full).
_OFFER_TEMPLATES: dict[tuple[str, str], _Template | None] = {}
#: Bodies our own make_offer produced -> (class of its host, direction, port is zero):
#: all that an answer to it depends on.
_OWN_OFFERS: dict[bytes, tuple[tuple[str, str], str, bool]] = {}
#: (what an own offer's answer depends on, answering addrtype) -> answer template (without
#: a port hole when every stream is rejected; None: built in full).
_ANSWER_TEMPLATES: dict[tuple[tuple[tuple[str, str], str, bool], str], _Template | None] = {}


def _full_offer(host: str, port: int, direction: str, session_id: int, version: int) -> bytes:
    return offer_answer.make_offer(address=host, port=port, session_id=session_id,
                                   session_version=version, direction=direction).encode()


def make_offer(host: str, port: int, *, direction: str = "sendrecv", session_id: int = 1,
               version: int = 1) -> bytes:
    """An audio offer (PCMU, PCMA, telephone-event) from ``host:port``."""
    if not (type(host) is str and _plain(port, 65535) and _plain(session_id, _MAX_NUMBER)
            and _plain(version, _MAX_NUMBER) and type(direction) is str):
        return _full_offer(host, port, direction, session_id, version)
    host_class = _host_class(host)
    if host_class[0] != "plain":
        return _full_offer(host, port, direction, session_id, version)
    shape = (host_class[1], direction)
    try:
        template = _OFFER_TEMPLATES[shape]
    except KeyError:
        sd = offer_answer.make_offer(address=host, port=port, session_id=session_id,
                                     session_version=version, direction=direction)
        template = _checked(sd, 0)
        _bounded_put(_OFFER_TEMPLATES, shape, template)
    if template is None:
        return _full_offer(host, port, direction, session_id, version)
    body = template.build(session_id, version, host, port)
    _bounded_put(_OWN_OFFERS, body, (host_class, direction, port == 0))
    return body


def _full_answer(offer: bytes, host: str, port: int, session_id: int, version: int) -> bytes:
    try:
        parsed = SessionDescription.parse(offer)
    except ParseError:
        return make_offer(host, port, session_id=session_id, version=version)
    return offer_answer.make_answer(parsed, address=host, port=port, session_id=session_id,
                                    session_version=version).encode()


def _answer_template(offer: bytes, host: str, port: int, session_id: int,
                     version: int) -> _Template | None:
    """What answers to offers shaped like ``offer`` (one of ours) look like (``port`` is
    not zero, so the accepted stream is the one with a non-zero port)."""
    try:
        parsed = SessionDescription.parse(offer)
    except ParseError:
        return None  # answered with a fresh offer (itself templated)
    sd = offer_answer.make_answer(parsed, address=host, port=port, session_id=session_id,
                                  session_version=version)
    accepted = [i for i, m in enumerate(sd.media) if m.port != 0]
    if len(accepted) > 1:
        return None
    return _checked(sd, accepted[0] if accepted else None)


def make_answer(offer: bytes, host: str, port: int, *, session_id: int = 1,
                version: int = 1) -> bytes:
    """The RFC 3264 answer to ``offer`` (an unparsable offer is answered with a fresh offer)."""
    shape = _OWN_OFFERS.get(offer) if type(offer) is bytes else None
    # Port 0 would hide which stream is the accepted one: built in full.
    if (shape is None or type(host) is not str or not _plain(port, 65535) or not port
            or not _plain(session_id, _MAX_NUMBER) or not _plain(version, _MAX_NUMBER)):
        return _full_answer(offer, host, port, session_id, version)
    host_class = _host_class(host)
    if host_class[0] != "plain":
        return _full_answer(offer, host, port, session_id, version)
    key = (shape, host_class[1])
    try:
        template = _ANSWER_TEMPLATES[key]
    except KeyError:
        template = _answer_template(offer, host, port, session_id, version)
        _bounded_put(_ANSWER_TEMPLATES, key, template)
    if template is None:
        return _full_answer(offer, host, port, session_id, version)
    return template.build(session_id, version, host, port)


#: Shape of an own offer -> the direction of its first stream.
_OWN_DIRECTIONS: dict[tuple[tuple[str, str], str, bool], str] = {}


def direction_of(body: bytes) -> str:
    """The direction of the first media stream of ``body`` (``sendrecv`` by default)."""
    shape = _OWN_OFFERS.get(body) if type(body) is bytes else None
    if shape is not None and shape[0][0] == "plain":
        direction = _OWN_DIRECTIONS.get(shape)
        if direction is None:
            direction = _parsed_direction(body)
            _bounded_put(_OWN_DIRECTIONS, shape, direction)
        return direction
    return _parsed_direction(body)


def _parsed_direction(body: bytes) -> str:
    try:
        sdp = SessionDescription.parse(body)
    except ParseError:
        return "sendrecv"
    return sdp.media[0].direction if sdp.media else "sendrecv"
