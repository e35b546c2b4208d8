"""Calls placed with the public scenario API: ``sim.call`` over simulated links.

These tests check, in the simulator (cores + node adapter + links + media),
the outcomes a user relies on: outcome, post-dial delay and set-up time to the
millisecond of the link delays, the headers of RFC 3665 3.2 on the wire, busy
and no-answer status codes, forking, calls under 20 % loss, MOS, and that
nothing is left behind in the cores afterwards.
"""

from __future__ import annotations

import pytest

from simvoip import Simulation, Topology, load_topology
from simvoip.sim.schema import TopologyError
from simvoip.sip import parse_message


def two_phones(delay: float = 0.02, loss: float = 0.0, **bob: object) -> Topology:
    topo = Topology(name="pair")
    topo.add_endpoint("alice", domain="a.example")
    topo.add_endpoint("bob", domain="b.example", params=dict(bob) if bob else None)
    topo.add_link("alice", "bob", delay=delay, loss=loss)
    return topo


def trapezoid(loss: float = 0.0, **bob: object) -> Topology:
    topo = Topology(name="trapezoid")
    topo.add_endpoint("alice", domain="a.example")
    topo.add_proxy("proxy.a", domain="a.example")
    topo.add_proxy("proxy.b", domain="b.example")
    topo.add_endpoint("bob", domain="b.example", params=dict(bob) if bob else None)
    topo.add_link("alice", "proxy.a", delay=0.010, loss=loss)
    topo.add_link("proxy.a", "proxy.b", delay=0.040, loss=loss)
    topo.add_link("proxy.b", "bob", delay=0.010, loss=loss)
    return topo


def settled(sim: Simulation) -> None:
    """No transaction, dialog or proxy context is left in any core."""
    for name, ua in sim.user_agents.items():
        assert (name, ua.transaction_count, ua.dialog_count) == (name, 0, 0)
    for name, proxy in sim.proxies.items():
        assert (name, proxy.transaction_count, proxy.context_count) == (name, 0, 0)


def received(sim: Simulation, node: str, method: str) -> list:
    df = sim.trace.to_dataframe()
    rows = df[(df.event == "recv") & (df.node == node) & (df.kind == "sip")
              & (df.method == method) & df.status.isna()]
    return [parse_message(bytes(d)) for d in rows.data]


def test_basic_call_timings_follow_the_link_delay() -> None:
    # INVITE takes 20 ms, the UAS rings at once (180 back at 40 ms) and answers
    # after its 1 s answer delay: 200 OK arrives at 20 + 1000 + 20 ms.
    sim = Simulation(two_phones(delay=0.02), seed=1)
    call = sim.call("alice", "bob", at=0.0, duration=5.0)
    sim.run(until=60.0)
    assert call.outcome == "answered" and call.final_status == 200
    assert call.pdd == pytest.approx(0.040, abs=1e-9)
    assert call.setup_time == pytest.approx(1.040, abs=1e-9)
    assert call.retransmissions == 0
    methods = [(m.method if hasattr(m, "method") else m.status_code)
               for _, way, m in call.messages if way == "sent"]
    assert methods == ["INVITE", "ACK", "BYE"]
    assert call.end_reason == "local-bye"
    settled(sim)


def test_rfc3665_3_2_headers_on_the_wire_through_two_proxies() -> None:
    sim = Simulation(trapezoid(), seed=2, media=False)
    call = sim.call("alice", "bob", at=1.0, duration=2.0)
    sim.run(until=80.0)
    assert call.outcome == "answered"
    (invite,) = received(sim, "bob", "INVITE")
    # Each proxy pushed a Via (3 in all) and a Record-Route with lr (16.6 items 4, 8).
    assert [v.host for v in invite.vias] == ["proxy.b", "proxy.a", "alice"]
    assert all(v.branch.startswith("z9hG4bK") for v in invite.vias)
    assert invite.headers.get_all("Record-Route") == ["<sip:proxy.b;lr>", "<sip:proxy.a;lr>"]
    # 16.6 item 3: Max-Forwards decremented by each proxy.
    assert invite.headers.get("Max-Forwards") == "68"
    assert invite.uri == "sip:bob@bob"  # retargeted to the registered contact (16.5)
    (ack,) = received(sim, "bob", "ACK")
    (bye,) = received(sim, "bob", "BYE")
    # The ACK and BYE follow the route set: through both proxies (loose routing).
    assert len(ack.vias) == 3 and len(bye.vias) == 3
    assert bye.cseq.number == invite.cseq.number + 1 and bye.to.tag and bye.from_.tag
    assert bye.from_.tag == invite.from_.tag
    settled(sim)


