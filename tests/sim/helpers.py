"""Shared builders for the simulation tests."""

from __future__ import annotations

from typing import Any

from simvoip import Simulation, Topology
from simvoip.sim.driver import RequestOutcome, make_request


def pair(**link: Any) -> Topology:
    """alice -- bob, one link with ``link`` parameters."""
    topo = Topology()
    topo.add_endpoint("alice", domain="a.example")
    topo.add_endpoint("bob", domain="b.example")
    topo.add_link("alice", "bob", **{"delay": 0.010, **link})
    return topo


def options(sim: Simulation, n: int = 1, *, at: float = 0.0, src: str = "alice",
            dst: str = "bob", transport: str = "UDP", body: bytes = b"",
            method: str = "OPTIONS") -> RequestOutcome:
    request = make_request(method, src, f"sip:{dst}@{dst}", call_id=f"call-{n}",
                           branch=f"z9hG4bK{src}{n}", cseq=n, transport=transport, body=body)
    return sim.send_request(src, request, at=at)


def times(df: Any, **match: Any) -> list[float]:
    rows = df
    for column, value in match.items():
        rows = rows[rows[column] == value]
    return [round(float(t), 9) for t in rows["time"]]
