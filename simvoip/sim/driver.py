"""Small built-in cores for tests and benchmarks: send one request, answer OPTIONS.

They exercise the whole stack (encode, links, parse, transactions) before the
real UA / proxy cores exist. :class:`RequestDriver` records what happened to
each request it sent in a :class:`RequestOutcome`; :class:`OptionsResponder`
answers OPTIONS with 200 and everything else (but ACK) with 501.

>>> req = make_request("OPTIONS", "alice", "sip:bob@b.example", call_id="c1", branch="z9hG4bK1")
>>> req.method, req.branch, req.headers.get("Max-Forwards")
('OPTIONS', 'z9hG4bK1', '70')
"""

from __future__ import annotations

import random
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from simvoip.sim.node import CoreBase
from simvoip.sip.effects import Address, Send
from simvoip.sip.message import Headers, Request, Response
from simvoip.sip.transaction.events import (
    ResponseReceived,
    Terminated,
    TimedOut,
    TransportFailed,
)
from simvoip.sip.ua.messages import make_response

__all__ = ["RequestOutcome", "RequestDriver", "OptionsResponder", "make_request", "uri_host"]


def make_request(
    method: str, node: str, uri: str, *, call_id: str, branch: str, cseq: int = 1,
    transport: str = "UDP", from_tag: str = "1", body: bytes = b"",
) -> Request:
    """A minimal valid request sent by ``node`` (its name is the Via sent-by host)."""
    headers = Headers([
        ("Via", f"SIP/2.0/{transport} {node};branch={branch}"),
        ("Max-Forwards", "70"),
        ("From", f"<sip:{node}@{node}>;tag={from_tag}"),
        ("To", f"<{uri}>"),
        ("Call-ID", call_id),
        ("CSeq", f"{cseq} {method}"),
    ])
    if body:
        headers.add("Content-Type", "application/octet-stream")
    return Request(method, uri, headers, body)


def uri_host(uri: str) -> str:
    """The host part of a SIP URI (enough for routing in the simulator).

    >>> uri_host("sip:bob@b.example:5070;transport=tcp"), uri_host("<sip:proxy.a>")
    ('b.example', 'proxy.a')
    """
    host = _HOSTS.get(uri)
    if host is None:
        host = _uri_host(uri)
        if len(_HOSTS) < 4096:  # a bounded memo: the same few URIs come again and again
            _HOSTS[uri] = host
    return host


_HOSTS: dict[str, str] = {}


def _uri_host(uri: str) -> str:
    text = uri.strip().lstrip("<").split(">", 1)[0]
    text = text.split(":", 1)[1] if ":" in text else text
    hostport = text.rsplit("@", 1)[-1].split(";", 1)[0].split("?", 1)[0]
    if hostport.startswith("["):
        return hostport[: hostport.index("]") + 1]
    return hostport.split(":", 1)[0]


@dataclass(slots=True)
class RequestOutcome:
    """What became of one request sent by :class:`RequestDriver`."""

    request: Request
    destination: Address
    at: float
    responses: list[tuple[float, Response]] = field(default_factory=list)
    timed_out_at: float | None = None
    transport_failed_at: float | None = None
    terminated_at: float | None = None

    @property
    def final(self) -> Response | None:
        """The first final response (>= 200), if any."""
        return next((r for _, r in self.responses if r.status_code >= 200), None)

    @property
    def final_at(self) -> float | None:
        return next((t for t, r in self.responses if r.status_code >= 200), None)

    @property
    def outcome(self) -> str:
        """``answered``, ``timeout``, ``transport-error`` or ``pending``."""
        if self.final is not None:
            return "answered"
        if self.timed_out_at is not None:
            return "timeout"
        if self.transport_failed_at is not None:
            return "transport-error"
        return "pending"


class RequestDriver(CoreBase):
    """A client-only core: sends requests through client transactions, records outcomes.

    ``outcomes`` holds the requests whose transaction is still alive.
    """

    def __init__(self) -> None:
        self.outcomes: dict[Hashable, RequestOutcome] = {}

    def send(self, request: Request, destination: Address, outcome: RequestOutcome) -> list[Any]:
        """Effects that send ``request``; ``outcome`` will record what becomes of it."""
        self.outcomes[(request.branch, request.method)] = outcome
        return [Send(request, destination)]

    def on_event(self, transaction: Any, event: Any, now: float) -> list[Any]:
        request = transaction.request
        key = (request.top_via.branch, request.method)  # (request.branch, request.method)
        outcome = self.outcomes.get(key)
        if outcome is None:
            return []
        if isinstance(event, ResponseReceived):
            outcome.responses.append((now, event.response))
        elif isinstance(event, TimedOut):
            outcome.timed_out_at = now
        elif isinstance(event, TransportFailed):
            outcome.transport_failed_at = now
        elif isinstance(event, Terminated):
            outcome.terminated_at = now
            del self.outcomes[key]  # the caller holds the outcome; forget it here
        return []


class OptionsResponder(CoreBase):
    """Answers OPTIONS with 200 OK and any other request but ACK with 501."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.answered = 0

    def on_request(self, request: Any, transaction: Any, now: float) -> list[Any]:
        if transaction is None:
            return []  # ACK outside a transaction: nothing to answer
        status = 200 if request.method == "OPTIONS" else 501
        self.answered += 1
        tag = f"{self.rng.getrandbits(32):08x}"
        return [Send(make_response(request, status, to_tag=tag), transaction.destination)]
