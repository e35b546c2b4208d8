"""SIPp's built-in ``uac`` scenario against the simvoip UAS (UDP and TCP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simvoip.net.roles import start_user_agent
from simvoip.sip.ua import UABehaviour

from .sipp import base_args, eventually, free_port, require_sipp, run, run_sipp

pytestmark = pytest.mark.interop

CALLS = 20


@pytest.mark.parametrize(("transport", "flag"), [("UDP", "u1"), ("TCP", "t1")])
def test_sipp_uac_calls_all_succeed_against_simvoip_uas(tmp_path: Path, transport: str,
                                                        flag: str) -> None:
    require_sipp()

    async def main() -> None:
        uas = await start_user_agent("service", keep_events=False,
                                     behaviour=UABehaviour(ring_delay=0.0, answer_delay=0.0))
        args = base_args(f"127.0.0.1:{uas.port}", free_port(), calls=CALLS, rate=40,
                         timeout=20)
        result = await run_sipp(["-sn", "uac", "-t", flag, *args], tmp_path)
        assert result.returncode == 0, result.describe()  # 0: every call successful
        assert result.stat("SuccessfulCall") == CALLS, result.describe()
        assert result.stat("FailedCall") == 0
        counts = uas.event_counts
        assert (counts["IncomingCall"], counts["CallAnswered"], counts["CallEnded"]) == (
            CALLS, CALLS, CALLS)
        assert uas.stats == {}, uas.stats  # nothing dropped, rejected or failed
        # Only the server transactions of the last messages may still wait (Timer J/I).
        await eventually(lambda: uas.core.dialog_count == 0, timeout=5.0)
        uas.close()

    run(main)
