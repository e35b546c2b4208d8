"""Error families of the SIP core.

Two families, as in h11: :class:`LocalProtocolError` means the caller misused
the API (a bug: raise it), :class:`RemoteProtocolError` (and its subclass
:class:`ParseError`) means a peer sent something bad (answer per RFC, count it,
trace it, never crash the node).
"""

from __future__ import annotations

__all__ = ["SipError", "LocalProtocolError", "RemoteProtocolError", "ParseError"]


class SipError(Exception):
    """Base class of every error raised by :mod:`simvoip.sip`."""


class LocalProtocolError(SipError):
    """The local caller asked for something the protocol forbids (a bug)."""


class RemoteProtocolError(SipError):
    """A peer sent something that violates the protocol.

    ``status_code`` names the response a UAS or proxy must send, where one
    exists (RFC 3261 section 8.2 / 16.3): 400, 416, 420, 483, 505 ...
    """

    def __init__(self, reason: str, *, status_code: int | None = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code


class ParseError(RemoteProtocolError):
    """Malformed SIP or SDP bytes.

    Carries what was wrong (``reason``) and where (``line``: 1-based line
    number of the offending line, or ``None``; ``offset``: byte offset in the
    input where known).

    >>> err = ParseError("bad request line", line=1)
    >>> str(err)
    'line 1: bad request line'
    >>> err.status_code
    400
    """

    def __init__(
        self,
        reason: str,
        *,
        line: int | None = None,
        offset: int | None = None,
        status_code: int | None = 400,
    ) -> None:
        self.line = line
        self.offset = offset
        super().__init__(reason, status_code=status_code)

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line is not None else self.reason
