"""tshark decodes the pcap export of every shipped topology (issue 8 / issue 10).

For each scenario: no malformed packet and no expert error, SIP requests by
method and responses by code equal the simulator's own counts of ``send``
rows, and RTP is tied to the SDP that set it up (decoded as RTP without
heuristics) with the SSRC count of the answered calls.

These run in CI (``.ci/run`` installs tshark); locally they skip only when
tshark is missing and ``CI`` is not set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from simvoip import Simulation, load_topology

ROOT = Path(__file__).resolve().parents[2]
TSHARK = shutil.which("tshark")

if TSHARK is None and not os.environ.get("CI"):
    pytest.skip("tshark is not installed (it is required in CI)", allow_module_level=True)

#: Shipped scenarios and how long to run them (overload is cut short: it is big).
SCENARIOS = {"direct": None, "trapezoid": None, "forking": None, "wifi": None,
             "satellite": None, "overload": 20.0}


def tshark(*args: str) -> str:
    assert TSHARK is not None, "tshark is required in CI"
    result = subprocess.run([TSHARK, *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def run_scenario(name: str, until: float | None) -> Simulation:
    from simvoip.cli import _default_until

    topo = load_topology(ROOT / "topologies" / f"{name}.yaml")
    sim = Simulation(topo)
    sim.run(until=until if until is not None else _default_until(topo))
    return sim


@pytest.mark.interop
@pytest.mark.parametrize(("name", "until"), SCENARIOS.items())
def test_tshark_decodes_the_export_and_counts_the_same_sip(name: str, until: float | None,
                                                          tmp_path: Path) -> None:
    sim = run_scenario(name, until)
    path = tmp_path / f"{name}.pcap"
    written = sim.trace.to_pcap(path)
    sends = [r for r in sim.trace.records if r[1] == "send"]
    assert written == len(sends)

    assert tshark("-r", str(path), "-Y", "_ws.malformed || _ws.expert.severity >= error") == ""
    rows = tshark("-r", str(path), "-Y", "sip", "-T", "fields", "-E", "separator=|",
                  "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.CSeq.method")
    decoded = Counter()
    for line in rows.splitlines():
        method, status, cseq_method = (line.split("|") + ["", "", ""])[:3]
        decoded[(cseq_method, int(status)) if status else (method, None)] += 1
    ours = Counter((r[6], r[7]) for r in sends if r[4] == "sip")
    assert decoded == ours

    rtp_sends = sum(1 for r in sends if r[4] == "rtp")
    if rtp_sends:
        ssrcs = tshark("-r", str(path), "-Y", "rtp", "-T", "fields", "-e", "rtp.ssrc")
        assert len(ssrcs.split()) == rtp_sends  # every RTP packet decoded via its SDP
        answered = [c for c in sim.calls if c.outcome == "answered"]
        assert len(set(ssrcs.split())) >= 2 * len(answered)
    rtcp_sends = sum(1 for r in sends if r[4] == "rtcp")
    assert (rtcp_sends > 0) == (rtp_sends > 0)  # RTCP goes with every media session
    if rtcp_sends:
        # Every RTCP compound decodes as RTCP on RTP port + 1 (SR or RR first, RFC 3550 6.1).
        kinds = tshark("-r", str(path), "-Y", "rtcp", "-T", "fields", "-e", "rtcp.pt")
        firsts = [line.split(",")[0] for line in kinds.splitlines()]
        assert len(firsts) == rtcp_sends and set(firsts) <= {"200", "201"}
