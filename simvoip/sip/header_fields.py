"""Header fields of a SIP message: canonical names and the :class:`Headers` table.

RFC 3261 7.3 / 7.3.3: header names are case-insensitive and have compact
forms; :func:`canonical_name` gives the one spelling used everywhere, and
:class:`Headers` keeps the rows of one message in order with an index by
name and a cache of the typed views (see :mod:`simvoip.sip.views`).
Re-exported by :mod:`simvoip.sip.message`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["Headers", "canonical_name", "COMPACT_FORMS"]


# RFC 3261 section 7.3.3 compact forms (plus RFC 3515 r, RFC 4028 x, RFC 3892 b).
COMPACT_FORMS = {
    "i": "Call-ID", "m": "Contact", "e": "Content-Encoding", "l": "Content-Length",
    "c": "Content-Type", "f": "From", "s": "Subject", "k": "Supported", "t": "To",
    "v": "Via", "o": "Event", "u": "Allow-Events", "r": "Refer-To", "b": "Referred-By",
    "x": "Session-Expires",
}

_CANONICAL = {
    n.lower(): n
    for n in (
        "Accept", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
        "Authentication-Info", "Authorization", "Call-ID", "Call-Info", "Contact",
        "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
        "Content-Type", "CSeq", "Date", "Error-Info", "Expires", "From", "In-Reply-To",
        "Max-Forwards", "Min-Expires", "MIME-Version", "Organization", "Priority",
        "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "Record-Route",
        "Reply-To", "Require", "Retry-After", "Route", "Server", "Subject", "Supported",
        "Timestamp", "To", "Unsupported", "User-Agent", "Via", "Warning",
        "WWW-Authenticate", "RSeq", "RAck", "Event", "Allow-Events", "Refer-To",
        "Referred-By", "Session-Expires", "Min-SE", "Reason", "P-Asserted-Identity",
        "Path", "Flow-Timer", "Privacy",
    )
}

# raw spelling -> canonical name; bounded so hostile input cannot grow it forever.
_NAME_MEMO: dict[str, str] = {}
_MEMO_LIMIT = 4096
# raw header names seen on the wire and already validated -> canonical name.
_WIRE_NAMES: dict[str, str] = {}


def canonical_name(name: str) -> str:
    """The canonical spelling of a header name (compact forms expanded).

    >>> canonical_name("v"), canonical_name("CALL-id"), canonical_name("x-custom-thing")
    ('Via', 'Call-ID', 'X-Custom-Thing')
    """
    known = _NAME_MEMO.get(name)
    if known is not None:
        return known
    low = name.lower()
    if low in COMPACT_FORMS:
        out = COMPACT_FORMS[low]
    else:
        out = _CANONICAL.get(low) or "-".join(p[:1].upper() + p[1:] for p in low.split("-"))
    if len(_NAME_MEMO) < _MEMO_LIMIT:
        _NAME_MEMO[name] = out
    return out


class Headers:
    """Ordered multi-map of header field rows; names are canonicalised.

    Each row keeps its raw value string; typed views parse it on demand and
    cache the result here until the next mutation.

    >>> h = Headers([("v", "SIP/2.0/UDP a;branch=z9hG4bK1"), ("Call-ID", "x")])
    >>> h.get("Via"), "call-id" in h, h.get_all("via")
    ('SIP/2.0/UDP a;branch=z9hG4bK1', True, ['SIP/2.0/UDP a;branch=z9hG4bK1'])
    """

    # Rows are tuples of str, not lists: such tuples (and dicts holding only
    # str) are untracked by the cyclic garbage collector, which matters when
    # many messages stay alive (transactions in Completed). The name index is
    # split in two so that the common case costs one dict lookup: ``_idx`` maps
    # each name to its first value, ``_more`` each name with several rows to
    # all of its values (``None``: no name has several rows).
    __slots__ = ("_rows", "_cache", "_idx", "_more")

    def __init__(self, rows: Iterable[tuple[str, str]] = ()) -> None:
        self._rows: tuple[tuple[str, str], ...] = tuple((canonical_name(n), v) for n, v in rows)
        self._cache: dict[Any, Any] = {}
        self._idx: dict[str, str] | None = None
        self._more: dict[str, tuple[str, ...]] | None = None

    @classmethod
    def _from_canonical(
        cls, rows: tuple[tuple[str, str], ...], index: dict[str, str] | None = None,
        more: dict[str, tuple[str, ...]] | None = None,
    ) -> Headers:
        h = cls.__new__(cls)
        h._rows = rows
        h._cache = {}
        h._idx = index
        h._more = more
        return h

    def _changed(self) -> None:
        # Every mutation drops the typed-view cache and the name index.
        self._cache.clear()
        self._idx = None
        self._more = None

    def _build_index(self) -> dict[str, str]:
        self._idx, self._more = _index(self._rows)
        return self._idx

    def _values(self, name: str) -> tuple[str, ...]:
        idx = self._idx
        if idx is None:
            idx = self._build_index()
        first = idx.get(name)
        if first is None:
            key = _NAME_MEMO.get(name) or canonical_name(name)
            if key == name:
                return ()
            first = idx.get(key)
            if first is None:
                return ()
            name = key
        more = self._more
        if more is not None and name in more:
            return more[name]
        return (first,)

    def get(self, name: str, default: str | None = None) -> str | None:
        idx = self._idx
        if idx is None:
            idx = self._build_index()
        value = idx.get(name)  # fast path: callers mostly pass canonical names
        if value is None:
            if _NAME_MEMO.get(name) == name:
                return default  # a canonical name that is not there
            value = idx.get(canonical_name(name))
            if value is None:
                return default
        return value

    def get_all(self, name: str) -> list[str]:
        idx = self._idx
        if idx is None:
            idx = self._build_index()
        value = idx.get(name)
        if value is None:
            return list(self._values(name))
        more = self._more
        if more is not None and name in more:
            return list(more[name])
        return [value]

    def count(self, name: str) -> int:
        """Number of rows named ``name``."""
        return len(self._values(name))

    def add(self, name: str, value: str) -> None:
        self._changed()
        self._rows += ((canonical_name(name), value),)

    def prepend(self, name: str, value: str) -> None:
        """Insert a row before the first row of the same name (or at the top)."""
        self._changed()
        key = canonical_name(name)
        rows = self._rows
        for i, (n, _) in enumerate(rows):
            if n == key:
                self._rows = (*rows[:i], (key, value), *rows[i:])
                return
        self._rows = ((key, value), *rows)

    def set(self, name: str, value: str) -> None:
        """Replace every row of ``name`` by one row, keeping the first position."""
        self._changed()
        key = canonical_name(name)
        rows = self._rows
        for i, (n, _) in enumerate(rows):
            if n == key:
                self._rows = (*rows[:i], (key, value), *(r for r in rows[i + 1:] if r[0] != key))
                return
        self._rows = (*rows, (key, value))

    def remove(self, name: str) -> None:
        self._changed()
        key = canonical_name(name)
        self._rows = tuple(r for r in self._rows if r[0] != key)

    def remove_first(self, name: str) -> str | None:
        """Remove the first row of ``name`` (e.g. a proxy popping its Route); return its value."""
        key = canonical_name(name)
        rows = self._rows
        for i, (n, v) in enumerate(rows):
            if n == key:
                self._changed()
                self._rows = rows[:i] + rows[i + 1:]
                return v
        return None

    def copy(self) -> Headers:
        return Headers._from_canonical(self._rows, self._idx, self._more)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._rows == other._rows

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({list(self._rows)!r})"


def _index(
    rows: tuple[tuple[str, str], ...] | list[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, tuple[str, ...]] | None]:
    """``(first value of each name, all values of each name with several rows)``."""
    idx = dict(rows)  # C speed; the values are the *last* ones, so right unless a name repeats
    if len(idx) == len(rows):
        return idx, None
    return _index_repeated(rows, idx)


def _index_repeated(
    rows: tuple[tuple[str, str], ...] | list[tuple[str, str]], last: dict[str, str],
) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """:func:`_index` of rows where some name repeats; ``last`` is ``dict(rows)`` (it may be changed)."""
    name, first = rows[0]
    if len(last) + 1 == len(rows) and rows[1][0] == name:  # the one repeat: the first two rows
        last[name] = first  # (a response through one proxy: two Vias)
        return last, {name: (first, rows[1][1])}
    idx: dict[str, str] = {}
    more: dict[str, tuple[str, ...]] = {}
    for n, v in rows:
        if n in idx:
            more[n] = more.get(n, (idx[n],)) + (v,)
        else:
            idx[n] = v
    return idx, more
