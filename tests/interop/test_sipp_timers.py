"""RFC 3261 timers of the simvoip UAS seen by SIPp: INVITE retransmission, 2xx without ACK."""

from __future__ import annotations

from pathlib import Path

import pytest

from simvoip.net.roles import start_user_agent
from simvoip.sip.message import Request
from simvoip.sip.transaction import TimerConfig
from simvoip.sip.ua import UABehaviour

from .sipp import (
    SCENARIOS,
    base_args,
    check_2xx_retransmissions,
    check_2xx_schedule,
    free_port,
    require_sipp,
    run,
    run_sipp,
)

pytestmark = pytest.mark.interop

# T1 scaled down 20x (T2 ten times T1): 64*T1 = 1.6 s, 2xx sent at 0, 0.025, 0.075, 0.175,
# 0.375, 0.625, 0.875, 1.125, 1.375 s after the first one -> 8 retransmissions, BYE at 1.6 s.
T1, T2 = 0.025, 0.25
CALLS = 2


def test_uas_absorbs_invite_retransmission_and_hangs_up_without_ack(tmp_path: Path) -> None:
    require_sipp()

    async def main() -> None:
        uas = await start_user_agent(
            "service", timers=TimerConfig(t1=T1, t2=T2, t4=0.2), keep_wire=True,
            # Answer within 200 ms, so no 100 Trying (RFC 3261 17.2.1); the retransmitted
            # INVITE arrives 50 ms after the first, while the IST is Proceeding.
            behaviour=UABehaviour(ring_delay=None, answer_delay=0.15))
        args = base_args(f"127.0.0.1:{uas.port}", free_port(), calls=CALLS, rate=10,
                         timeout=20)
        result = await run_sipp(["-sf", str(SCENARIOS / "uac_retransmit_no_ack.xml"), *args],
                                tmp_path)
        assert result.returncode == 0, result.describe()
        assert result.stat("SuccessfulCall") == CALLS, result.describe()
        # One call per Call-ID although every INVITE came twice.
        assert uas.event_counts["IncomingCall"] == CALLS
        assert uas.event_counts["CallEnded"] == CALLS
        by_call: dict[str, list[tuple[float, str, str]]] = {}
        for w in uas.wire:
            m = w.message
            label = m.method if isinstance(m, Request) else f"{m.status_code} {m.cseq.method}"
            by_call.setdefault(m.call_id, []).append((w.at, w.direction, label))
        assert len(by_call) == CALLS
        retransmitted = 0
        for call_id, records in by_call.items():
            received = [lab for _, d, lab in records if d == "received"]
            assert received.count("INVITE") == 2 and "ACK" not in received
            invites = [at for at, d, lab in records if d == "received" and lab == "INVITE"]
            assert 0.045 <= invites[1] - invites[0] <= 1.0  # SIPp's <pause> of 50 ms
            # Nothing provisional was sent, so the IST had nothing to repeat (17.2.1).
            assert not any(d == "sent" and lab.startswith("1") for _, d, lab in records)
            oks = [at for at, d, lab in records if d == "sent" and lab == "200 INVITE"]
            byes = [at for at, d, lab in records if d == "sent" and lab == "BYE"]
            assert len(byes) == 1
            check_2xx_retransmissions(oks, byes[0], T1, T2)
            assert len(oks) >= 7  # nominally 9 (see above); fewer only if timers ran late
            retransmitted += len(oks) - 1
            assert check_2xx_schedule(uas.armed, call_id, T1, T2) == len(oks)
            assert any(d == "received" and lab == "200 BYE" for _, d, lab in records)
        # SIPp saw the same: every 200 beyond the first was a retransmission to it.
        retrans_200 = next(v for k, v in result.counts.items() if k.endswith("_200_Retrans"))
        assert int(retrans_200) == retransmitted, result.counts
        uas.close()

    run(main)
