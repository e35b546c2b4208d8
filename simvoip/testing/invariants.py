"""Network-wide invariants of SIP over an unreliable network, as plain check functions.

Each ``check_*`` function looks at a :class:`~simvoip.testing.network.VirtualNetwork`
(and the :class:`~simvoip.testing.scenario.Scenario` it was built from) and
returns a list of violations (empty: fine). :func:`check_all` runs them all;
:class:`~simvoip.testing.machine.NetworkMachine` calls it after every step.

* :func:`check_no_crashes` - no node ever raised on any input (bytes included);
* :func:`check_no_invention` - every received datagram had been sent on that hop,
  every answered call got a 2xx someone sent;
* :class:`TransactionWatch` - every transaction leaves each state within its RFC
  3261 / RFC 6026 bound (Timer B, D, F, H, I, J, K, L, M) after entering it;
* :func:`check_acks` - every ACK carries the CSeq number of an INVITE its sender
  sent (RFC 3261 13.2.2.4, 17.1.1.3); no UAC confirms a call without sending ACK;
* :func:`check_dialogs` - once a call is settled, every confirmed dialog has a
  confirmed peer dialog, or its peer sent a BYE that was never answered;
* :func:`check_answered_calls` - a 2xx whose call lost at most
  ``scenario.loss_tolerance`` packets gets its ACK and reaches the caller
  within 64*T1 (RFC 3261 13.3.1.4);
* :func:`check_registrations` - registrations expire and refresh as configured.

>>> from simvoip.testing.scenario import Scenario
>>> scenario = Scenario()
>>> net = scenario.build()
>>> call_id, _ = net.invite("alice", "sip:bob@bob")
>>> _ = net.advance(60.0)
>>> check_all(net, scenario)
[]
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from simvoip.sip.dialog import DialogState
from simvoip.sip.errors import SipError
from simvoip.sip.message import Request, Response
from simvoip.sip.transaction.timers import Timer
from simvoip.sip.ua.call import UATimerKey
from simvoip.testing.network import VirtualNetwork
from simvoip.testing.scenario import Scenario

__all__ = [
    "TransactionWatch", "check_all", "check_no_crashes", "check_no_invention", "check_acks",
    "check_dialogs", "check_answered_calls", "check_registrations", "state_deadline",
]

_EPS = 1e-6


def state_deadline(tx: Any, since: float) -> float | None:
    """When ``tx`` must have left its current state (``None``: the TU decides).

    Bounds of RFC 3261 17.1.1.2, 17.1.2.2, 17.2.1, 17.2.2 and RFC 6026 8.4, 8.7:
    ICT Calling ends by Timer B (64*T1 after creation), Completed by D,
    Accepted by M; NICT Trying/Proceeding by F (64*T1 after creation),
    Completed by K; IST Completed by H, Confirmed by I, Accepted by L; NIST
    Completed by J.

    >>> from simvoip.sip.effects import Address
    >>> from simvoip.sip.message import parse_message
    >>> from simvoip.sip.transaction import NonInviteClientTransaction, TimerConfig
    >>> req = parse_message(b"OPTIONS sip:b@b SIP/2.0\\r\\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\\r\\n"
    ...     b"From: <sip:a@a>;tag=1\\r\\nTo: <sip:b@b>\\r\\nCall-ID: c\\r\\nCSeq: 1 OPTIONS\\r\\n\\r\\n")
    >>> tx = NonInviteClientTransaction(req, Address("b"), TimerConfig(), now=2.0)
    >>> _ = tx.start(2.0)
    >>> state_deadline(tx, since=2.0)
    34.0
    """
    kind = tx.MACHINE.abbreviation
    state = tx.state.value
    created = tx.created

    def d(timer: Timer) -> float:
        return float(tx.config.duration(timer, reliable=tx.reliable))

    table: dict[tuple[str, str], tuple[Timer, bool]] = {
        # (machine, state): (timer, measured from creation?)
        ("ICT", "Calling"): (Timer.B, True),
        ("ICT", "Completed"): (Timer.D, False),
        ("ICT", "Accepted"): (Timer.M, False),
        ("NICT", "Trying"): (Timer.F, True),
        ("NICT", "Proceeding"): (Timer.F, True),
        ("NICT", "Completed"): (Timer.K, False),
        ("IST", "Completed"): (Timer.H, False),
        ("IST", "Confirmed"): (Timer.I, False),
        ("IST", "Accepted"): (Timer.L, False),
        ("NIST", "Completed"): (Timer.J, False),
    }
    entry = table.get((kind, state))
    if entry is None:
        return None
    timer, from_creation = entry
    return (created if from_creation else since) + d(timer)


def _transactions(core: Any) -> list[tuple[Hashable, Any]]:
    table = getattr(core, "transactions", None)
    if table is None:
        return []
    return [*getattr(table, "clients", {}).items(), *getattr(table, "servers", {}).items()]


class TransactionWatch:
    """Observer of a :class:`VirtualNetwork`: when each transaction entered its state.

    Install with ``net.observers.append(watch)``; :meth:`violations` lists
    transactions still alive past :func:`state_deadline`.
    """

    def __init__(self) -> None:
        self.since: dict[tuple[str, Hashable], tuple[str, float]] = {}

    def __call__(self, net: VirtualNetwork, node: str) -> None:
        alive = set()
        for key, tx in _transactions(net.nodes[node]):
            alive.add((node, key))
            seen = self.since.get((node, key))
            state = tx.state.value
            if seen is None or seen[0] != state:
                self.since[(node, key)] = (state, net.now)
        for k in [k for k in self.since if k[0] == node and k not in alive]:
            del self.since[k]

    def violations(self, net: VirtualNetwork) -> list[str]:
        out = []
        for node, core in net.nodes.items():
            if node in net.crashed:
                continue
            for key, tx in _transactions(core):
                if tx.terminated:
                    continue
                state, since = self.since.get((node, key), (tx.state.value, tx.created))
                deadline = state_deadline(tx, since)
                if deadline is not None and net.now > deadline + _EPS:
                    out.append(f"{node}: {tx.MACHINE.abbreviation} {key} still {state} at "
                               f"t={net.now:.3f}, past its RFC bound t={deadline:.3f}")
        return out


def check_no_crashes(net: VirtualNetwork) -> list[str]:
    """No exception ever escaped a core (ParseError included: the node must absorb it)."""
    return [f"{c.node} crashed at t={c.time:.3f} on {c.where}: {c.error}" for c in net.crashes]


def check_no_invention(net: VirtualNetwork) -> list[str]:
    """Every received datagram was sent on that hop; every answered call got a real 2xx."""
    out = [f"{dst} received {data[:40]!r}... from {src}, which {src} never sent"
           for (src, dst, data) in net.received if (src, dst, data) not in net.sent]
    ok_sent: set[tuple[str, str]] = set()
    for _, src, _, message in net.sent_messages:
        if isinstance(message, Response) and 200 <= message.status_code < 300:
            try:
                if message.cseq.method == "INVITE":
                    ok_sent.add((src, message.call_id))
            except SipError:
                continue
    for node, events in net.events.items():
        for at, event in events:
            if type(event).__name__ != "CallAnswered":
                continue
            call = _call(net.nodes[node], event.call_id)
            if call is None or call.role != "uac":
                continue
            if not any(cid == event.call_id and src != node for src, cid in ok_sent):
                out.append(f"{node} reports call {event.call_id} answered at t={at:.3f} "
                           f"but nobody sent a 2xx for it")
    return out


def _call(core: Any, call_id: str) -> Any:
    calls = getattr(core, "calls", {})
    return calls.get(call_id) or getattr(core, "history", {}).get(call_id)


def _phones(net: VirtualNetwork) -> dict[str, Any]:
    return {n: c for n, c in net.nodes.items() if hasattr(c, "calls") and hasattr(c, "history")}


def check_acks(net: VirtualNetwork) -> list[str]:
    """ACK CSeq numbers match a sent INVITE; a UAC never confirms a call without an ACK."""
    out = []
    invites: set[tuple[str, str, int]] = set()
    acked: set[tuple[str, str]] = set()
    for _, src, dst, message in net.sent_messages:
        if not isinstance(message, Request) or message.method not in ("INVITE", "ACK"):
            continue
        try:
            cseq, call_id = message.cseq, message.call_id
        except SipError:
            continue
        if message.method == "INVITE":
            invites.add((src, call_id, cseq.number))
            continue
        acked.add((src, call_id))
        if cseq.method != "ACK" or (src, call_id, cseq.number) not in invites:
            # RFC 3261 13.2.2.4: "The sequence number of the CSeq header field MUST be the
            # same as the INVITE being acknowledged, but the CSeq method MUST be ACK."
            out.append(f"{src} sent ACK to {dst} with CSeq {cseq} matching no INVITE it sent "
                       f"(call {call_id})")
    for node, core in _phones(net).items():
        for call in [*core.calls.values(), *core.history.values()]:
            if call.role != "uac":
                continue
            confirmed = any(d.state is DialogState.CONFIRMED for d in call.dialogs.values())
            if (confirmed or call.answered_at is not None) and (node, call.call_id) not in acked:
                out.append(f"{node} confirmed call {call.call_id} without sending an ACK")
    return out


def _settled(net: VirtualNetwork, call_id: str, nodes: list[str]) -> bool:
    if any(p.call_id == call_id for p in net.in_flight.values()):
        return False
    for node, _name, key in net.timers:
        if node in nodes and isinstance(key, UATimerKey) and key.owner == call_id \
                and key.kind != "hangup":
            return False
    for node in nodes:
        for _, tx in _transactions(net.nodes[node]):
            try:
                if tx.request.call_id == call_id and not tx.terminated:
                    return False
            except SipError:
                continue
    return True


def check_dialogs(net: VirtualNetwork) -> list[str]:
    """Settled calls: each confirmed dialog has a confirmed peer dialog, or the peer sent BYE."""
    out = []
    phones = _phones(net)
    byes: set[tuple[str, str]] = set()
    bye_answered: set[tuple[str, str]] = set()
    for _, src, _, message in net.sent_messages:
        try:
            if isinstance(message, Request) and message.method == "BYE":
                byes.add((src, message.call_id))
            elif (isinstance(message, Response) and message.status_code >= 200
                  and message.cseq.method == "BYE"):
                bye_answered.add((src, message.call_id))
        except SipError:
            continue
    call_ids = sorted({cid for core in phones.values() for cid in [*core.calls, *core.history]})
    for call_id in call_ids:
        ends = [n for n, core in phones.items() if _call(core, call_id) is not None]
        if len(ends) != 2 or any(n in net.crashed for n in ends):
            continue
        if not _settled(net, call_id, ends):
            continue
        for here, there in (ends, ends[::-1]):
            # Finished calls (in ``history``) count too: a late 2xx after the call had
            # failed creates a dialog there, which its BYE must end (RFC 3261 15.1.1).
            mine = _call(phones[here], call_id)
            theirs = _call(phones[there], call_id)
            if mine is None:
                continue
            for d in mine.dialogs.values():
                if d.state is not DialogState.CONFIRMED:
                    continue
                peer = [p for p in theirs.dialogs.values()
                        if p.local_tag == d.remote_tag and p.state is DialogState.CONFIRMED]
                if peer:
                    continue
                if (there, call_id) not in byes:
                    out.append(f"call {call_id} settled with a confirmed dialog at {here} but "
                               f"none at {there}, and {there} sent no BYE")
                elif (here, call_id) in bye_answered:
                    # RFC 3261 15.1.2: a UAS answering BYE terminates the session and dialog.
                    out.append(f"{here} answered the BYE of {there} for call {call_id} but "
                               f"kept its dialog confirmed")
    return out


def check_answered_calls(net: VirtualNetwork, scenario: Scenario) -> list[str]:
    """Liveness: a 2xx of a call that lost at most ``loss_tolerance`` packets (no crash, no
    link failure) is ACKed and reaches the caller within 64*T1 (RFC 3261 13.3.1.4)."""
    out = []
    phones = _phones(net)
    window = 64 * scenario.timers.t1 + 4 * scenario.delay
    for callee, core in phones.items():
        for call in [*core.calls.values(), *core.history.values()]:
            if call.role != "uas" or call.answered_at is None:
                continue
            if net.now < call.answered_at + window:
                continue
            callers = [n for n, c in phones.items() if n != callee
                       and (c2 := _call(c, call.call_id)) is not None and c2.role == "uac"]
            if len(callers) != 1:
                continue
            caller = callers[0]
            pair = (caller, callee) if caller <= callee else (callee, caller)
            if caller in net.crashed or callee in net.crashed or pair in net.links_failed:
                continue
            if net.call_drops[call.call_id] > scenario.loss_tolerance:
                continue
            uac = _call(phones[caller], call.call_id)
            if uac.answered_at is None:
                out.append(f"{callee} answered call {call.call_id} at t={call.answered_at:.3f} "
                           f"but {caller} never got the 2xx ({net.call_drops[call.call_id]} "
                           f"packet(s) of the call lost)")
            elif call.end_reason == "no-ack":
                out.append(f"{callee} never got the ACK for its 2xx of call {call.call_id} "
                           f"({net.call_drops[call.call_id]} packet(s) of the call lost)")
    return out


def check_registrations(net: VirtualNetwork, scenario: Scenario) -> list[str]:
    """A registered phone has a refresh armed before its binding expires (RFC 3261 10.2.1),
    and the registrar never grants more than was asked (10.3 step 7) nor keeps expired bindings."""
    if not scenario.registrar or scenario.registrar in net.crashed:
        return []
    out = []
    location = net.nodes[scenario.registrar].location
    for aor in location.aors():
        for b in location.bindings(aor, net.now):
            if b.expires_at <= net.now:
                out.append(f"registrar returns the expired binding {b.contact} of {aor}")
            if b.expires_at - b.registered_at > scenario.register_expires + _EPS:
                out.append(f"registrar granted {b.expires_at - b.registered_at:.0f} s to "
                           f"{b.contact}, more than the {scenario.register_expires} s asked")
    for phone, core in _phones(net).items():
        until = getattr(core, "registered_until", None)
        if phone in net.crashed or until is None or until <= net.now:
            continue
        refresh = [at for (n, name, _), (at, _) in net.timers.items()
                   if n == phone and name == "register"]
        in_progress = any(tx.request.method == "REGISTER"
                          and tx.state.value in ("Trying", "Proceeding")
                          for tx in core.transactions.clients.values())
        if in_progress:
            continue  # the refresh REGISTER is on its way (its transaction decides)
        if not refresh:
            out.append(f"{phone} is registered until t={until:.3f} but has no refresh armed")
        elif min(refresh) >= until:
            out.append(f"{phone} refreshes at t={min(refresh):.3f}, after its registration "
                       f"expires at t={until:.3f}")
    return out


def check_all(net: VirtualNetwork, scenario: Scenario,
              watch: TransactionWatch | None = None) -> list[str]:
    """Every invariant above; ``watch`` adds the transaction-bound check."""
    out = check_no_crashes(net)
    out += check_no_invention(net)
    if watch is not None:
        out += watch.violations(net)
    out += check_acks(net)
    out += check_dialogs(net)
    out += check_answered_calls(net, scenario)
    out += check_registrations(net, scenario)
    return out
