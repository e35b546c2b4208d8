"""Plots draw what they say: counted artists and labels (Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from simvoip.analysis.plots import (  # noqa: E402
    link_label,
    mos_over_time,
    pdd_histogram,
    retransmissions_vs_loss,
    topology_plot,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def trapezoid_graph() -> nx.Graph:
    g = nx.Graph()
    g.add_node("alice", type="endpoint")
    g.add_node("proxy.a", type="proxy")
    g.add_node("proxy.b", type="proxy")
    g.add_node("bob", type="endpoint")
    g.add_edge("alice", "proxy.a", delay=0.010, loss=0.0)
    g.add_edge("proxy.a", "proxy.b", delay=0.040, jitter=0.005, loss=0.02)
    g.add_edge("proxy.b", "bob", delay=0.010, bandwidth=64000)
    return g


def test_topology_plot_labels_every_node_and_link():
    ax = topology_plot(trapezoid_graph())
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == sorted(["alice", "proxy.a", "proxy.b", "bob", "10 ms",
                            "40 ms ±5 ms\n2% loss", "10 ms\n64 kbit/s"])
    # nodes are one PathCollection coloured by type, edges one LineCollection
    nodes = ax.collections[0]
    assert len(nodes.get_offsets()) == 4
    colours = {tuple(c) for c in nodes.get_facecolors()}
    assert len(colours) == 2


def test_topology_plot_accepts_an_object_with_graph_and_is_deterministic():
    class Holder:
        graph = trapezoid_graph()

    first = topology_plot(Holder()).collections[0].get_offsets().tolist()
    second = topology_plot(Holder()).collections[0].get_offsets().tolist()
    assert first == second


def test_topology_plot_with_the_simulator_topology():
    from simvoip.sim.topology import Topology

    topo = Topology()
    topo.add_endpoint("alice", domain="a.example")
    topo.add_proxy("proxy.a", domain="a.example")
    topo.add_link("alice", "proxy.a", delay=0.02, loss=0.05)
    ax = topology_plot(topo)
    assert sorted(t.get_text() for t in ax.texts) == ["20 ms\n5% loss", "alice", "proxy.a"]


def test_link_label_units():
    assert link_label({"delay": 0.3, "bandwidth": 1.5e6, "queue": 50}) == \
        "300 ms\n1.5 Mbit/s\nqueue 50"
    assert link_label({}) == ""


def test_mos_over_time_one_line_per_call_sorted_by_time():
    df = pd.DataFrame({"time": [5, 0, 0, 5, 10], "mos": [4.1, 4.4, 4.3, 3.2, 2.9],
                       "call_id": ["c1", "c1", "c2", "c2", "c2"]})
    ax = mos_over_time(df, by="call_id")
    assert [line.get_label() for line in ax.lines] == ["c1", "c2"]
    assert ax.lines[0].get_xdata().tolist() == [0, 5]
    assert ax.lines[0].get_ydata().tolist() == [4.4, 4.1]
    assert len(ax.lines[1].get_xdata()) == 3
    assert ax.get_ylim() == (1.0, 5.0)
    assert len(mos_over_time(df).lines) == 1


def test_pdd_histogram_counts_calls_and_skips_unrung():
    calls = pd.DataFrame({"pdd": [0.1, 0.15, 0.2, 0.9, float("nan")]})
    ax = pdd_histogram(calls, bins=[0.0, 0.5, 1.0])
    assert [p.get_height() for p in ax.patches] == [3, 1]
    assert ax.get_xlabel() == "post-dial delay (s)"


def test_retransmissions_vs_loss_means_errorbars_groups_and_expected():
    df = pd.DataFrame({"loss": [0.0, 0.0, 0.2, 0.2, 0.0, 0.2],
                       "retransmissions": [0, 0, 2, 4, 1, 1],
                       "transport": ["udp"] * 4 + ["tcp"] * 2})
    ax = retransmissions_vs_loss(df, by="transport", expected=lambda p: 10 * p)
    # one errorbar container per transport, means at each loss level
    means = {c.get_label(): c.lines[0].get_ydata().tolist() for c in ax.containers}
    assert means == {"tcp": [1.0, 1.0], "udp": [0.0, 3.0]}
    spread = [seg.tolist() for seg in ax.containers[1].lines[2][0].get_segments()]
    assert spread[1] == [[0.2, pytest.approx(3.0 - 2 ** 0.5)], [0.2, pytest.approx(3.0 + 2 ** 0.5)]]
    assert ax.lines[-1].get_label() == "expected"
    assert ax.lines[-1].get_ydata().tolist() == [0.0, 2.0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["expected", "tcp", "udp"]
