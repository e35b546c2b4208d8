"""Checks on parsed messages that name the response an element must send.

:func:`parse_message` only rejects what cannot be framed or read. A message
that parses can still break RFC 3261 rules; these functions find the first
such problem in the order RFC 3261 8.2 (UAS) and 16.3 (proxy) check them and
return a :class:`ValidationFailure` with the status code to answer (``None``
for responses, which are discarded, never answered).

>>> from simvoip.sip.message import parse_message
>>> req = parse_message(b"OPTIONS sip:b@b.example SIP/2.0\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\n"
...     b"To: <sip:b@b.example>\\r\\nFrom: <sip:a@a>;tag=1\\r\\nCall-ID: c\\r\\n"
...     b"CSeq: 1 OPTIONS\\r\\nMax-Forwards: 0\\r\\nRequire: foo\\r\\n\\r\\n")
>>> validate_request(req, role="proxy")
ValidationFailure(status_code=483, reason='Max-Forwards is 0', unsupported=())
>>> validate_request(req, supported={"100rel"})
ValidationFailure(status_code=420, reason='unsupported option tags', unsupported=('foo',))
>>> validate_request(req, supported={"foo"}) is None
True
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from simvoip.sip.errors import ParseError
from simvoip.sip.grammar import split_commas
from simvoip.sip.headers import MAGIC_COOKIE
from simvoip.sip.message import Request, Response
from simvoip.sip.uri import SUPPORTED_SCHEMES, uri_scheme

__all__ = [
    "ValidationFailure", "validate_request", "validate_response", "REASON_PHRASES",
    "DEFAULT_ACCEPT_TYPES",
]

#: RFC 3261 section 21 reason phrases for the codes validation produces.
REASON_PHRASES = {
    400: "Bad Request", 405: "Method Not Allowed", 406: "Not Acceptable",
    415: "Unsupported Media Type", 416: "Unsupported URI Scheme", 420: "Bad Extension",
    483: "Too Many Hops", 501: "Not Implemented", 505: "Version Not Supported",
}

Role = Literal["uas", "proxy", "registrar", "uac"]

#: Body types a UAS accepts by default (RFC 3261 8.2.3): SDP, plus the sipfrag
#: of REFER notifications (RFC 3515) and plain text (MESSAGE, RFC 3428).
DEFAULT_ACCEPT_TYPES = ("application/sdp", "message/sipfrag", "text/plain")

# RFC 3261 20.17 / 25.1: rfc1123-date, always "GMT".
_DATE_RE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"[0-9]{4} [0-2][0-9]:[0-5][0-9]:[0-6][0-9] GMT"
)
_SINGLE = ("To", "From", "Call-ID", "CSeq")


@dataclass(frozen=True, slots=True)
class ValidationFailure:
    """Why a message is unacceptable and which response that calls for.

    ``status_code`` is ``None`` for a response (it is silently discarded).
    ``unsupported`` lists option tags for the ``Unsupported`` header of a 420.

    >>> ValidationFailure(416, "unsupported URI scheme 'mailto'").reason_phrase
    'Unsupported URI Scheme'
    """

    status_code: int | None
    reason: str
    unsupported: tuple[str, ...] = ()

    @property
    def reason_phrase(self) -> str:
        return REASON_PHRASES.get(self.status_code or 0, "")


#: (canonical header name, typed view) checked when the header is present.
_OPTIONAL_VIEWS = (
    ("Contact", "contacts"), ("Route", "routes"), ("Record-Route", "record_routes"),
    ("Max-Forwards", "max_forwards"), ("Expires", "expires"), ("Require", "require"),
    ("Proxy-Require", "proxy_require"), ("Supported", "supported"),
    ("Unsupported", "unsupported"), ("WWW-Authenticate", "www_authenticate"),
    ("Proxy-Authenticate", "proxy_authenticate"), ("Authorization", "authorization"),
    ("Proxy-Authorization", "proxy_authorization"), ("Content-Type", "content_type"),
)
#: Headers whose values are name-addrs with a URI to check.
_ADDRESS_HEADERS = frozenset({"Contact", "Route", "Record-Route"})


def _common(msg: Request | Response, code: int | None) -> ValidationFailure | None:
    """Checks shared by requests and responses: framing, mandatory headers, syntax."""
    if msg.version.upper() != "SIP/2.0":
        return ValidationFailure(505 if code else None, f"unsupported version {msg.version}")
    if msg.defects:
        return ValidationFailure(code, msg.defects[0])
    h = msg.headers
    # The name index (canonical name -> first value; names with several rows ->
    # all values) answers presence and counts without a pass over the rows.
    present = h._idx if h._idx is not None else h._build_index()
    several = h._more or {}
    # RFC 3261 8.1.1: To, From, CSeq, Call-ID, Via are mandatory; the first four single.
    for name in _SINGLE:
        if name not in present:
            return ValidationFailure(code, f"missing {name} header")
        if name in several:
            return ValidationFailure(code, f"duplicate {name} header")
    if "Via" not in present:
        return ValidationFailure(code, "missing Via header")
    if "Max-Forwards" in several:
        return ValidationFailure(code, "duplicate Max-Forwards header")
    try:
        # Touch the typed view of every header present: any syntax error is a 400
        # (RFC 3261 8.2 / 16.3 step 1). Absent headers have nothing to check.
        msg.vias, msg.cseq, msg.call_id  # noqa: B018
        addresses = [msg.from_, msg.to]
        for name, view in _OPTIONAL_VIEWS:
            if name in present:
                value = getattr(msg, view)
                if name in _ADDRESS_HEADERS:
                    addresses.extend(value)
        for name in ("Content-Type", "Accept"):
            if name in present:
                for row in several.get(name) or (present[name],):
                    split_commas(row)
        # URIs of schemes we know must parse; others stay opaque (RFC 4475 3.3.6).
        for na in addresses:
            if na._parsed_uri is None and not na.is_star and uri_scheme(na.uri) in SUPPORTED_SCHEMES:
                na.sip_uri  # noqa: B018
    except ParseError as exc:
        return ValidationFailure(code, exc.reason)
    date = present.get("Date")
    if date is not None and _DATE_RE.fullmatch(date) is None:
        return ValidationFailure(code, f"bad Date {date[:40]!r}")
    return None


def _accepts(accept_rows: list[str], media_type: str) -> bool:
    main = media_type.split("/")[0]
    for row in accept_rows:
        for item in split_commas(row):
            t = item.partition(";")[0].strip().lower()
            if t in (media_type, "*/*", f"{main}/*"):
                return True
    return False


def validate_request(
    req: Request,
    *,
    role: Role = "uas",
    supported: Collection[str] = (),
    methods: Collection[str] | None = None,
    schemes: Collection[str] = SUPPORTED_SCHEMES,
    accept_types: Collection[str] | None = DEFAULT_ACCEPT_TYPES,
) -> ValidationFailure | None:
    """The first RFC 3261 rule ``req`` breaks for an element of ``role``, or ``None``.

    Parameters
    ----------
    req : Request
        A parsed request.
    role : {"uas", "proxy", "registrar"}
        ``proxy`` applies RFC 3261 16.3 (416, 483, 420 on Proxy-Require);
        ``uas``/``registrar`` apply 8.2 (501, 416, 420 on Require, 415, 406);
        ``registrar`` also wants a sip/sips address-of-record in To (10.3).
    supported : collection of str
        Option tags the element understands.
    methods : collection of str, optional
        Methods a UAS implements; others get 501 (8.2.1). ``None`` skips it.
    schemes : collection of str
        Request-URI schemes the element serves; others get 416.
    accept_types : collection of str, optional
        Body media types a UAS understands (8.2.3: else 415; an INVITE whose
        Accept excludes ``application/sdp`` gets 406). ``None`` skips both.

    Examples
    --------
    >>> from simvoip.sip.message import Headers
    >>> validate_request(Request("OPTIONS", "sip:a@b", Headers())).status_code
    400
    """
    failure = _common(req, 400)
    if failure is not None:
        return failure
    cseq = req.cseq
    if cseq.method != req.method:
        # RFC 3261 8.1.1.5 / RFC 4475 3.1.2.17: the CSeq method must match.
        return ValidationFailure(400, f"CSeq method {cseq.method} does not match {req.method}")
    branch = req.top_via.branch
    if branch == MAGIC_COOKIE:
        # RFC 4475 3.3.1: a branch of only the magic cookie cannot identify a transaction.
        return ValidationFailure(400, "Via branch is only the magic cookie")
    try:
        scheme = uri_scheme(req.uri)
    except ParseError as exc:
        return ValidationFailure(400, exc.reason)
    if scheme not in schemes:
        # RFC 3261 8.2.2.1 / 16.3 step 2.
        return ValidationFailure(416, f"unsupported URI scheme {scheme!r}")
    if scheme in SUPPORTED_SCHEMES:
        try:
            ruri = req.request_uri
        except ParseError as exc:
            return ValidationFailure(400, f"bad Request-URI: {exc.reason}")
        if ruri.headers:
            # RFC 3261 19.1.1 table 1: no headers in a Request-URI (RFC 4475 3.1.2.11).
            return ValidationFailure(400, "headers component in the Request-URI")
    if role == "proxy":
        mf = req.max_forwards
        if mf == 0:
            # RFC 3261 16.3 step 3.
            return ValidationFailure(483, "Max-Forwards is 0")
        unknown = tuple(t for t in req.proxy_require if t not in supported)
        if unknown:
            # RFC 3261 16.3 step 5.
            return ValidationFailure(420, "unsupported option tags", unknown)
        return None
    if methods is not None and req.method not in methods:
        return ValidationFailure(501, f"method {req.method} not implemented")
    if req.method != "CANCEL" and req.method != "ACK":
        # RFC 3261 8.2.2.3 (Require in CANCEL / ACK is ignored).
        unknown = tuple(t for t in req.require if t not in supported)
        if unknown:
            return ValidationFailure(420, "unsupported option tags", unknown)
    if accept_types is not None and req.body:
        ctype = req.content_type
        if ctype is None or ctype not in accept_types:
            # RFC 3261 8.2.3.
            return ValidationFailure(415, f"unsupported body type {ctype!r}")
    if req.method == "INVITE" and accept_types is not None and "Accept" in req.headers:
        if not _accepts(req.headers.get_all("Accept"), "application/sdp"):
            # RFC 4475 3.3.15: the answer's session description would be unacceptable.
            return ValidationFailure(406, "Accept excludes application/sdp")
    if role == "registrar" and req.method == "REGISTER":
        try:
            to_scheme = uri_scheme(req.to.uri)
        except ParseError as exc:
            return ValidationFailure(400, exc.reason)
        if to_scheme not in ("sip", "sips"):
            # RFC 3261 10.3 / RFC 4475 3.3.6: an address-of-record is a sip/sips URI.
            return ValidationFailure(400, f"address-of-record scheme {to_scheme!r}")
    return None


def validate_response(resp: Response, *, role: Role = "uac") -> ValidationFailure | None:
    """Why ``resp`` must be discarded, or ``None`` (status code is always ``None``).

    A UAC discards a response with more than one Via (RFC 3261 8.1.3.3); a
    proxy drops one whose next Via sent-by is a broadcast address
    (RFC 4475 3.3.11) instead of forwarding it.

    >>> from simvoip.sip.message import parse_message
    >>> resp = parse_message(b"SIP/2.0 200 OK\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\n"
    ...     b"Via: SIP/2.0/UDP b;branch=z9hG4bK2\\r\\nTo: <sip:b@b>;tag=2\\r\\n"
    ...     b"From: <sip:a@a>;tag=1\\r\\nCall-ID: c\\r\\nCSeq: 1 INVITE\\r\\n\\r\\n")
    >>> validate_response(resp, role="proxy") is None, validate_response(resp).reason
    (True, 'more than one Via in a response to a UAC')
    """
    failure = _common(resp, None)
    if failure is not None:
        return failure
    vias = resp.vias
    if role == "uac" and len(vias) > 1:
        return ValidationFailure(None, "more than one Via in a response to a UAC")
    if role == "proxy" and len(vias) > 1 and vias[1].host == "255.255.255.255":
        return ValidationFailure(None, "next hop Via is a broadcast address")
    return None
