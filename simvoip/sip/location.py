"""Location service: address-of-record -> contact bindings (RFC 3261 section 10).

The registrar writes bindings, the proxy reads them (RFC 3261 16.5: "the
proxy ... consults the abstract location service").
>>> loc = LocationService()
>>> loc.set("sip:bob@biloxi.com", Binding("sip:bob@192.0.2.4", expires_at=3600.0, q=0.5,
...         call_id="c1", cseq=1))
>>> loc.set("sip:bob@biloxi.com", Binding("sip:bob@192.0.2.5", expires_at=3600.0, q=1.0,
...         call_id="c2", cseq=1))
>>> [b.contact for b in loc.lookup("sip:bob@BILOXI.com;transport=udp", now=10.0)]
['sip:bob@192.0.2.5', 'sip:bob@192.0.2.4']
>>> loc.lookup("sip:bob@biloxi.com", now=4000.0)
[]
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simvoip.sip.errors import ParseError
from simvoip.sip.grammar import remember
from simvoip.sip.uri import SipUri

__all__ = ["Binding", "LocationService", "aor_of"]


def aor_of(uri: str) -> str:
    """Canonical address-of-record of ``uri`` (RFC 3261 10.3 step 5: parameters removed).

    The host is lower-cased (URI comparison, 19.1.4); the user part stays case-sensitive.

    >>> aor_of("<sip:bob@BILOXI.com:5060;transport=udp>"), aor_of("sips:bob@biloxi.com")
    ('sip:bob@biloxi.com', 'sip:bob@biloxi.com')
    """
    known = _AORS.get(uri)
    if known is not None:
        return known
    aor = SipUri.parse(uri.strip().removeprefix("<").removesuffix(">")).aor
    # sip: and sips: forms of one AOR share the bindings (a sips REGISTER, RFC 3665 2.1,
    # must make the user reachable by a sip INVITE too).
    aor = "sip:" + aor[5:] if aor.startswith("sips:") else aor
    remember(_AORS, uri, aor)  # every INVITE looks its Request-URI up (twice)
    return aor


#: URI text -> its canonical AOR (see aor_of).
_AORS: dict[str, str] = {}


@dataclass(frozen=True, slots=True)
class Binding:
    """One contact registered for an address-of-record (RFC 3261 10.3 step 7)."""

    contact: str
    expires_at: float
    q: float = 1.0
    call_id: str = ""
    cseq: int = 0
    registered_at: float = 0.0

    def expires_in(self, now: float) -> int:
        return max(0, int(round(self.expires_at - now)))


@dataclass(slots=True)
class LocationService:
    """Bindings per canonical address-of-record, kept in registration order."""

    _bindings: dict[str, list[Binding]] = field(default_factory=dict)

    def bindings(self, aor: str, now: float) -> list[Binding]:
        """Current (unexpired) bindings of ``aor`` in registration order."""
        key = aor_of(aor)
        alive = [b for b in self._bindings.get(key, []) if b.expires_at > now]
        if alive:
            self._bindings[key] = alive
        else:
            self._bindings.pop(key, None)
        return list(alive)

    def lookup(self, uri: str, now: float) -> list[Binding]:
        """Bindings for ``uri``, highest q first (ties in registration order; 16.6 / 10.2.1.2)."""
        found = self.bindings(uri, now)
        if len(found) > 1:
            found.sort(key=lambda b: -b.q)  # stable: ties stay in registration order
        return found

    def set(self, aor: str, binding: Binding) -> None:
        """Add or replace the binding with the same contact URI (URI comparison, 19.1.4)."""
        key = aor_of(aor)
        rows = self._bindings.setdefault(key, [])
        for i, b in enumerate(rows):
            if _same_contact(b.contact, binding.contact):
                rows[i] = binding
                return
        rows.append(binding)

    def remove(self, aor: str, contact: str) -> None:
        key = aor_of(aor)
        rows = [b for b in self._bindings.get(key, []) if not _same_contact(b.contact, contact)]
        if rows:
            self._bindings[key] = rows
        else:
            self._bindings.pop(key, None)

    def find(self, aor: str, contact: str) -> Binding | None:
        for b in self._bindings.get(aor_of(aor), []):
            if _same_contact(b.contact, contact):
                return b
        return None

    def aors(self) -> list[str]:
        return list(self._bindings)

    def count(self, now: float) -> int:
        """Number of live bindings over all AORs."""
        return sum(len(self.bindings(a, now)) for a in list(self._bindings))


def _same_contact(a: str, b: str) -> bool:
    try:
        ua, ub = SipUri.parse(a), SipUri.parse(b)
    except ParseError:
        return a == b
    return (ua.scheme, ua.user, ua.host.lower(), ua.port or 5060) == (
        ub.scheme, ub.user, ub.host.lower(), ub.port or 5060)
