"""The simvoip UAC against SIPp's built-in ``uas`` scenario."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from simvoip.net.roles import start_user_agent
from simvoip.sip.transaction import TimerConfig
from simvoip.sip.ua import CallAnswered, CallEnded, CallFailed, CallProgress

from .sipp import free_port, require_sipp, run, run_sipp

pytestmark = pytest.mark.interop

CALLS = 10


@pytest.mark.parametrize(("transport", "flag"), [("UDP", "u1"), ("TCP", "t1")])
def test_simvoip_uac_calls_sipp_uas(tmp_path: Path, transport: str, flag: str) -> None:
    require_sipp()

    async def main() -> None:
        sipp_port = free_port()
        sipp = asyncio.create_task(run_sipp(
            ["-sn", "uas", "-t", flag, "-i", "127.0.0.1", "-p", str(sipp_port),
             "-m", str(CALLS), "-timeout", "30s", "-timeout_error"], tmp_path))
        await asyncio.sleep(0.3)  # let SIPp bind its socket
        # Default T1 (500 ms): SIPp's built-in uas aborts a call on an INVITE retransmission
        # that arrives after its 200, which a scaled-down T1 provokes on a busy machine.
        uac = await start_user_agent("alice", role="uac", transport=transport,
                                     timers=TimerConfig())
        target = f"sip:service@127.0.0.1:{sipp_port};transport={transport.lower()}"
        call_ids = []
        for _ in range(CALLS):
            call_id, out = uac.core.invite(target, uac.now, hangup_after=0.05)
            uac.execute(out)
            call_ids.append(call_id)
        ends = [await uac.wait_for(lambda e, c=c: isinstance(e, CallEnded | CallFailed)
                                   and e.call_id == c, 20.0) for c in call_ids]
        result = await sipp
        assert all(isinstance(e, CallEnded) and e.reason == "local-bye" for e in ends), ends
        assert uac.event_counts[CallAnswered.__name__] == CALLS
        # SIPp's 180 arrived and was reported as progress for every call.
        assert {e.call_id for e in uac.events if isinstance(e, CallProgress)} == set(call_ids)
        for call_id in call_ids:
            record = uac.core.call(call_id)
            assert record.final_status == 200
            sent = sorted(record.sent)
            assert [s.split()[0] for s in sent] == ["ACK", "BYE", "INVITE"]
        assert result.returncode == 0, result.describe()
        assert result.stat("SuccessfulCall") == CALLS, result.describe()
        assert uac.stats == {}
        uac.close()

    run(main)
