"""Typed views of SIP header values (RFC 3261 section 20, grammar in section 25).

Each view parses one header *value* (one comma-separated element) and formats
back with ``str()``; ``View.parse(str(v)) == v``.

>>> v = Via.parse("SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;rport")
>>> v.transport, v.host, v.port, v.branch, v.params["rport"]
('UDP', 'pc33.atlanta.com', 5066, 'z9hG4bK776asdhds', None)
>>> CSeq.parse("314159 INVITE")
CSeq(number=314159, method='INVITE')
>>> NameAddr.parse('"Bob" <sip:bob@biloxi.com>;tag=a6c85cf').tag
'a6c85cf'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from simvoip.sip.errors import ParseError
from simvoip.sip.grammar import (
    LWS,
    MEMO_LIMIT,
    SIMPLE_PARAMS_PATTERN,
    TOKEN_CLASS,
    fast_new,
    first_sight,
    format_params,
    is_token,
    parse_params,
    parse_uint,
    quote,
    split_commas,
    unquote,
)
from simvoip.sip.uri import SipUri, parse_uri

__all__ = [
    "Via", "CSeq", "NameAddr", "split_params", "format_params", "MAGIC_COOKIE",
    "parse_option_tags", "parse_max_forwards", "parse_expires", "parse_via", "parse_name_addr",
    "parse_cseq",
]

#: RFC 3261 section 8.1.1.7: branch IDs of RFC 3261 elements start with this.
MAGIC_COOKIE = "z9hG4bK"

_HOST_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9.])?|\[[0-9A-Fa-f:.]+\]")
_HOST_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9.])?|\[[0-9A-Fa-f:.]+\]"
# Fast paths for the common, simple spellings; anything else takes the general route.
# Parameter names in lower case only (names are case-insensitive, kept lower-cased).
_LOWER_PARAMS = SIMPLE_PARAMS_PATTERN.replace("A-Za-z", "a-z", 1)
_VIA_FAST_RE = re.compile(
    rf"SIP/2\.0/({TOKEN_CLASS}+) ({_HOST_PATTERN})(?::([0-9]{{1,5}}))?({_LOWER_PARAMS})"
)
_NAME_ADDR_FAST_RE = re.compile(
    rf'(?:"([^"\\]*)" ?)?<([A-Za-z][A-Za-z0-9+\-.]*:[^\s<>"]+)>({_LOWER_PARAMS})'
)
_OPTION_TAGS_RE = re.compile(rf"{TOKEN_CLASS}+(?:[ \t]*,[ \t]*{TOKEN_CLASS}+)*")
_CSEQ_FAST_RE = re.compile(rf"([0-9]{{1,9}}) ({TOKEN_CLASS}+)")
# Parse memos: raw value text -> parsed (immutable, shared) view.
_VIA_MEMO: dict[str, Via] = {}
_CSEQ_MEMO: dict[str, CSeq] = {}
_NAME_ADDR_MEMO: dict[str, NameAddr] = {}
_SENT_PROTOCOL_RE = re.compile(r"SIP[ \t]*/[ \t]*2\.0[ \t]*/[ \t]*([^ \t/;]+)[ \t]*(.*)", re.S | re.I)


def split_params(text: str) -> dict[str, str | None]:
    """``;a=1;b`` (leading ``;`` optional) -> ``{'a': '1', 'b': None}`` (names lower-cased).

    >>> split_params("a=1;B")
    {'a': '1', 'b': None}
    """
    text = text.strip(LWS)
    if not text:
        return {}
    return parse_params(text if text[0] == ";" else ";" + text)


@dataclass(frozen=True, slots=True)
class Via:
    """One Via value: ``SIP/2.0/<transport> host[:port] *(;param)`` (RFC 3261 20.42).

    >>> str(Via("UDP", "192.0.2.1", 5060, {"branch": "z9hG4bKx", "rport": None}))
    'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx;rport'
    """

    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def sent_by(self) -> tuple[str, int | None]:
        return (self.host, self.port)

    @property
    def received(self) -> str | None:
        """RFC 3261 18.2.1 ``received`` (IPv6 with or without brackets, RFC 5118 4.5)."""
        return self.params.get("received")

    @property
    def rport(self) -> int | None:
        """RFC 3581 ``rport`` value (``None`` when absent or empty)."""
        v = self.params.get("rport")
        return parse_uint(v, "rport", 65535) if v else None

    @property
    def maddr(self) -> str | None:
        return self.params.get("maddr")

    @property
    def ttl(self) -> int | None:
        v = self.params.get("ttl")
        return parse_uint(v, "ttl", 255) if v is not None else None

    def with_params(self, **params: str | None) -> Via:
        """A copy with parameters added or replaced (e.g. ``received``)."""
        return replace(self, params={**self.params, **params})

    @classmethod
    def parse(cls, text: str) -> Via:
        """Parse one value (memoized: equal text gives an equal object, the same shared one
        from its second sight on; see ``_SEEN_ONCE``)."""
        return parse_via(text)

    @classmethod
    def _parse(cls, text: str) -> Via:
        if text.startswith("SIP/2.0/"):
            transport, sp, rest = text[8:].partition(" ")
            if not sp or "/" in transport or ";" in transport:
                return cls._parse_slow(text)
        else:
            return cls._parse_slow(text)
        return cls._build(transport, rest, text)

    @classmethod
    def _parse_slow(cls, text: str) -> Via:
        m = _SENT_PROTOCOL_RE.fullmatch(text.strip(LWS))
        if m is None:
            raise ParseError(f"bad Via sent-protocol: {text[:60]!r}")
        return cls._build(m.group(1), m.group(2), text)

    @classmethod
    def _build(cls, transport: str, rest: str, text: str) -> Via:
        if not is_token(transport):
            raise ParseError(f"bad Via transport: {text[:60]!r}")
        semi = rest.find(";")
        if semi >= 0:
            hostport, params = rest[:semi].strip(LWS), parse_params(rest[semi:])
        else:
            hostport, params = rest.strip(LWS), {}
        if hostport.startswith("["):
            close = hostport.find("]")
            host, tail = hostport[: close + 1], hostport[close + 1:]
            if close < 0 or (tail and tail[0] != ":"):
                raise ParseError(f"bad Via sent-by: {text[:60]!r}")
            port = tail[1:].strip(LWS) if tail else ""
        else:
            host, _, port = hostport.partition(":")
            host, port = host.rstrip(LWS), port.strip(LWS)
        if _HOST_RE.fullmatch(host) is None:
            raise ParseError(f"bad Via host: {text[:60]!r}")
        return cls(transport.upper(), host, parse_uint(port, "Via port", 65535) if port else None, params)

    def __str__(self) -> str:
        hp = self.host if self.port is None else f"{self.host}:{self.port}"
        return f"SIP/2.0/{self.transport} {hp}{format_params(self.params)}"


@dataclass(frozen=True, slots=True)
class CSeq:
    """``CSeq: <number> <method>`` (RFC 3261 section 20.16; number < 2**32).

    >>> str(CSeq.parse("0009  INVITE"))
    '9 INVITE'
    """

    number: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        """Parse one value (memoized: equal text gives an equal object, the same shared one
        from its second sight on; see ``_SEEN_ONCE``)."""
        return parse_cseq(text)

    @classmethod
    def _parse(cls, text: str) -> CSeq:
        parts = text.split()
        if len(parts) != 2 or not is_token(parts[1]):
            raise ParseError(f"bad CSeq: {text[:60]!r}")
        # RFC 4475 3.1.2.4: a CSeq above 2**32-1 is invalid (8.1.1.5 says < 2**31 for new ones).
        return cls(parse_uint(parts[0], "CSeq number"), parts[1])

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


@dataclass(frozen=True, slots=True)
class NameAddr:
    """name-addr / addr-spec with header parameters (From, To, Contact, Route ...).

    ``uri`` is the URI text (as on the wire); :attr:`sip_uri` parses it.
    A Contact of ``*`` is ``NameAddr("*")`` (:attr:`is_star`).

    >>> c = NameAddr.parse('"Quoted \\\\"x\\\\"" <sip:a@b.example;lr>;expires=60;q=0.5')
    >>> c.display_name, c.uri, c.expires, c.q, c.sip_uri.lr
    ('Quoted "x"', 'sip:a@b.example;lr', 60, 0.5, True)
    >>> str(NameAddr("sip:a@b.example", "A", {"tag": "1"}))
    '"A" <sip:a@b.example>;tag=1'
    """

    uri: str
    display_name: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    # The parsed URI, filled on first use of ``sip_uri`` (not part of equality).
    _parsed_uri: SipUri | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    @property
    def is_star(self) -> bool:
        return self.uri == "*"

    @property
    def sip_uri(self) -> SipUri:
        """The URI as a :class:`~simvoip.sip.uri.SipUri` (ParseError 416 for other schemes)."""
        parsed = self._parsed_uri
        if parsed is None:
            parsed = parse_uri(self.uri)
            _set_parsed_uri(self, parsed)
        return parsed

    @property
    def expires(self) -> int | None:
        """Contact ``expires`` parameter (RFC 3261 20.10)."""
        v = self.params.get("expires")
        return parse_uint(v, "expires") if v is not None else None

    @property
    def q(self) -> float | None:
        """Contact ``q`` parameter, 0 ... 1 (RFC 3261 20.10)."""
        v = self.params.get("q")
        if v is None:
            return None
        try:
            q = float(v)
        except ValueError:
            raise ParseError(f"bad q value: {v[:20]!r}") from None
        if not 0.0 <= q <= 1.0 or len(v) > 5:
            raise ParseError(f"q value out of range: {v[:20]!r}")
        return q

    def with_tag(self, tag: str) -> NameAddr:
        return NameAddr(self.uri, self.display_name, {**self.params, "tag": tag})

    def with_params(self, **params: str | None) -> NameAddr:
        return NameAddr(self.uri, self.display_name, {**self.params, **params})

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        """Parse one value (memoized: equal text gives an equal object, the same shared one
        from its second sight on; see ``_SEEN_ONCE``)."""
        return parse_name_addr(text)

    @classmethod
    def _parse(cls, text: str) -> NameAddr:
        text = text.strip(LWS)
        if not text:
            raise ParseError("empty name-addr")
        display: str | None = None
        if text[0] == '"':
            # quoted display-name, then LWS, then "<"
            end = text.find('"', 1) + 1
            if end > 0 and "\\" not in text[1:end]:
                display = text[1: end - 1] or None
            else:
                end = _quoted_end(text)
                display = unquote(text[:end]) or None
            rest = text[end:].lstrip(LWS)
            if not rest.startswith("<"):
                raise ParseError(f"expected '<' after display name: {text[:60]!r}")
        else:
            lt = text.find("<")
            semi = text.find(";")
            if lt < 0 or (0 <= semi < lt):
                return cls._addr_spec(text)
            words = text[:lt].split()
            # RFC 4475 3.1.1.6: tolerate "token<uri>" without LWS.
            for w in words:
                if not is_token(w):
                    raise ParseError(f"bad display name {text[:lt][:40]!r}")
            display = " ".join(words) if words else None
            rest = text[lt:]
        close = rest.find(">")
        if close < 0:
            raise ParseError(f"unclosed '<' in {text[:60]!r}")
        uri = rest[1:close]
        if not uri or any(c in uri for c in " \t<\""):
            raise ParseError(f"bad URI in name-addr: {text[:60]!r}")
        if uri.find(":") <= 0:
            raise ParseError(f"not an absolute URI: {uri[:60]!r}")
        after = rest[close + 1:]
        return cls(uri, display, parse_params(after) if after else {})

    @classmethod
    def _addr_spec(cls, text: str) -> NameAddr:
        uri, semi, ptext = text.partition(";")
        uri = uri.rstrip(LWS)
        if uri == "*":
            return cls("*", None, parse_params(semi + ptext) if semi else {})
        # RFC 3261 20.10: an addr-spec containing ',', '?' or ';' MUST be in <>.
        if not uri or any(c in uri for c in " \t<>\"?,") or uri.find(":") <= 0:
            raise ParseError(f"bad addr-spec: {text[:60]!r}")
        return cls(uri, None, parse_params(semi + ptext) if semi else {})

    def __str__(self) -> str:
        if self.uri == "*":
            return "*" + format_params(self.params)
        dn = f"{quote(self.display_name)} " if self.display_name else ""
        return f"{dn}<{self.uri}>{format_params(self.params)}"


_new_via = fast_new(Via)
_new_cseq = fast_new(CSeq)
_new_name_addr = fast_new(NameAddr)
_set_parsed_uri = NameAddr.__dict__["_parsed_uri"].__set__  # the slot descriptor, past frozen


# The parse functions the typed views call. Order: the value memo; then the
# "head" memo for the usual fresh value, whose only new part is one parameter
# (a new Via's branch, a new From/To's tag); then one regex for a simple
# spelling; else the general parser (the classes' ``_parse``), which also
# teaches the head memo. tests/sip/test_parse_fastpaths.py checks that every
# path gives what the general parser gives. The memos are bounded like
# grammar.remember (emptied when full), inlined here: these run per header.
#
# A value built from the head memo (a Via around a new branch, a From/To around
# a new tag) or by the CSeq fast path is put in the value memo from its second
# sight (see _SEEN_ONCE below): in a simulation the same text comes back on every hop
# and retransmission of a dialog's messages. (Never memoizing such values slows
# the simulator by about 5 %; memoizing them at first sight costs a stream of
# all-new messages about 10 %, mostly garbage-collector work.)
#
# Head memo: ``head;branch=<b>[;rest]`` where ``head`` (no ';') and ``rest``
# were seen before in a value the general parser accepted. Only the text before
# the first ';' decides transport/host/port (uri/display for a name-addr), and
# ``;branch=<b>`` splits off the parameter list exactly as the general parser
# splits it when <b> holds no quote, space or tab; so the value parses as the
# remembered head plus {branch: b} plus the remembered parameters of ``rest``.
_VIA_HEADS: dict[str, tuple[str, str, int | None]] = {}
_NAME_ADDR_HEADS: dict[str, tuple[str, str | None]] = {}
_PARAM_TAILS: dict[str, dict[str, str | None]] = {}
# Second sight (grammar.first_sight): a value built around a new branch/tag, or a
# plain CSeq, goes into its value memo only when its text comes back (a hop, a
# retransmission, the answer). A first sight only puts the text in _SEEN_ONCE (a
# str is no work for the collector and caches its hash). Which values are
# memoized never changes a result (the memos hold what parsing gives).
_SEEN_ONCE: set[str] = set()
_NO_PARAMS: dict[str, str | None] = {}  # (read only)


def _learn(heads: dict[str, Any], head: str, value: Any, tail: str) -> None:
    """Remember ``head`` and the parameters after the first one in ``tail`` (already parsed OK)."""
    if ";" in head or len(heads) >= MEMO_LIMIT or len(_PARAM_TAILS) >= MEMO_LIMIT:
        return
    heads[head] = value
    rest = tail.partition(";")[2]
    if rest and rest not in _PARAM_TAILS and " " not in tail and "\t" not in tail and '"' not in tail:
        try:  # split as the whole list was (no quotes): parses, since the whole did
            _PARAM_TAILS[rest] = parse_params(";" + rest)
        except ParseError:  # pragma: no cover - defensive
            pass


def parse_via(text: str) -> Via:
    """:meth:`Via.parse` (memoized).

    >>> parse_via("SIP/2.0/UDP a.example:5070;branch=z9hG4bK1").port
    5070
    """
    v = _VIA_MEMO.get(text)
    if v is not None:
        return v
    head, sep, tail = text.partition(";branch=")
    fast = _VIA_HEADS.get(head) if sep else None
    if fast is not None:  # the head memo: {branch: b, **remembered rest}
        branch, semi, rest = tail.partition(";")
        known = _PARAM_TAILS.get(rest) if semi else _NO_PARAMS
        # (a remembered rest holds no quote, space or tab: see _learn)
        # (three scans at C speed: cheaper than isalnum(), which looks each char up in the Unicode tables)
        if known is not None and branch and " " not in branch and "\t" not in branch and '"' not in branch:
            v = _new_via(fast[0], fast[1], fast[2], {"branch": branch, **known})
            if first_sight(_SEEN_ONCE, text):  # not memoized yet (see _SEEN_ONCE)
                return v
    if v is None:
        m = _VIA_FAST_RE.fullmatch(text)
        port = int(m.group(3)) if m is not None and m.group(3) is not None else None
        if m is None or (port is not None and port > 65535):
            v = Via._parse(text)  # the general parser (which says what is wrong)
        else:
            transport, host, _, ptext = m.groups()
            params: dict[str, str | None] = {}
            if ptext:
                for part in ptext[1:].split(";"):
                    n, eq, pv = part.partition("=")
                    params[n] = pv if eq else None
            v = _new_via(transport.upper(), host, port, params)
        if sep:
            _learn(_VIA_HEADS, head, (v.transport, v.host, v.port), tail)
    if len(_VIA_MEMO) >= MEMO_LIMIT:
        _VIA_MEMO.clear()
    _VIA_MEMO[text] = v
    return v


def parse_name_addr(text: str) -> NameAddr:
    """:meth:`NameAddr.parse` (memoized).

    >>> parse_name_addr("<sip:a@b.example>;tag=x").tag
    'x'
    """
    v = _NAME_ADDR_MEMO.get(text)
    if v is not None:
        return v
    head, sep, tail = text.partition(";tag=")
    fast = _NAME_ADDR_HEADS.get(head) if sep else None
    if fast is not None:  # the head memo: {tag: t, **remembered rest}
        tag, semi, rest = tail.partition(";")
        known = _PARAM_TAILS.get(rest) if semi else _NO_PARAMS
        # (a remembered rest holds no quote, space or tab: see _learn)
        if known is not None and tag and " " not in tag and "\t" not in tag and '"' not in tag:
            v = _new_name_addr(fast[0], fast[1], {"tag": tag, **known}, None)
            if first_sight(_SEEN_ONCE, text):  # not memoized yet (see _SEEN_ONCE)
                return v
    if v is None:
        m = _NAME_ADDR_FAST_RE.fullmatch(text)
        if m is None:
            v = NameAddr._parse(text)
        else:
            display, uri, ptext = m.groups()
            params: dict[str, str | None] = {}
            if ptext:
                for part in ptext[1:].split(";"):
                    n, eq, pv = part.partition("=")
                    params[n] = pv if eq else None
            v = _new_name_addr(uri, display or None, params, None)
        if sep:
            _learn(_NAME_ADDR_HEADS, head, (v.uri, v.display_name), tail)
    if len(_NAME_ADDR_MEMO) >= MEMO_LIMIT:
        _NAME_ADDR_MEMO.clear()
    _NAME_ADDR_MEMO[text] = v
    return v


# Methods already known to be tokens (RFC 3261 25.1: Method = token), for CSeq.
_METHOD_TOKENS = {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "UPDATE",
                  "INFO", "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH"}


def parse_cseq(text: str) -> CSeq:
    """:meth:`CSeq.parse` (memoized).

    >>> parse_cseq("7 BYE").number
    7
    """
    v = _CSEQ_MEMO.get(text)
    if v is not None:
        return v
    number, sp, method = text.partition(" ")
    if sp and method in _METHOD_TOKENS and number.isdigit() and number.isascii() and len(number) < 10:
        v = _new_cseq(int(number), method)  # what _CSEQ_FAST_RE would match
        if first_sight(_SEEN_ONCE, text):  # not memoized yet (see _SEEN_ONCE)
            return v
    else:
        m = _CSEQ_FAST_RE.fullmatch(text)
        v = CSeq._parse(text) if m is None else _new_cseq(int(m.group(1)), m.group(2))
    if len(_CSEQ_MEMO) >= MEMO_LIMIT:
        _CSEQ_MEMO.clear()
    _CSEQ_MEMO[text] = v
    return v


def _quoted_end(text: str) -> int:
    i = 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
        elif ch == '"':
            return i + 1
        else:
            i += 1
    raise ParseError(f"unterminated quoted string: {text[:60]!r}")


def parse_option_tags(row: str) -> list[str]:
    """Require / Supported / Unsupported / Proxy-Require values (RFC 3261 20.32).

    >>> parse_option_tags("100rel, timer")
    ['100rel', 'timer']
    """
    row = row.strip(LWS)
    if _OPTION_TAGS_RE.fullmatch(row) is not None:
        return [t.strip(LWS) for t in row.split(",")] if "," in row else [row]
    tags = split_commas(row)
    for t in tags:
        if not is_token(t):
            raise ParseError(f"bad option tag {t[:40]!r}")
    return tags


def parse_max_forwards(value: str) -> int:
    """Max-Forwards, 0 ... 255 (RFC 3261 20.22; RFC 4475 3.1.2.4 rejects 300).

    >>> parse_max_forwards("0068")
    68
    """
    return parse_uint(value, "Max-Forwards", 255)


def parse_expires(value: str) -> int:
    """Expires delta-seconds, below 2**32 (RFC 3261 20.19).

    >>> parse_expires("3600")
    3600
    """
    return parse_uint(value, "Expires")
