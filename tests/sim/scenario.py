"""A busy seeded scenario used by the conservation and determinism tests.

Run as a script it prints a SHA-256 of the trace (for the cross-process test).
"""

from __future__ import annotations

import hashlib
import sys

from simvoip import Simulation, Topology
from simvoip.sim.driver import make_request


def build(extra_link: bool = False) -> Topology:
    topo = Topology(seed=99)
    for name in ("alice", "carol"):
        topo.add_endpoint(name, domain="a.example")
    for name in ("bob", "dave"):
        topo.add_endpoint(name, domain="b.example")
    topo.add_router("r1")
    topo.add_router("r2")
    topo.add_router("r3")
    topo.add_link("alice", "r1", delay=0.005, jitter=0.004, jitter_dist="exponential",
                  loss_model={"type": "gilbert_elliott", "mean_loss": 0.05, "mean_burst": 3})
    topo.add_link("carol", "r1", delay=0.002, duplicate=0.05, reorder=0.05)
    topo.add_link("r1", "r2", delay=0.030, jitter=0.010, jitter_dist="normal",
                  bandwidth=100_000, queue=3, loss=0.02)
    topo.add_link("r1", "r3", delay=0.060, jitter=0.020, jitter_dist="pareto", loss=0.01)
    topo.add_link("r3", "r2", delay=0.010)
    topo.add_link("r2", "bob", delay=0.004, loss=0.03, duplicate=0.02)
    topo.add_link("r2", "dave", delay=0.004, mtu=1000)
    topo.add_fault("link_down", at=3.0, until=6.0, link=("r1", "r2"))
    topo.add_fault("delay_spike", at=8.0, until=9.0, link=("r3", "r2"), extra_delay=0.3)
    topo.add_fault("partition", at=12.0, until=13.0, nodes=["dave"])
    if extra_link:
        topo.add_endpoint("erin", domain="c.example")
        topo.add_endpoint("frank", domain="c.example")
        topo.add_link("erin", "frank", delay=0.001, loss=0.5, jitter=0.01)
    return topo


def run(seed: int = 5, until: float = 14.0, extra_link: bool = False) -> Simulation:
    sim = Simulation(build(extra_link), seed=seed)
    sim.serve_options("bob")
    sim.serve_options("dave")
    n = 0
    for i in range(120):
        for src, dst in (("alice", "bob"), ("carol", "dave"), ("alice", "dave")):
            n += 1
            transport = "TCP" if n % 7 == 0 else "UDP"
            body = b"z" * (900 if n % 11 == 0 else 0)
            request = make_request("OPTIONS", src, f"sip:{dst}@{dst}", call_id=f"c{n}",
                                   branch=f"z9hG4bK{n}", cseq=n, transport=transport, body=body)
            sim.send_request(src, request, at=0.1 * i + 0.001 * n)
    if extra_link:
        for i in range(50):
            request = make_request("OPTIONS", "erin", "sip:frank@frank", call_id=f"e{i}",
                                   branch=f"z9hG4bKe{i}")
            sim.send_request("erin", request, at=0.2 * i)
    sim.inject("bob", b"garbage\r\n\r\n", at=1.0)
    sim.run(until=until)
    return sim


def digest(sim: Simulation) -> str:
    h = hashlib.sha256()
    for row in sim.trace.records:
        h.update(repr(row).encode())
    return h.hexdigest()


if __name__ == "__main__":
    print(digest(run(int(sys.argv[1]))))
