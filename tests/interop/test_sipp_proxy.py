"""SIPp UAC -> simvoip proxy -> SIPp UAS, with header checks on both SIPp sides."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from simvoip.net.roles import start_proxy
from simvoip.sip.message import Request, Response

from .sipp import SCENARIOS, free_port, require_sipp, run, run_sipp

pytestmark = pytest.mark.interop

CALLS = 10


def test_sipp_uac_through_simvoip_proxy_to_sipp_uas(tmp_path: Path) -> None:
    require_sipp()

    async def main() -> None:
        proxy = await start_proxy(domain="proxy.test", keep_wire=True)
        uas_port, uac_port = free_port(), free_port()
        uas = asyncio.create_task(run_sipp(
            ["-sf", str(SCENARIOS / "uas_behind_proxy.xml"), "-i", "127.0.0.1",
             "-p", str(uas_port), "-m", str(CALLS), "-timeout", "30s", "-timeout_error"],
            tmp_path / "uas"))
        await asyncio.sleep(0.3)  # let the UAS bind
        # -rsa: every message goes to the proxy; the Request-URI names the UAS.
        uac = await run_sipp(
            ["127.0.0.1:" + str(uas_port), "-sf", str(SCENARIOS / "uac_via_proxy.xml"),
             "-rsa", f"127.0.0.1:{proxy.port}", "-i", "127.0.0.1", "-p", str(uac_port),
             "-m", str(CALLS), "-r", "20", "-timeout", "30s", "-timeout_error",
             "-recv_timeout", "10s"], tmp_path / "uac")
        server = await uas
        assert uac.returncode == 0, uac.describe()
        assert server.returncode == 0, server.describe()
        assert uac.stat("SuccessfulCall") == CALLS and uac.stat("FailedCall") == 0
        assert server.stat("SuccessfulCall") == CALLS and server.stat("FailedCall") == 0
        # The SIPp checks used generic ports; pin the exact Record-Route here.
        rr = f"<sip:127.0.0.1:{proxy.port};lr>"
        forwarded = [w.message for w in proxy.wire if w.direction == "sent"
                     and isinstance(w.message, Request) and w.message.method == "INVITE"]
        assert len({m.call_id for m in forwarded}) == CALLS
        assert all(m.headers.get_all("Record-Route") == [rr] for m in forwarded)
        assert all(w.peer.port == uas_port for w in proxy.wire if w.direction == "sent"
                   and isinstance(w.message, Request))
        oks = [w for w in proxy.wire if w.direction == "sent"
               and isinstance(w.message, Response) and w.message.status_code == 200]
        assert {w.peer.port for w in oks} == {uac_port}
        # The 2xx of every INVITE and every BYE went back to the UAC.
        assert len({(w.message.call_id, w.message.cseq.method) for w in oks}) == 2 * CALLS
        assert proxy.stats == {}, proxy.stats
        proxy.close()

    run(main)
