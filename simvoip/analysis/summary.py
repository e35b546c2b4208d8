"""A readable summary of a finished simulation, and its artefacts on disk.

:func:`summary_text` is what ``simvoip run`` prints: the scenario, one line
per call (outcome, status, post-dial delay, set-up time, retransmissions, and
for the worse media direction MOS, packet loss seen by the decoder, RFC 3550
jitter and mouth-to-ear delay), SIP messages by method and status, and packet
drops by cause.
:func:`write_artefacts` writes the pictures and files next to it.

>>> from simvoip import Simulation, Topology
>>> topo = Topology(name="demo")
>>> topo.add_endpoint("alice"); topo.add_endpoint("bob")
>>> topo.add_link("alice", "bob", delay=0.02)
>>> sim = Simulation(topo, seed=1)
>>> _ = sim.call("alice", "bob", duration=5.0)
>>> sim.run(until=20.0)
>>> print(summary_text(sim))
simvoip: scenario 'demo', seed 1, 20.0 simulated seconds
  2 nodes, 1 links; 1 calls: 1 answered
<BLANKLINE>
Calls
caller callee  outcome  status  PDD (ms)  set-up (ms)  rtx  MOS loss % jitter (ms) M2E (ms)
 alice    bob answered     200        40         1040    0 4.41    0.0         0.0      100
<BLANKLINE>
SIP messages sent (with retransmissions)
  180 INVITE                     1
  200 BYE                        1
  200 INVITE                     1
  ACK                            1
  BYE                            1
  INVITE                         1
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from simvoip.sim.simulation import Simulation

__all__ = ["calls_frame", "summary_text", "write_artefacts"]


def calls_frame(sim: Simulation) -> pd.DataFrame:
    """One row per call placed in ``sim`` (``SimCall.summary()``), in placing order."""
    rows = [call.summary() for call in sim.calls]
    columns = ["call_id", "caller", "callee", "target", "at", "outcome", "final_status", "pdd",
               "setup_time", "end_reason", "retransmissions", "mos", "r", "ppl", "jitter_ms",
               "mouth_to_ear_ms"]
    return pd.DataFrame(rows, columns=columns)


def _ms(value: Any) -> Any:
    return "-" if value is None or pd.isna(value) else round(1000 * float(value))


def summary_text(sim: Simulation, *, max_calls: int = 20) -> str:
    """The text summary of a run (scenario, calls, SIP messages, drops)."""
    topo = sim.topology
    calls = calls_frame(sim)
    outcomes = Counter(calls["outcome"]) if len(calls) else Counter()
    lines = [
        f"simvoip: scenario '{topo.name}', seed {sim.seed}, {sim.now:.1f} simulated seconds",
        f"  {len(topo.nodes())} nodes, {len(topo.links())} links; {len(calls)} calls"
        + (": " + ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) if outcomes else ""),
    ]
    if len(calls):
        table = pd.DataFrame({
            "caller": calls["caller"], "callee": calls["callee"].fillna("-"),
            "outcome": calls["outcome"],
            "status": calls["final_status"].map(lambda s: "-" if s is None or pd.isna(s)
                                                else int(s)),
            "PDD (ms)": calls["pdd"].map(_ms), "set-up (ms)": calls["setup_time"].map(_ms),
            "rtx": calls["retransmissions"],
            "MOS": calls["mos"].map(lambda m: "-" if m is None or pd.isna(m) else f"{m:.2f}"),
            "loss %": calls["ppl"].map(lambda p: "-" if p is None or pd.isna(p) else f"{p:.1f}"),
            "jitter (ms)": calls["jitter_ms"].map(
                lambda j: "-" if j is None or pd.isna(j) else f"{j:.1f}"),
            "M2E (ms)": calls["mouth_to_ear_ms"].map(
                lambda d: "-" if d is None or pd.isna(d) else f"{d:.0f}"),
        })
        lines += ["", "Calls", table.head(max_calls).to_string(index=False)]
        if len(calls) > max_calls:
            lines.append(f"  ... and {len(calls) - max_calls} more (see calls.csv)")
    records = sim.trace.records
    sip_sends = Counter(
        (r[6] if r[7] is None else f"{r[7]} {r[6]}") for r in records
        if r[1] == "send" and r[4] == "sip" and r[6] is not None)
    if sip_sends:
        lines += ["", "SIP messages sent (with retransmissions)"]
        lines += [f"  {label:<24}{n:>8}" for label, n in sorted(sip_sends.items())]
    drops = Counter((r[4], r[11]) for r in records if r[1] == "drop")
    if drops:
        lines += ["", "Dropped packets"]
        lines += [f"  {kind:<4} {cause:<19}{n:>8}" for (kind, cause), n in sorted(drops.items())]
    return "\n".join(lines)


def write_artefacts(sim: Simulation, out: str | Path) -> dict[str, Path]:
    """Write summary, tables, ladder, topology picture and capture into ``out``.

    Returns the paths written by name: ``summary``, ``calls``, ``trace``,
    ``ladder_txt``, ``ladder``, ``topology``, ``pcap``, ``links``, ``nodes``
    and, with media, ``quality``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simvoip.analysis.plots import topology_plot

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / file for name, file in (
        ("summary", "summary.txt"), ("calls", "calls.csv"), ("trace", "trace.csv"),
        ("ladder_txt", "ladder.txt"), ("ladder", "ladder.png"), ("topology", "topology.png"),
        ("pcap", "capture.pcap"), ("links", "links.csv"), ("nodes", "nodes.csv"))}
    paths["summary"].write_text(summary_text(sim) + "\n")
    calls_frame(sim).to_csv(paths["calls"], index=False)
    sim.link_metrics().to_csv(paths["links"], index=False)
    sim.node_metrics().to_csv(paths["nodes"], index=False)
    df = sim.trace.to_dataframe()
    df.drop(columns=["data"]).to_csv(paths["trace"], index=False)
    first = next((c.call_id for c in sim.calls if c.call_id is not None), None)
    paths["ladder_txt"].write_text(sim.trace.ladder_text() + "\n")
    fig, ax = plt.subplots(figsize=(10, 8))
    sim.trace.ladder(call_id=first, ax=ax, spacing="event")
    ax.set_title(f"SIP ladder of call {first}" if first else "SIP ladder")
    fig.tight_layout()
    fig.savefig(paths["ladder"], dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(8, 5))
    topology_plot(sim.topology, ax=ax)
    ax.set_title(f"Topology '{sim.topology.name}'")
    fig.tight_layout()
    fig.savefig(paths["topology"], dpi=110)
    plt.close(fig)
    sim.trace.to_pcap(paths["pcap"])
    answered = [c for c in sim.calls if c.quality]
    if answered:
        paths["quality"] = out / "quality.png"
        fig, ax = plt.subplots(figsize=(8, 4))
        labels, mos, ppl = [], [], []
        for call in answered:
            for receiver, report in call.quality.items():
                labels.append(f"{call.caller}->{call.callee}\nat {receiver}")
                mos.append(report.mos)
                ppl.append(report.ppl)
        ax.bar(range(len(mos)), mos, color="tab:green")
        ax.set_xticks(range(len(mos)), labels, fontsize=7)
        ax.set_ylim(1, 5)
        ax.set_ylabel("MOS (G.107)")
        ax.set_title("Voice quality per call direction")
        for i, (m, p) in enumerate(zip(mos, ppl, strict=True)):
            ax.text(i, m + 0.05, f"{m:.2f}\nloss {p:.1f}%", ha="center", fontsize=7)
        fig.tight_layout()
        fig.savefig(paths["quality"], dpi=110)
        plt.close(fig)
    return paths
