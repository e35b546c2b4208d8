"""Error types of the media layer.

Bad bytes from a peer raise :class:`RtpParseError` (or its subclass
:class:`RtcpParseError`). Both derive from :class:`simvoip.sip.errors.ParseError`,
hence from :class:`~simvoip.sip.errors.RemoteProtocolError`: an adapter counts
and traces them and never lets them crash a node. Caller bugs (a payload type
above 127, a sequence number out of range) raise
:class:`~simvoip.sip.errors.LocalProtocolError`.
"""

from __future__ import annotations

from simvoip.sip.errors import LocalProtocolError, ParseError

__all__ = ["LocalProtocolError", "RtcpParseError", "RtpParseError"]


class RtpParseError(ParseError):
    """Malformed RTP (or RTP payload) bytes from a peer.

    ``offset`` is the byte offset of the problem where known. RTP has no
    response code, so ``status_code`` is ``None``.

    >>> err = RtpParseError("version is 1, expected 2", offset=0)
    >>> str(err), err.offset, err.status_code
    ('version is 1, expected 2', 0, None)
    """

    def __init__(self, reason: str, *, offset: int | None = None) -> None:
        super().__init__(reason, offset=offset, status_code=None)


class RtcpParseError(RtpParseError):
    """Malformed RTCP bytes (RFC 3550 section 6 / Appendix A.2 checks).

    >>> isinstance(RtcpParseError("short"), RtpParseError)
    True
    """
