"""Registration (RFC 3261 10.2) and digest answers (RFC 3261 22.2, 22.3) of the user agent.

Mixed into :class:`~simvoip.sip.ua.base.UserAgentBase`: REGISTER and its
refresh timer, 423 Min-Expires retries, and resending any request with
credentials after a 401/407.

>>> import random
>>> from simvoip.sip.ua.config import UAConfig
>>> from simvoip.sip.ua.core import UserAgent
>>> ua = UserAgent(UAConfig(aor="sip:bob@biloxi.example.com", host="client.biloxi.example.com",
...                         registrar="sip:registrar.biloxi.example.com"), random.Random(1))
>>> out = ua.register(now=0.0)
>>> out[0].message.method, out[0].message.headers.get("Expires"), out[0].destination.host
('REGISTER', '3600', 'registrar.biloxi.example.com')
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from simvoip.sip.dialog import next_hop
from simvoip.sip.digest import Challenge, DigestClient
from simvoip.sip.effects import Address, fast_cancel_timer, fast_start_timer
from simvoip.sip.errors import LocalProtocolError, ParseError
from simvoip.sip.message import Headers, Request, Response
from simvoip.sip.transaction.client import ClientTransaction
from simvoip.sip.transaction.table import State
from simvoip.sip.ua.call import UATimerKey
from simvoip.sip.ua.config import UAConfig
from simvoip.sip.ua.events import Registered, RegistrationFailed
from simvoip.sip.ua.messages import new_branch, new_call_id, new_tag, readable_contacts

__all__ = ["RegistrationMixin"]


class RegistrationMixin:
    """REGISTER with refresh (RFC 3261 10.2) and 401/407 retries with credentials (22.2).

    The user agent core provides the state below (set up in its ``__init__``) and
    the request plumbing (:meth:`_base_headers`, :meth:`_start_client` ...).
    """

    config: UAConfig
    rng: random.Random
    digest: DigestClient
    _challenges: dict[str, tuple[str, Challenge]]
    _reg_call_id: str | None
    _reg_cseq: int
    _reg_expires: int
    registered_until: float | None
    _reg_tx: ClientTransaction | None
    _register_again: bool

    if TYPE_CHECKING:
        def crashed(self, now: float) -> bool: ...
        def _initial_cseq(self) -> int: ...
        def _base_headers(self, *, branch: str, to: str, from_: str, call_id: str, cseq: str,
                          route: bool = True) -> Headers: ...
        def _via(self) -> str: ...
        def _start_client(self, request: Request, destination: Address, purpose: str,
                          owner: str, now: float, key: Any = None) -> list[Any]: ...

    def register(self, now: float, *, expires: int | None = None) -> list[Any]:
        """Send REGISTER to the configured registrar (RFC 3261 10.2); ``expires=0`` un-registers."""
        if self.config.registrar is None:
            raise LocalProtocolError("no registrar configured")
        if self.crashed(now):
            return []
        if expires is not None:
            self._reg_expires = expires
        tx = self._reg_tx
        if tx is not None and tx.state in (State.TRYING, State.PROCEEDING):
            # RFC 3261 10.2: no new REGISTER before the previous one has its final
            # response (or timed out): send it right after.
            self._register_again = True
            return []
        if self._reg_call_id is None:
            # RFC 3261 10.2: the same Call-ID for all registrations from this UA.
            self._reg_call_id = new_call_id(self.rng, self.config.host)
        self._reg_cseq += 1
        aor = self.config.aor
        name = f'{self.config.display_name} ' if self.config.display_name else ""
        headers = self._base_headers(
            branch=new_branch(self.rng), to=f"{name}<{aor}>",
            from_=f"{name}<{aor}>;tag={new_tag(self.rng)}", call_id=self._reg_call_id,
            cseq=f"{self._reg_cseq} REGISTER", route=False,
        )
        headers.add("Contact", f"<{self.config.contact}>")
        headers.add("Expires", str(self._reg_expires))
        self._apply_credentials(headers, "REGISTER", self.config.registrar)
        request = Request("REGISTER", self.config.registrar, headers)
        return self._start_client(request, next_hop(self.config.registrar), "register", "", now)

    def unregister(self, now: float) -> list[Any]:
        """REGISTER with Expires: 0 for our contact (RFC 3261 10.2.2)."""
        return self.register(now, expires=0)

    # -- digest (RFC 3261 22.2, 22.3) ---------------------------------------------------------

    def _auth_retry(self, tx: ClientTransaction, response: Response, purpose: str, owner: str,
                    now: float, out: list[Any]) -> bool:
        """Answer a 401/407 by resending the request with credentials; False if we cannot."""
        request = self._authorized_copy(tx.request, response)
        if request is None:
            return False
        out.extend(self._start_client(request, tx.destination, purpose, owner, now))
        return True

    def _authorized_copy(self, request: Request, response: Response) -> Request | None:
        code = response.status_code
        if code not in (401, 407):
            return None
        challenge_name = "WWW-Authenticate" if code == 401 else "Proxy-Authenticate"
        cred_name = "Authorization" if code == 401 else "Proxy-Authorization"
        fresh = False
        for row in response.headers.get_all(challenge_name):
            try:
                challenge = Challenge.parse(row)
            except ParseError:
                continue
            if not self.digest.can_answer(challenge):
                continue
            # RFC 3261 22.2: credentials for this realm were sent and rejected again
            # without stale=true: they are wrong; do not loop.
            realm = f'realm="{challenge.realm}"'
            if any(realm in r for r in request.headers.get_all(cred_name)) and not challenge.stale:
                return None
            self._challenges[challenge.realm] = (cred_name, challenge)
            fresh = True
        if not fresh:
            return None
        return self._next_attempt(request, request.headers.copy())

    def _apply_credentials(self, headers: Headers, method: str, uri: str) -> None:
        """Put credentials for every realm that challenged us before (RFC 3261 22.3:
        a UA may pre-emptively reuse them; the server answers stale=true when the
        nonce has expired)."""
        headers.remove("Authorization")
        headers.remove("Proxy-Authorization")
        for name, challenge in self._challenges.values():
            headers.add(name, str(self.digest.authorize(challenge, method, uri)))

    def _next_attempt(self, request: Request, headers: Headers) -> Request:
        """The same request as a new transaction: new branch, CSeq + 1 (RFC 3261 8.1.3.5)."""
        headers.set("Via", self._via())
        cseq = request.cseq
        headers.set("CSeq", f"{cseq.number + 1} {cseq.method}")
        if request.method == "REGISTER":
            self._reg_cseq = cseq.number + 1
        self._apply_credentials(headers, request.method, request.uri)
        return Request(request.method, request.uri, headers, request.body, request.version)

    # -- registration (RFC 3261 10.2) -----------------------------------------------------------

    def _register_response(self, tx: ClientTransaction, response: Response, now: float,
                           out: list[Any]) -> None:
        code = response.status_code
        if code < 200:
            return
        if code in (401, 407):
            if not self._auth_retry(tx, response, "register", "", now, out):
                out.append(RegistrationFailed(self.config.aor, code, now))
                self._registration_settled(now, out)
            return
        if code == 423:
            # RFC 3261 10.2.8: retry with at least Min-Expires.
            min_expires = response.headers.get("Min-Expires") or ""
            if min_expires.isdigit() and int(min_expires) > self._reg_expires:
                self._reg_expires = int(min_expires)
                headers = tx.request.headers.copy()
                headers.set("Expires", min_expires)
                out.extend(self._start_client(self._next_attempt(tx.request, headers),
                                              tx.destination, "register", "", now))
                return
        if code >= 300:
            out.append(RegistrationFailed(self.config.aor, code, now))
            self._registration_settled(now, out)
            return
        granted = self._granted_expires(response)
        key = UATimerKey(self.config.aor, "register")
        if granted <= 0:
            self.registered_until = None
            out.append(fast_cancel_timer("register", key))
        else:
            self.registered_until = now + granted
            # Refresh before expiry: margin before, but never later than half-way... and
            # never earlier than half of the lifetime.
            refresh = max(granted - self.config.refresh_margin, granted / 2)
            out.append(fast_start_timer("register", now + refresh, key))
        out.append(Registered(self.config.aor, granted, now))
        self._registration_settled(now, out)

    def _registration_settled(self, now: float, out: list[Any]) -> None:
        if self._register_again:
            self._register_again = False
            out.extend(self.register(now))

    def _granted_expires(self, response: Response) -> int:
        mine = self.config.contact
        for na in readable_contacts(response):
            if na.uri == mine:
                e = na.params.get("expires")
                if e is not None and e.isdigit():
                    return int(e)
        header = response.headers.get("Expires")
        if header and header.isdigit():
            return int(header)
        return 0 if self._reg_expires == 0 else self._reg_expires
