"""Digest authentication for SIP (RFC 3261 section 22, RFC 7616).

Three pieces, all sans-I/O:

* :func:`compute_response` - the hash arithmetic of RFC 7616 section 3.4.1
  (``A1``, ``A2``, ``KD``) for MD5 and SHA-256, with and without ``qop=auth``.
* :class:`Challenge` / :class:`Credentials` - the ``WWW-Authenticate`` /
  ``Proxy-Authenticate`` and ``Authorization`` / ``Proxy-Authorization``
  header values, parsed and formatted.
* :class:`DigestServer` (issues nonces from an injected :class:`random.Random`,
  verifies credentials, detects stale nonces) and :class:`DigestClient`
  (answers challenges, counts ``nc`` per nonce, draws ``cnonce`` from an
  injected random stream).

The RFC 7616 section 3.9.1 worked example (MD5):

>>> compute_response(algorithm="MD5", username="Mufasa", realm="http-auth@example.org",
...     password="Circle of Life", method="GET", uri="/dir/index.html",
...     nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc="00000001",
...     cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop="auth")
'8ca523f5e9506fed4657c9700eebdbec'
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from enum import Enum

from simvoip.sip.auth_header import parse_auth_params as _auth_params
from simvoip.sip.errors import LocalProtocolError, ParseError
from simvoip.sip.message import Request

__all__ = [
    "ALGORITHMS", "AuthCheck", "Challenge", "Credentials", "DigestClient", "DigestServer", "Verdict",
    "compute_response", "digest_hash", "parse_auth_params",
]

#: RFC 7616 section 6.1 algorithms supported here (plus the ``-sess`` variants).
ALGORITHMS = {"MD5": "md5", "SHA-256": "sha256"}


def digest_hash(algorithm: str, data: str) -> str:
    """``H(data)`` of RFC 7616 section 3.4: lower-case hex of the algorithm's digest.

    >>> digest_hash("MD5", "")
    'd41d8cd98f00b204e9800998ecf8427e'
    """
    base = algorithm.upper().removesuffix("-SESS")
    name = ALGORITHMS.get(base)
    if name is None:
        raise LocalProtocolError(f"unsupported digest algorithm {algorithm!r}")
    return hashlib.new(name, data.encode("utf-8")).hexdigest()


def compute_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str | None = None,
    cnonce: str | None = None,
    qop: str | None = None,
) -> str:
    """The ``response`` value of RFC 7616 section 3.4.1 (RFC 3261 section 22.4).

    ``qop=None`` gives the RFC 2069 compatible form ``H(A1:nonce:H(A2))``.

    >>> compute_response(algorithm="SHA-256", username="Mufasa",
    ...     realm="http-auth@example.org", password="Circle of Life", method="GET",
    ...     uri="/dir/index.html", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    ...     nc="00000001", cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    ...     qop="auth")[:16]
    '753927fa0e85d155'
    """
    # RFC 7616 3.4.2: A1 = username:realm:passwd; for -sess: H(that):nonce:cnonce.
    ha1 = digest_hash(algorithm, f"{username}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = digest_hash(algorithm, f"{ha1}:{nonce}:{cnonce}")
    # RFC 7616 3.4.3: A2 = Method:request-uri (qop=auth; auth-int is not supported).
    ha2 = digest_hash(algorithm, f"{method}:{uri}")
    if qop is None:
        return digest_hash(algorithm, f"{ha1}:{nonce}:{ha2}")
    if qop != "auth":
        raise LocalProtocolError(f"unsupported qop {qop!r}")
    # RFC 7616 3.4.1: response = KD(H(A1), nonce:nc:cnonce:qop:H(A2)).
    return digest_hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def parse_auth_params(text: str) -> tuple[str, dict[str, str]]:
    """Split ``Digest a="x", b=y`` into ``('Digest', {'a': 'x', 'b': 'y'})``.

    Parameter names are lower-cased; quoted values are unquoted.

    >>> parse_auth_params('Digest realm="atlanta.com", qop="auth,auth-int", stale=TRUE')
    ('Digest', {'realm': 'atlanta.com', 'qop': 'auth,auth-int', 'stale': 'TRUE'})
    """
    # The header syntax (RFC 3261 25.1 challenge / credentials) is the message layer's.
    scheme, _, rest = text.strip().partition(" ")
    return scheme, _auth_params(rest)


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class Challenge:
    """A ``WWW-Authenticate`` / ``Proxy-Authenticate`` Digest challenge.

    >>> c = Challenge(realm="atlanta.example.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359")
    >>> Challenge.parse(str(c)) == c
    True
    >>> str(Challenge(realm="r", nonce="n", stale=True))
    'Digest realm="r", nonce="n", algorithm=MD5, qop="auth", stale=true'
    """

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ("auth",)
    opaque: str | None = None
    stale: bool = False

    @classmethod
    def parse(cls, text: str) -> Challenge:
        scheme, p = parse_auth_params(text)
        if scheme.lower() != "digest":
            raise ParseError(f"not a Digest challenge: {text!r}")
        if "realm" not in p or "nonce" not in p:
            raise ParseError("Digest challenge without realm or nonce")
        qop = tuple(q.strip() for q in p["qop"].split(",") if q.strip()) if "qop" in p else ()
        return cls(
            realm=p["realm"], nonce=p["nonce"], algorithm=p.get("algorithm", "MD5"),
            qop=qop, opaque=p.get("opaque"), stale=p.get("stale", "").lower() == "true",
        )

    def __str__(self) -> str:
        parts = [f"realm={_q(self.realm)}", f"nonce={_q(self.nonce)}", f"algorithm={self.algorithm}"]
        if self.qop:
            parts.append(f"qop={_q(','.join(self.qop))}")
        if self.opaque is not None:
            parts.append(f"opaque={_q(self.opaque)}")
        if self.stale:
            parts.append("stale=true")
        return "Digest " + ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Credentials:
    """An ``Authorization`` / ``Proxy-Authorization`` Digest value.

    >>> c = Credentials(username="bob", realm="biloxi.com", nonce="n", uri="sip:bob@biloxi.com",
    ...                 response="0" * 32, nc="00000001", cnonce="c", qop="auth")
    >>> Credentials.parse(str(c)) == c
    True
    """

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    cnonce: str | None = None
    nc: str | None = None
    qop: str | None = None
    opaque: str | None = None

    @classmethod
    def parse(cls, text: str) -> Credentials:
        scheme, p = parse_auth_params(text)
        if scheme.lower() != "digest":
            raise ParseError(f"not Digest credentials: {text!r}")
        missing = [k for k in ("username", "realm", "nonce", "uri", "response") if k not in p]
        if missing:
            raise ParseError(f"Digest credentials without {', '.join(missing)}")
        return cls(
            username=p["username"], realm=p["realm"], nonce=p["nonce"], uri=p["uri"],
            response=p["response"], algorithm=p.get("algorithm", "MD5"), cnonce=p.get("cnonce"),
            nc=p.get("nc"), qop=p.get("qop"), opaque=p.get("opaque"),
        )

    def __str__(self) -> str:
        parts = [
            f"username={_q(self.username)}", f"realm={_q(self.realm)}",
            f"nonce={_q(self.nonce)}", f"uri={_q(self.uri)}", f"response={_q(self.response)}",
            f"algorithm={self.algorithm}",
        ]
        if self.cnonce is not None:
            parts.append(f"cnonce={_q(self.cnonce)}")
        if self.opaque is not None:
            parts.append(f"opaque={_q(self.opaque)}")
        if self.qop is not None:
            parts.append(f"qop={self.qop}")
        if self.nc is not None:
            parts.append(f"nc={self.nc}")
        return "Digest " + ", ".join(parts)


@dataclass(frozen=True, slots=True)
class AuthCheck:
    """Result of :meth:`DigestServer.check_request`: ``username`` when authenticated,
    else ``status`` (401, 407 or 403) and the challenge header row to send."""

    username: str | None
    status: int | None
    header: tuple[str, str] | None


class Verdict(Enum):
    """Outcome of :meth:`DigestServer.verify`."""

    OK = "ok"
    #: Right password, but the nonce is expired or unknown: challenge again with stale=true.
    STALE = "stale"
    #: Wrong password, wrong user, replayed nc or mismatched realm.
    REJECTED = "rejected"


@dataclass(slots=True)
class _NonceState:
    issued_at: float
    last_nc: int = 0


class DigestServer:
    """Challenges and verifies Digest credentials for one realm (RFC 3261 22.1/22.3).

    Nonces are random hex strings drawn from ``rng``; a nonce older than
    ``nonce_lifetime`` seconds (or one this server never issued) is *stale*:
    a request carrying it with the right password gets a new challenge with
    ``stale=true`` (RFC 7616 3.3) so the client retries without asking the user.

    >>> rng = random.Random(1)
    >>> server = DigestServer("biloxi.com", {"bob": "zanzibar"}, rng)
    >>> ch = server.challenge(now=0.0)
    >>> client = DigestClient({"biloxi.com": ("bob", "zanzibar")}, random.Random(2))
    >>> cred = client.authorize(ch, "REGISTER", "sip:biloxi.com")
    >>> server.verify(cred, "REGISTER", now=1.0)
    <Verdict.OK: 'ok'>
    >>> server.verify(cred, "REGISTER", now=1.0)   # same nc again: a replay
    <Verdict.REJECTED: 'rejected'>
    """

    def __init__(
        self,
        realm: str,
        users: dict[str, str],
        rng: random.Random,
        *,
        algorithm: str = "MD5",
        nonce_lifetime: float = 300.0,
    ) -> None:
        digest_hash(algorithm, "")  # validate the name early (LocalProtocolError)
        self.realm = realm
        self.users = dict(users)
        self.rng = rng
        self.algorithm = algorithm
        self.nonce_lifetime = nonce_lifetime
        self._nonces: dict[str, _NonceState] = {}

    def challenge(self, now: float, *, stale: bool = False) -> Challenge:
        """Issue a fresh nonce and the challenge carrying it."""
        self._expire(now)
        nonce = f"{self.rng.getrandbits(128):032x}"
        self._nonces[nonce] = _NonceState(issued_at=now)
        return Challenge(realm=self.realm, nonce=nonce, algorithm=self.algorithm, stale=stale)

    def verify(self, credentials: Credentials, method: str, now: float) -> Verdict:
        """Check ``credentials`` presented with a request of ``method``."""
        self._expire(now)
        password = self.users.get(credentials.username)
        if password is None or credentials.realm != self.realm:
            return Verdict.REJECTED
        try:
            expected = compute_response(
                algorithm=credentials.algorithm, username=credentials.username,
                realm=self.realm, password=password, method=method, uri=credentials.uri,
                nonce=credentials.nonce, nc=credentials.nc, cnonce=credentials.cnonce,
                qop=credentials.qop,
            )
        except LocalProtocolError:
            return Verdict.REJECTED
        if expected != credentials.response:
            return Verdict.REJECTED
        state = self._nonces.get(credentials.nonce)
        if state is None:
            return Verdict.STALE
        if credentials.qop is not None:
            # RFC 7616 3.4: the server checks nc to detect replays.
            try:
                nc = int(credentials.nc or "", 16)
            except ValueError:
                return Verdict.REJECTED
            if nc <= state.last_nc:
                return Verdict.REJECTED
            state.last_nc = nc
        return Verdict.OK

    def check_request(self, request: Request, now: float, *, proxy: bool = False) -> AuthCheck:
        """Authenticate ``request`` (RFC 3261 22.2 for UAS/registrar, 22.3 with ``proxy``).

        Looks for ``Authorization`` (or ``Proxy-Authorization``) rows for this
        realm. Returns the authenticated user, or the status to answer with and,
        for 401/407, the header to add (``WWW-Authenticate`` / ``Proxy-Authenticate``).
        Wrong credentials get 403 (RFC 3261 22.2: retrying with the same
        credentials would be pointless).
        """
        header = "Proxy-Authorization" if proxy else "Authorization"
        challenge_header = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        status = 407 if proxy else 401
        mine = None
        for row in request.headers.get_all(header):
            try:
                cred = Credentials.parse(row)
            except ParseError:
                continue
            if cred.realm == self.realm:
                mine = cred
                break
        if mine is None:
            return AuthCheck(None, status, (challenge_header, str(self.challenge(now))))
        verdict = self.verify(mine, request.method, now)
        if verdict is Verdict.OK:
            return AuthCheck(mine.username, None, None)
        if verdict is Verdict.STALE:
            # RFC 7616 3.3 / RFC 3261 22.1: stale=true -> retry without new credentials.
            return AuthCheck(None, status, (challenge_header, str(self.challenge(now, stale=True))))
        return AuthCheck(None, 403, None)

    @property
    def outstanding_nonces(self) -> int:
        """How many issued nonces are still valid (for leak checks in tests)."""
        return len(self._nonces)

    def _expire(self, now: float) -> None:
        dead = [n for n, s in self._nonces.items() if now - s.issued_at > self.nonce_lifetime]
        for n in dead:
            del self._nonces[n]


@dataclass(slots=True)
class DigestClient:
    """Answers Digest challenges with the user's credentials (RFC 3261 22.2/22.3).

    ``secrets`` maps realm -> (username, password); ``"*"`` is a wildcard realm.

    >>> client = DigestClient({"*": ("alice", "secret")}, random.Random(0))
    >>> cred = client.authorize(Challenge(realm="atlanta.com", nonce="abc"), "INVITE",
    ...                         "sip:bob@biloxi.com")
    >>> cred.username, cred.nc, cred.qop
    ('alice', '00000001', 'auth')
    """

    secrets: dict[str, tuple[str, str]]
    rng: random.Random
    _nc: dict[str, int] = field(default_factory=dict)

    def can_answer(self, challenge: Challenge) -> bool:
        return (challenge.realm in self.secrets or "*" in self.secrets) and (
            challenge.algorithm.upper().removesuffix("-SESS") in ALGORITHMS
        )

    def authorize(self, challenge: Challenge, method: str, uri: str) -> Credentials:
        """Credentials answering ``challenge`` for a request ``method uri``."""
        secret = self.secrets.get(challenge.realm) or self.secrets.get("*")
        if secret is None:
            raise LocalProtocolError(f"no credentials for realm {challenge.realm!r}")
        username, password = secret
        qop = "auth" if "auth" in challenge.qop else None
        nc = cnonce = None
        if qop is not None:
            count = self._nc.get(challenge.nonce, 0) + 1
            self._nc[challenge.nonce] = count
            nc = f"{count:08x}"
            cnonce = f"{self.rng.getrandbits(64):016x}"
        response = compute_response(
            algorithm=challenge.algorithm, username=username, realm=challenge.realm,
            password=password, method=method, uri=uri, nonce=challenge.nonce, nc=nc,
            cnonce=cnonce, qop=qop,
        )
        return Credentials(
            username=username, realm=challenge.realm, nonce=challenge.nonce, uri=uri,
            response=response, algorithm=challenge.algorithm, cnonce=cnonce, nc=nc, qop=qop,
            opaque=challenge.opaque,
        )
