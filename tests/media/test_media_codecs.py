"""Codec table (RFC 3551) and bandwidth arithmetic against reference_values.json."""

from __future__ import annotations

import pytest

from simvoip.media.codecs import CODECS, bandwidth, codec_by_name, codec_by_payload_type
from simvoip.sip.errors import LocalProtocolError


def _decimals(value: float) -> int:
    text = repr(float(value))
    return len(text.split(".")[1]) if "." in text else 0


def test_static_payload_types_rfc3551_table4():
    # RFC 3551 Table 4: PCMU 0, G723 4, PCMA 8, G729 18, all 8000 Hz.
    for name, pt in (("PCMU", 0), ("G723", 4), ("PCMA", 8), ("G729", 18)):
        codec = codec_by_name(name)
        assert (codec.payload_type, codec.clock_rate) == (pt, 8000)
        assert codec_by_payload_type(pt) is codec
    assert codec_by_name("opus").clock_rate == 48000  # RFC 7587
    assert 96 <= codec_by_name("telephone-event").payload_type <= 127


def test_default_ptime_rfc3551_table1():
    assert codec_by_name("PCMU").default_ptime_ms == 20
    assert codec_by_name("G729").default_ptime_ms == 20
    assert codec_by_name("G723").default_ptime_ms == 30  # one 30 ms frame


def test_timestamp_increment(reference_values):
    entry = reference_values["voip.rtp_timestamp_increment"]
    assert codec_by_name("PCMU").timestamp_increment(entry["inputs"]["ptime_ms"]) == entry["expected"]
    assert codec_by_name("opus").timestamp_increment(20) == 960


@pytest.mark.parametrize("index", range(6))
def test_bandwidth_reference(reference_values, index):
    entry = reference_values["voip.packetisation_bandwidth"]
    row = entry["expected"][index]
    codec = codec_by_name("PCMU" if row["codec"] == "G.711" else "G729")
    bw = bandwidth(codec, row["ptime_ms"])
    assert bw.payload_bytes == row["payload_bytes"]
    assert bw.ip_packet_bytes == row["ip_packet_bytes"]
    for key in ("packets_per_s", "ip_kbps", "ethernet_frame_kbps", "ethernet_on_wire_kbps",
                "ethernet_8021q_frame_kbps"):
        expected = row[key]
        # The reference rounds to 3 or 6 decimals; compare at its precision.
        got = round(getattr(bw, key), _decimals(expected))
        assert got == pytest.approx(expected, abs=entry["tolerance"]), key


def test_plc_flags_and_errors():
    assert all(c.plc for n, c in CODECS.items() if n != "telephone-event")
    assert not codec_by_name("PCMA").without_plc().plc
    with pytest.raises(LocalProtocolError):
        codec_by_name("G729").without_plc()
    with pytest.raises(LocalProtocolError):
        codec_by_name("G729").payload_bytes(15)  # not a multiple of 10 ms
    with pytest.raises(LocalProtocolError):
        codec_by_name("iLBC")
