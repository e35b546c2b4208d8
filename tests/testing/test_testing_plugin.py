"""The pytest plugin: fixtures, the --simvoip-seed option and the markers, via pytester."""

from __future__ import annotations

import pytest

# Imported here, before pytester snapshots sys.modules: the in-process runs below must not
# import numpy (via the simulator) a second time.
import simvoip.sim.simulation  # noqa: F401

pytest_plugins = ["pytester"]

_TESTS = '''
import pytest


def test_seed_default(simvoip_seed):
    assert simvoip_seed == SEED


def test_topology(topology):
    assert topology.nodes("endpoint") == ["alice", "bob"]
    assert topology.shortest_path("alice", "bob") == ["alice", "bob"]


def test_sim_answers_options(sim):
    from simvoip.sim.driver import make_request

    assert sim.seed == SEED
    sim.serve_options("bob")
    req = make_request("OPTIONS", "alice", "sip:bob@bob", call_id="c1", branch="z9hG4bK1")
    outcome = sim.send_request("alice", req, at=0.0)
    sim.run(until=40.0)
    assert outcome.final.status_code == 200


def test_pair_calls(pair):
    call_id = pair.call()
    pair.run(5.0)
    assert pair.alice.call(call_id).state == "confirmed"
    assert pair.bob.call(call_id).state == "confirmed"
    pair.hang_up(call_id)
    pair.run(40.0)
    assert pair.bob.call(call_id).state == "ended"
    assert pair.scenario.seed == SEED


@pytest.mark.simvoip_slow
def test_marked_slow():
    pass


@pytest.mark.simvoip_seeds(1, 2, 3)
def test_per_seed(simvoip_seed):
    assert simvoip_seed in (1, 2, 3)
'''


def _write(pytester: pytest.Pytester, seed: int) -> None:
    pytester.makepyfile(test_fixtures=_TESTS.replace("SEED", str(seed)))


def test_fixtures_with_the_default_seed(pytester: pytest.Pytester) -> None:
    _write(pytester, 0)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=8)


def test_seed_option(pytester: pytest.Pytester) -> None:
    _write(pytester, 42)
    result = pytester.runpytest_inprocess("--simvoip-seed", "42", "-k", "not per_seed")
    result.assert_outcomes(passed=5)


def test_slow_marker_is_registered_and_selectable(pytester: pytest.Pytester) -> None:
    _write(pytester, 0)
    result = pytester.runpytest_inprocess("--strict-markers", "-m", "not simvoip_slow")
    result.assert_outcomes(passed=7, deselected=1)
    markers = pytester.runpytest_inprocess("--markers")
    markers.stdout.fnmatch_lines(["*simvoip_slow*", "*simvoip_seeds*"])


def test_seed_option_is_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--help")
    result.stdout.fnmatch_lines(["*--simvoip-seed*"])
