"""WWW-Authenticate / Proxy-Authenticate / Authorization / Proxy-Authorization values.

Only the *syntax* (RFC 3261 25.1 ``challenge`` / ``credentials``, RFC 7616
Digest parameters): the digest computation lives with the auth logic.
Parameter values are stored unquoted; ``str()`` quotes the ones the RFC says
are quoted-strings.

>>> c = Challenge.parse('Digest realm="atlanta.com", nonce="84a4cc6f", qop="auth", algorithm=MD5')
>>> c.scheme, c.realm, c.params["nonce"], c.params["algorithm"]
('Digest', 'atlanta.com', '84a4cc6f', 'MD5')
>>> str(c)
'Digest realm="atlanta.com", nonce="84a4cc6f", qop="auth", algorithm=MD5'
>>> Credentials.parse(str(Credentials("Digest", {"username": "bob", "nc": "00000001"})))
Credentials(scheme='Digest', params={'username': 'bob', 'nc': '00000001'})
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Self

from simvoip.sip.errors import ParseError
from simvoip.sip.grammar import LWS, is_token, quote, split_outside_quotes, unquote

__all__ = ["Challenge", "Credentials", "parse_auth_params", "format_auth_params"]

# RFC 7616 3.3 / 3.4: parameters sent as tokens (everything else is a quoted-string).
_TOKEN_IN_CHALLENGE = frozenset({"algorithm", "stale", "charset", "userhash"})
_TOKEN_IN_CREDENTIALS = frozenset({"algorithm", "nc", "qop", "userhash"})


def parse_auth_params(text: str) -> dict[str, str]:
    """``a="x", b=y`` -> ``{'a': 'x', 'b': 'y'}`` (names lower-cased, values unquoted).

    >>> parse_auth_params('Realm="a, b", nc=00000001')
    {'realm': 'a, b', 'nc': '00000001'}
    """
    params: dict[str, str] = {}
    text = text.strip(LWS)
    if not text:
        return params
    for part in split_outside_quotes(text, ","):
        name, eq, value = part.partition("=")
        name = name.strip(LWS).lower()
        value = value.strip(LWS)
        if not eq or not is_token(name) or not value:
            raise ParseError(f"bad auth-param {part[:40]!r}")
        if value[0] == '"':
            value = unquote(value)
        elif not is_token(value):
            raise ParseError(f"bad auth-param value {value[:40]!r}")
        params[name] = value
    return params


def format_auth_params(params: dict[str, str], token_params: frozenset[str]) -> str:
    """Inverse of :func:`parse_auth_params`; names in ``token_params`` stay unquoted.

    >>> format_auth_params({"realm": "x", "algorithm": "MD5"}, frozenset({"algorithm"}))
    'realm="x", algorithm=MD5'
    """
    return ", ".join(
        f"{k}={v}" if k in token_params and is_token(v) else f"{k}={quote(v)}"
        for k, v in params.items()
    )


def _split_scheme(text: str) -> tuple[str, str]:
    text = text.strip(LWS)
    scheme, _, rest = text.partition(" ")
    if "\t" in scheme:
        scheme, _, rest2 = scheme.partition("\t")
        rest = rest2 + " " + rest
    if not is_token(scheme):
        raise ParseError(f"bad auth scheme in {text[:60]!r}")
    return scheme, rest


@dataclass(frozen=True, slots=True)
class _AuthValue:
    """``scheme`` plus auth-params: what challenges and credentials share."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    #: Parameters written as tokens rather than quoted strings (set by subclasses).
    _TOKENS: ClassVar[frozenset[str]] = frozenset()

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def is_digest(self) -> bool:
        return self.scheme.lower() == "digest"

    @classmethod
    def parse(cls, text: str) -> Self:
        scheme, rest = _split_scheme(text)
        return cls(scheme, parse_auth_params(rest))

    def __str__(self) -> str:
        return f"{self.scheme} {format_auth_params(self.params, self._TOKENS)}"


@dataclass(frozen=True, slots=True)
class Challenge(_AuthValue):
    """One ``WWW-Authenticate`` / ``Proxy-Authenticate`` value (RFC 3261 20.44).

    >>> str(Challenge("Digest", {"realm": "b.example", "nonce": "n1", "stale": "true"}))
    'Digest realm="b.example", nonce="n1", stale=true'
    """

    _TOKENS: ClassVar[frozenset[str]] = _TOKEN_IN_CHALLENGE


@dataclass(frozen=True, slots=True)
class Credentials(_AuthValue):
    """One ``Authorization`` / ``Proxy-Authorization`` value (RFC 3261 20.7).

    >>> Credentials.parse('Digest username="bob", realm="b.example"').username
    'bob'
    """

    _TOKENS: ClassVar[frozenset[str]] = _TOKEN_IN_CREDENTIALS

    @property
    def username(self) -> str | None:
        return self.params.get("username")