@pytest.mark.parametrize(("params", "outcome", "status"), [
    ({"reject_code": 486}, "busy", 486),
    ({"reject_code": 603}, "declined", 603),
])
def test_rejected_calls_end_with_the_callee_status(params: dict, outcome: str,
                                                   status: int) -> None:
    sim = Simulation(trapezoid(**params), seed=3, media=False)
    call = sim.call("alice", "bob", at=1.0, duration=10.0)
    sim.run(until=80.0)
    assert (call.outcome, call.final_status) == (outcome, status)
    assert call.mos is None
    # RFC 3261 17.1.1.3: each hop's client transaction ACKs the non-2xx itself.
    acks = sim.trace.where(event="send", method="ACK", status=None)
    assert sorted(r.node for r in acks) == ["alice", "proxy.a", "proxy.b"]
    settled(sim)


def test_no_answer_is_cancelled_by_the_caller_after_its_timeout() -> None:
    topo = trapezoid(answer_delay=None)
    topo.graph.nodes["alice"]["params"] = {"invite_timeout": 20.0}
    sim = Simulation(topo, seed=4, media=False)
    call = sim.call("alice", "bob", at=1.0, duration=10.0)
    sim.run(until=120.0)
    # RFC 3665 3.8: the caller CANCELs, the INVITE ends with 487.
    assert (call.outcome, call.final_status) == ("cancelled", 487)
    cancels = sim.trace.where(event="send", method="CANCEL", status=None)
    assert [(r.node, r.peer) for r in cancels] == [
        ("alice", "proxy.a"), ("proxy.a", "proxy.b"), ("proxy.b", "bob")]
    # Each hop answers the CANCEL itself with 200 (RFC 3261 9.2, 16.10).
    ok = sim.trace.where(event="send", method="CANCEL", status=200)
    assert [r.node for r in ok] == ["proxy.a", "proxy.b", "bob"]
    settled(sim)


def test_forking_keeps_one_dialog_and_measures_its_media() -> None:
    sim = Simulation(load_topology("topologies/forking.yaml"), seed=3)
    sim.run(until=80.0)
    (call,) = sim.calls
    assert call.outcome == "answered" and call.callee == "bob.desk"
    cancels = {r.peer for r in sim.trace.where(event="send", node="proxy.b", method="CANCEL")}
    assert cancels == {"bob.mobile", "bob.soft"}
    assert set(call.quality) == {"alice", "bob.desk"}
    for report in call.quality.values():
        assert report.packets_sent == report.packets_received + report.packets_lost
        assert report.packets_lost == 0
    assert call.mos > 4.3
    settled(sim)


@pytest.mark.parametrize("seed", range(8))
def test_calls_under_20_percent_loss_complete_or_fail_as_the_rfc_predicts(seed: int) -> None:
    sim = Simulation(trapezoid(loss=0.2), seed=seed, media=False)
    calls = [sim.call("alice", "bob", at=1.0 + 10 * i, duration=5.0) for i in range(4)]
    sim.run(until=400.0)
    for call in calls:
        # Answered, or (only if every retransmission was lost) 408 from Timer B.
        assert (call.outcome, call.final_status) in {("answered", 200), ("timeout", 408)}
        if call.outcome == "timeout":
            assert call.record.messages[0][2].method == "INVITE"
    assert sum(c.outcome == "answered" for c in calls) >= 3
    assert sum(c.retransmissions for c in calls) > 0
    settled(sim)


def test_mos_falls_with_loss_on_the_media_path() -> None:
    mos = []
    for loss in (0.0, 0.05, 0.15):
        sim = Simulation(two_phones(delay=0.03, loss=loss), seed=11)
        call = sim.call("alice", "bob", at=0.0, duration=20.0)
        sim.run(until=80.0)
        assert call.outcome == "answered"
        report = call.quality["bob"]
        # 20 s of G.711 at 20 ms: 1000 packets (the BYE ends the stream).
        assert 995 <= report.packets_sent <= 1005
        mos.append(call.mos)
    assert mos[0] > 4.3 and mos[0] > mos[1] > mos[2]


def test_same_seed_same_trace_different_seed_different_trace() -> None:
    def run(seed: int) -> list:
        sim = Simulation(trapezoid(loss=0.1), seed=seed)
        sim.call("alice", "bob", at=1.0, duration=3.0)
        sim.run(until=60.0)
        return sim.trace.records

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_every_packet_is_received_dropped_or_in_flight() -> None:
    sim = Simulation(trapezoid(loss=0.1), seed=8)
    sim.call("alice", "bob", at=1.0, duration=3.0)
    sim.run(until=15.0)
    df = sim.trace.to_dataframe()
    sent = set(df[df.event == "send"].packet)
    ended = df[df.event.isin(["recv", "drop"])].packet
    assert ended.is_unique
    assert sent == set(ended) | set(sim.in_flight())
    assert {"rtp", "sip"} <= set(df[df.event == "send"].kind)


@pytest.mark.parametrize(("args", "field"), [
    (("carol", "bob"), "from"),
    (("alice", "nobody"), "to"),
    (("proxy.a", "bob"), "from"),
])
def test_bad_call_arguments_name_the_field(args: tuple[str, str], field: str) -> None:
    sim = Simulation(trapezoid(), seed=1)
    with pytest.raises(TopologyError, match=f"sim.call: {field}:"):
        sim.call(*args)


