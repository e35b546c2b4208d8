"""What ``sim.call(...)`` returns: one call as the user sees it.

A :class:`SimCall` is a live view: it reads the caller's and callee's
:class:`~simvoip.sip.ua.call.Call` records and the media plane when asked, so
it fills in as the run proceeds.

>>> from simvoip import Simulation, Topology
>>> topo = Topology()
>>> topo.add_endpoint("alice", domain="a.example")
>>> topo.add_endpoint("bob", domain="b.example")
>>> topo.add_link("alice", "bob", delay=0.020)
>>> sim = Simulation(topo, seed=1)
>>> call = sim.call("alice", "bob", at=0.0, duration=10.0)
>>> call.outcome
'pending'
>>> sim.run(until=30.0)
>>> call.outcome, call.final_status, round(call.pdd, 3), round(call.setup_time, 3)
('answered', 200, 0.04, 1.04)
>>> call.mos > 4.0
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simvoip.media.quality import QualityReport
    from simvoip.sim.simulation import Simulation
    from simvoip.sip.message import Request, Response
    from simvoip.sip.ua.call import Call

__all__ = ["SimCall"]


class SimCall:
    """One call placed by ``caller`` to ``target`` at ``at`` for ``duration`` seconds.

    Attributes
    ----------
    caller, callee : str
        Node names (``callee`` is ``None`` until an INVITE reaches an endpoint).
    target : str
        The Request-URI dialled.
    call_id : str or None
        Set when the INVITE is sent.
    """

    def __init__(self, sim: Simulation, caller: str, target: str, at: float,
                 duration: float | None) -> None:
        self.sim = sim
        self.caller = caller
        self.target = target
        self.at = at
        self.duration = duration
        self.call_id: str | None = None
        self.callee: str | None = None

    def __repr__(self) -> str:
        return (f"<SimCall {self.caller} -> {self.target} at {self.at:g}s: {self.outcome}"
                f"{'' if self.final_status is None else f' ({self.final_status})'}>")

    # -- the records behind the view ----------------------------------------------------
    @property
    def record(self) -> Call | None:
        """The caller's :class:`~simvoip.sip.ua.call.Call` record (``None`` before the INVITE)."""
        if self.call_id is None:
            return None
        ua = self.sim.user_agents.get(self.caller)
        if ua is None:
            return None
        return ua.calls.get(self.call_id) or ua.history.get(self.call_id)

    @property
    def callee_record(self) -> Call | None:
        if self.call_id is None or self.callee is None:
            return None
        ua = self.sim.user_agents[self.callee]
        return ua.calls.get(self.call_id) or ua.history.get(self.call_id)

    # -- what a user asks ---------------------------------------------------------------
    @property
    def outcome(self) -> str:
        """``pending``, ``answered``, ``busy``, ``declined``, ``cancelled``, ``timeout``,
        ``failed`` ... as the caller's UA sees it."""
        record = self.record
        return "pending" if record is None else record.outcome

    @property
    def final_status(self) -> int | None:
        record = self.record
        return None if record is None else record.final_status

    @property
    def pdd(self) -> float | None:
        """Post-dial delay: INVITE sent to first 180/183 received (seconds)."""
        record = self.record
        return None if record is None else record.post_dial_delay

    @property
    def setup_time(self) -> float | None:
        """INVITE sent to 2xx received (seconds)."""
        record = self.record
        return None if record is None else record.setup_time

    @property
    def end_reason(self) -> str | None:
        record = self.record
        return None if record is None else record.end_reason

    @property
    def retransmissions(self) -> int:
        """Retransmissions sent by caller and callee for this call."""
        return sum(r.retransmissions for r in (self.record, self.callee_record) if r is not None)

    @property
    def messages(self) -> list[tuple[float, str, Request | Response]]:
        """``(time, 'sent'|'received', message)`` at the caller, in order."""
        record = self.record
        return [] if record is None else list(record.messages)

    @property
    def quality(self) -> dict[str, QualityReport]:
        """Media quality per receiving node (both directions of an answered call)."""
        if self.call_id is None:
            return {}
        return self.sim.media.reports(self.call_id, self.caller, self.callee)

    @property
    def mos(self) -> float | None:
        """MOS (G.107) of the call: the worse of its two directions, ``None`` without media."""
        reports = self.quality
        if not reports:
            return None
        return min(r.mos for r in reports.values())

    def summary(self) -> dict[str, Any]:
        """One row of the per-call metrics table."""
        quality = self.quality
        worst = min(quality.values(), key=lambda r: r.mos) if quality else None
        return {
            "call_id": self.call_id, "caller": self.caller, "callee": self.callee,
            "target": self.target, "at": self.at, "outcome": self.outcome,
            "final_status": self.final_status, "pdd": self.pdd, "setup_time": self.setup_time,
            "end_reason": self.end_reason, "retransmissions": self.retransmissions,
            "mos": None if worst is None else worst.mos,
            "r": None if worst is None else worst.r,
            "ppl": None if worst is None else worst.ppl,
            "jitter_ms": None if worst is None else worst.jitter_ms,
            "mouth_to_ear_ms": None if worst is None else worst.mouth_to_ear_ms,
        }
