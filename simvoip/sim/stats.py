"""Per-link and per-node counters of a simulation as DataFrames.

The trace tells what happened to each packet; these tables add what only the
models know: how many packets waited in a link's queue, how busy a link was,
how deep a node's processing queue got.

>>> from simvoip import Simulation, Topology
>>> topo = Topology()
>>> topo.add_endpoint("alice"); topo.add_endpoint("bob")
>>> topo.add_link("alice", "bob", delay=0.01, bandwidth=64_000)
>>> sim = Simulation(topo, seed=1)
>>> _ = sim.call("alice", "bob", duration=2.0)
>>> sim.run(until=40.0)
>>> links = link_metrics(sim)
>>> list(links.columns)[:6]
['link', 'from', 'to', 'sent', 'delivered', 'lost']
>>> # G.711 RTP with its headers is 80 kbit/s: more than the link carries, so
>>> # packets queue, and the link is busy for part of the 40 s.
>>> row = links.iloc[0]
>>> bool(row.queued > 0), bool(0.0 < row.utilisation < 1.0)
(True, True)
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from simvoip.sim.simulation import Simulation

__all__ = ["link_metrics", "node_metrics"]


def link_metrics(sim: Simulation) -> pd.DataFrame:
    """One row per link direction: packets sent, delivered, lost (and by cause),
    queued (waited behind others), utilisation (busy time / run time, with a
    ``bandwidth``) and the deepest backlog."""
    rows = []
    duration = sim.now
    for (a, b), direction in sim.directions.items():
        lost = sum(direction.drops.values())
        # Serialisation already scheduled past the end of the run does not count.
        busy = direction.busy_time - max(0.0, direction.busy_until - duration)
        row = {
            "link": direction.name, "from": a, "to": b, "sent": direction.sent,
            "delivered": direction.sent - lost, "lost": lost,
            "queued": direction.queued,
            "utilisation": (busy / duration
                            if direction.params.bandwidth and duration > 0 else float("nan")),
            "max_backlog": direction.max_backlog,
        }
        row.update({f"drop_{cause}": n for cause, n in sorted(direction.drops.items())})
        rows.append(row)
    return pd.DataFrame(rows).fillna({c: 0 for c in _drop_columns(rows)})


def _drop_columns(rows: list[dict]) -> list[str]:
    return sorted({k for row in rows for k in row if k.startswith("drop_")})


def node_metrics(sim: Simulation) -> pd.DataFrame:
    """One row per node: SIP messages received and sent, parse errors,
    overload drops and the deepest processing queue (``capacity`` nodes)."""
    received: Counter[str] = Counter()
    sent: Counter[str] = Counter()
    for record in sim.trace.records:
        if record[4] != "sip":
            continue
        if record[1] == "recv":
            received[record[2]] += 1
        elif record[1] == "send":
            sent[record[2]] += 1
    rows = [{
        "node": name, "type": node.kind, "sip_received": received[name],
        "sip_sent": sent[name], "parse_errors": node.parse_errors,
        "overload_drops": node.overload_drops, "max_queue": node.max_queue,
        "capacity": node.capacity,
    } for name, node in sim.nodes.items()]
    return pd.DataFrame(rows)
