"""Configuration of a user agent: identity (:class:`UAConfig`) and test behaviour
(:class:`UABehaviour`).

>>> b = UABehaviour(reject_code=486)
>>> b.reject_code, b.answer_delay
(486, 1.0)
>>> UAConfig(aor="sip:alice@atlanta.example.com", host="client.atlanta.example.com").contact
'sip:alice@client.atlanta.example.com'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simvoip.sip.grammar import remember
from simvoip.sip.transaction.timers import TimerConfig
from simvoip.sip.uri import SipUri

__all__ = ["UABehaviour", "UAConfig"]

#: (aor, host, port, transport) -> Contact URI (see UAConfig.contact).
_CONTACTS: dict[tuple[str, str, int, str], str] = {}


@dataclass(frozen=True, slots=True)
class UABehaviour:
    """How a UA answers calls; times are seconds after the INVITE arrives.

    Parameters
    ----------
    ring_delay : float or None
        When to send 180 Ringing (``None``: never).
    answer_delay : float or None
        When to answer with 200 OK (``None``: never answer, "no answer").
    reject_code : int or None
        Answer with this final status instead (486 busy, 603 decline, 480 ...).
    reject_delay : float
        When to send ``reject_code``.
    redirect_to : tuple of str
        Answer 302 Moved Temporarily with these Contact URIs.
    early_media : bool
        Send 183 Session Progress with an SDP answer instead of 180.
    ignore_ack, ignore_bye : bool
        Drop ACKs for our 2xx (the UAS then retransmits and finally BYEs, 13.3.1.4)
        or BYEs (the caller's BYE times out).
    crash_at : float or None
        From this time on the UA handles nothing (the adapter stops delivering too).
    auto_hangup_after : float or None
        Send BYE this long after the call is established (either side).
    ring_timeout : float or None
        A phone's own no-answer timer: an INVITE still unanswered this long after it
        arrived gets 480 Temporarily Unavailable (longer than the callers' and
        proxies' timers, so normally a CANCEL comes first).
    """

    ring_delay: float | None = 0.0
    answer_delay: float | None = 1.0
    reject_code: int | None = None
    reject_delay: float = 0.0
    redirect_to: tuple[str, ...] = ()
    early_media: bool = False
    ignore_ack: bool = False
    ignore_bye: bool = False
    crash_at: float | None = None
    auto_hangup_after: float | None = None
    ring_timeout: float | None = 300.0


@dataclass(frozen=True, slots=True)
class UAConfig:
    """Identity and policy of a user agent.

    Parameters
    ----------
    aor : str
        Address-of-record, ``sip:alice@atlanta.example.com`` (From of our requests).
    host, port, transport : str, int, str
        Our own address: Via sent-by and Contact host.
    display_name : str, optional
        Display name in From.
    outbound_proxy : str, optional
        URI of an outbound proxy, put as a preloaded ``Route`` (with ``lr``) on
        requests outside a dialog except REGISTER (RFC 3665 flows).
    registrar : str, optional
        Registrar URI (``sip:biloxi.example.com``); REGISTER goes straight to its host.
    register_expires : int
        Requested registration lifetime; refreshed ``refresh_margin`` seconds
        before the granted expiry (at least at half of it).
    credentials : dict
        realm -> (username, password) for digest; realm ``"*"`` matches any.
    invite_timeout : float or None
        The UAC CANCELs an INVITE that has no final response this long after it
        was sent (RFC 3665 3.8 "no answer"). ``None``: wait for Timer B / the proxy.
    invite_guard : float
        Safety net: CANCEL an INVITE still without final response after this long
        (the UAC has no timer in Proceeding; proxies use Timer C, 16.8). 64*T1 after a
        CANCEL without final response the INVITE transaction is destroyed and the call
        fails with 408 (RFC 3261 9.1).
    media_port, media_address : int, str
        Where we receive RTP: the SDP ``m=`` port and ``c=`` address (an IP
        address; ``host`` when not given).
    initial_cseq : int or None
        First CSeq number of new requests (and of the callee's first in-dialog request);
        ``None`` (default) draws it from the random stream (RFC 3261 8.1.1.5), ``1``
        reproduces the RFC 3665 examples.
    """

    aor: str
    host: str
    port: int = 5060
    transport: str = "UDP"
    display_name: str | None = None
    outbound_proxy: str | None = None
    registrar: str | None = None
    register_expires: int = 3600
    refresh_margin: float = 30.0
    credentials: dict[str, tuple[str, str]] = field(default_factory=dict)
    invite_timeout: float | None = None
    invite_guard: float = 200.0
    initial_cseq: int | None = None
    max_redirects: int = 3
    media_port: int = 49170
    media_address: str | None = None
    user_agent: str | None = None
    timers: TimerConfig = field(default_factory=TimerConfig)
    behaviour: UABehaviour = field(default_factory=UABehaviour)

    @property
    def user(self) -> str | None:
        return SipUri.parse(self.aor).user

    @property
    def sdp_address(self) -> str:
        """The address in our SDP ``c=``/``o=`` lines: ``media_address``, else ``host``."""
        return self.media_address or self.host

    @property
    def contact(self) -> str:
        # Asked for on every dialog-creating message: remembered per identity.
        key = (self.aor, self.host, self.port, self.transport)
        contact = _CONTACTS.get(key)
        if contact is None:
            port = "" if self.port == 5060 else f":{self.port}"
            user = f"{self.user}@" if self.user else ""
            transport = "" if self.transport.upper() == "UDP" else f";transport={self.transport.lower()}"
            contact = f"sip:{user}{self.host}{port}{transport}"
            remember(_CONTACTS, key, contact)
        return contact

    @property
    def sent_by(self) -> str:
        return self.host if self.port == 5060 else f"{self.host}:{self.port}"
