"""``NetworkMachine``: a hypothesis state machine that *is* the network.

Hypothesis chooses every network event: which packet in flight is delivered,
dropped, duplicated, delayed or overtaken, when time passes, which link fails,
which node crashes, who calls whom and who hangs up. Packets live in the
``packets`` :class:`~hypothesis.stateful.Bundle`; after every step the
invariants of :mod:`simvoip.testing.invariants` are checked, and at teardown
the network is left alone for ``settle`` seconds and checked again (the
"eventually" properties: every call completes or is cleaned up).

Reuse it on your own cores by subclassing and setting ``scenario``::

    class MyMachine(NetworkMachine):
        scenario = Scenario(phones=("alice", "bob", "carol"), ua_factory=MyUA)

    TestMyUA = MyMachine.TestCase

On failure, hypothesis shrinks to a minimal schedule and the
:class:`~simvoip.testing.report.InvariantViolation` message shows it as a
runnable regression snippet (:func:`replay`) plus a text ladder.

>>> steps = [("place_call", "alice", "bob"), ("advance_time", 2.0)]
>>> machine = replay(NetworkMachine, steps)
>>> machine.net.nodes["bob"].call(machine.call_ids[0][2]).state
'confirmed'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    precondition,
    rule,
)

from simvoip.testing.invariants import TransactionWatch, check_all
from simvoip.testing.report import InvariantViolation, Step, render_ladder, render_snippet
from simvoip.testing.scenario import Scenario

__all__ = ["NetworkMachine", "replay", "DELAYS", "ADVANCES", "HANGUPS",
           "LOSS_TARGETS", "CALL_LOSSES"]

#: Time steps the ``advance_time`` rule picks from (seconds; small ones first so they shrink).
ADVANCES = (0.01, 0.1, 0.5, 1.0, 4.0, 16.0, 40.0)
#: Auto-hangup times of placed calls (None: the call stays up until a ``hang_up`` step).
HANGUPS = (None, 2.0, 10.0)
#: Targeted single losses a placed call can carry (None: none).
CALL_LOSSES = (None, "INVITE", "1xx", "2xx", "ACK", "BYE")
#: What the ``lose_next`` rule can target: the next packet, or the next of a kind.
LOSS_TARGETS = ("any", "INVITE", "1xx", "2xx", "ACK", "BYE", "CANCEL", "4xx")
#: Extra delays the ``delay`` rule picks from (up to T4, the maximum segment lifetime).
DELAYS = (0.1, 0.5, 2.0, 5.0)


class NetworkMachine(RuleBasedStateMachine):
    """Phones of :attr:`scenario` over a network that hypothesis drives step by step."""

    #: What runs: phones, their UA class, registrar, timers, seed.
    scenario: ClassVar[Scenario] = Scenario()
    #: Fault rules enabled: "loss" (drop, lose_next), "delay" (delay, duplicate, reorder),
    #: "link" (link down/up), "crash" (node crash).
    faults: ClassVar[frozenset[str]] = frozenset({"loss", "delay", "link", "crash"})
    #: Seconds of quiet time at teardown before the final check (0: no final check).
    settle: ClassVar[float] = 100.0

    packets = Bundle("packets")

    def __init__(self) -> None:
        super().__init__()
        self.net = self.scenario.build()
        self.watch = TransactionWatch()
        self.net.observers.append(self.watch)
        self.steps: list[Step] = []
        self.notes: list[str] = []
        #: (caller, callee, Call-ID) of every call placed, in order.
        self.call_ids: list[tuple[str, str, str]] = []
        self._failed = False

    # -- the schedule ----------------------------------------------------------------------
    def apply(self, step: Step) -> list[int]:
        """Carry out one schedule step; returns the ids of packets it put in flight."""
        self.steps.append(tuple(step))
        net = self.net
        name, *args = step
        note = ""
        new: list[int] = []
        if name == "place_call":
            caller, callee = args[:2]
            kwargs = {"hangup_after": args[2]} if len(args) > 2 and args[2] is not None else {}
            if len(args) > 3:
                # The call's own targeted loss is armed before its INVITE leaves.
                net.lose_next(args[3], "@next-call")
            call_id, new = net.invite(caller, f"sip:{callee}@{callee}", **kwargs)
            net.pending_losses = [(m, call_id if c == "@next-call" else c)
                                  for m, c in net.pending_losses]
            self.call_ids.append((caller, callee, call_id))
        elif name == "hang_up":
            caller, callee, call_id = self.call_ids[args[0]]
            who = callee if len(args) > 1 and args[1] == "callee" else caller
            new = net.api(who, f"hang up {call_id}", lambda core: core.hangup(call_id, net.now))
        elif name == "register":
            new = net.api(args[0], "register", lambda core: core.register(net.now))
        elif name == "advance_time":
            new = net.advance(args[0])
        elif name == "next_event":
            new = net.step()
        elif name in ("deliver", "drop", "duplicate", "delay"):
            packet = net.in_flight.get(args[0])
            note = f"{packet.summary} {packet.src}->{packet.dst}" if packet else "(gone)"
            if name == "deliver":
                new = net.deliver(args[0])
            elif name == "drop":
                net.drop(args[0])
            elif name == "duplicate":
                copy = net.duplicate(args[0])
                new = [copy] if copy is not None else []
            else:
                net.delay(args[0], args[1])
        elif name == "reorder":
            net.reorder(args[0], args[1])
        elif name in ("link_down", "link_up"):
            net.set_link(args[0], args[1], name == "link_up")
        elif name == "lose_next":
            net.lose_next(args[0])
        elif name == "loss_pattern":
            net.set_loss_pattern(args[0], args[1], list(args[2]))
        elif name == "crash_node":
            net.crash(args[0])
        else:
            raise ValueError(f"unknown schedule step {step!r}")
        self.notes.append(note)
        return new

    def check(self, final: bool = False) -> None:
        """Raise :class:`InvariantViolation` (with the replayable report) if any invariant fails."""
        violations = list(dict.fromkeys(check_all(self.net, self.scenario, self.watch)))
        if violations:
            self._failed = True
            raise InvariantViolation(violations, self.steps, self.report(violations, final))

    def report(self, violations: Sequence[str], final: bool = False) -> str:
        cls = type(self)
        when = " (after the teardown settle time)" if final else ""
        parts = [
            "simvoip invariant violated" + when + ":",
            *[f"  - {v}" for v in violations],
            "",
            "minimal schedule, replayable:",
            render_snippet(self.steps, cls.__module__, cls.__qualname__, seed=self.scenario.seed,
                           comments=self.notes),
            "",
            "ladder:",
            render_ladder(self.net.log, list(self.net.nodes)),
        ]
        return "\n".join(parts)

    # -- choosing names ----------------------------------------------------------------------
    def _phone(self, i: int) -> str:
        phones = self.scenario.phones
        return phones[i % len(phones)]

    def _other(self, i: int, j: int) -> str:
        phones = self.scenario.phones
        n = len(phones)
        return phones[(i % n + 1 + j % max(1, n - 1)) % n]

    # -- rules: users -------------------------------------------------------------------------
    @rule(target=packets, caller=st.integers(0, 7), callee=st.integers(0, 7),
          hangup_after=st.sampled_from(HANGUPS), lose=st.sampled_from(CALL_LOSSES))
    def place_call(self, caller: int, callee: int, hangup_after: float | None,
                   lose: str | None) -> Any:
        # ``hangup_after``: the caller sends BYE that long after the answer; ``lose``: the
        # first message of that kind of this call is lost (a single loss must be survived).
        step: Step = ("place_call", self._phone(caller), self._other(caller, callee))
        if hangup_after is not None or lose is not None:
            step += (hangup_after,)
        if lose is not None and "loss" in self.faults:
            step += (lose,)
        return multiple(*self.apply(step))

    @precondition(lambda self: bool(self.call_ids))
    @rule(target=packets, which=st.integers(0, 7), callee=st.booleans())
    def hang_up(self, which: int, callee: bool) -> Any:
        k = which % len(self.call_ids)
        return multiple(*self.apply(("hang_up", k, "callee" if callee else "caller")))

    @precondition(lambda self: self.scenario.registrar is not None)
    @rule(target=packets, phone=st.integers(0, 7))
    def register(self, phone: int) -> Any:
        return multiple(*self.apply(("register", self._phone(phone))))

    # -- rules: time ----------------------------------------------------------------------------
    @rule(target=packets, dt=st.sampled_from((None, *ADVANCES)))
    def advance_time(self, dt: float | None) -> Any:
        # ``None``: exactly up to the next event (a timer or an arrival).
        return multiple(*self.apply(("next_event",) if dt is None else ("advance_time", dt)))

    # -- rules: the network ---------------------------------------------------------------------
    @rule(target=packets, packet=consumes(packets))
    def deliver(self, packet: int) -> Any:
        if packet not in self.net.in_flight:
            return multiple()
        return multiple(*self.apply(("deliver", packet)))

    @precondition(lambda self: "loss" in self.faults)
    @rule(packet=consumes(packets))
    def drop(self, packet: int) -> None:
        if packet in self.net.in_flight:
            self.apply(("drop", packet))

    @precondition(lambda self: "delay" in self.faults)
    @rule(target=packets, packet=packets, extra=st.sampled_from((None, *DELAYS)))
    def duplicate_or_delay(self, packet: int, extra: float | None) -> Any:
        # ``None``: a duplicate of the packet; else the packet is held ``extra`` s longer.
        if packet not in self.net.in_flight:
            return multiple()
        if extra is None:
            return multiple(*self.apply(("duplicate", packet)))
        self.apply(("delay", packet, extra))
        return multiple()

    @precondition(lambda self: "delay" in self.faults)
    @rule(first=packets, second=packets)
    def reorder(self, first: int, second: int) -> None:
        if first != second and first in self.net.in_flight and second in self.net.in_flight:
            self.apply(("reorder", first, second))

    @precondition(lambda self: "link" in self.faults)
    @rule(link=st.integers(0, 15), up=st.booleans(), go=st.integers(0, 3))
    def link_down_up(self, link: int, up: bool, go: int) -> None:
        # Taking a link down is a no-op unless ``go == 3``: link failures end most calls,
        # so they are picked a quarter as often as the other rules.
        links = sorted(self.net.links)
        a, b = links[link % len(links)]
        if self.net.links[(a, b)].up != up and (up or go == 3):
            self.apply(("link_up" if up else "link_down", a, b))

    @precondition(lambda self: "loss" in self.faults)
    @rule(match=st.sampled_from(LOSS_TARGETS))
    def lose_next(self, match: str) -> None:
        self.apply(("lose_next", match))

    @precondition(lambda self: "crash" in self.faults)
    @rule(node=st.integers(0, 7), go=st.integers(0, 7))
    def crash_node(self, node: int, go: int) -> None:
        # A no-op unless ``go == 7`` (a crash ends the story of its node; keep it rare).
        name = sorted(self.net.nodes)[node % len(self.net.nodes)]
        if name not in self.net.crashed and go == 7:
            self.apply(("crash_node", name))

    # -- invariants -------------------------------------------------------------------------------
    @invariant()
    def invariants_hold(self) -> None:
        self.check()

    def teardown(self) -> None:
        if self._failed or not self.settle:
            return
        # Not a schedule step: replay() runs the same teardown.
        self.net.advance(float(self.settle))
        self.check(final=True)


def replay(machine: type[NetworkMachine], steps: Sequence[Step], *, check: bool = True,
           settle: bool = True) -> NetworkMachine:
    """Run a schedule on a fresh ``machine``, checking the invariants after every step.

    Raises :class:`~simvoip.testing.report.InvariantViolation` exactly as the
    hypothesis run did; returns the machine (its ``net`` holds the end state).
    """
    m = machine()
    if check:
        m.check()
    for step in steps:
        m.apply(tuple(step))
        if check:
            m.check()
    if settle and check:
        m.teardown()
    return m
