"""Metrics DataFrames computed from traces, checked against hand-worked numbers."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from analysis_traces import HOP, call_trace

from simvoip.analysis.metrics import (
    drops_by_link,
    hop_outcomes,
    per_call,
    per_link,
    per_node,
    retransmission_flags,
)


def test_per_call_milestones_of_a_clean_call():
    calls = per_call(call_trace("udp"))
    assert list(calls.index) == ["a84b4c76e66710@alice.a.example"]
    call = calls.iloc[0]
    # alice: INVITE at 0; 180 reaches her after 3 hops + 2 proxy turns (0.044);
    # 200 leaves bob 1 s after his 180 and reaches her at 1.043; BYE at 2.144.
    assert call["caller"] == "alice"
    assert call["invite_time"] == 0.0
    assert call["ringing_time"] == pytest.approx(0.044)
    assert call["answer_time"] == pytest.approx(1.043)
    assert call["final_status"] == 200
    assert call["bye_time"] == pytest.approx(2.144)
    assert call["end_time"] == pytest.approx(2.165)
    assert call["pdd"] == pytest.approx(0.044)
    assert call["setup_time"] == pytest.approx(1.043)
    assert call["duration"] == pytest.approx(2.144 - 1.043)
    assert call["retransmissions"] == 0
    assert call["outcome"] == "answered"
    assert math.isnan(call["mos"])
    assert per_call(call_trace("udp"), mos={calls.index[0]: 4.2}).iloc[0]["mos"] == 4.2


def test_per_call_counts_the_proxy_retransmission_and_its_delay():
    call = per_call(call_trace("udp", lose=("INVITE@proxy->bob",))).iloc[0]
    assert call["retransmissions"] == 1
    assert call["pdd"] == pytest.approx(0.044 + 0.5)  # RFC 3261 Timer A = T1 = 0.5 s


def _outcome_trace(final: int | None, timer_b: bool = False) -> pd.DataFrame:
    rows = [{"time": 0.0, "event": "send", "node": "a", "peer": "b", "method": "INVITE",
             "status": None, "call_id": "x", "branch": "z9hG4bK1"}]
    if final is not None:
        rows.append({"time": 0.3, "event": "recv", "node": "a", "peer": "b",
                     "method": "INVITE", "status": final, "call_id": "x", "branch": "z9hG4bK1"})
    if timer_b:
        rows.append({"time": 32.0, "event": "timer", "node": "a", "cause": "B",
                     "call_id": "x", "branch": "z9hG4bK1"})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("final", "timer_b", "outcome"), [
    (486, False, "busy"), (600, False, "busy"), (487, False, "cancelled"),
    (404, False, "failed"), (503, False, "failed"), (408, False, "timeout"),
    (None, True, "timeout"), (None, False, "incomplete"),
])
def test_per_call_outcomes(final, timer_b, outcome):
    call = per_call(_outcome_trace(final, timer_b)).loc["x"]
    assert call["outcome"] == outcome
    assert math.isnan(call["setup_time"]) and math.isnan(call["ringing_time"])
    if final is not None:
        assert call["pdd"] == pytest.approx(0.3)  # a final response ends post-dial delay too
    else:
        assert math.isnan(call["pdd"]) and call["final_status"] is pd.NA


def test_per_link_matches_an_independent_count():
    df = call_trace("udp", lose=("INVITE@proxy->bob", "200@bob->alice"))
    links = per_link(df, duration=4.0, bandwidth={("alice", "bob"): 64000.0})
    sends = df[df["event"] == "send"]
    expected_sent = sends.groupby(["node", "peer"]).size()
    assert links["sent"].to_dict() == expected_sent.to_dict()
    assert links["bytes"].to_dict() == sends.groupby(["node", "peer"])["size"].sum().to_dict()
    assert links.loc[("proxy", "bob"), "drop_loss"] == 1
    assert links.loc[("bob", "alice"), "drop_loss"] == 1
    assert int(links["dropped"].sum()) == 2
    assert (links["delivered"] + links["dropped"] == links["sent"]).all()
    assert links["delay_mean"].dropna().tolist() == pytest.approx([HOP] * len(links))
    alice_bob = links.loc[("alice", "bob")]
    assert alice_bob["utilisation"] == pytest.approx(alice_bob["bytes"] * 8 / (4.0 * 64000))
    assert math.isnan(links.loc[("proxy", "bob"), "utilisation"])


def test_per_node_handled_messages_and_parse_errors():
    df = call_trace("udp")
    junk = pd.DataFrame([{"time": 3.0, "event": "drop", "node": "proxy", "peer": "alice",
                          "kind": "sip", "cause": "parse-error", "data": b"\x00"}])
    nodes = per_node(pd.concat([df, junk], ignore_index=True))
    alice = nodes.loc["alice"]
    assert (alice["recv_1xx"], alice["recv_2xx"]) == (2, 2)  # 100, 180 / 200 INVITE, 200 BYE
    assert nodes.loc["bob", "recv_INVITE"] == 1 and nodes.loc["bob", "recv_ACK"] == 1
    assert nodes.loc["bob", "recv_BYE"] == 1
    assert nodes.loc["proxy", "parse_errors"] == 1 and nodes.loc["alice", "parse_errors"] == 0
    recv = df[df["event"] == "recv"].groupby("node").size()
    assert nodes["received"].to_dict() == recv.to_dict()


def test_retransmission_flags_ignore_link_duplicates_and_responses_of_other_codes():
    df = pd.DataFrame([
        {"time": 0.0, "event": "send", "node": "a", "peer": "b", "method": "INVITE",
         "branch": "z1", "status": None},
        {"time": 0.0, "event": "send", "node": "a", "peer": "b", "method": "INVITE",
         "branch": "z1", "status": None, "cause": "duplicate"},
        {"time": 0.1, "event": "send", "node": "b", "peer": "a", "method": "INVITE",
         "branch": "z1", "status": 180},
        {"time": 0.2, "event": "send", "node": "b", "peer": "a", "method": "INVITE",
         "branch": "z1", "status": 200},
        {"time": 0.7, "event": "send", "node": "b", "peer": "a", "method": "INVITE",
         "branch": "z1", "status": 200},
    ])
    assert retransmission_flags(df).tolist() == [False, False, False, False, True]


def test_hop_outcomes_with_the_simulator_trace_packet_ids():
    from simvoip.sim.trace import Trace

    t = Trace()
    t.record(0.0, "send", "a", "b", method="INVITE", data=b"same", packet=1)
    t.record(0.0, "send", "a", "b", method="INVITE", data=b"same", packet=2,
             cause="duplicate")
    t.record(0.01, "drop", "b", "a", method="INVITE", data=b"same", packet=1, cause="queue")
    t.record(0.02, "recv", "b", "a", method="INVITE", data=b"same", packet=2)
    df = t.to_dataframe()
    fates = hop_outcomes(df)
    assert fates["drop_cause"].tolist() == ["queue", None]
    assert fates["recv_time"].tolist()[1] == 0.02 and math.isnan(fates["recv_time"].iloc[0])
    links = per_link(df)
    assert links.loc[("a", "b"), ["sent", "delivered", "drop_queue"]].tolist() == [2, 1, 1]


def test_drops_by_link_counts_each_cause_on_its_link():
    from simvoip.sim.trace import Trace

    t = Trace()
    for i, (cause, link) in enumerate([("loss", "r->b"), ("queue", "a->r"), ("loss", "r->b"),
                                       ("parse-error", None)]):
        t.record(float(i), "send", "a", "b", data=b"%d" % i, packet=i)
        t.record(i + 0.5, "drop", "a", "b", data=b"%d" % i, packet=i, cause=cause, link=link)
    table = drops_by_link(t.to_dataframe())
    assert table.to_dict("index") == {
        "(none)": {"loss": 0, "parse-error": 1, "queue": 0},
        "a->r": {"loss": 0, "parse-error": 0, "queue": 1},
        "r->b": {"loss": 2, "parse-error": 0, "queue": 0},
    }
    assert drops_by_link(call_trace("udp")).empty
