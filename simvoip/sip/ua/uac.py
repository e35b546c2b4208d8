"""Caller side of the INVITE usage: INVITE, ACK for 2xx, CANCEL, BYE, re-INVITE, redirects.

Mixed into :class:`~simvoip.sip.ua.core.UserAgent` (RFC 3261 13.2, 14.1, 15, 9.1).
"""

from __future__ import annotations

from typing import Any

from simvoip.sip.dialog import Dialog, DialogState
from simvoip.sip.effects import fast_start_timer
from simvoip.sip.errors import LocalProtocolError
from simvoip.sip.message import Request, Response
from simvoip.sip.sdp_session import make_offer
from simvoip.sip.transaction.client import ClientTransaction, InviteClientTransaction
from simvoip.sip.transaction.keys import TransactionKey
from simvoip.sip.transaction.table import State
from simvoip.sip.ua.base import UserAgentBase
from simvoip.sip.ua.call import Call, UATimerKey, ua_timer_key
from simvoip.sip.ua.events import (
    CallFailed,
    CallUpdated,
    CallUpdateFailed,
    call_answered,
    call_ended,
    call_progress,
)
from simvoip.sip.ua.messages import new_branch, new_call_id, new_tag, readable_contacts

__all__ = ["InviteClientMixin"]

_INVITE_TIMERS = ("invite-timeout", "invite-guard", "invite-abandon")
_HANGUP = ("hangup",)


