"""Callee side of the INVITE usage: ringing, answering with 2xx retransmission, rejecting,
CANCEL, BYE and re-INVITE handling.

Mixed into :class:`~simvoip.sip.ua.core.UserAgent` (RFC 3261 13.3, 14.2, 15.1.2, 9.2).
"""

from __future__ import annotations

from typing import Any

from simvoip.sip.dialog import Dialog, DialogState
from simvoip.sip.effects import fast_cancel_timer, fast_start_timer
from simvoip.sip.errors import ParseError
from simvoip.sip.message import Request
from simvoip.sip.sdp_session import ANSWER_DIRECTION, direction_of, make_answer, make_offer
from simvoip.sip.transaction.server import InviteServerTransaction, ServerTransaction
from simvoip.sip.transaction.table import State
from simvoip.sip.ua.base import UserAgentBase
from simvoip.sip.ua.call import Call, PendingOk, UATimerKey, ua_timer_key
from simvoip.sip.ua.events import CallUpdated, call_answered, incoming_call
from simvoip.sip.ua.messages import make_response, new_tag, reason_phrase

__all__ = ["InviteServerMixin"]

_BEHAVIOUR_TIMERS = ("ring", "answer", "reject", "ring-timeout")


class InviteServerMixin(UserAgentBase):
    """UAS behaviour of the INVITE dialog usage."""

    def _answers_quickly(self, request: Request) -> bool:
        """RFC 3261 17.2.1: no 100 Trying if the TU answers within 200 ms."""
        b = self.config.behaviour
        if b.reject_code is not None or b.redirect_to:
            return b.reject_delay <= 0.2
        first = [t for t in (b.ring_delay, b.answer_delay) if t is not None]
        return bool(first) and min(first) <= 0.2

    def _new_invite(self, tx: ServerTransaction, request: Request, now: float,
                    out: list[Any]) -> None:
        assert isinstance(tx, InviteServerTransaction)
        existing = self.calls.get(request.call_id)
        if existing is not None:
            first = existing.invite
            merged = (first is not None and first.cseq.number == request.cseq.number
                      and first.from_.tag == request.from_.tag)
            if merged or not existing.finished:
                # RFC 3261 8.2.2.2: the same request arrived again by another path (a
                # forking loop), or a new INVITE collides with a live call: 482.
                self._respond(tx, 482, now, out)
                return
            # A new INVITE reusing the Call-ID of a finished call (e.g. after a 3xx/4xx):
            # the old record goes to history.
            self.calls.pop(existing.call_id)
            self.history[existing.call_id] = existing
        local_tag = self._uas_tag()
        try:
            dialog = Dialog.from_uas_request(request, local_tag, local_contact=self.config.contact)
        except ParseError as exc:
            self._respond(tx, exc.status_code or 400, now, out, to_tag=local_tag)
            return
        call = Call(request.call_id, role="uas", local_tag=local_tag, target=request.uri,
                    started_at=now, state="proceeding", invite=request, invite_tx=tx,
                    owner_of_call_id=False,
                    hangup_after=self.config.behaviour.auto_hangup_after)
        call.dialogs[dialog.remote_tag] = dialog
        self.calls[call.call_id] = call
        self._own_server(tx.key, call.call_id)
        out.append(incoming_call(call.call_id, request.headers.get("From") or "", now))
        b = self.config.behaviour
        if b.reject_code is not None or b.redirect_to:
            self._schedule(call, "reject", b.reject_delay, now, out)
            return
        if b.ring_delay is not None and (b.answer_delay is None or b.ring_delay < b.answer_delay):
            self._schedule(call, "ring", b.ring_delay, now, out)
        if b.answer_delay is not None:
            self._schedule(call, "answer", b.answer_delay, now, out)
        if b.ring_timeout is not None and (b.answer_delay is None or b.answer_delay > b.ring_timeout):
            self._armed.start("ring-timeout", now + b.ring_timeout, call.call_id, out)

    def _uas_tag(self) -> str:
        return new_tag(self.rng)

    def _schedule(self, call: Call, kind: str, delay: float, now: float, out: list[Any]) -> None:
        if delay <= 0:
            self._uas_timer(call, ua_timer_key(call.call_id, kind, 0), now, out)
        else:
            self._armed.start(kind, now + delay, call.call_id, out)

    # -- public callee controls ------------------------------------------------------------

    def answer(self, call_id: str, now: float) -> list[Any]:
        """Answer an incoming call now with 200 OK."""
        out: list[Any] = []
        call = self.calls.get(call_id)
        if call is not None and call.role == "uas" and not self.crashed(now):
            self._uas_timer(call, ua_timer_key(call_id, "answer", 0), now, out)
        return out

    def reject(self, call_id: str, status: int, now: float) -> list[Any]:
        """Reject an incoming call with ``status`` (486, 603, ...)."""
        out: list[Any] = []
        call = self.calls.get(call_id)
        if call is not None and call.role == "uas" and not self.crashed(now):
            self._final_failure(call, status, now, out)
        return out

    # -- behaviour timers --------------------------------------------------------------------

    def _uas_timer(self, call: Call, key: UATimerKey, now: float, out: list[Any]) -> None:
        tx = call.invite_tx
        pending = isinstance(tx, InviteServerTransaction) and tx.state is State.PROCEEDING
        b = self.config.behaviour
        if key.kind == "ring" and pending and call.state == "proceeding":
            assert isinstance(tx, InviteServerTransaction)
            if b.early_media and call.invite is not None and call.invite.body:
                body = make_answer(call.invite.body, self.config.sdp_address, self.config.media_port)
                self._dialog_response(call, tx, 183, now, out, body=body)
            else:
                self._dialog_response(call, tx, 180, now, out)
            call.state = "early"
            call.progress_at = now
        elif key.kind == "answer" and pending:
            self._answer(call, now, out)
        elif key.kind == "reject" and pending:
            if b.redirect_to:
                extra = [("Contact", f"<{c}>") for c in b.redirect_to]
                assert isinstance(tx, InviteServerTransaction)
                self._respond(tx, 302, now, out, to_tag=call.local_tag, extra=extra)
                self._fail(call, 302, "Moved Temporarily", now, out)
            else:
                self._final_failure(call, b.reject_code or 486, now, out)
        elif key.kind == "ring-timeout" and pending:
            self._final_failure(call, 480, now, out)
        elif key.kind == "2xx":
            self._retransmit_2xx(call, key, now, out)
        elif key.kind == "2xx-timeout":
            self._no_ack(call, key, now, out)

    def _dialog_response(self, call: Call, tx: InviteServerTransaction, status: int, now: float,
                         out: list[Any], *, body: bytes = b"") -> Any:
        # RFC 3261 12.1.1: a dialog-creating response copies Record-Route and has a Contact.
        assert call.invite is not None
        extra = [("Record-Route", rr) for rr in call.invite.headers.get_all("Record-Route")]
        extra.append(("Contact", f"<{self.config.contact}>"))
        if body:
            extra.append(("Content-Type", "application/sdp"))
        return self._respond(tx, status, now, out, to_tag=call.local_tag, extra=extra, body=body)

    def _answer(self, call: Call, now: float, out: list[Any]) -> None:
        tx = call.invite_tx
        assert isinstance(tx, InviteServerTransaction) and call.invite is not None
        offer = call.invite.body
        if offer:
            body = make_answer(offer, self.config.sdp_address, self.config.media_port)
        else:
            body = make_offer(self.config.sdp_address, self.config.media_port)
        ok = self._dialog_response(call, tx, 200, now, out, body=body)
        for d in call.dialogs.values():
            d.state = DialogState.CONFIRMED
            call.dialog = d
        call.state = "confirmed"
        call.answered_at = now
        call.final_status = 200
        self._cancel_behaviour(call, out)
        self._start_2xx_retransmission(call, ok, tx, call.invite.cseq.number, now, out)
        out.append(call_answered(call.call_id, now, 200))

    def _start_2xx_retransmission(self, call: Call, ok: Any, tx: InviteServerTransaction | None,
                                  cseq: int, now: float, out: list[Any]) -> None:
        timers = self.config.timers
        destination = tx.destination if tx is not None else self._response_address(ok)
        call.pending_ok[cseq] = PendingOk(ok, destination, now, timers.t1, tx)
        if not destination.reliable:
            # RFC 3261 13.3.1.4: retransmit the 2xx at T1, doubling up to T2, until the ACK.
            out.append(fast_start_timer("2xx", now + timers.t1, ua_timer_key(call.call_id, "2xx", cseq)))
        # ... and give up after 64*T1 without ACK.
        out.append(fast_start_timer("2xx-timeout", now + 64 * timers.t1,
                              ua_timer_key(call.call_id, "2xx-timeout", cseq)))

    def _retransmit_2xx(self, call: Call, key: UATimerKey, now: float, out: list[Any]) -> None:
        pending = call.pending_ok.get(key.seq)
        if pending is None:
            return
        tx = pending.server_tx
        if tx is not None and not tx.terminated and tx.state is State.ACCEPTED:
            # RFC 6026 8.7: in Accepted the IST passes the TU's 2xx retransmissions on.
            self._absorb(tx, self.transactions.send_response(tx, pending.response, now), now, out)
        else:
            self._send(pending.response, pending.destination, now, out)
        pending.interval = min(2 * pending.interval, self.config.timers.t2)
        out.append(fast_start_timer("2xx", now + pending.interval, key))

    def _no_ack(self, call: Call, key: UATimerKey, now: float, out: list[Any]) -> None:
        pending = call.pending_ok.pop(key.seq, None)
        if pending is None:
            return
        out.append(fast_cancel_timer("2xx", ua_timer_key(call.call_id, "2xx", key.seq)))
        # RFC 3261 13.3.1.4: no ACK within 64*T1: the dialog is confirmed but the session
        # should be ended with BYE.
        if call.dialog is not None and not call.finished:
            self._send_bye(call, call.dialog, now, out)
            self._end(call, "no-ack", now, out)

    def _final_failure(self, call: Call, status: int, now: float, out: list[Any]) -> None:
        tx = call.invite_tx
        if not isinstance(tx, InviteServerTransaction) or tx.state is not State.PROCEEDING:
            return
        self._cancel_behaviour(call, out)
        self._respond(tx, status, now, out, to_tag=call.local_tag)
        self._fail(call, status, reason_phrase(status), now, out)

    def _cancel_behaviour(self, call: Call, out: list[Any]) -> None:
        self._armed.cancel(call.call_id, _BEHAVIOUR_TIMERS, out)

    # -- requests for an existing call -------------------------------------------------------

    def _receive_ack_for_2xx(self, ack: Request, now: float, out: list[Any]) -> None:
        call = self.calls.get(ack.call_id)
        if call is None or self.config.behaviour.ignore_ack:
            return
        pending = call.pending_ok.pop(ack.cseq.number, None)
        if pending is None:
            return
        self._record(ack, now, "received")
        out.append(fast_cancel_timer("2xx", ua_timer_key(call.call_id, "2xx", ack.cseq.number)))
        out.append(fast_cancel_timer("2xx-timeout", ua_timer_key(call.call_id, "2xx-timeout",
                                                         ack.cseq.number)))
        initial = call.invite is not None and ack.cseq.number == call.invite.cseq.number
        if call.role == "uas" and call.state == "confirmed" and initial:
            if call.bye_deferred and call.dialog is not None:
                # The user hung up before the ACK came (RFC 3261 15): now the BYE may go.
                self._send_bye(call, call.dialog, now, out)
                self._end(call, "local-bye", now, out)
            elif call.hangup_after is not None:
                self._armed.start("hangup", now + call.hangup_after, call.call_id, out)
        self._maybe_retire(call)

    def _ist_timed_out(self, tx: InviteServerTransaction, now: float, out: list[Any]) -> None:
        # RFC 3261 17.2.1: Timer H - our non-2xx final response was never ACKed. The call
        # failed already; nothing more to do at the core.
        return

    def _receive_cancel(self, tx: ServerTransaction, cancel: Request, now: float,
                        out: list[Any]) -> None:
        invite_tx = self.transactions.find_cancelled(cancel)
        call = self.calls.get(cancel.call_id)
        if invite_tx is None or call is None:
            # RFC 3261 9.2: no matching transaction -> 481.
            self._respond(tx, 481, now, out)
            return
        self._own_server(tx.key, call.call_id)
        # RFC 3261 9.2: 200 to the CANCEL (To tag as in our INVITE responses) ...
        self._respond(tx, 200, now, out, to_tag=call.local_tag)
        if invite_tx.state is State.PROCEEDING:
            # ... and 487 to the INVITE if it had no final response yet.
            self._cancel_behaviour(call, out)
            self._respond(invite_tx, 487, now, out, to_tag=call.local_tag)
            self._fail(call, 487, "Request Terminated", now, out)

    def _receive_bye(self, call: Call, dialog: Dialog, tx: ServerTransaction, bye: Request,
                     now: float, out: list[Any]) -> None:
        self._respond(tx, 200, now, out)
        dialog.state = DialogState.TERMINATED
        # A BYE proves the caller got our 2xx: stop retransmitting it.
        for seq in list(call.pending_ok):
            call.pending_ok.pop(seq)
            out.append(fast_cancel_timer("2xx", ua_timer_key(call.call_id, "2xx", seq)))
            out.append(fast_cancel_timer("2xx-timeout", ua_timer_key(call.call_id, "2xx-timeout", seq)))
        if call.role == "uac" and call.state != "confirmed":
            # The callee ended an early dialog (e.g. it gave up waiting for our ACK of a
            # 2xx we never received): stop waiting for the INVITE.
            out.extend(self.cancel(call.call_id, now))
            return
        invite_tx = call.invite_tx
        if (call.role == "uas" and isinstance(invite_tx, InviteServerTransaction)
                and invite_tx.state is State.PROCEEDING):
            # RFC 3261 15.1.2: BYE for an early dialog: the INVITE gets 487.
            self._cancel_behaviour(call, out)
            self._respond(invite_tx, 487, now, out, to_tag=call.local_tag)
            self._fail(call, 487, "Request Terminated", now, out)
            return
        if call.state == "confirmed":
            self._end(call, "remote-bye", now, out)
        elif not call.finished:
            self._end(call, "remote-bye", now, out)

    def _receive_reinvite(self, call: Call, dialog: Dialog, tx: ServerTransaction,
                          request: Request, now: float, out: list[Any]) -> None:
        assert isinstance(tx, InviteServerTransaction)
        own = call.reinvite_tx
        if own is not None and not own.terminated and own.state in (State.CALLING,
                                                                      State.PROCEEDING):
            # RFC 3261 14.2: our own re-INVITE is pending -> 491 Request Pending.
            self._respond(tx, 491, now, out)
            return
        if call.pending_ok:
            # RFC 3261 14.2: a previous INVITE's 2xx is still unacknowledged -> 500 + Retry-After.
            self._respond(tx, 500, now, out, extra=[("Retry-After", "1")])
            return
        offered = direction_of(request.body) if request.body else "sendrecv"
        body = make_answer(request.body, self.config.sdp_address, self.config.media_port) \
            if request.body else make_offer(self.config.sdp_address, self.config.media_port)
        ok = make_response(request, 200, to_tag=call.local_tag,
                           extra=[("Contact", f"<{self.config.contact}>"),
                                  ("Content-Type", "application/sdp")], body=body)
        self._absorb(tx, self.transactions.send_response(tx, ok, now), now, out)
        self._start_2xx_retransmission(call, ok, tx, request.cseq.number, now, out)
        call.local_direction = ANSWER_DIRECTION.get(offered, "sendrecv")
        out.append(CallUpdated(call.call_id, call.local_direction, now))
