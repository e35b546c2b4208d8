"""Dialogs (RFC 3261 section 12): identity, state, route set, CSeq, in-dialog requests.

A dialog is the peer-to-peer relationship a 2xx (or a 1xx with a To tag)
creates between two UAs. It is identified by Call-ID, local tag and remote
tag (12) and remembers the route set (from Record-Route, reversed at the
UAC), the remote target (from Contact) and both CSeq counters.

>>> from simvoip.sip.message import Headers, Request, Response, canonical_name
>>> invite = Request("INVITE", "sip:bob@biloxi.com", Headers([
...     ("Via", "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds"),
...     ("From", "Alice <sip:alice@atlanta.com>;tag=1928301774"),
...     ("To", "Bob <sip:bob@biloxi.com>"), ("Call-ID", "a84b4c76e66710"),
...     ("CSeq", "314159 INVITE"), ("Contact", "<sip:alice@pc33.atlanta.com>")]))
>>> ok = Response(200, "OK", Headers([
...     ("Via", "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds"),
...     ("Record-Route", "<sip:p2.biloxi.com;lr>, <sip:p1.atlanta.com;lr>"),
...     ("From", "Alice <sip:alice@atlanta.com>;tag=1928301774"),
...     ("To", "Bob <sip:bob@biloxi.com>;tag=a6c85cf"), ("Call-ID", "a84b4c76e66710"),
...     ("CSeq", "314159 INVITE"), ("Contact", "<sip:bob@192.0.2.4>")]))
>>> d = Dialog.from_uac_response(invite, ok)
>>> d.id, d.state.value, d.route_set
(DialogId(call_id='a84b4c76e66710', local_tag='1928301774', remote_tag='a6c85cf'), 'confirmed', ['<sip:p1.atlanta.com;lr>', '<sip:p2.biloxi.com;lr>'])
>>> bye, hop = d.create_request("BYE", via="SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8")
>>> bye.uri, bye.headers.get_all("Route"), str(bye.cseq), hop.host
('sip:bob@192.0.2.4', ['<sip:p1.atlanta.com;lr>', '<sip:p2.biloxi.com;lr>'], '314160 BYE', 'p1.atlanta.com')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from simvoip.sip.effects import Address, fast_address
from simvoip.sip.errors import LocalProtocolError, ParseError
from simvoip.sip.grammar import fast_new, remember, split_commas
from simvoip.sip.headers import NameAddr
from simvoip.sip.message import Headers, Request, Response, canonical_name
from simvoip.sip.uri import SipUri

__all__ = ["Dialog", "DialogId", "DialogState", "next_hop", "TARGET_REFRESH_METHODS"]

#: RFC 3261 12.2 / RFC 3311: requests that may change the remote target.
TARGET_REFRESH_METHODS = ("INVITE", "UPDATE")


@dataclass(frozen=True, slots=True)
class DialogId:
    """Call-ID, local tag, remote tag (RFC 3261 12)."""

    call_id: str
    local_tag: str
    remote_tag: str


class DialogState(Enum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


def next_hop(uri_or_route: str, default_transport: str = "UDP") -> Address:
    """Where to send a request whose first Route (or Request-URI) is ``uri_or_route``.

    RFC 3261 8.1.2 / RFC 3263: host and port of the URI (``maddr`` wins);
    name resolution is the adapter's job.

    >>> next_hop("<sip:p1.example.com;lr>")
    Address(host='p1.example.com', port=5060, transport='UDP')
    >>> next_hop("sip:bob@192.0.2.4:5070;transport=tcp")
    Address(host='192.0.2.4', port=5070, transport='TCP')
    """
    # A pure function of its two texts, asked for every request sent: remembered
    # (Address is frozen, so the same value can be handed out again).
    memo_key = (uri_or_route, default_transport)
    hop = _NEXT_HOPS.get(memo_key)
    if hop is not None:
        return hop
    text = uri_or_route.strip()
    if "<" in text:
        text = NameAddr.parse(text).uri
    uri = SipUri.parse(text)
    host = uri.maddr or uri.host
    transport = (uri.transport or default_transport).upper()
    port = uri.port
    if port is None:
        port = 5061 if uri.scheme == "sips" or transport == "TLS" else 5060
    hop = fast_address(host, port, transport)
    remember(_NEXT_HOPS, memo_key, hop)
    return hop


#: (URI or Route text, default transport) -> next hop (see next_hop).
_NEXT_HOPS: dict[tuple[str, str], Address] = {}


def _record_routes(message: Request | Response) -> list[str]:
    return [v for row in message.headers.get_all("Record-Route") for v in split_commas(row)]


def _contact_uri(message: Request | Response) -> str | None:
    row = message.headers.get("Contact")
    if row is None:
        return None
    # A pure function of the row text (asked for every dialog-creating message):
    # remembered.
    uri = _CONTACT_URIS.get(row, _UNKNOWN)
    if uri is _UNKNOWN:
        first = split_commas(row)[0]
        uri = None if first.strip() == "*" else NameAddr.parse(first).uri
        remember(_CONTACT_URIS, row, uri)
    return uri  # type: ignore[return-value]


#: Contact row text -> URI of its first value (None for "*"; see _contact_uri).
_CONTACT_URIS: dict[str, str | None] = {}
_UNKNOWN = object()


@dataclass(slots=True)
class Dialog:
    """Dialog state of RFC 3261 12.1 (mutable: CSeq counters and target change).

    ``local_uri`` / ``remote_uri`` are the full From/To header values without
    tags (``name-addr`` text), tags kept separately.
    """

    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str
    remote_uri: str
    remote_target: str
    route_set: list[str] = field(default_factory=list)
    local_cseq: int = 0
    remote_cseq: int | None = None
    local_contact: str | None = None
    state: DialogState = DialogState.EARLY
    is_caller: bool = True
    secure: bool = False

    @property
    def id(self) -> DialogId:
        return DialogId(self.call_id, self.local_tag, self.remote_tag)

    # -- creation (12.1) ---------------------------------------------------------------------

    @classmethod
    def from_uac_response(cls, request: Request, response: Response) -> Dialog:
        """The UAC side of a dialog created by ``response`` to ``request`` (12.1.2).

        Route set = Record-Route of the response in *reverse* order; remote
        target = its Contact; local CSeq = the request's; remote CSeq empty.
        """
        remote_tag = response.to.tag
        local_tag = request.from_.tag
        if not remote_tag or not local_tag:
            raise LocalProtocolError("a dialog needs a From tag and a To tag (12.1.2)")
        target = _contact_uri(response) or request.uri
        # Every field, in declaration order (so a bad header fails as it always did).
        return (_new_dialog if cls is Dialog else cls)(
            request.call_id, local_tag, remote_tag,
            _without_tag(request.headers.get("From") or ""),
            _without_tag(request.headers.get("To") or ""),
            target, list(reversed(_record_routes(response))),
            request.cseq.number, None, _contact_uri(request),
            DialogState.CONFIRMED if 200 <= response.status_code < 300 else DialogState.EARLY,
            True, SipUri.parse(request.uri).scheme == "sips",
        )

    @classmethod
    def from_uas_request(
        cls, request: Request, local_tag: str, *, local_contact: str | None = None,
        confirmed: bool = False,
    ) -> Dialog:
        """The UAS side of a dialog created by answering ``request`` (12.1.1).

        Route set = Record-Route of the request in order; remote target = its
        Contact; remote CSeq = the request's; local CSeq starts empty (0 here,
        the first local request picks a fresh number via :meth:`create_request`).
        """
        remote_tag = request.from_.tag
        if not remote_tag:
            raise ParseError("request without From tag cannot create a dialog", status_code=400)
        target = _contact_uri(request)
        if target is None:
            raise ParseError("dialog-creating request without Contact", status_code=400)
        # Every field, in declaration order (so a bad header fails as it always did).
        return (_new_dialog if cls is Dialog else cls)(
            request.call_id, local_tag, remote_tag,
            _without_tag(request.headers.get("To") or ""),
            _without_tag(request.headers.get("From") or ""),
            target, _record_routes(request), 0, request.cseq.number, local_contact,
            DialogState.CONFIRMED if confirmed else DialogState.EARLY, False,
            SipUri.parse(request.uri).scheme == "sips",
        )

    # -- updates ----------------------------------------------------------------------------

    def update_from_response(self, response: Response) -> None:
        """Apply a response received within this dialog (12.1.2, 12.2.1.2, 13.2.2.4).

        A 2xx confirms an early dialog and then fixes the route set; a
        target-refresh response updates the remote target.
        """
        code = response.status_code
        if self.state is DialogState.EARLY:
            # 12.1.2: an early dialog's route set is refreshed by later responses.
            self.route_set = list(reversed(_record_routes(response)))
            if 200 <= code < 300:
                self.state = DialogState.CONFIRMED
        if response.cseq.method in TARGET_REFRESH_METHODS and 101 <= code < 300:
            target = _contact_uri(response)
            if target is not None:
                self.remote_target = target

    def accept_remote_request(self, request: Request) -> bool:
        """Check the remote CSeq of an in-dialog request (12.2.2); update target refresh.

        Returns False for an out-of-order request (CSeq lower than the
        remote CSeq): the UAS answers 500. ACK and CANCEL use the INVITE's
        number and are not checked.
        """
        if request.method in ("ACK", "CANCEL"):
            return True
        number = request.cseq.number
        if self.remote_cseq is not None and number <= self.remote_cseq:
            return False
        self.remote_cseq = number
        if request.method in TARGET_REFRESH_METHODS:
            target = _contact_uri(request)
            if target is not None:
                self.remote_target = target
        return True

    def next_local_cseq(self, rng_start: int | None = None) -> int:
        """Increment and return the local CSeq (12.2.1.1); a UAS that has sent nothing
        yet starts from ``rng_start`` (or 1)."""
        if self.local_cseq == 0 and rng_start is not None:
            self.local_cseq = rng_start
        else:
            self.local_cseq += 1
        return self.local_cseq

    # -- requests within the dialog (12.2.1.1) -------------------------------------------------

    def create_request(
        self,
        method: str,
        *,
        via: str,
        cseq: int | None = None,
        max_forwards: int = 70,
        body: bytes = b"",
        content_type: str | None = None,
        extra: list[tuple[str, str]] | None = None,
        transport: str = "UDP",
    ) -> tuple[Request, Address]:
        """Build a request within the dialog and say where to send it.

        ``cseq`` overrides the number (an ACK for a 2xx reuses the INVITE's,
        13.2.2.4); otherwise the local CSeq is incremented (ACK and CANCEL must
        pass one). Returns the request and the next hop (first Route, else the
        Request-URI).
        """
        if cseq is None:
            if method in ("ACK", "CANCEL"):
                raise LocalProtocolError(f"{method} takes the CSeq number of its INVITE")
            cseq = self.next_local_cseq()
        rows = [("Via", via), ("Max-Forwards", str(max_forwards))]
        routes = self.route_set
        strict = bool(routes) and not _has_lr(routes[0])
        if strict:
            # 12.2.1.1 strict routing: first route becomes the Request-URI and the
            # remote target goes last in the Route header.
            uri = str(_strip_uri_params(NameAddr.parse(routes[0]).uri))
            routes = routes[1:] + [f"<{self.remote_target}>"]
        else:
            uri = self.remote_target
        rows.extend(("Route", r) for r in routes)
        rows.append(("From", f"{self.local_uri};tag={self.local_tag}"))
        rows.append(("To", f"{self.remote_uri};tag={self.remote_tag}"))
        rows.append(("Call-ID", self.call_id))
        rows.append(("CSeq", f"{cseq} {method}"))
        if self.local_contact is not None and method in ("INVITE", "UPDATE", "SUBSCRIBE", "REFER"):
            rows.append(("Contact", f"<{self.local_contact}>"))
        if extra:
            rows.extend((canonical_name(n), v) for n, v in extra)
        if content_type is not None and body:
            rows.append(("Content-Type", content_type))
        # Literal (canonical) header names: no renaming pass (canonical_headers).
        request = Request(method, uri, Headers._from_canonical(tuple(rows)), body)
        # 8.1.2: the first Route (loose) or the Request-URI (no route, or strict router).
        hop = next_hop(routes[0] if routes and not strict else uri, transport)
        return request, hop


#: ``Dialog(...)`` with every field given positionally, without ``__init__``.
_new_dialog = fast_new(Dialog)


def _has_lr(route: str) -> bool:
    try:
        return SipUri.parse(NameAddr.parse(route).uri).lr
    except ParseError:
        return False


def _strip_uri_params(uri: str) -> SipUri:
    # 12.2.1.1: "with any parameters not allowed in a Request-URI stripped".
    u = SipUri.parse(uri)
    return SipUri(u.scheme, u.user, u.password, u.host, u.port,
                  {k: v for k, v in u.params.items() if k not in ("method", "ttl")}, {})


def _without_tag(value: str) -> str:
    # Pure function of the header text, asked twice per dialog: remembered.
    bare = _BARE.get(value)
    if bare is None:
        na = NameAddr.parse(value)
        params = {k: v for k, v in na.params.items() if k != "tag"}
        bare = str(NameAddr(na.uri, na.display_name, params))
        remember(_BARE, value, bare)
    return bare


#: From/To header text -> the same without its tag (see _without_tag).
_BARE: dict[str, str] = {}
