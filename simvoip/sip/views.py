"""Typed, cached accessors shared by :class:`Request` and :class:`Response`.

Every accessor parses its header rows on first use and caches the result on
the message's :class:`~simvoip.sip.message.Headers` (whose mutators clear the
cache), so repeated access is free and edits are always seen. Malformed
values raise :class:`~simvoip.sip.errors.ParseError` (status 400). List views
return a fresh list each time; the parsed values themselves are shared — the
value parsers memoize by raw text, so equal header text anywhere gives the
same object — treat them (and their ``params`` dicts) as read-only and use
their ``with_*`` helpers to derive changed copies.

>>> from simvoip.sip.message import parse_message
>>> m = parse_message(b"SIP/2.0 200 OK\\r\\nv: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b\\r\\n"
...                   b"Require: 100rel\\r\\nm: <sip:a@a>;expires=30\\r\\n\\r\\n")
>>> [v.host for v in m.vias], m.require, m.contacts[0].expires
(['a', 'b'], ['100rel'], 30)
>>> m.headers.add("Require", "timer"); m.require
['100rel', 'timer']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from simvoip.sip.auth_header import Challenge, Credentials
from simvoip.sip.errors import ParseError
from simvoip.sip.grammar import remember, split_commas
from simvoip.sip.headers import (
    CSeq,
    NameAddr,
    Via,
    parse_expires,
    parse_max_forwards,
    parse_option_tags,
)
from simvoip.sip.sdp import SessionDescription

if TYPE_CHECKING:
    from simvoip.sip.message import Headers

__all__ = ["TypedViews"]

T = TypeVar("T")
_MISSING = object()
# Parse memos for the scalar and option-tag views (raw row -> immutable value), as
# headers.py keeps for Via/CSeq/NameAddr: Max-Forwards, Expires, Content-Type and
# Supported rows repeat across messages. Only successful parses are remembered.
_VALUE_MEMOS: dict[str, dict[str, Any]] = {}


class TypedViews:
    """Mixin: typed views over ``self.headers`` (see module docstring).

    >>> from simvoip.sip.message import Headers, Response
    >>> Response(200, "OK", Headers([("Max-Forwards", "70")])).max_forwards
    70
    """

    __slots__ = ()
    headers: Headers
    body: bytes

    # -- helpers -----------------------------------------------------------
    def _list(self, key: str, name: str, parse: Callable[[str], T]) -> list[T]:
        cache = self.headers._cache
        v = cache.get(key)
        if v is None:
            rows = self.headers.get_all(name)
            try:
                if len(rows) == 1 and "," not in rows[0]:
                    v = (parse(rows[0]),)  # the common case: one row, one value
                else:
                    out: list[T] = []
                    for row in rows:
                        if "," in row:
                            out.extend(parse(x) for x in split_commas(row))
                        else:
                            out.append(parse(row))
                    v = tuple(out)
            except ParseError as exc:
                raise _in_header(name, exc) from None
            cache[key] = v
        return list(v)

    def _single(self, key: str, name: str, parse: Callable[[str], Any]) -> Any:
        cache = self.headers._cache
        v = cache.get(key, _MISSING)
        if v is _MISSING:
            row = self.headers.get(name)
            if row is None:
                v = cache[key] = None
                return v
            memo = _VALUE_MEMOS.get(key)
            if memo is None:
                memo = _VALUE_MEMOS[key] = {}
            v = memo.get(row, _MISSING)
            if v is _MISSING:
                try:
                    v = parse(row)
                except ParseError as exc:
                    raise _in_header(name, exc) from None
                remember(memo, row, v)
            cache[key] = v
        return v

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise ParseError(f"missing {name}")
        return value

    # -- Via ---------------------------------------------------------------
    @property
    def vias(self) -> list[Via]:
        """All Via values, top first (RFC 3261 20.42)."""
        return self._list("vias", "Via", Via.parse)

    @property
    def top_via(self) -> Via:
        cache = self.headers._cache
        v = cache.get("top_via")
        if v is None:
            row = self._required("Via")
            try:
                values = split_commas(row)
                if not values:
                    raise ParseError("empty value")
                v = cache["top_via"] = Via.parse(values[0])
            except ParseError as exc:
                raise _in_header("Via", exc) from None
        return v  # type: ignore[no-any-return]

    @property
    def branch(self) -> str | None:
        return self.top_via.branch

    # -- dialog / transaction identifiers ------------------------------------
    @property
    def cseq(self) -> CSeq:
        cache = self.headers._cache
        v = cache.get("cseq")
        if v is None:
            try:
                v = cache["cseq"] = CSeq.parse(self._required("CSeq"))
            except ParseError as exc:
                raise _in_header("CSeq", exc) from None
        return v  # type: ignore[no-any-return]

    @property
    def call_id(self) -> str:
        """Call-ID (RFC 3261 20.8): ``word ["@" word]``, no whitespace."""
        value = self._required("Call-ID")
        if not value or " " in value or "\t" in value:
            raise ParseError(f"bad Call-ID: {value[:60]!r}")
        return value

    @property
    def from_(self) -> NameAddr:
        cache = self.headers._cache
        v = cache.get("from")
        if v is None:
            try:
                v = cache["from"] = NameAddr.parse(self._required("From"))
            except ParseError as exc:
                raise _in_header("From", exc) from None
        return v  # type: ignore[no-any-return]

    @property
    def to(self) -> NameAddr:
        cache = self.headers._cache
        v = cache.get("to")
        if v is None:
            try:
                v = cache["to"] = NameAddr.parse(self._required("To"))
            except ParseError as exc:
                raise _in_header("To", exc) from None
        return v  # type: ignore[no-any-return]

    # -- routing -------------------------------------------------------------
    @property
    def contacts(self) -> list[NameAddr]:
        """Contact values; ``Contact: *`` gives one value with ``is_star`` (RFC 3261 10.2.2)."""
        return self._list("contacts", "Contact", NameAddr.parse)

    @property
    def routes(self) -> list[NameAddr]:
        return self._list("routes", "Route", NameAddr.parse)

    @property
    def record_routes(self) -> list[NameAddr]:
        return self._list("record_routes", "Record-Route", NameAddr.parse)

    @property
    def max_forwards(self) -> int | None:
        """Max-Forwards (0 ... 255) or ``None`` when absent."""
        return self._single("max_forwards", "Max-Forwards", parse_max_forwards)  # type: ignore[no-any-return]

    @property
    def expires(self) -> int | None:
        """Expires header (delta-seconds) or ``None`` when absent."""
        return self._single("expires", "Expires", parse_expires)  # type: ignore[no-any-return]

    # -- extensions ----------------------------------------------------------
    @property
    def require(self) -> list[str]:
        return self._tags("require", "Require")

    @property
    def proxy_require(self) -> list[str]:
        return self._tags("proxy_require", "Proxy-Require")

    @property
    def supported(self) -> list[str]:
        return self._tags("supported", "Supported")

    @property
    def unsupported(self) -> list[str]:
        return self._tags("unsupported", "Unsupported")

    def _tags(self, key: str, name: str) -> list[str]:
        cache = self.headers._cache
        v = cache.get(key)
        if v is None:
            rows = self.headers.get_all(name)
            if not rows:
                v = cache[key] = ()
            elif len(rows) == 1:
                memo = _VALUE_MEMOS.get(key)
                if memo is None:
                    memo = _VALUE_MEMOS[key] = {}
                row = rows[0]
                v = memo.get(row)
                if v is None:
                    try:
                        v = tuple(parse_option_tags(row))
                    except ParseError as exc:
                        raise _in_header(name, exc) from None
                    remember(memo, row, v)
                cache[key] = v
            else:
                try:
                    v = cache[key] = tuple(t for row in rows for t in parse_option_tags(row))
                except ParseError as exc:
                    raise _in_header(name, exc) from None
        return list(v)

    # -- authentication --------------------------------------------------------
    @property
    def www_authenticate(self) -> list[Challenge]:
        return self._auth("www_authenticate", "WWW-Authenticate", Challenge.parse)

    @property
    def proxy_authenticate(self) -> list[Challenge]:
        return self._auth("proxy_authenticate", "Proxy-Authenticate", Challenge.parse)

    @property
    def authorization(self) -> list[Credentials]:
        return self._auth("authorization", "Authorization", Credentials.parse)

    @property
    def proxy_authorization(self) -> list[Credentials]:
        return self._auth("proxy_authorization", "Proxy-Authorization", Credentials.parse)

    def _auth(self, key: str, name: str, parse: Callable[[str], T]) -> list[T]:
        # One challenge/credential per row: their parameters are comma-separated too.
        cache = self.headers._cache
        v = cache.get(key)
        if v is None:
            try:
                v = cache[key] = tuple(parse(row) for row in self.headers.get_all(name))
            except ParseError as exc:
                raise _in_header(name, exc) from None
        return list(v)

    # -- body ------------------------------------------------------------------
    @property
    def content_type(self) -> str | None:
        """Media type (``type/subtype``, lower case, no parameters) or ``None``."""
        return self._single("content_type", "Content-Type", _media_type)  # type: ignore[no-any-return]

    @property
    def content_length(self) -> int:
        """Length of the body (Content-Length is derived from it on encode)."""
        return len(self.body)

    @property
    def sdp(self) -> SessionDescription | None:
        """The body as SDP when Content-Type is ``application/sdp``, else ``None``."""
        if self.content_type != "application/sdp" or not self.body:
            return None
        cache = self.headers._cache
        hit = cache.get("sdp")
        if hit is not None and hit[0] is self.body:
            return hit[1]  # type: ignore[no-any-return]
        sdp = SessionDescription.parse(self.body)
        cache["sdp"] = (self.body, sdp)
        return sdp


def _in_header(name: str, exc: ParseError) -> ParseError:
    """The same error, saying which header it is in (``missing X`` needs no prefix)."""
    if exc.reason.startswith(("missing ", f"{name}: ")):
        return exc
    return ParseError(f"{name}: {exc.reason}", status_code=exc.status_code)


def _media_type(value: str) -> str:
    mtype = value.partition(";")[0].strip(" \t").lower()
    main, slash, sub = mtype.partition("/")
    if not slash or not main.strip() or not sub.strip():
        raise ParseError(f"bad media type: {value[:60]!r}")
    return f"{main.strip()}/{sub.strip()}"
