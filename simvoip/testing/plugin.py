"""pytest plugin of simvoip (entry point ``simvoip`` in ``pytest11``).

Fixtures
--------
``simvoip_seed``
    The master seed: ``--simvoip-seed N`` (default 0). Every fixture below uses it.
``topology``
    A fresh :class:`~simvoip.sim.topology.Topology`: endpoints ``alice``
    (``a.example``) and ``bob`` (``b.example``) on one 10 ms link.
``sim``
    A :class:`~simvoip.sim.simulation.Simulation` of ``topology`` seeded with ``simvoip_seed``.
``pair``
    Two phones (UA cores) on one link of a :class:`~simvoip.testing.network.VirtualNetwork`
    (:class:`Pair`): ``pair.call()``, ``pair.run(seconds)``, ``pair.alice``, ``pair.bob``.

Markers
-------
``simvoip_slow``
    Long property suites; deselect with ``-m "not simvoip_slow"``.
``simvoip_seeds(*seeds)``
    Run the test once per seed (the ``simvoip_seed`` fixture takes each value).

>>> p = Pair.build(seed=3)
>>> call_id = p.call()
>>> p.run(5.0)
>>> p.alice.call(call_id).state
'confirmed'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from simvoip.testing.network import VirtualNetwork
from simvoip.testing.scenario import Scenario

__all__ = ["Pair", "pytest_addoption", "pytest_configure", "pytest_generate_tests"]


@dataclass(slots=True)
class Pair:
    """Two phones, ``alice`` calling ``bob``, on one link of a :class:`VirtualNetwork`."""

    scenario: Scenario
    net: VirtualNetwork

    @classmethod
    def build(cls, seed: int = 0, **scenario: Any) -> Pair:
        """A pair for ``Scenario(phones=("alice", "bob"), seed=seed, **scenario)``."""
        s = Scenario(phones=("alice", "bob"), seed=seed, **scenario)
        return cls(s, s.build())

    @property
    def alice(self) -> Any:
        return self.net.nodes["alice"]

    @property
    def bob(self) -> Any:
        return self.net.nodes["bob"]

    def call(self, caller: str = "alice", callee: str = "bob") -> str:
        """Place a call now; returns its Call-ID."""
        call_id, _ = self.net.invite(caller, f"sip:{callee}@{callee}")
        return call_id

    def hang_up(self, call_id: str, who: str = "alice") -> None:
        self.net.api(who, "hang up", lambda core: core.hangup(call_id, self.net.now))

    def run(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass."""
        self.net.advance(seconds)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("simvoip")
    group.addoption("--simvoip-seed", action="store", type=int, default=0, dest="simvoip_seed",
                    help="master seed of the simvoip fixtures (sim, pair, ...); default 0")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "simvoip_slow: long simvoip property suites (deselect with -m 'not simvoip_slow')")
    config.addinivalue_line(
        "markers", "simvoip_seeds(*seeds): run the test once per simvoip seed")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("simvoip_seeds")
    if marker is not None and "simvoip_seed" in metafunc.fixturenames:
        metafunc.parametrize("simvoip_seed", [int(s) for s in marker.args],
                             ids=[f"seed{s}" for s in marker.args])


@pytest.fixture
def simvoip_seed(request: pytest.FixtureRequest) -> int:
    """The master seed (``--simvoip-seed``, default 0)."""
    return int(request.config.getoption("simvoip_seed"))


@pytest.fixture
def topology() -> Any:
    """Endpoints alice (a.example) and bob (b.example) on one 10 ms link."""
    from simvoip.sim.topology import Topology

    topo = Topology(name="pair")
    topo.add_endpoint("alice", domain="a.example")
    topo.add_endpoint("bob", domain="b.example")
    topo.add_link("alice", "bob", delay=0.010)
    return topo


@pytest.fixture
def sim(topology: Any, simvoip_seed: int) -> Any:
    """A Simulation of ``topology`` seeded with ``--simvoip-seed``."""
    from simvoip.sim.simulation import Simulation

    return Simulation(topology, seed=simvoip_seed)


@pytest.fixture
def pair(simvoip_seed: int) -> Pair:
    """Two phones on one link, seeded with ``--simvoip-seed``."""
    return Pair.build(seed=simvoip_seed)
