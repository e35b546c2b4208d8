"""Block memos for SDP bodies: only the o= line and the m= ports are parsed anew.

The fast paths of :meth:`simvoip.sip.sdp.SessionDescription.parse`; every
hit gives exactly what the line parser (``simvoip.sip.sdp._parse_lines``)
gives for the same text, which ``tests/sip/test_parse_fastpaths.py``
checks with hypothesis, cold and warm.
"""

from __future__ import annotations

from typing import Any

from simvoip.sip.grammar import remember
from simvoip.sip.sdp import (
    SessionDescription,
    _direction,
    _new_media,
    _new_origin,
    _new_session,
)

# Block memos: from one call to the next only the o= line and the m= lines of an
# SDP body change (session id and version, media port); the rest -- s=, c=, t=
# and the a= lines -- repeats. So the text between those lines is parsed once
# (by the line parser, _parse_lines) and its parsed fields are remembered: the
# session block (s= up to the first m=) and each media block (after its m=
# line). Only text that was part of an SDP body the line parser accepted is
# remembered, and what a block parses to depends on its own lines alone, so a
# hit gives exactly what the line parser would.
_SESSION_BLOCKS: dict[str, tuple[Any, ...]] = {}
_MEDIA_BLOCKS: dict[str, tuple[Any, ...]] = {}


def _split_blocks(text: str) -> tuple[str, str, list[tuple[str, str]]] | None:
    """``(o= value, session block, [(m= value, media block), ...])``, or ``None``.

    A media block is the text after its m= line's line feed (``""`` when the
    m= line is the last line; an empty line right after an m= line -- also
    ``""`` -- is told apart by the caller, and never learned: it is an error).
    """
    head, *sections = text.rstrip("\n").split("\nm=")  # trailing empty lines are ignored
    parts = head.split("\n", 2)
    if len(parts) != 3 or parts[0] != "v=0" or parts[1][:2] != "o=":
        return None
    out = []
    for section in sections:
        m_value, _, block = section.partition("\n")
        out.append((m_value, block))
    return parts[1][2:], parts[2], out


def _parse_blocks(text: str) -> SessionDescription | None:
    """The SDP from remembered blocks, or ``None`` if a block is new (or anything is odd).

    Only plain spellings are taken here (ASCII text, plain decimal numbers, no
    port count); anything else is left to the line parser.
    """
    if not text.isascii():
        return None
    head, *sections = text.rstrip("\n").split("\nm=")
    parts = head.split("\n", 2)
    if len(parts) != 3 or parts[0] != "v=0":
        return None
    o_line, session_block = parts[1], parts[2]
    session = _SESSION_BLOCKS.get(session_block)
    o = o_line.split(" ")
    if session is None or len(o) != 6 or "" in o or o[0][:2] != "o=":
        return None
    sid, version = o[1], o[2]
    if not sid.isdigit() or not version.isdigit() or len(sid) > 20 or len(version) > 20:
        return None
    connection = session[1]
    s_dir = session[11]
    media = []
    for section in sections:
        m_value, nl, block = section.partition("\n")
        fields = _MEDIA_BLOCKS.get(block)
        m = m_value.split(" ")
        if (fields is None or (nl and not block) or (connection is None and not fields[1])
                or len(m) < 4 or "" in m):
            return None  # a new block, an empty line, or anything the line parser must explain
        port_text = m[1]
        if not port_text.isdigit() or len(port_text) > 5:
            return None
        port = int(port_text)
        if port > 65535:
            return None
        media.append(_new_media(m[0], port, m[2], tuple(m[3:]), None, *fields, s_dir))
    return _new_session(  # type: ignore[no-any-return]
        _new_origin(o[0][2:], int(sid), int(version), o[5], o[3], o[4]),
        session[0], connection, session[2], session[3], tuple(media), *session[4:11], 0)


def _learn_blocks(text: str, sd: SessionDescription) -> None:
    split = _split_blocks(text)
    if split is None or len(split[2]) != len(sd.media):
        return
    remember(_SESSION_BLOCKS, split[1], (
        sd.session_name, sd.connection, sd.times, sd.attributes, sd.information, sd.uri,
        sd.emails, sd.phones, sd.bandwidths, sd.zone, sd.key, _direction(sd.attributes),
    ))
    for (_, block), m in zip(split[2], sd.media, strict=True):
        remember(_MEDIA_BLOCKS, block, (m.information, m.connections, m.bandwidths, m.key, m.attributes))


