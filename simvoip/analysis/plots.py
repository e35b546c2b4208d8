"""Plots for notebooks: topology, MOS over time, PDD histogram, retransmissions vs loss.

Every function draws on ``ax`` (a new figure when None) and returns the Axes,
so plots compose and tests can count what was drawn.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> ax = pdd_histogram([0.1, 0.2, 0.2, 0.4], bins=3)
>>> len(ax.patches)
3
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    import networkx as nx
    from matplotlib.axes import Axes

__all__ = [
    "link_label",
    "topology_plot",
    "mos_over_time",
    "pdd_histogram",
    "retransmissions_vs_loss",
]

NODE_COLOURS = {"endpoint": "#4C72B0", "proxy": "#DD8452", "registrar": "#55A868",
                "router": "#8C8C8C"}


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots()
    return new


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _rate(bps: float) -> str:
    for unit, scale in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bps >= scale:
            return f"{bps / scale:g} {unit}"
    return f"{bps:g} bit/s"


def link_label(attrs: Mapping[str, Any]) -> str:
    """A short text of a link's parameters (delay, jitter, loss, bandwidth, queue).

    Delays are in seconds in the topology and shown in ms; ``loss`` is a
    probability shown in %, or the name of a loss model given as a mapping.

    >>> link_label({"delay": 0.04, "jitter": 0.005, "loss": 0.02, "bandwidth": 2e6})
    '40 ms ±5 ms\\n2% loss\\n2 Mbit/s'
    >>> link_label({"delay": 0.0, "loss": {"model": "gilbert-elliott", "p": 0.01}})
    '0 ms\\ngilbert-elliott loss'
    """
    parts: list[str] = []
    delay = _number(attrs.get("delay"))
    if delay is not None:
        text = f"{delay * 1000:g} ms"
        jitter = _number(attrs.get("jitter"))
        if jitter:
            text += f" ±{jitter * 1000:g} ms"
        parts.append(text)
    loss = attrs.get("loss", attrs.get("loss_model"))
    if _number(loss):
        parts.append(f"{float(loss) * 100:g}% loss")
    elif isinstance(loss, Mapping):
        name = loss.get("model") or loss.get("type") or loss.get("kind") or "model"
        parts.append(f"{name} loss")
    bandwidth = _number(attrs.get("bandwidth"))
    if bandwidth:
        parts.append(_rate(bandwidth))
    queue = _number(attrs.get("queue"))
    if queue:
        parts.append(f"queue {queue:g}")
    return "\n".join(parts)


def topology_plot(
    topology: nx.Graph | Any,
    ax: Axes | None = None,
    *,
    pos: Mapping[Hashable, tuple[float, float]] | None = None,
    seed: int = 0,
) -> Axes:
    """Draw a topology: nodes coloured by type, links labelled with their parameters.

    Parameters
    ----------
    topology : networkx.Graph or object with ``.graph``
        E.g. a :class:`simvoip.sim.topology.Topology`. Node attribute ``type``
        (endpoint, proxy, registrar, router) picks the colour; edge attributes
        feed :func:`link_label`.
    ax : Axes, optional
    pos : mapping, optional
        Node positions; default: the nodes' ``pos`` attribute if every node has
        one, else a spring layout seeded with ``seed`` (deterministic).

    Returns
    -------
    matplotlib.axes.Axes
        One node label text per node and one edge label text per link.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import networkx as nx
    >>> g = nx.Graph()
    >>> g.add_edge("alice", "proxy", delay=0.01)
    >>> sorted(t.get_text() for t in topology_plot(g).texts)
    ['10 ms', 'alice', 'proxy']
    """
    import networkx as nx

    graph: nx.Graph = topology if isinstance(topology, nx.Graph) else topology.graph
    ax = _axes(ax)
    if pos is None:
        given = nx.get_node_attributes(graph, "pos")
        if len(given) == graph.number_of_nodes() and given:
            pos = given
        else:
            pos = nx.spring_layout(graph, seed=seed)
    colours = [NODE_COLOURS.get(str(graph.nodes[n].get("type")), "#4C72B0") for n in graph]
    nx.draw_networkx_nodes(graph, pos, ax=ax, node_color=colours, node_size=900)
    nx.draw_networkx_edges(graph, pos, ax=ax, width=1.5, edge_color="0.4")
    nx.draw_networkx_labels(graph, pos, ax=ax, font_size=9)
    labels = {(a, b): link_label(d) for a, b, d in graph.edges(data=True)}
    nx.draw_networkx_edge_labels(graph, pos, edge_labels=labels, ax=ax, font_size=7)
    ax.set_axis_off()
    return ax


def mos_over_time(
    data: pd.DataFrame,
    ax: Axes | None = None,
    *,
    time: str = "time",
    mos: str = "mos",
    by: str | None = None,
) -> Axes:
    """MOS against simulated time, one line per ``by`` group (e.g. ``call_id``).

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> df = pd.DataFrame({"time": [0, 5, 0, 5], "mos": [4.4, 4.1, 4.3, 3.2],
    ...                    "call_id": ["c1", "c1", "c2", "c2"]})
    >>> [line.get_label() for line in mos_over_time(df, by="call_id").lines]
    ['c1', 'c2']
    """
    ax = _axes(ax)
    if by is None:
        ordered = data.sort_values(time, kind="stable")
        ax.plot(ordered[time], ordered[mos], marker=".", label=mos)
    else:
        for key, group in data.groupby(by, sort=True):
            ordered = group.sort_values(time, kind="stable")
            ax.plot(ordered[time], ordered[mos], marker=".", label=str(key))
        ax.legend(title=by, fontsize=8)
    ax.set_ylim(1.0, 5.0)  # ITU-T P.800 MOS scale
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("MOS")
    return ax


def pdd_histogram(
    pdd: pd.DataFrame | pd.Series | Sequence[float],
    ax: Axes | None = None,
    *,
    bins: int | Sequence[float] = 20,
    column: str = "pdd",
) -> Axes:
    """Histogram of post-dial delays in seconds (NaN = never rang, left out).

    ``pdd`` may be the :func:`simvoip.analysis.metrics.per_call` frame (its
    ``pdd`` column is used), a Series or a plain sequence.
    """
    values = pdd[column] if isinstance(pdd, pd.DataFrame) else pdd
    clean = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    ax = _axes(ax)
    ax.hist(clean, bins=bins, edgecolor="white")
    ax.set_xlabel("post-dial delay (s)")
    ax.set_ylabel("calls")
    return ax


def retransmissions_vs_loss(
    data: pd.DataFrame,
    ax: Axes | None = None,
    *,
    loss: str = "loss",
    retransmissions: str = "retransmissions",
    by: str | None = None,
    expected: Callable[[float], float] | None = None,
) -> Axes:
    """Mean retransmissions (± one standard deviation) per loss rate.

    ``data`` has one row per run or call with a ``loss`` probability and a
    ``retransmissions`` count; ``by`` draws one series per group (e.g.
    transport). ``expected(loss)`` overlays an analytic curve (dashed).

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> df = pd.DataFrame({"loss": [0.0, 0.0, 0.1, 0.1], "retransmissions": [0, 0, 1, 3]})
    >>> ax = retransmissions_vs_loss(df)
    >>> ax.lines[0].get_ydata().tolist()
    [0.0, 2.0]
    """
    ax = _axes(ax)
    groups = [(None, data)] if by is None else list(data.groupby(by, sort=True))
    for key, group in groups:
        stats = group.groupby(loss, sort=True)[retransmissions].agg(["mean", "std"])
        ax.errorbar(stats.index.to_numpy(dtype=float), stats["mean"].to_numpy(dtype=float),
                    yerr=stats["std"].fillna(0.0).to_numpy(dtype=float), marker="o",
                    capsize=3, label=retransmissions if key is None else str(key))
    if expected is not None:
        levels = sorted({float(v) for v in data[loss]})
        ax.plot(levels, [expected(p) for p in levels], ls="--", color="0.3", label="expected")
    if by is not None or expected is not None:
        ax.legend(fontsize=8)
    ax.set_xlabel("loss probability")
    ax.set_ylabel("retransmissions")
    return ax
