"""The duck-typed interface between a :class:`~simvoip.sim.node.Node` and its cores."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

__all__ = ["CoreBase"]


class CoreBase:
    """A core that ignores everything; subclass and override what you need.

    >>> CoreBase().on_request(None, None, 0.0)
    []
    """

    #: A stateless core's requests and responses bypass the transaction layer.
    stateless = False

    def on_request(self, request: Any, transaction: Any, now: float) -> list[Any]:
        return []

    def on_event(self, transaction: Any, event: Any, now: float) -> list[Any]:
        return []

    def on_response(self, response: Any, now: float) -> list[Any]:
        return []

    def handle_timer(self, name: str, key: Hashable, now: float) -> list[Any]:
        return []