def test_negative_call_time_is_rejected() -> None:
    sim = Simulation(trapezoid(), seed=1)
    with pytest.raises(TopologyError, match="at: must be a time >= 0"):
        sim.call("alice", "bob", at=-1.0)


def test_bad_endpoint_params_name_the_field() -> None:
    topo = two_phones(answer_delay=-2)
    with pytest.raises(TopologyError, match=r"nodes\[bob\]\.params\.answer_delay: must be >= 0"):
        Simulation(topo, seed=1).call("alice", "bob")
    topo = two_phones(ansewr_delay=1)
    with pytest.raises(TopologyError, match=r"nodes\[bob\]\.params\.ansewr_delay: unknown"):
        Simulation(topo, seed=1).call("alice", "bob")


def vad_pair(buffer: dict) -> Topology:
    topo = Topology(name="vad")
    topo.add_endpoint("alice", params={"vad": True})
    topo.add_endpoint("bob", params={"vad": True, "jitter_buffer": buffer})
    topo.add_link("alice", "bob", delay=0.05, jitter=0.02, jitter_dist="exponential")
    return topo


def test_vad_sends_talkspurts_with_comfort_noise_and_no_false_loss() -> None:
    from simvoip.media.rtp import decode_rtp

    sim = Simulation(vad_pair({"type": "fixed", "delay": 0.06}), seed=3)
    call = sim.call("alice", "bob", duration=30.0)
    sim.run(until=80.0)
    df = sim.trace.to_dataframe()
    sent = df[(df.event == "send") & (df.kind == "rtp") & (df.node == "alice")]
    types = [decode_rtp(bytes(d)).payload_type for d in sent.data]
    audio, noise = types.count(0), types.count(13)  # PCMU, RFC 3389 CN
    # ITU-T P.59: ~39 % of the time talking (mean talkspurt 1.0 s, pause 1.6 s):
    # far fewer than 1500 audio packets, one comfort-noise packet per pause
    # (about 30 / 2.6 = 11 pauses).
    assert 400 < audio < 900 and 5 < noise < 20 and audio + noise == len(types)
    report = call.quality["bob"]
    assert report.packets_sent == audio and report.packets_lost == 0
    assert report.ppl < 5 and call.mos > 4.0


def test_adaptive_buffer_discards_less_than_a_small_fixed_one_at_more_delay() -> None:
    reports = {}
    for name, buffer in (("fixed", {"type": "fixed", "delay": 0.02}),
                         ("adaptive", {"type": "adaptive"})):
        sim = Simulation(vad_pair(buffer), seed=3)
        call = sim.call("alice", "bob", duration=30.0)
        sim.run(until=80.0)
        reports[name] = call.quality["bob"]
    assert reports["adaptive"].packets_discarded < reports["fixed"].packets_discarded
    assert reports["adaptive"].buffer_delay_ms > reports["fixed"].buffer_delay_ms


@pytest.mark.parametrize(("params", "message"), [
    ({"vad": "yes"}, r"params\.vad: must be true or false"),
    ({"jitter_buffer": {"type": "magic"}}, r"params\.jitter_buffer\.type: must be"),
    ({"jitter_buffer": {"type": "fixed", "delay": -1}}, r"params\.jitter_buffer: a fixed"),
])
def test_bad_media_params_name_the_field(params: dict, message: str) -> None:
    topo = two_phones(**params)
    with pytest.raises(TopologyError, match=message):
        Simulation(topo, seed=1).call("alice", "bob")


def test_link_and_node_metrics_show_queues_and_overload() -> None:
    sim = Simulation(load_topology("topologies/overload.yaml"), seed=5)
    sim.run(until=40.0)
    nodes = sim.node_metrics().set_index("node")
    proxy = nodes.loc["proxy"]
    # 50 messages/s with at most 20 waiting: the queue fills and the rest is dropped.
    assert proxy.max_queue == 20 and proxy.overload_drops > 0
    df = sim.trace.to_dataframe()
    assert proxy.overload_drops == ((df.event == "drop") & (df.cause == "overload")).sum()
    assert proxy.sip_received == ((df.event == "recv") & (df.node == "proxy")).sum()
    links = sim.link_metrics()
    assert set(links["from"]) == {"alice", "carol", "proxy", "bob"}
    assert (links.sent == links.delivered + links.lost).all()


def test_link_queue_and_utilisation_with_bandwidth() -> None:
    topo = two_phones(delay=0.01)
    topo.graph.edges["alice", "bob"]["bandwidth"] = 64_000  # G.711 + headers is 80 kbit/s
    sim = Simulation(topo, seed=1)
    sim.call("alice", "bob", duration=10.0)
    sim.run(until=12.0)
    row = sim.link_metrics().set_index("link").loc["alice->bob"]
    assert row.queued > 400 and row.max_backlog > 10
    # Busy for the ~10 s of media out of 12 s, at most all of it.
    assert 0.75 < row.utilisation <= 1.0
