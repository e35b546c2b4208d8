"""Typed views of SIP header values (RFC 3261 section 20, grammar in section 25).

FOUNDATION SKELETON: names and fields are fixed; the message-layer work
(issue 3) completes the grammar (quoted strings, escapes, IPv6, ...).

>>> v = Via.parse("SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;rport")
>>> v.transport, v.host, v.port, v.branch, v.params["rport"]
('UDP', 'pc33.atlanta.com', 5066, 'z9hG4bK776asdhds', None)
>>> CSeq.parse("314159 INVITE")
CSeq(number=314159, method='INVITE')
>>> NameAddr.parse('"Bob" <sip:bob@biloxi.com>;tag=a6c85cf').tag
'a6c85cf'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simvoip.sip.errors import ParseError

__all__ = ["Via", "CSeq", "NameAddr", "split_params", "format_params", "MAGIC_COOKIE"]

#: RFC 3261 section 8.1.1.7: branch IDs of RFC 3261 elements start with this.
MAGIC_COOKIE = "z9hG4bK"


def split_params(text: str) -> dict[str, str | None]:
    """``;a=1;b`` -> ``{'a': '1', 'b': None}`` (names lower-cased)."""
    params: dict[str, str | None] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        name, eq, value = part.partition("=")
        params[name.strip().lower()] = value.strip() if eq else None
    return params


def format_params(params: dict[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


@dataclass(frozen=True, slots=True)
class Via:
    """One Via value: ``SIP/2.0/<transport> host[:port] *(;param)``."""

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

    @classmethod
    def parse(cls, text: str) -> Via:
        proto, _, rest = text.strip().partition(" ")
        bits = [b.strip() for b in proto.split("/")]
        if len(bits) != 3 or bits[0].upper() != "SIP":
            raise ParseError(f"bad Via protocol: {text!r}")
        hostport, _, params = rest.strip().partition(";")
        host, colon, port = hostport.strip().rpartition(":")
        if not colon or "]" in port:
            host, port = hostport.strip(), ""
        if port and not port.isdigit():
            raise ParseError(f"bad Via port: {text!r}")
        return cls(bits[2].upper(), host, int(port) if port else None, split_params(params))

    def __str__(self) -> str:
        hp = self.host if self.port is None else f"{self.host}:{self.port}"
        return f"SIP/2.0/{self.transport} {hp}{format_params(self.params)}"


@dataclass(frozen=True, slots=True)
class CSeq:
    """``CSeq: <number> <method>`` (RFC 3261 section 20.16)."""

    number: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        num, _, method = text.strip().partition(" ")
        if not num.isdigit() or not method.strip():
            raise ParseError(f"bad CSeq: {text!r}")
        return cls(int(num), method.strip())

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


@dataclass(frozen=True, slots=True)
class NameAddr:
    """name-addr / addr-spec with header parameters (From, To, Contact, Route ...)."""

    uri: str
    display_name: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def with_tag(self, tag: str) -> NameAddr:
        return NameAddr(self.uri, self.display_name, {**self.params, "tag": tag})

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        text = text.strip()
        if "<" in text:
            display, _, rest = text.partition("<")
            uri, close, params = rest.partition(">")
            if not close:
                raise ParseError(f"unclosed '<' in {text!r}")
            display = display.strip().strip('"') or None
            return cls(uri.strip(), display, split_params(params))
        uri, _, params = text.partition(";")
        return cls(uri.strip(), None, split_params(params))

    def __str__(self) -> str:
        dn = f'"{self.display_name}" ' if self.display_name else ""
        return f"{dn}<{self.uri}>{format_params(self.params)}"
