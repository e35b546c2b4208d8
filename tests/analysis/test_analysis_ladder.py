"""Ladder diagrams: exact text on hand-made traces, artist counts on the matplotlib form."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from analysis_traces import call_trace  # noqa: E402

from simvoip.analysis.ladder import ladder_events, ladder_plot, ladder_text  # noqa: E402


def row(t, event, node, peer=None, method=None, status=None, branch=None, cause=None,
        call_id="c1", data=None, kind="sip"):
    return {"time": t, "event": event, "node": node, "peer": peer, "kind": kind,
            "method": method, "status": status, "call_id": call_id, "branch": branch,
            "cause": cause, "data": data}


def timer_a_trace() -> pd.DataFrame:
    """UAC -> UAS INVITE lost once (Timer A), retransmitted, answered; then an OPTIONS
    of another call, and a garbled packet the UAS could not parse."""
    ok = b"SIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\n\r\n"
    rows = [
        row(0.0, "send", "uac", "uas", "INVITE", branch="z9hG4bK1", data=b"INVITE-1"),
        row(0.05, "drop", "uac", "uas", "INVITE", branch="z9hG4bK1", cause="loss",
            data=b"INVITE-1"),
        row(0.5, "timer", "uac", cause="A", branch="z9hG4bK1", call_id=None),
        row(0.5, "send", "uac", "uas", "INVITE", branch="z9hG4bK1", data=b"INVITE-1"),
        row(0.6, "recv", "uas", "uac", "INVITE", branch="z9hG4bK1", data=b"INVITE-1"),
        row(0.7, "send", "uas", "uac", "INVITE", 200, branch="z9hG4bK1", data=ok),
        row(0.8, "recv", "uac", "uas", "INVITE", 200, branch="z9hG4bK1", data=ok),
        row(0.8, "state", "uac", cause="Terminated", branch="z9hG4bK1", call_id=None),
        row(0.9, "send", "uac", "proxy", "OPTIONS", branch="z9hG4bK9", call_id="c2",
            data=b"OPTIONS-9"),
        row(1.0, "drop", "uas", "proxy", cause="parse-error", call_id=None, data=b"\x00junk"),
        row(2.0, "timer", "uas", cause="Timer.H", branch="z9hG4bK1", call_id=None),
    ]
    return pd.DataFrame(rows)


def test_text_ladder_is_exact():
    assert ladder_text(timer_a_trace()) == "\n".join([
        " time (s)  uac               uas               proxy",
        "    0.000  |-INVITE--------x |                 |  x loss",
        "    0.500  *[timer A]        |                 |",
        "    0.500  |-INVITE (rtx)--->|                 |",
        "    0.700  |<---------200 OK-|                 |",
        "    0.900  |-OPTIONS-------------------------->|",
        "    1.000  |                 | x-------------?-|  x parse-error",
        "    2.000  |                 *[timer H]        |",
    ])


def test_text_ladder_filters_by_call_and_window_and_shows_states():
    df = timer_a_trace()
    assert ladder_text(df, call_id="c1", start=0.4, end=1.5, states=True) == "\n".join([
        " time (s)  uac               uas",
        "    0.500  *[timer A]        |",
        "    0.500  |-INVITE (rtx)--->|",
        "    0.700  |<---------200 OK-|",
        "    0.800  *                 |  uac: Terminated",
    ])
    # The retransmission mark and the drop come from the whole trace, not the window.
    assert ladder_text(df, call_id=["c2"]) == "\n".join([
        " time (s)  uac          proxy",
        "    0.900  |-OPTIONS--->|",
    ])
    assert ladder_text(df, call_id="none") == ""


def test_text_ladder_node_order_and_rtp_kinds():
    df = call_trace("udp", rtp_packets=1)
    text = ladder_text(df, start=1.04, end=1.05, kinds=("sip", "rtp"),
                       nodes=["bob", "proxy", "alice"])
    assert text == "\n".join([
        " time (s)  bob         proxy       alice",
        "    1.044  |<------------------ACK-|",
        "    1.044  |<------------------RTP-|",
        "    1.049  |-RTP------------------>|",
    ])


def test_full_call_ladder_has_one_arrow_per_send_and_marks_proxy_rtx():
    df = call_trace("udp", lose=("INVITE@proxy->bob",))
    events = ladder_events(df)
    sip_sends = df[(df["event"] == "send") & (df["kind"] == "sip")]
    assert sum(e.what in ("message", "drop") for e in events) == len(sip_sends)
    assert [e.label for e in events if e.what == "drop"] == ["INVITE"]
    assert [(e.node, e.label) for e in events if "(rtx)" in e.label] == [("proxy", "INVITE (rtx)")]
    assert [e.label for e in events if e.what == "timer"] == ["timer A"]
    delivered = [e for e in events if e.what == "message"]
    assert all(e.arrival is not None and e.arrival == pytest.approx(e.time + 0.010)
               for e in delivered)


def test_plot_draws_lifelines_arrows_drops_and_timers():
    df = timer_a_trace()
    fig, ax = plt.subplots()
    assert ladder_plot(df, ax=ax) is ax
    gids = [line.get_gid() for line in ax.lines]
    assert gids.count("lifeline") == 3
    assert gids.count("drop") == 2 and gids.count("drop-mark") == 2
    assert gids.count("timer") == 2
    assert [p.get_gid() for p in ax.patches] == ["message"] * 3
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["INVITE x loss", "timer A", "INVITE (rtx)", "200 OK", "OPTIONS",
                     "? x parse-error", "timer H"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["uac", "uas", "proxy"]
    # The arrow slopes by the delay: INVITE (rtx) leaves at 0.5 and lands at 0.6.
    (x0, y0), (x1, y1) = ax.patches[0]._posA_posB  # type: ignore[attr-defined]
    assert (x0, y0, x1, y1) == (0.0, 0.5, 1.0, pytest.approx(0.6))
    low, high = ax.get_ylim()
    assert low > high  # time runs downwards
    plt.close(fig)


def test_plot_filters_like_text():
    fig, ax = plt.subplots()
    ladder_plot(timer_a_trace(), call_id="c2", ax=ax)
    assert [t.get_text() for t in ax.texts] == ["OPTIONS"]
    assert len(ax.patches) == 1
    plt.close(fig)


def test_plot_event_spacing_gives_each_event_a_row_labelled_with_its_time():
    fig, ax = plt.subplots()
    ladder_plot(timer_a_trace(), ax=ax, spacing="event")
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "0.000", "0.500", "0.500", "0.700", "0.900", "1.000", "2.000"]
    (x0, y0), (x1, y1) = ax.patches[0]._posA_posB  # type: ignore[attr-defined]
    assert (x0, y0, x1, y1) == (0.0, 2.0, 1.0, 2.6)  # third row, fixed slope
    with pytest.raises(ValueError):
        ladder_plot(timer_a_trace(), ax=ax, spacing="log")  # type: ignore[arg-type]
    plt.close(fig)