class InviteClientMixin(UserAgentBase):
    """UAC behaviour of the INVITE dialog usage."""

    def invite(self, target: str, now: float, *, sdp_offer: bytes | None = None,
               hangup_after: float | None = None) -> tuple[str, list[Any]]:
        """Call ``target``: returns the call handle (its Call-ID) and the outputs.

        ``hangup_after`` sends BYE that long after the call is answered.
        """
        cfg = self.config
        call_id = new_call_id(self.rng, cfg.host)
        if self.crashed(now):
            return call_id, []
        tag = new_tag(self.rng)
        call = Call(call_id, role="uac", local_tag=tag, target=target, started_at=now,
                    hangup_after=hangup_after if hangup_after is not None
                    else cfg.behaviour.auto_hangup_after)
        call.sdp_offer = sdp_offer if sdp_offer is not None else make_offer(
            cfg.sdp_address, cfg.media_port, session_id=self.rng.getrandbits(32))
        self.calls[call_id] = call
        name = f"{cfg.display_name} " if cfg.display_name else ""
        branch = new_branch(self.rng)
        headers = self._base_headers(
            branch=branch, to=f"<{target}>",
            from_=f"{name}<{cfg.aor}>;tag={tag}", call_id=call_id,
            cseq=f"{self._initial_cseq()} INVITE",
            extra=[("Contact", f"<{cfg.contact}>"), ("Content-Type", "application/sdp")],
        )
        request = Request("INVITE", target, headers, call.sdp_offer)
        out: list[Any] = []
        self._send_invite(call, request, now, out, self._own_key(branch, "INVITE"))
        armed = self._armed
        armed.start("invite-guard", now + cfg.invite_guard, call_id, out)
        if cfg.invite_timeout is not None:
            armed.start("invite-timeout", now + cfg.invite_timeout, call_id, out)
        self._started(call, now, out)
        return call_id, out

    def _send_invite(self, call: Call, request: Request, now: float, out: list[Any],
                     key: TransactionKey | None = None) -> None:
        call.invite = request
        call.invite_destination = self._first_hop(request)
        call.state = "calling"
        out.extend(self._start_client(request, call.invite_destination, "invite", call.call_id, now,
                                      key))
        call.invite_tx = self._started_invite_tx()

    def _started_invite_tx(self) -> InviteClientTransaction | None:
        """The INVITE client transaction _start_client just created, if it is still in the
        table (the table's entry under its key, as a lookup by the request's key gives)."""
        tx = self._last_client
        if tx is None:
            return None
        tx = self.transactions.clients.get(tx.key)  # type: ignore[arg-type]
        return tx if isinstance(tx, InviteClientTransaction) else None

    def hangup(self, call_id: str, now: float) -> list[Any]:
        """End the call whatever its state: CANCEL before an answer, BYE after."""
        call = self.calls.get(call_id)
        if call is None or call.finished:
            return []
        if call.dialog is not None and call.dialog.state is DialogState.CONFIRMED:
            return self.bye(call_id, now)
        if call.role == "uac":
            return self.cancel(call_id, now)
        return self.reject(call_id, 603, now)

    def cancel(self, call_id: str, now: float) -> list[Any]:
        """CANCEL a pending INVITE (RFC 3261 9.1): sent once a provisional response arrived."""
        call = self.calls.get(call_id)
        if call is None or call.role != "uac" or self.crashed(now):
            return []
        out: list[Any] = []
        call.cancelled = True
        tx = call.invite_tx
        if (not isinstance(tx, InviteClientTransaction) or tx.terminated
                or call.state not in ("calling", "proceeding", "early")):
            return out
        if tx.can_cancel:
            self._send_cancel(call, now, out)
        else:
            # RFC 3261 9.1: no provisional response yet: wait for one before CANCELling.
            call.cancel_pending = True
        return out

    def _send_cancel(self, call: Call, now: float, out: list[Any]) -> None:
        call.cancel_pending = False
        # RFC 3261 9.1: no final response 64*T1 after the CANCEL: give the INVITE up.
        self._armed.start("invite-abandon", now + 64 * self.config.timers.t1, call.call_id, out)
        assert call.invite_destination is not None
        out.extend(self._start_client(self._cancel_request(call), call.invite_destination,
                                      "cancel", call.call_id, now))

    def bye(self, call_id: str, now: float) -> list[Any]:
        """Send BYE on the confirmed dialog (RFC 3261 15.1.1)."""
        call = self.calls.get(call_id)
        if call is None or call.dialog is None or self.crashed(now) or call.bye_sent:
            return []
        out: list[Any] = []
        if call.role == "uas" and call.invite is not None \
                and call.invite.cseq.number in call.pending_ok:
            # RFC 3261 15: the callee MUST NOT send BYE before the ACK for its 2xx arrives
            # (or the 2xx retransmissions time out): hang up as soon as it does.
            call.bye_deferred = True
            return out
        self._send_bye(call, call.dialog, now, out)
        self._end(call, "local-bye", now, out)
        return out

    def _send_bye(self, call: Call, dialog: Dialog, now: float, out: list[Any]) -> None:
        if dialog is call.dialog:
            call.bye_sent = True
        self._prime_cseq(dialog)
        via, key = self._via_and_key("BYE")
        request, hop = dialog.create_request("BYE", via=via, transport=self.config.transport)
        out.extend(self._start_client(request, hop, "bye", call.call_id, now, key))

    def _prime_cseq(self, dialog: Dialog) -> None:
        # RFC 3261 12.1.1: the UAS's local CSeq starts empty; its first request picks a
        # number like any new request (8.1.1.5).
        if dialog.local_cseq == 0:
            dialog.local_cseq = self._initial_cseq() - 1

    def reinvite(self, call_id: str, now: float, *, hold: bool = True) -> list[Any]:
        """Re-INVITE to put the call on hold (``a=sendonly``) or resume it (RFC 3264 8.4)."""
        call = self.calls.get(call_id)
        if call is None or not self.can_reinvite(call_id):
            raise LocalProtocolError(
                f"call {call_id!r}: no confirmed dialog, or an INVITE transaction is in "
                "progress in either direction (RFC 3261 14.1)")
        if self.crashed(now):
            return []
        direction = "sendonly" if hold else "sendrecv"
        call.reinvite_direction = direction
        out: list[Any] = []
        self._send_reinvite(call, now, out)
        return out

    def can_reinvite(self, call_id: str) -> bool:
        """True if a re-INVITE may start now: the dialog is confirmed and no INVITE
        transaction is in progress in either direction (RFC 3261 14.1): none of ours is
        pending and every 2xx we sent has been ACKed."""
        call = self.calls.get(call_id)
        if call is None or call.finished or call.dialog is None:
            return False
        if call.dialog.state is not DialogState.CONFIRMED or call.pending_ok:
            return False
        own = call.reinvite_tx
        return own is None or own.state not in (State.CALLING, State.PROCEEDING)

    def _send_reinvite(self, call: Call, now: float, out: list[Any]) -> None:
        assert call.dialog is not None and call.reinvite_direction is not None
        body = make_offer(self.config.sdp_address, self.config.media_port,
                          direction=call.reinvite_direction, version=call.dialog.local_cseq + 2)
        self._prime_cseq(call.dialog)
        request, hop = call.dialog.create_request(
            "INVITE", via=self._via(), body=body, content_type="application/sdp",
            transport=self.config.transport)
        out.extend(self._start_client(request, hop, "reinvite", call.call_id, now))
        call.reinvite_tx = self._started_invite_tx()

    # -- responses ---------------------------------------------------------------------------

    def _call_response(self, call: Call, purpose: str, tx: ClientTransaction,
                       response: Response, now: float, out: list[Any]) -> None:
        code = response.status_code
        if purpose == "invite":
            if tx is not call.invite_tx:
                if 200 <= code < 300:
                    self._invite_2xx(call, response, now, out)
                return
            if code < 200:
                self._invite_provisional(call, response, now, out)
            elif code < 300:
                self._invite_2xx(call, response, now, out)
            else:
                self._invite_failure(call, tx, response, now, out)
        elif purpose == "reinvite":
            self._reinvite_response(call, tx, response, now, out)
        elif purpose == "bye":
            if code >= 200:
                self._drop_dialog(call, response, tx)
        # CANCEL responses need nothing: the INVITE's 487 (or 2xx) settles the call.

    def _invite_provisional(self, call: Call, response: Response, now: float,
                            out: list[Any]) -> None:
        code = response.status_code
        if call.state == "calling":
            call.state = "proceeding"
        if call.cancel_pending:
            self._send_cancel(call, now, out)
        if code == 100:
            return
        tag = response.to.tag
        if tag and call.invite is not None and response.headers.get("Contact"):
            # RFC 3261 13.2.2.1: a 1xx with a To tag creates an early dialog (one per
            # forked UAS, 12.1.2).
            dialog = call.dialogs.get(tag)
            if dialog is None:
                call.dialogs[tag] = Dialog.from_uac_response(call.invite, response)
            elif dialog.state is DialogState.EARLY:
                dialog.update_from_response(response)
            call.state = "early"
        if call.progress_at is None and code in (180, 183):
            call.progress_at = now
        out.append(call_progress(call.call_id, code, response.reason, now))

    def _invite_2xx(self, call: Call, response: Response, now: float, out: list[Any]) -> None:
        """RFC 3261 13.2.2.4: every 2xx (and each retransmission) gets an ACK from the core."""
        tag = response.to.tag or ""
        invite = call.invite
        key = tag if invite is None or response.cseq.number == invite.cseq.number \
            else f"{tag}/{response.cseq.number}"
        if key in call.acks:
            # A retransmitted 2xx (of the INVITE or of a re-INVITE): the same ACK again.
            ack, hop = call.acks[key]
            self._send(ack, hop, now, out)
            return
        if invite is None or response.cseq.number != invite.cseq.number:
            return
        dialog = call.dialogs.get(tag)
        if dialog is None:
            dialog = Dialog.from_uac_response(invite, response)
            call.dialogs[tag] = dialog
        else:
            dialog.update_from_response(response)
        dialog.state = DialogState.CONFIRMED
        # 13.2.2.4: ACK with the INVITE's CSeq number, Route from the dialog, no new transaction.
        ack, hop = dialog.create_request("ACK", via=self._via(), cseq=invite.cseq.number,
                                         transport=self.config.transport)
        call.acks[tag] = (ack, hop)
        self._send(ack, hop, now, out)
        if call.dialog is not None and call.dialog is not dialog:
            # A second 2xx from another fork: ACK it, then BYE that dialog (13.2.2.4).
            self._send_bye(call, dialog, now, out)
            return
        if call.finished:
            # The call failed/ended already (e.g. a 2xx after our 408): ACK and BYE.
            self._send_bye(call, dialog, now, out)
            return
        call.dialog = dialog
        call.state = "confirmed"
        call.final_status = response.status_code
        call.answered_at = now
        self._stop_invite_timers(call, out)
        # Early dialogs of other forks end with the confirmed one (12.1.2 / 13.2.2.4).
        for other_tag, d in list(call.dialogs.items()):
            if d.state is DialogState.EARLY and other_tag != tag:
                d.state = DialogState.TERMINATED
        out.append(call_answered(call.call_id, now, response.status_code))
        if call.cancelled:
            # The 200/CANCEL crossing (RFC 3261 9.1): the call was answered anyway; end it.
            self._send_bye(call, dialog, now, out)
            self._end(call, "cancelled", now, out)
        elif call.hangup_after is not None:
            self._armed.start("hangup", now + call.hangup_after, call.call_id, out)

    def _invite_failure(self, call: Call, tx: ClientTransaction, response: Response, now: float,
                        out: list[Any]) -> None:
        code = response.status_code
        if call.state in ("confirmed", "failed", "ended"):
            return
        if code in (401, 407):
            retry = self._authorized_copy(tx.request, response)
            if retry is not None:
                self._send_invite(call, retry, now, out)
                return
        if 300 <= code < 400 and call.redirects < self.config.max_redirects and not call.cancelled:
            target = _first_contact(response)
            if target is not None:
                # RFC 3261 8.1.3.4: recurse on the Contact of the 3xx: a new INVITE, CSeq + 1.
                call.redirects += 1
                redirected = Request("INVITE", target, tx.request.headers, tx.request.body)
                retry = self._next_attempt(redirected, tx.request.headers.copy())
                call.dialogs.clear()
                self._send_invite(call, retry, now, out)
                return
        self._fail(call, code, response.reason, now, out)

    def _fail(self, call: Call, status: int, reason: str, now: float, out: list[Any]) -> None:
        call.state = "failed"
        call.final_status = status
        call.ended_at = now
        for d in call.dialogs.values():
            d.state = DialogState.TERMINATED
        self._stop_invite_timers(call, out)
        out.append(CallFailed(call.call_id, status, reason, now))

    def _stop_invite_timers(self, call: Call, out: list[Any]) -> None:
        self._armed.cancel(call.call_id, _INVITE_TIMERS, out)

    def _end(self, call: Call, reason: str, now: float, out: list[Any]) -> None:
        if call.finished:
            return
        call.state = "ended"
        call.end_reason = reason
        call.ended_at = now
        self._armed.cancel(call.call_id, _HANGUP, out)
        out.append(call_ended(call.call_id, reason, now))

    def _drop_dialog(self, call: Call, response: Response | None, tx: ClientTransaction) -> None:
        # RFC 3261 15.1.1: the BYE's final response (or timeout) ends the dialog.
        tag = tx.request.to.tag or ""
        d = call.dialogs.get(tag)
        if d is not None:
            d.state = DialogState.TERMINATED

    def _reinvite_response(self, call: Call, tx: ClientTransaction, response: Response,
                           now: float, out: list[Any]) -> None:
        code = response.status_code
        dialog = call.dialog
        if code < 200 or dialog is None:
            return
        if code < 300:
            tag = response.to.tag or ""
            key = f"{tag}/{response.cseq.number}"
            if key not in call.acks:
                ack, hop = dialog.create_request("ACK", via=self._via(),
                                                 cseq=response.cseq.number,
                                                 transport=self.config.transport)
                call.acks[key] = (ack, hop)
                dialog.update_from_response(response)
                call.local_direction = call.reinvite_direction or call.local_direction
                out.append(CallUpdated(call.call_id, call.local_direction, now))
            ack, hop = call.acks[key]
            self._send(ack, hop, now, out)
            return
        if code == 491:
            # RFC 3261 14.1: glare. Retry after 2.1-4 s (owner of the Call-ID) or 0-2 s,
            # in units of 10 ms, drawn from the injected random stream.
            if call.owner_of_call_id:
                delay = self.rng.randint(210, 400) / 100
            else:
                delay = self.rng.randint(0, 200) / 100
            call.reinvite_tx = None
            out.append(fast_start_timer("glare", now + delay, ua_timer_key(call.call_id, "glare", 0)))
            return
        call.reinvite_tx = None
        out.append(CallUpdateFailed(call.call_id, code, now))
        if code in (408, 481):
            # RFC 3261 14.1 / 12.2.1.2: the dialog is gone: terminate it with BYE.
            self._send_bye(call, dialog, now, out)
            self._end(call, "reinvite-failed", now, out)

    def _call_timeout(self, call: Call, purpose: str, tx: ClientTransaction, status: int,
                      now: float, out: list[Any]) -> None:
        if purpose == "invite" and tx is call.invite_tx and call.state in ("calling", "proceeding",
                                                                              "early"):
            # RFC 3261 8.1.3.1: Timer B is a 408 for the TU.
            self._fail(call, status, "Request Timeout", now, out)
        elif purpose == "bye":
            self._drop_dialog(call, None, tx)
        elif purpose == "reinvite" and call.dialog is not None:
            call.reinvite_tx = None
            out.append(CallUpdateFailed(call.call_id, status, now))
            self._send_bye(call, call.dialog, now, out)
            self._end(call, "reinvite-failed", now, out)

    # -- core timers ---------------------------------------------------------------------------

    def _call_timer(self, call: Call, key: UATimerKey, now: float, out: list[Any]) -> None:
        if key.kind in ("invite-timeout", "invite-guard"):
            if call.state in ("calling", "proceeding", "early"):
                out.extend(self.cancel(call.call_id, now))
        elif key.kind == "invite-abandon":
            tx = call.invite_tx
            if call.state in ("calling", "proceeding", "early") and tx is not None:
                out.extend(self.transactions.discard(tx))
                self._disown(tx.key, server=False)
                self._fail(call, 408, "Request Timeout", now, out)
        elif key.kind == "hangup":
            if call.state == "confirmed" and call.dialog is not None and not call.bye_sent:
                out.extend(self.bye(call.call_id, now))
        elif key.kind == "glare":
            if call.state == "confirmed" and call.dialog is not None and call.reinvite_direction:
                if self.can_reinvite(call.call_id):
                    self._send_reinvite(call, now, out)
                else:
                    # The other side's INVITE is still in progress: back off again.
                    out.append(fast_start_timer("glare", now + self.rng.randint(0, 200) / 100,
                                          ua_timer_key(call.call_id, "glare", 0)))
        else:
            self._uas_timer(call, key, now, out)


def _first_contact(response: Response) -> str | None:
    best: tuple[float, str] | None = None
    for na in readable_contacts(response):
        q = float(na.params.get("q") or 1.0)
        if best is None or q > best[0]:
            best = (q, na.uri)
    return best[1] if best else None
