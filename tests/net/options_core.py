"""A tiny sans-I/O core for adapter tests: answers OPTIONS with 200 through a NIST.

Everything else gets 501 (RFC 3261 8.2.1), also through a server transaction.
It has the UA/proxy core interface (``receive`` / ``handle_timer``) and no I/O.
"""

from __future__ import annotations

import random
from typing import Any

from simvoip.sip.effects import Address, CancelTimer, Send, StartTimer
from simvoip.sip.message import Request, Response
from simvoip.sip.screening import screen_request
from simvoip.sip.transaction import Terminated, TimerConfig
from simvoip.sip.ua.messages import make_response
from simvoip.sip.ua.transactions import TransactionTable

__all__ = ["OptionsCore"]


class OptionsCore:
    def __init__(self, timers: TimerConfig | None = None) -> None:
        self.transactions = TransactionTable(timers or TimerConfig())
        self.rng = random.Random(0)
        #: Status of each request refused by validation (0: dropped without answer).
        self.rejected: list[int] = []
        self.requests: list[tuple[float, Request, Address]] = []
        self.terminated = 0

    def receive(self, message: Request | Response, source: Address, now: float) -> list[Any]:
        if isinstance(message, Response):
            return []
        # RFC 3261 8.2: a request we cannot process is answered before anything else.
        screened = screen_request(message, role="uas", rng=self.rng)
        if screened is not None:
            self.rejected.append(screened[0].message.status_code if screened else 0)
            return list(screened)
        if message.method == "ACK":
            return []
        tx = self.transactions.find_server(message)
        if tx is not None:
            return self._effects(self.transactions.receive_request(tx, message, now))
        self.requests.append((now, message, source))
        tx, out = self.transactions.start_server(message, now)
        status = 200 if message.method == "OPTIONS" else 501
        response = make_response(message, status, to_tag="opt1", extra=[("Allow", "OPTIONS")])
        return self._effects(out + self.transactions.send_response(tx, response, now))

    def handle_timer(self, name: str, key: Any, now: float) -> list[Any]:
        tx, out = self.transactions.handle_timer(name, key, now)
        return self._effects(out)

    def _effects(self, outputs: list[Any]) -> list[Any]:
        self.terminated += sum(1 for o in outputs if isinstance(o, Terminated))
        return [o for o in outputs if isinstance(o, Send | StartTimer | CancelTimer)]
