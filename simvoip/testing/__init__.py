"""simvoip.testing: property-based testing of SIP under delay, loss and faults.

* :mod:`~simvoip.testing.strategies`: hypothesis strategies for SIP URIs, headers,
  requests, responses, SDP and malformed bytes;
  :mod:`~simvoip.testing.network_strategies`: topologies, fault schedules, workloads;
* :class:`VirtualNetwork`: an in-memory network where every packet and timer is controllable;
* :class:`NetworkMachine`: a hypothesis ``RuleBasedStateMachine`` over it with the
  network invariants of :mod:`~simvoip.testing.invariants`; subclass it with your
  own :class:`Scenario`; failures print a :func:`replay` snippet and a ladder;
* :mod:`~simvoip.testing.analytic`: retransmission-schedule success probabilities,
  Erlang B, Wilson intervals (measured vs analytic, as properties);
* :mod:`~simvoip.testing.buggy`: UAs with planted bugs the toolkit must catch;
* :mod:`~simvoip.testing.plugin`: the pytest plugin (fixtures ``sim``, ``topology``,
  ``pair``; option ``--simvoip-seed``; marker ``simvoip_slow``).

>>> from simvoip.testing import NetworkMachine, Scenario
>>> NetworkMachine.scenario.phones
('alice', 'bob')
"""

from simvoip.testing.invariants import TransactionWatch, check_all
from simvoip.testing.machine import NetworkMachine, replay
from simvoip.testing.network import Packet, VirtualNetwork
from simvoip.testing.report import InvariantViolation, render_ladder, render_snippet
from simvoip.testing.scenario import RegistrarCore, Scenario

__all__ = [
    "InvariantViolation", "NetworkMachine", "Packet", "RegistrarCore", "Scenario",
    "TransactionWatch", "VirtualNetwork", "check_all", "render_ladder", "render_snippet",
    "replay",
]