# The same block memos for a body with CRLF line ends (as it comes off the wire),
# keyed by the blocks' CRLF text: this skips turning every CRLF into LF. A block
# is learned only from an ASCII body without a bare CR or LF that the line
# parser accepted (see _learn_crlf_blocks), so a hit stands for the same LF
# block, parsed the same.
_SESSION_BLOCKS_CRLF: dict[str, tuple[Any, ...]] = {}
_MEDIA_BLOCKS_CRLF: dict[str, tuple[Any, ...]] = {}


def _parse_crlf_blocks(text: str) -> SessionDescription | None:
    """:func:`_parse_blocks` for CRLF text (``None``: let the LF path decide).

    The text is split at each CRLF "m="; the keys are the session block from
    the o= line's ``<nettype> <addrtype> <address>`` on (what changes, the
    username, session id and version, is before it) and each media block from
    its m= line's ``<proto> <fmt> ...`` on (after the port). Each block keeps
    its line ends, so the last one ends in CRLF and the others do not -- unless
    an empty line comes before an m= line, an error left to the line parser.
    """
    if not text.isascii() or not text.startswith("v=0\r\no="):
        return None
    parts = text.split("\r\nm=")
    try:
        first, sid, version, rest = parts[0].split(" ", 3)
    except ValueError:
        return None
    session = _SESSION_BLOCKS_CRLF.get(rest)
    if session is None:
        return None
    username = first[7:]  # first is "v=0\r\no=<username>"
    if (not username or not username.isprintable() or not sid.isdigit() or not version.isdigit()
            or len(sid) > 20 or len(version) > 20):
        return None
    connection = session[1]
    s_dir = session[11]
    media = []
    for section in parts[1:]:
        try:
            kind, port_text, m_rest = section.split(" ", 2)
        except ValueError:
            return None
        fields = _MEDIA_BLOCKS_CRLF.get(m_rest)
        if (fields is None or not kind.isalnum() or not port_text.isdigit() or len(port_text) > 5
                or (connection is None and not fields[4])):
            return None  # a new block, a port count, or anything the line parser must explain
        port = int(port_text)
        if port > 65535:
            return None
        media.append(_new_media(kind, port, *fields, s_dir))
    if len(parts) > 1 and rest[-2:] == "\r\n":
        return None  # an empty line before the first m= line
    if len(parts) > 2 and any(p[-2:] == "\r\n" for p in parts[1:-1]):
        return None  # an empty line before another m= line
    return _new_session(  # type: ignore[no-any-return]
        _new_origin(username, int(sid), int(version), session[14], session[12], session[13]),
        session[0], connection, session[2], session[3], tuple(media), *session[4:11], 0)


def _learn_crlf_blocks(text: str, sd: SessionDescription) -> None:
    """Remember the blocks of ``text`` (which parsed as ``sd``) if it is a clean CRLF body.

    Clean: ASCII, no bare CR or LF; so the blocks split as the lines do, and
    (the line parser accepted it) no block holds an empty line but at the end.
    """
    n = text.count("\r\n")
    if (not text.isascii() or text.count("\r") != n or text.count("\n") != n
            or not text.startswith("v=0\r\no=")):
        return
    parts = text.split("\r\nm=")
    if len(parts) - 1 != len(sd.media):
        return
    origin = sd.origin
    remember(_SESSION_BLOCKS_CRLF, parts[0].split(" ", 3)[-1], (
        sd.session_name, sd.connection, sd.times, sd.attributes, sd.information, sd.uri,
        sd.emails, sd.phones, sd.bandwidths, sd.zone, sd.key, _direction(sd.attributes),
        origin.nettype, origin.addrtype, origin.address,
    ))
    for section, m in zip(parts[1:], sd.media, strict=True):
        # (a port count is not in the key: the lookup leaves "<port>/<count>" to the line parser)
        remember(_MEDIA_BLOCKS_CRLF, section.split(" ", 2)[-1],
                 (m.proto, m.formats, None, m.information, m.connections, m.bandwidths, m.key, m.attributes))
