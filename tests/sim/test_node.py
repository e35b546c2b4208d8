"""Node adapter: malformed bytes, overload, unresolved destinations, cores and timers."""

from __future__ import annotations

import pytest

from simvoip import Simulation, Topology
from simvoip.sim.driver import make_request
from simvoip.sim.node import CoreBase
from simvoip.sip.effects import Address, CancelTimer, Send, StartTimer

from .helpers import options, pair, times

GARBAGE = [
    b"",
    b"\xff\xfe\x00 not sip at all",
    b"OPTIONS sip:bob@bob SIP/2.0\r\nVia SIP/2.0/UDP alice\r\n\r\n",
    b"SIP/2.0 2000 OK\r\n\r\n",
    b"INVITE\r\n\r\n",
]


def test_malformed_bytes_are_traced_as_parse_errors_and_the_run_goes_on() -> None:
    sim = Simulation(pair(), seed=2)
    sim.serve_options("bob")
    for i, data in enumerate(GARBAGE):
        sim.inject("bob", data, at=0.001 * i)
    outcome = options(sim, at=0.01)
    sim.run(until=50.0)
    df = sim.trace.to_dataframe()
    drops = df[df["event"] == "drop"]
    assert list(drops["cause"]) == ["parse-error"] * len(GARBAGE)
    assert list(drops["node"]) == ["bob"] * len(GARBAGE)
    assert [bytes(d) for d in drops["data"]] == GARBAGE
    assert sim.nodes["bob"].parse_errors == len(GARBAGE)
    assert outcome.outcome == "answered"


def test_parsable_request_without_via_is_counted_not_fatal() -> None:
    sim = Simulation(pair(), seed=2)
    sim.serve_options("bob")
    sim.inject("bob", b"OPTIONS sip:bob@bob SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n")
    sim.run(until=1.0)
    assert sim.nodes["bob"].parse_errors == 1
    assert sim.nodes["bob"].server_transactions == {}


def test_overloaded_node_queues_then_drops() -> None:
    topo = Topology()
    topo.add_endpoint("alice", domain="a.example")
    topo.add_proxy("proxy", domain="a.example", capacity=10.0, queue=4, processing_delay=0.005)
    topo.add_link("alice", "proxy", delay=0.001)
    sim = Simulation(topo, seed=2)
    sim.serve_options("proxy")
    outcomes = [options(sim, n, dst="proxy") for n in range(1, 21)]
    sim.run(until=0.2)
    df = sim.trace.to_dataframe()
    # 20 requests at once: 1 in service + 4 queued are admitted, 15 overflow.
    assert (df["cause"] == "overload").sum() == 15
    sim.run(until=100.0)
    answered = [o for o in outcomes if o.outcome == "answered"]
    assert len(answered) == 20  # the retransmissions (Timer E) get through later
    # Service is 0.1 s per message plus 5 ms processing: the first answers are spaced 0.1 s.
    first = sorted(o.final_at for o in answered if o.final_at is not None)[:5]
    assert first == pytest.approx([0.107, 0.207, 0.307, 0.407, 0.507])


def test_unresolved_destination_is_a_drop() -> None:
    sim = Simulation(pair(), seed=2)
    request = make_request("OPTIONS", "alice", "sip:x@nowhere.example", call_id="c",
                           branch="z9hG4bKu")
    outcome = sim.send_request("alice", request)
    sim.run(until=40.0)
    df = sim.trace.to_dataframe()
    assert times(df, event="drop", cause="unresolved")[:2] == [0.0, 0.5]
    assert outcome.outcome == "timeout"


class _TimerCore(CoreBase):
    """Arms three timers, cancels one, re-arms another."""

    def __init__(self) -> None:
        self.fired: list[tuple[str, object, float]] = []

    def start(self) -> list[object]:
        return [StartTimer("X", 1.0, "k"), StartTimer("Y", 2.0, "k"), StartTimer("Z", 3.0, "k"),
                CancelTimer("Y", "k"), StartTimer("Z", 4.0, "k")]

    def handle_timer(self, name: str, key: object, now: float) -> list[object]:
        self.fired.append((name, key, now))
        if name == "X":
            request = make_request("OPTIONS", "alice", "sip:bob@bob", call_id="t",
                                   branch="z9hG4bKt")
            return [Send(request, Address("bob"))]
        return []


def test_core_timers_arm_cancel_rearm_and_fire() -> None:
    sim = Simulation(pair(), seed=2)
    sim.serve_options("bob")
    core = _TimerCore()
    sim.add_core("alice", core)
    sim.at(0.0, lambda: sim.nodes["alice"].run_core(core, core.start(), 0.0))
    sim.run(until=10.0)
    assert core.fired == [("X", "k", 1.0), ("Z", "k", 4.0)]
    df = sim.trace.to_dataframe()
    # The Send from the timer went through a client transaction and was answered.
    assert times(df, event="recv", node="alice") == pytest.approx([1.02])


def test_core_returning_a_non_effect_is_a_bug() -> None:
    sim = Simulation(pair(), seed=2)
    with pytest.raises(TypeError, match="not an effect"):
        sim.nodes["alice"].run_core(CoreBase(), ["oops"], 0.0)
