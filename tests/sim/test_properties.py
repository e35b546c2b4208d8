"""Property tests: under any link impairment, packets are conserved and nothing gets stuck."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from simvoip import Simulation
from simvoip.sim.driver import RequestOutcome

from .helpers import options, pair

links = st.fixed_dictionaries({
    "delay": st.floats(0.0, 0.4),
    "jitter": st.floats(0.0, 0.05),
    "jitter_dist": st.sampled_from(["uniform", "normal", "exponential", "pareto"]),
    "loss": st.floats(0.0, 1.0),
    "duplicate": st.floats(0.0, 0.3),
    "reorder": st.floats(0.0, 0.3),
    "bandwidth": st.sampled_from([None, 64_000.0, 1e6]),
    "queue": st.sampled_from([None, 1, 4]),
})
requests = st.lists(st.tuples(st.floats(0.0, 5.0), st.sampled_from(["UDP", "TCP"]),
                              st.sampled_from(["OPTIONS", "INVITE", "BYE"])),
                    min_size=1, max_size=8)


@given(link=links, sends=requests, seed=st.integers(0, 2**32))
def test_every_packet_ends_and_every_transaction_terminates(
    link: dict, sends: list[tuple[float, str, str]], seed: int,
) -> None:
    sim = Simulation(pair(**link), seed=seed)
    sim.serve_options("bob")
    outcomes = [options(sim, n, at=at, transport=transport, method=method)
                for n, (at, transport, method) in enumerate(sends, start=1)]
    sim.run(until=300.0)
    df = sim.trace.to_dataframe()
    sent = df[df["event"] == "send"]
    ended = df[df["event"].isin(["recv", "drop"])]
    # Conservation: each copy on the wire ends exactly once; nothing is left in flight.
    assert sim.in_flight() == []
    assert sorted(sent["packet"]) == sorted(ended["packet"])
    # No message is invented: what arrives is byte for byte what was sent.
    by_packet = dict(zip(sent["packet"], sent["data"], strict=True))
    assert all(by_packet[p] == d for p, d in zip(ended["packet"], ended["data"], strict=True))
    # Every transaction reached an end and was destroyed, except an INVITE client
    # transaction in Proceeding: RFC 3261 17.1.1.2 gives it no timer (Timer B only runs
    # in Calling), so when the final response is lost for good (a failed TCP connection)
    # only the TU can end it, with CANCEL or its own timeout.
    def proceeding(o: RequestOutcome) -> bool:
        return o.request.method == "INVITE" and o.final is None and bool(o.responses)

    assert all(o.terminated_at is not None for o in outcomes if not proceeding(o))
    waiting = {o.request.branch for o in outcomes if proceeding(o)}
    for node in sim.nodes.values():
        assert node.server_transactions == {}
        left = list(node.client_transactions.values())
        assert all(tx.state.value == "Proceeding" and tx.request.branch in waiting
                   for tx in left)
