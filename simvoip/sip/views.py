"""Typed, cached accessors shared by :class:`Request` and :class:`Response`.

Every accessor parses its header rows on first use and caches the result on
the message's :class:`~simvoip.sip.message.Headers` (whose mutators clear the
cache), so repeated access is free and edits are always seen. Malformed
values raise :class:`~simvoip.sip.errors.ParseError` (status 400). List views
return a fresh list each time; the parsed values themselves are shared — the
value parsers memoize by raw text, so equal header text usually gives the same
object (the memos are bounded and emptied when full) — treat them (and their ``params`` dicts) as read-only and use
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
    _NAME_ADDR_MEMO,
    CSeq,
    NameAddr,
    Via,
    parse_cseq,
    parse_expires,
    parse_max_forwards,
    parse_name_addr,
    parse_option_tags,
    parse_via,
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


def _memo(key: str) -> dict[str, Any]:
    memo = _VALUE_MEMOS.get(key)
    if memo is None:
        memo = _VALUE_MEMOS[key] = {}
    return memo


def _parse_rows(h: Headers, key: str, name: str, parse: Callable[[str], T]) -> tuple[T, ...]:
    """Every comma-separated value of every ``name`` row, parsed; cached under ``key``."""
    idx = h._idx
    if idx is None:
        idx = h._build_index()
    first = idx.get(name)
    try:
        if first is None:
            v: tuple[T, ...] = ()
        elif "," not in first and (h._more is None or name not in h._more):
            v = (parse(first),)  # the common case: one row, one value
        else:
            more = h._more
            rows = more[name] if more is not None and name in more else (first,)
            out: list[T] = []
            for row in rows:
                if "," in row:
                    out.extend(parse(x) for x in split_commas(row))
                else:
                    out.append(parse(row))
            v = tuple(out)
    except ParseError as exc:
        raise _in_header(name, exc) from None
    h._cache[key] = v
    return v


def _parse_single(
    h: Headers, key: str, name: str, parse: Callable[[str], Any], memo: dict[str, Any] | None = None
) -> Any:
    """The first ``name`` row parsed (``None`` when absent), memoized by text; cached under ``key``."""
    idx = h._idx
    if idx is None:
        idx = h._build_index()
    row = idx.get(name)
    if row is None:
        v = None
    else:
        if memo is None:
            memo = _memo(key)
        v = memo.get(row, _MISSING)
        if v is _MISSING:
            try:
                v = parse(row)
            except ParseError as exc:
                raise _in_header(name, exc) from None
            remember(memo, row, v)
    h._cache[key] = v
    return v


def _media_type(value: str) -> str:
    mtype = value.partition(";")[0].strip(" \t").lower()
    main, slash, sub = mtype.partition("/")
    if not slash or not main.strip() or not sub.strip():
        raise ParseError(f"bad media type: {value[:60]!r}")
    return f"{main.strip()}/{sub.strip()}"


# View factories: the typed views below of one kind differ only in their header
# name, cache key and parser. Each builds its getter as a closure (as fast as a
# written-out property: the names are cell variables, not attribute lookups).
# The first steps answer from the header index and the value memos without
# touching the cache: they run for every header of every message.
def _name_addrs(name: str, key: str, doc: str) -> property:
    """A view of every ``name`` value as a :class:`NameAddr` list."""
    def get(self: TypedViews) -> list[NameAddr]:
        h = self.headers
        idx = h._idx
        if idx is not None:  # current: the index is dropped on every change
            row = idx.get(name)
            if row is None:
                return []
            if "," not in row and (h._more is None or name not in h._more):
                na = _NAME_ADDR_MEMO.get(row)  # one row, one value, parsed before
                if na is not None:
                    return [na]
        v = h._cache.get(key)
        return list(_parse_rows(h, key, name, parse_name_addr) if v is None else v)
    return property(get, doc=doc)


def _scalar(name: str, key: str, parse: Callable[[str], Any], doc: str) -> property:
    """A view of the first ``name`` row parsed by ``parse`` (``None`` when absent)."""
    memo = _memo(key)

    def get(self: TypedViews) -> Any:
        h = self.headers
        idx = h._idx
        if idx is not None:  # current: the index is dropped on every change
            row = idx.get(name)
            if row is None:
                return None  # absent
            v = memo.get(row)  # the value of this very text (never None)
            if v is not None:
                return v
        v = h._cache.get(key, _MISSING)
        if v is _MISSING:
            v = _parse_single(h, key, name, parse, memo)
        return v
    return property(get, doc=doc)


def _tags(name: str, key: str) -> property:
    """A view of the option tags of every ``name`` row."""
    memo = _memo(key)

    def get(self: TypedViews) -> list[str]:
        h = self.headers
        idx = h._idx
        if idx is not None:  # current: the index is dropped on every change
            row = idx.get(name)
            if row is None:
                return []
            more = h._more
            if more is None or name not in more:
                v = memo.get(row)  # the tags of this very text
                if v is not None:
                    return list(v)
        v = h._cache.get(key)
        return list(_parse_tags(h, key, name) if v is None else v)
    return property(get, doc=f"{name} option tags.")


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
    # Each view looks in the cache first (one dict lookup), then parses once.
    def _list(self, key: str, name: str, parse: Callable[[str], T]) -> list[T]:
        h = self.headers
        v = h._cache.get(key)
        return list(_parse_rows(h, key, name, parse) if v is None else v)

    def _single(self, key: str, name: str, parse: Callable[[str], Any]) -> Any:
        h = self.headers
        v = h._cache.get(key, _MISSING)
        return _parse_single(h, key, name, parse) if v is _MISSING else v

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise ParseError(f"missing {name}")
        return value

    # -- Via ---------------------------------------------------------------
    @property
    def vias(self) -> list[Via]:
        """All Via values, top first (RFC 3261 20.42)."""
        h = self.headers
        cache = h._cache
        v = cache.get("vias")
        if v is None:
            idx = h._idx
            row = None if idx is None else idx.get("Via")
            if row is not None:  # the common cases, inlined (as _parse_rows does them)
                more = h._more
                rows = None if more is None else more.get("Via")
                if rows is None:
                    if "," not in row:  # one row, one value
                        try:
                            via = parse_via(row)
                        except ParseError as exc:
                            raise _in_header("Via", exc) from None
                        cache["vias"] = (via,)
                        return [via]
                elif "," not in "".join(rows):  # several rows, one value each
                    vias = []
                    try:  # (a loop, not map: CPython 3.11 calls a Python function from C more slowly)
                        for row in rows:
                            vias.append(parse_via(row))
                    except ParseError as exc:
                        raise _in_header("Via", exc) from None
                    cache["vias"] = tuple(vias)
                    return vias
            v = _parse_rows(h, "vias", "Via", parse_via)
        return list(v)

    @property
    def top_via(self) -> Via:
        cache = self.headers._cache
        v = cache.get("top_via")
        if v is None:
            vias = cache.get("vias")
            if vias:
                v = cache["top_via"] = vias[0]
                return v  # type: ignore[no-any-return]
            row = self._required("Via")
            try:
                values = split_commas(row)
                if not values:
                    raise ParseError("empty value")
                v = cache["top_via"] = parse_via(values[0])
            except ParseError as exc:
                raise _in_header("Via", exc) from None
        return v  # type: ignore[no-any-return]

    @property
    def branch(self) -> str | None:
        return self.top_via.branch

    # -- dialog / transaction identifiers ------------------------------------
    @property
    def cseq(self) -> CSeq:
        h = self.headers
        cache = h._cache
        v = cache.get("cseq")
        if v is None:  # _parse_required, inlined: this runs for every message
            idx = h._idx
            row = (h._build_index() if idx is None else idx).get("CSeq")
            if row is None:
                raise ParseError("missing CSeq")
            try:
                v = cache["cseq"] = parse_cseq(row)
            except ParseError as exc:
                raise _in_header("CSeq", exc) from None
        return v  # type: ignore[no-any-return]

    @property
    def call_id(self) -> str:
        """Call-ID (RFC 3261 20.8): ``word ["@" word]``, no whitespace."""
        h = self.headers
        idx = h._idx
        if idx is None:
            idx = h._build_index()
        value = idx.get("Call-ID")
        if value is None:
            raise ParseError("missing Call-ID")
        if not value or " " in value or "\t" in value:
            raise ParseError(f"bad Call-ID: {value[:60]!r}")
        return value

    @property
    def from_(self) -> NameAddr:
        h = self.headers
        cache = h._cache
        v = cache.get("from")
        if v is None:  # _parse_required, inlined: this runs for every message
            idx = h._idx
            row = (h._build_index() if idx is None else idx).get("From")
            if row is None:
                raise ParseError("missing From")
            try:
                v = cache["from"] = parse_name_addr(row)
            except ParseError as exc:
                raise _in_header("From", exc) from None
        return v  # type: ignore[no-any-return]

    @property
    def to(self) -> NameAddr:
        h = self.headers
        cache = h._cache
        v = cache.get("to")
        if v is None:  # _parse_required, inlined: this runs for every message
            idx = h._idx
            row = (h._build_index() if idx is None else idx).get("To")
            if row is None:
                raise ParseError("missing To")
            try:
                v = cache["to"] = parse_name_addr(row)
            except ParseError as exc:
                raise _in_header("To", exc) from None
        return v  # type: ignore[no-any-return]

    # -- routing -------------------------------------------------------------
    # (the bodies come from the factories below the class: one per kind of view)
    if TYPE_CHECKING:
        @property
        def contacts(self) -> list[NameAddr]: ...
        @property
        def routes(self) -> list[NameAddr]: ...
        @property
        def record_routes(self) -> list[NameAddr]: ...
        @property
        def max_forwards(self) -> int | None: ...
        @property
        def expires(self) -> int | None: ...
    else:
        contacts = _name_addrs(
            "Contact", "contacts",
            "Contact values; ``Contact: *`` gives one value with ``is_star`` (RFC 3261 10.2.2).")
        routes = _name_addrs("Route", "routes", "Route values.")
        record_routes = _name_addrs("Record-Route", "record_routes", "Record-Route values.")
        max_forwards = _scalar("Max-Forwards", "max_forwards", parse_max_forwards,
                               "Max-Forwards (0 ... 255) or ``None`` when absent.")
        expires = _scalar("Expires", "expires", parse_expires,
                          "Expires header (delta-seconds) or ``None`` when absent.")

    # -- extensions ----------------------------------------------------------
    if TYPE_CHECKING:
        @property
        def require(self) -> list[str]: ...
        @property
        def proxy_require(self) -> list[str]: ...
        @property
        def supported(self) -> list[str]: ...
        @property
        def unsupported(self) -> list[str]: ...
    else:
        require = _tags("Require", "require")
        proxy_require = _tags("Proxy-Require", "proxy_require")
        supported = _tags("Supported", "supported")
        unsupported = _tags("Unsupported", "unsupported")

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
    if TYPE_CHECKING:
        @property
        def content_type(self) -> str | None: ...
    else:
        content_type = _scalar(
            "Content-Type", "content_type", _media_type,
            "Media type (``type/subtype``, lower case, no parameters) or ``None``.")

    @property
    def content_length(self) -> int:
        """Length of the body (Content-Length is derived from it on encode)."""
        return len(self.body)

    @property
    def sdp(self) -> SessionDescription | None:
        """The body as SDP when Content-Type is ``application/sdp``, else ``None``."""
        body = self.body
        if not body:
            return None
        cache = self.headers._cache
        hit = cache.get("sdp")
        if hit is not None and hit[0] is body:
            return hit[1]  # type: ignore[no-any-return]  # cached only for an SDP Content-Type
        if self.content_type != "application/sdp":
            return None
        sdp = SessionDescription.parse(body)
        cache["sdp"] = (body, sdp)
        return sdp


def _parse_tags(h: Headers, key: str, name: str) -> tuple[str, ...]:
    """Option tags of every ``name`` row (one row: memoized by text); cached under ``key``."""
    idx = h._idx
    if idx is None:
        idx = h._build_index()
    first = idx.get(name)
    try:
        if first is None:
            v: tuple[str, ...] = ()
        elif h._more is None or name not in h._more:
            memo = _memo(key)
            v = memo.get(first)  # type: ignore[assignment]
            if v is None:
                v = tuple(parse_option_tags(first))
                remember(memo, first, v)
        else:
            v = tuple(t for row in h.get_all(name) for t in parse_option_tags(row))
    except ParseError as exc:
        raise _in_header(name, exc) from None
    h._cache[key] = v
    return v


def _in_header(name: str, exc: ParseError) -> ParseError:
    """The same error, saying which header it is in (``missing X`` needs no prefix)."""
    if exc.reason.startswith(("missing ", f"{name}: ")):
        return exc
    return ParseError(f"{name}: {exc.reason}", status_code=exc.status_code)
