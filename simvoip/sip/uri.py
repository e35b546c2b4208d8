"""SIP, SIPS and tel URIs (RFC 3261 section 19.1, RFC 3966).

Components are stored *unescaped* (``%HH`` decoded exactly once); ``str()``
escapes again whatever the component's grammar does not allow literally, so
``SipUri.parse(str(u)) == u``.

>>> u = SipUri.parse("sip:alice:secret@[2001:db8::10]:5070;transport=tcp;lr?subject=hi")
>>> u.scheme, u.user, u.password, u.host, u.port, u.params, u.headers
('sip', 'alice', 'secret', '[2001:db8::10]', 5070, {'transport': 'tcp', 'lr': None}, {'subject': 'hi'})
>>> str(SipUri.parse("sip:user;par=u%40example.net@example.com"))
'sip:user;par=u%40example.net@example.com'
>>> SipUri.parse("sip:user;par=u%40example.net@example.com").user
'user;par=u@example.net'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import quote as _pct_quote
from urllib.parse import unquote as _pct_unquote

from simvoip.sip.errors import ParseError
from simvoip.sip.grammar import MEMO_LIMIT, fast_new

__all__ = ["SipUri", "uri_scheme", "SUPPORTED_SCHEMES", "parse_uri"]

#: Schemes this package understands as typed URIs.
SUPPORTED_SCHEMES = ("sip", "sips", "tel")

_URI_MEMO: dict[str, SipUri] = {}
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+\-.]*):")
# RFC 3261 25.1: hostname / IPv4address / IPv6reference. The IPv6 check is
# deliberately loose: RFC 5118 4.10 asks to tolerate the 3-colon ABNF bug form.
# Fast path: sip:[user@]host[:port][;params], nothing escaped, no password/headers.
_SIP_FAST_RE = re.compile(
    r"([A-Za-z0-9\-_.!~*'()&=+$,]+@)?"
    r"([A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9.])?|\[[0-9A-Fa-f:.]+\])"
    r"(?::([0-9]{1,5}))?"
    r"((?:;[A-Za-z0-9\-_.!~*'()\[\]/:&+$]+(?:=[A-Za-z0-9\-_.!~*'()\[\]/:&+$]+)?)*)"
)
_HOST_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9.])?|\[[0-9A-Fa-f:.]+\]")

# Characters each component may carry unescaped (besides alphanumerics and "-_.~").
# RFC 3261 25.1: unreserved = alphanum / mark; mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")"
_MARK = "!*'()"
_SAFE_USER = _MARK + "&=+$,;?/"          # user-unreserved
_SAFE_PASSWORD = _MARK + "&=+$,"
_SAFE_PARAM = _MARK + "[]/:&+$"          # param-unreserved
_SAFE_HEADER = _MARK + "[]/?:+$"         # hnv-unreserved


def _unescape(text: str) -> str:
    # RFC 3261 19.1.2 / RFC 4475 3.1.1.3: decode %HH once, never twice.
    if "%" not in text:
        return text
    return _pct_unquote(text, encoding="utf-8", errors="surrogateescape")


def _escape(text: str, safe: str) -> str:
    return _pct_quote(text, safe=safe, encoding="utf-8", errors="surrogateescape")


def uri_scheme(text: str) -> str:
    """The lower-cased scheme of an absolute URI, or :class:`ParseError`.

    >>> uri_scheme("SIPS:bob@b.example"), uri_scheme("soap.beep://192.0.2.103:3002")
    ('sips', 'soap.beep')
    """
    m = _SCHEME_RE.match(text)
    if m is None:
        raise ParseError(f"not an absolute URI: {text[:60]!r}")
    return m.group(1).lower()


@dataclass(frozen=True, slots=True)
class SipUri:
    """A parsed ``sip:``, ``sips:`` or ``tel:`` URI (components unescaped).

    For ``tel:`` the telephone-subscriber is in ``user`` and ``host`` is empty.
    ``host`` keeps the brackets of an IPv6 reference (``[2001:db8::1]``).

    >>> SipUri("sip", "bob", None, "b.example", 5060)
    SipUri(scheme='sip', user='bob', password=None, host='b.example', port=5060, params={}, headers={})
    >>> str(SipUri.parse("tel:+1-201-555-0123;phone-context=example.com"))
    'tel:+1-201-555-0123;phone-context=example.com'
    """

    scheme: str
    user: str | None
    password: str | None
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def transport(self) -> str | None:
        """The ``transport`` URI parameter, lower-cased."""
        t = self.params.get("transport")
        return t.lower() if t else None

    @property
    def lr(self) -> bool:
        """True for a loose-routing URI (``;lr``, RFC 3261 19.1.1)."""
        return "lr" in self.params

    @property
    def maddr(self) -> str | None:
        return self.params.get("maddr")

    @property
    def host_port(self) -> tuple[str, int | None]:
        return (self.host, self.port)

    @property
    def aor(self) -> str:
        """Address-of-record form ``scheme:user@host`` (no port, params, headers)."""
        if self.scheme == "tel":
            return f"tel:{self.user}"
        user = f"{_escape(self.user, _SAFE_USER)}@" if self.user is not None else ""
        return f"{self.scheme}:{user}{self.host.lower()}"

    def with_params(self, **params: str | None) -> SipUri:
        """A copy with URI parameters added or replaced."""
        return replace(self, params={**self.params, **params})

    @classmethod
    def parse(cls, text: str) -> SipUri:
        """Parse one value (memoized: equal text gives the same, shared object)."""
        return parse_uri(text)

    @classmethod
    def _parse(cls, text: str) -> SipUri:
        """Parse a URI; unknown schemes raise :class:`ParseError` with status 416."""
        if text.startswith("sip:"):
            return cls._parse_sip("sip", text[4:], text)
        colon = text.find(":")
        scheme = text[:colon].lower() if colon > 0 else ""
        if scheme == "sip" or scheme == "sips":
            return cls._parse_sip(scheme, text[colon + 1:], text)
        if scheme == "tel":
            return cls._parse_tel(text[colon + 1:], text)
        if colon > 0 and _SCHEME_RE.match(text):
            raise ParseError(f"unsupported URI scheme {scheme!r}", status_code=416)
        raise ParseError(f"not a URI: {text[:60]!r}")

    @classmethod
    def _parse_sip(cls, scheme: str, rest: str, text: str) -> SipUri:
        m = _SIP_FAST_RE.fullmatch(rest)
        if m is not None:
            user, host, port_text, ptext = m.groups()
            fparams: dict[str, str | None] = {}
            if ptext:
                for part in ptext[1:].split(";"):
                    n, eq, v = part.partition("=")
                    fparams[n.lower()] = v if eq else None
            port = int(port_text) if port_text else None
            if port is not None and port > 65535:
                raise ParseError(f"bad port {port_text!r} in {text[:60]!r}")
            return _new_uri(  # type: ignore[no-any-return]
                scheme, user[:-1] if user else None, None, host, port, fparams, {})
        for ch in " \t\r\n<>\"":
            if ch in rest:
                raise ParseError(f"illegal character {ch!r} in URI {text[:60]!r}")
        user = password = None
        at = rest.rfind("@")
        if at >= 0:
            userinfo, rest = rest[:at], rest[at + 1:]
            u, colon, p = userinfo.partition(":")
            user = _unescape(u)
            if colon:
                password = _unescape(p)
            if not u:
                raise ParseError(f"empty user part in {text[:60]!r}")
        headers: dict[str, str] = {}
        if "?" in rest:
            rest, _, htext = rest.partition("?")
            for h in htext.split("&"):
                hn, eq, hv = h.partition("=")
                if not hn or not eq:
                    raise ParseError(f"bad URI header {h[:40]!r} in {text[:60]!r}")
                headers[_unescape(hn)] = _unescape(hv)
        hostport, _, ptext = rest.partition(";")
        if hostport.startswith("["):
            close = hostport.find("]")
            if close < 0:
                raise ParseError(f"unclosed IPv6 reference in {text[:60]!r}")
            host, after = hostport[: close + 1], hostport[close + 1:]
            if after and after[0] != ":":
                raise ParseError(f"junk after IPv6 reference in {text[:60]!r}")
            port_text = after[1:] if after else None
        else:
            host, colon, port_text_ = hostport.partition(":")
            port_text = port_text_ if colon else None
        if _HOST_RE.fullmatch(host) is None:
            raise ParseError(f"bad host {host[:40]!r} in {text[:60]!r}")
        port = None
        if port_text is not None:
            if not port_text.isascii() or not port_text.isdigit() or int(port_text) > 65535:
                raise ParseError(f"bad port {port_text[:20]!r} in {text[:60]!r}")
            port = int(port_text)
        params = _parse_uri_params(ptext, text) if ptext or ";" in rest else {}
        return cls(scheme, user, password, host, port, params, headers)

    @classmethod
    def _parse_tel(cls, rest: str, text: str) -> SipUri:
        number, _, ptext = rest.partition(";")
        if not number or any(c in number for c in " \t<>\"?@"):
            raise ParseError(f"bad tel URI {text[:60]!r}")
        params = _parse_uri_params(ptext, text) if ptext else {}
        return cls("tel", _unescape(number), None, "", None, params, {})

    def __str__(self) -> str:
        if self.scheme == "tel":
            return f"tel:{_escape(self.user or '', _SAFE_USER.replace(';', '').replace('?', ''))}{_format_uri_params(self.params)}"
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(_escape(self.user, _SAFE_USER))
            if self.password is not None:
                out.append(":" + _escape(self.password, _SAFE_PASSWORD))
            out.append("@")
        out.append(self.host)
        if self.port is not None:
            out.append(f":{self.port}")
        out.append(_format_uri_params(self.params))
        if self.headers:
            out.append("?" + "&".join(
                f"{_escape(k, _SAFE_HEADER)}={_escape(v, _SAFE_HEADER)}" for k, v in self.headers.items()
            ))
        return "".join(out)


_new_uri = fast_new(SipUri)


def parse_uri(text: str) -> SipUri:
    """:meth:`SipUri.parse`: memoized by text, the memo bounded as by ``grammar.remember``.

    >>> parse_uri("sip:bob@b.example:5070").port
    5070
    """
    hit = _URI_MEMO.get(text)
    if hit is None:
        hit = SipUri._parse(text)
        if len(_URI_MEMO) >= MEMO_LIMIT:
            _URI_MEMO.clear()
        _URI_MEMO[text] = hit
    return hit


def _parse_uri_params(ptext: str, text: str) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    for part in ptext.split(";"):
        name, eq, value = part.partition("=")
        if not name:
            raise ParseError(f"empty URI parameter in {text[:60]!r}")
        params[_unescape(name).lower()] = _unescape(value) if eq else None
    return params


def _format_uri_params(params: dict[str, str | None]) -> str:
    return "".join(
        f";{_escape(k, _SAFE_PARAM)}" if v is None
        else f";{_escape(k, _SAFE_PARAM)}={_escape(v, _SAFE_PARAM)}"
        for k, v in params.items()
    )
