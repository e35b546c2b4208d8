"""Low-level RFC 3261 section 25 grammar helpers shared by the typed views.

Character classes, quoted strings (with ``quoted-pair`` escapes), splitting a
header value at separators outside quotes and angle brackets, and generic
``;name=value`` parameter lists.

>>> split_commas('"Doe, J" <sip:j@a>;q=1, <sip:k@b>')
['"Doe, J" <sip:j@a>;q=1', '<sip:k@b>']
>>> parse_params(";tag=1;lr; x = y ")
{'tag': '1', 'lr': None, 'x': 'y'}
>>> unquote('"J \\\\"R\\\\""'), quote('J "R"')
('J "R"', '"J \\\\"R\\\\""')
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from simvoip.sip.errors import ParseError

__all__ = [
    "TOKEN_CHARS", "is_token", "split_commas", "split_outside_quotes", "parse_params",
    "format_params", "quote", "unquote", "parse_uint", "LWS", "TOKEN_CLASS",
    "SIMPLE_PARAMS_PATTERN", "fast_new", "remember", "first_sight", "MEMO_LIMIT",
]

#: RFC 3261 section 25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" )
TOKEN_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"
)
_TOKEN_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
#: Linear white space inside one (already unfolded) header value.
LWS = " \t"

# Memo of strings already known to be tokens: header and parameter names repeat a lot.
_TOKEN_MEMO: set[str] = set()
_MEMO_LIMIT = 4096


def is_token(text: str) -> bool:
    """True if ``text`` is an RFC 3261 ``token`` (non-empty).

    >>> is_token("z9hG4bK-.!%*_+`'~"), is_token("a b"), is_token("")
    (True, False, False)
    """
    if text in _TOKEN_MEMO:
        return True
    if _TOKEN_RE.fullmatch(text) is None:
        return False
    if len(_TOKEN_MEMO) < _MEMO_LIMIT:
        _TOKEN_MEMO.add(text)
    return True


def parse_uint(text: str, what: str, limit: int = 2**32 - 1) -> int:
    """Parse ``1*DIGIT`` (surrounding LWS allowed) with an upper ``limit``.

    RFC 4475 3.1.2.4: overlarge values must be rejected, never overflow.

    >>> parse_uint(" 0068", "Max-Forwards", 255)
    68
    """
    text = text.strip(LWS)
    if not text.isascii() or not text.isdigit():
        raise ParseError(f"bad {what}: {text!r}")
    if len(text) > 12 or int(text) > limit:
        raise ParseError(f"{what} out of range: {text[:20]!r}")
    return int(text)


def split_outside_quotes(text: str, sep: str) -> list[str]:
    """Split ``text`` at ``sep`` outside quoted strings and ``<...>``; parts are stripped.

    Raises :class:`ParseError` on an unterminated quoted string or ``<``.

    >>> split_outside_quotes('a="x;y"; b', ";")
    ['a="x;y"', 'b']
    """
    if '"' not in text and "<" not in text:
        return [p.strip(LWS) for p in text.split(sep)]
    out: list[str] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            i = _skip_quoted(text, i)
            continue
        if ch == "<":
            close = text.find(">", i + 1)
            if close < 0:
                raise ParseError(f"unclosed '<' in {text[:60]!r}")
            i = close + 1
            continue
        if ch == sep:
            out.append(text[start:i].strip(LWS))
            start = i + 1
        i += 1
    out.append(text[start:].strip(LWS))
    return out


def _skip_quoted(text: str, i: int) -> int:
    """Index just past the quoted string starting at ``text[i] == '"'``."""
    n = len(text)
    j = i + 1
    while j < n:
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if ch == '"':
            return j + 1
        j += 1
    raise ParseError(f"unterminated quoted string in {text[:60]!r}")


def split_commas(row: str) -> list[str]:
    """Split one header row into its comma-separated values (RFC 3261 7.3.1).

    Empty values (``a,,b``) are a syntax error.

    >>> split_commas("100rel, timer")
    ['100rel', 'timer']
    """
    if "," not in row:
        return [row] if row else []
    parts = split_outside_quotes(row, ",")
    for p in parts:
        if not p:
            raise ParseError(f"empty list element in {row[:60]!r}")
    return parts


def quote(text: str) -> str:
    """Format ``text`` as a quoted-string, escaping ``"`` and ``\\``.

    >>> print(quote('say "hi"'))
    "say \\"hi\\""
    """
    if "\\" in text or '"' in text:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def unquote(text: str) -> str:
    """Inverse of :func:`quote`; ``text`` must be one complete quoted-string.

    >>> unquote('"a b"'), unquote(quote('x"y'))
    ('a b', 'x"y')
    """
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ParseError(f"not a quoted string: {text[:60]!r}")
    if _skip_quoted(text, 0) != len(text):
        raise ParseError(f"junk after quoted string: {text[:60]!r}")
    inner = text[1:-1]
    if "\\" not in inner:
        return inner
    out = []
    i = 0
    while i < len(inner):
        ch = inner[i]
        if ch == "\\" and i + 1 < len(inner):
            out.append(inner[i + 1])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


# Fast path: ";name[=value]" repeated, tokens and host-ish values, no LWS, no quotes.
_TOKEN_CLASS = r"[A-Za-z0-9\-.!%*_+`'~]"
#: Regex source of one token character / of a simple parameter list (for other fast paths).
TOKEN_CLASS = _TOKEN_CLASS
SIMPLE_PARAMS_PATTERN = rf"(?:;{_TOKEN_CLASS}+(?:=[A-Za-z0-9\-.!%*_+`'~:\[\]]+)?)*"
_SIMPLE_PARAMS_RE = re.compile(rf"(?:;{_TOKEN_CLASS}+(?:=[A-Za-z0-9\-.!%*_+`'~:\[\]]+)?)+")


def parse_params(text: str) -> dict[str, str | None]:
    """``;a=1;b`` -> ``{'a': '1', 'b': None}``.

    Names are lower-cased (parameter names are case-insensitive); values are
    kept verbatim (a quoted value keeps its quotes). LWS around ``;`` and ``=``
    is allowed. An empty parameter (``;;``) or a non-token name is a
    :class:`ParseError`.

    >>> parse_params(';Branch=z9hG4bK1;rport;x="a;b"')
    {'branch': 'z9hG4bK1', 'rport': None, 'x': '"a;b"'}
    """
    if _SIMPLE_PARAMS_RE.fullmatch(text) is not None:
        out: dict[str, str | None] = {}
        for part in text[1:].split(";"):
            n, eq, v = part.partition("=")
            out[n.lower()] = v if eq else None
        return out
    text = text.strip(LWS)
    if not text:
        return {}
    if text[0] != ";":
        raise ParseError(f"parameters must start with ';': {text[:60]!r}")
    params: dict[str, str | None] = {}
    parts = text[1:].split(";") if '"' not in text else split_outside_quotes(text[1:], ";")
    for part in parts:
        name, eq, value = part.partition("=")
        name = name.strip(LWS).lower()
        if not is_token(name):
            raise ParseError(f"bad parameter name {name[:40]!r} in {text[:60]!r}")
        if eq:
            value = value.strip(LWS)
            if not value:
                raise ParseError(f"empty value for parameter {name!r}")
            if value[0] == '"':
                unquote(value)  # validates termination
            elif " " in value or "\t" in value:
                raise ParseError(f"whitespace in parameter value {value[:40]!r}")
            params[name] = value
        else:
            params[name] = None
    return params


def format_params(params: dict[str, str | None]) -> str:
    """Inverse of :func:`parse_params`.

    >>> format_params({'tag': '1', 'lr': None})
    ';tag=1;lr'
    """
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


def fast_new(cls: type) -> Callable[..., Any]:
    """A positional constructor for a slotted dataclass that skips ``__init__``.

    Parsers build millions of frozen view objects; a frozen dataclass
    ``__init__`` goes through ``object.__setattr__`` per field, which costs
    several times as much as a plain attribute store. The returned function
    takes *every* field (``init=False`` ones too) in declaration order and
    does no checking: only for values a parser has already validated.

    For a frozen class it fills an instance of a plain "twin" class with the
    same slots (plain, fast stores) and then sets its ``__class__`` to
    ``cls``, which CPython allows between classes of identical layout; where
    that is not allowed it sets each slot through its descriptor. Like
    :mod:`dataclasses` itself, it generates the function's source.

    >>> @dataclasses.dataclass(frozen=True, slots=True)
    ... class P:
    ...     x: int
    ...     y: int = 0
    >>> p = fast_new(P)(1, 2)
    >>> p == P(1, 2), type(p) is P
    (True, True)
    """
    names = [f.name for f in dataclasses.fields(cls)]
    args = ", ".join(names)
    if cls.__setattr__ is object.__setattr__:  # not frozen: plain stores will do
        lines = [f"def make({args}):", "    o = _new(_cls)", *(f"    o.{n} = {n}" for n in names), "    return o"]
        return _compile(lines, {"_new": object.__new__, "_cls": cls})
    if cls.__bases__ == (object,):
        twin = type(f"_{cls.__name__}Twin", (), {"__slots__": cls.__dict__.get("__slots__", ())})
        lines = [f"def make({args}):", "    o = _new(_twin)", *(f"    o.{n} = {n}" for n in names),
                 "    o.__class__ = _cls", "    return o"]
        make = _compile(lines, {"_new": object.__new__, "_cls": cls, "_twin": twin})
        try:
            if type(make(*([None] * len(names)))) is cls:
                return make
        except TypeError:  # layouts differ: the class cannot be swapped
            pass
    namespace = {"_new": object.__new__, "_cls": cls}
    for n in names:
        namespace[f"_set_{n}"] = cls.__dict__[n].__set__
    lines = [f"def make({args}):", "    o = _new(_cls)"]
    lines += [f"    _set_{n}(o, {n})" for n in names]
    lines.append("    return o")
    return _compile(lines, namespace)


def _compile(lines: list[str], namespace: dict[str, Any]) -> Callable[..., Any]:
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from field names only
    return namespace["make"]  # type: ignore[no-any-return]


#: Entries kept per parse memo before it is emptied (keeps memory bounded).
MEMO_LIMIT = 4096


def remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    """Store ``value`` in a bounded parse memo (emptied wholesale when full).

    Header values repeat a lot in a simulation (every hop re-parses the same
    From, To, Via, Route and SDP; retransmissions repeat whole messages), and
    the parsed views are immutable, so parsers keep a memo of raw text to
    value. Emptying instead of evicting keeps it simple and deterministic:
    results never depend on what is cached.

    >>> memo: dict[str, int] = {}
    >>> remember(memo, "a", 1); memo
    {'a': 1}
    """
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[key] = value


def first_sight(seen: set[Any], key: Any) -> bool:
    """Whether ``key`` is new to ``seen``; it is then added (bounded like :func:`remember`).

    Parsers memoize a value from its *second* sight: most values of a stream of
    new calls never come back, and objects kept for nothing cost memory and
    garbage-collector time, while a value that comes back once (the next hop,
    the answer, a retransmission) usually comes back again.

    >>> seen: set[str] = set()
    >>> first_sight(seen, "a"), first_sight(seen, "a")
    (True, False)
    """
    if key in seen:
        return False
    if len(seen) >= MEMO_LIMIT:
        seen.clear()
    seen.add(key)
    return True
