"""Registrar core: REGISTER processing per RFC 3261 section 10.3.

The registrar is a UAS for REGISTER only; it answers each request with one
final response (the caller wraps it in a server transaction) and writes the
bindings to a :class:`~simvoip.sip.location.LocationService` that the proxy
of the same domain reads.

>>> import random
>>> from simvoip.sip.message import Headers, Request
>>> from simvoip.sip.location import LocationService
>>> reg = Registrar("biloxi.example.com", LocationService(), random.Random(0))
>>> req = Request("REGISTER", "sip:biloxi.example.com", Headers([
...     ("Via", "SIP/2.0/UDP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7"),
...     ("Max-Forwards", "70"), ("To", "Bob <sip:bob@biloxi.example.com>"),
...     ("From", "Bob <sip:bob@biloxi.example.com>;tag=456248"),
...     ("Call-ID", "843817637684230@998sdasdh09"), ("CSeq", "1826 REGISTER"),
...     ("Contact", "<sip:bob@192.0.2.4>"), ("Expires", "7200")]))
>>> resp = reg.handle_register(req, now=0.0)
>>> resp.status_code, resp.headers.get("Contact")
(200, '<sip:bob@192.0.2.4>;expires=3600')
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from simvoip.sip.digest import DigestServer
from simvoip.sip.errors import ParseError
from simvoip.sip.grammar import split_commas
from simvoip.sip.headers import NameAddr
from simvoip.sip.location import Binding, LocationService, aor_of
from simvoip.sip.message import Request, Response
from simvoip.sip.ua.messages import make_response, new_tag
from simvoip.sip.uri import SipUri

__all__ = ["Registrar", "RegistrarConfig"]


@dataclass(frozen=True, slots=True)
class RegistrarConfig:
    """Registrar policy (RFC 3261 10.3 step 7; seconds).

    ``max_expires`` caps long requests ("MAY choose an expiration less than the
    requested"), ``min_expires`` triggers 423 Interval Too Brief.
    """

    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600
    #: Option tags this registrar supports (Require handling, 8.2.2.3).
    supported: tuple[str, ...] = ()
    #: If set, only these AORs may register (others get 404).
    known_users: tuple[str, ...] | None = None
    #: Other host names that address this registrar in a Request-URI (its server names).
    aliases: tuple[str, ...] = ()


class Registrar:
    """Processes REGISTER requests for one domain (RFC 3261 10.3).

    Parameters
    ----------
    domain : str
        The domain this registrar is responsible for (Request-URI host).
    location : LocationService
        Where the bindings go.
    rng : random.Random
        Source of To tags.
    config : RegistrarConfig
        Expiry policy.
    authenticator : DigestServer, optional
        If given, every REGISTER is challenged with 401 (step 3) and the
        authenticated username must match the AOR's user part (step 4, 403).
    """

    def __init__(
        self,
        domain: str,
        location: LocationService,
        rng: random.Random,
        config: RegistrarConfig | None = None,
        authenticator: DigestServer | None = None,
    ) -> None:
        self.domain = domain.lower()
        self.location = location
        self.rng = rng
        self.config = config or RegistrarConfig()
        self.authenticator = authenticator

    def handle_register(self, request: Request, now: float) -> Response:
        """Run steps 1-8 of RFC 3261 10.3 and return the final response."""
        tag = new_tag(self.rng)
        try:
            return self._process(request, now, tag)
        except ParseError as exc:
            return make_response(request, exc.status_code or 400, to_tag=tag)

    def _process(self, request: Request, now: float, tag: str) -> Response:
        cfg = self.config
        # Step 1: the Request-URI names our domain (else the proxy would forward it).
        hosts = (self.domain, *(a.lower() for a in cfg.aliases))
        if SipUri.parse(request.uri).host.lower() not in hosts:
            return make_response(request, 404, to_tag=tag)
        # Step 2: Require (8.2.2.3): unknown option tags -> 420 with Unsupported.
        unsupported = [
            t for row in request.headers.get_all("Require") for t in split_commas(row)
            if t not in cfg.supported
        ]
        if unsupported:
            return make_response(request, 420, to_tag=tag,
                                 extra=[("Unsupported", ", ".join(unsupported))])
        aor_uri = SipUri.parse(request.to.uri)
        aor = aor_of(request.to.uri)
        # Steps 3-4: authenticate; the user may modify only its own AOR.
        if self.authenticator is not None:
            check = self.authenticator.check_request(request, now)
            if check.status is not None:
                extra = [check.header] if check.header else []
                return make_response(request, check.status, to_tag=tag, extra=extra)
            if check.username != aor_uri.user:
                return make_response(request, 403, to_tag=tag)
        # Step 5: the AOR must be valid for the Request-URI's domain.
        if aor_uri.host.lower() != self.domain or (
            cfg.known_users is not None and aor not in cfg.known_users
        ):
            return make_response(request, 404, to_tag=tag)
        call_id, cseq = request.call_id, request.cseq.number
        contacts = [NameAddr.parse(c) if c.strip() != "*" else None
                    for row in request.headers.get_all("Contact") for c in split_commas(row)]
        expires_header = request.headers.get("Expires")
        header_expires = int(expires_header) if expires_header and expires_header.isdigit() else None
        # Step 6: "Contact: *" removes every binding (only with Expires: 0, alone).
        if any(c is None for c in contacts):
            if len(contacts) != 1 or header_expires != 0:
                return make_response(request, 400, "Invalid Request", to_tag=tag)
            for b in self.location.bindings(aor, now):
                if b.call_id == call_id and cseq <= b.cseq:
                    return make_response(request, 500, "Out-of-order REGISTER", to_tag=tag)
            for b in self.location.bindings(aor, now):
                self.location.remove(aor, b.contact)
            return self._ok(request, aor, now, tag)
        # Step 7: expiry per contact, 423, Call-ID/CSeq ordering, all-or-nothing commit.
        updates: list[tuple[str, int, float]] = []
        for c in contacts:
            assert c is not None
            raw = c.params.get("expires")
            if raw is not None and raw.isdigit():
                requested = int(raw)
            elif header_expires is not None:
                requested = header_expires
            else:
                requested = cfg.default_expires
            if 0 < requested < 3600 and requested < cfg.min_expires:
                return make_response(request, 423, to_tag=tag,
                                     extra=[("Min-Expires", str(cfg.min_expires))])
            existing = self.location.find(aor, c.uri)
            if existing is not None and existing.call_id == call_id and cseq <= existing.cseq:
                return make_response(request, 500, "Out-of-order REGISTER", to_tag=tag)
            q_text = c.params.get("q")
            q = float(q_text) if q_text else 1.0
            updates.append((c.uri, min(requested, cfg.max_expires), q))
        for contact, expires, q in updates:
            if expires == 0:
                self.location.remove(aor, contact)
            else:
                self.location.set(aor, Binding(contact, now + expires, q, call_id, cseq, now))
        return self._ok(request, aor, now, tag)

    def _ok(self, request: Request, aor: str, now: float, tag: str) -> Response:
        # Step 8: 200 with every current binding and its expires parameter.
        extra = []
        for b in self.location.bindings(aor, now):
            q = "" if b.q == 1.0 else f";q={b.q:g}"
            extra.append(("Contact", f"<{b.contact}>{q};expires={b.expires_in(now)}"))
        return make_response(request, 200, to_tag=tag, extra=extra)
