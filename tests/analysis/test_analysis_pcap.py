"""pcap / pcapng export, checked byte by byte and by tshark (issue 8, issue 10)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from analysis_traces import (
    ALICE_IP,
    ALICE_RTP,
    ALICE_SSRC,
    BOB_IP,
    BOB_RTP,
    BOB_SSRC,
    call_trace,
)
from hypothesis import given
from hypothesis import strategies as st

from simvoip.analysis.pcap import node_addresses, pcap_bytes, sdp_media, write_pcap


@pytest.fixture
def udp_call() -> pd.DataFrame:
    return call_trace("udp")


@pytest.fixture
def tcp_call() -> pd.DataFrame:
    return call_trace("tcp")


TSHARK = shutil.which("tshark")
# Interop tests may skip only on a developer machine without tshark; in CI they must run.
needs_tshark = pytest.mark.skipif(
    TSHARK is None and not os.environ.get("CI"), reason="tshark not installed (and CI unset)"
)
CHECKSUMS = ["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
             "-o", "tcp.check_checksum:TRUE"]


def tshark(path: Path, *args: str) -> str:
    assert TSHARK is not None, "tshark is required in CI"
    done = subprocess.run([TSHARK, "-n", "-r", str(path), *CHECKSUMS, *args],
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def sip_stat(path: Path) -> tuple[Counter[str], Counter[int], int]:
    """Requests by method, responses by code and resent count from ``-z sip,stat``."""
    text = tshark(path, "-q", "-z", "sip,stat")
    requests: Counter[str] = Counter()
    responses: Counter[int] = Counter()
    section = ""
    resent = -1
    for line in text.splitlines():
        if "Status Codes" in line:
            section = "responses"
        elif "Request methods" in line:
            section = "requests"
        elif line.startswith("* "):
            section = ""
        if m := re.match(r"Number of resent SIP messages: (\d+)", line):
            resent = int(m.group(1))
        if m := re.match(r"\s+SIP (\d{3}) .*:\s+(\d+) Packets", line):
            responses[int(m.group(1))] += int(m.group(2))
        elif section == "requests" and (m := re.match(r"\s+(\S+)\s+:\s+(\d+) Packets", line)):
            requests[m.group(1)] += int(m.group(2))
    return requests, responses, resent


def trace_counts(df: pd.DataFrame) -> tuple[Counter[str], Counter[int]]:
    sends = df[(df["event"] == "send") & (df["kind"] == "sip")]
    is_response = sends["status"].notna()
    return (Counter(sends.loc[~is_response, "method"]),
            Counter(int(s) for s in sends.loc[is_response, "status"]))


def assert_clean(path: Path) -> None:
    """No malformed packet, no expert item at warning level or above (bad checksums included)."""
    bad = tshark(path, "-Y", '_ws.malformed || _ws.expert.severity >= "Warning"',
                 "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message")
    assert bad == ""


# -- bytes, no tshark needed -------------------------------------------------------------

def _ipv4_checksum_ok(header: bytes) -> bool:
    total = sum(struct.unpack("!10H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


def test_pcap_records_have_microsecond_timestamps_and_valid_ip_headers(udp_call):
    blob = pcap_bytes(udp_call)
    magic, major, minor, _, _, snaplen, linktype = struct.unpack("<IHHiIII", blob[:24])
    assert (magic, major, minor, linktype) == (0xA1B2C3D4, 2, 4, 1)
    sends = udp_call[udp_call["event"] == "send"]
    offset, seen = 24, []
    while offset < len(blob):
        sec, usec, incl, orig = struct.unpack("<IIII", blob[offset:offset + 16])
        frame = blob[offset + 16:offset + 16 + incl]
        assert incl == orig == len(frame)
        assert frame[12:14] == b"\x08\x00"
        ip = frame[14:34]
        assert _ipv4_checksum_ok(ip)
        assert struct.unpack("!H", ip[2:4])[0] == len(frame) - 14
        udp_len = struct.unpack("!H", frame[38:40])[0]
        assert udp_len == len(frame) - 34
        seen.append((sec * 1_000_000 + usec, frame[42:]))
        offset += 16 + incl
    expected = [(round(t * 1_000_000), d) for t, d in zip(sends["time"], sends["data"],
                                                             strict=True)]
    assert seen == expected


def test_pcapng_uses_nanoseconds_and_comments_dropped_packets():
    df = call_trace("udp", lose=("INVITE@proxy->bob",))
    blob = pcap_bytes(df, fmt="pcapng", epoch=1.0)
    assert struct.unpack("<I", blob[:4])[0] == 0x0A0D0D0A
    offset, stamps, comments = 0, [], []
    while offset < len(blob):
        block_type, length = struct.unpack("<II", blob[offset:offset + 8])
        if block_type == 6:
            _, high, low, cap, _ = struct.unpack("<IIIII", blob[offset + 8:offset + 28])
            stamps.append((high << 32) | low)
            options = blob[offset + 28 + cap + (-cap % 4):offset + length - 4]
            comments.append(options[4:4 + struct.unpack("<H", options[2:4])[0]]
                            if options else b"")
        offset += length
    assert offset == len(blob)
    sends = df[df["event"] == "send"]
    assert stamps == [round((t + 1.0) * 1e9) for t in sends["time"]]
    assert comments.count(b"dropped: loss") == 1
    assert comments[2] == b"dropped: loss"  # the first INVITE from proxy to bob


def test_link_duplicates_keep_the_ip_identification_of_the_original(udp_call):
    df = udp_call.copy()
    first = df.index[df["event"] == "send"][1]  # the 100 Trying
    dup = df.loc[[first]].assign(cause="duplicate", time=df.at[first, "time"] + 0.0005)
    df = pd.concat([df, dup]).sort_values("time", kind="stable", ignore_index=True)
    blob = pcap_bytes(df)
    offset, idents = 24, []
    while offset < len(blob):
        incl = struct.unpack("<I", blob[offset + 8:offset + 12])[0]
        frame = blob[offset + 16:offset + 16 + incl]
        idents.append((frame[26:34], struct.unpack("!H", frame[18:20])[0], frame[42:]))
        offset += 16 + incl
    assert idents[1] == idents[2]  # same addresses, same identification, same bytes
    proxy = [ident for addrs, ident, _ in idents if addrs[:4] == bytes([10, 0, 0, 1])]
    assert proxy == [0, 0, 1, 2, 3]  # per-source counter, the duplicate repeats 0


def test_addresses_come_from_sdp_then_mapping_then_sorted_defaults(udp_call):
    assert node_addresses(udp_call) == {"alice": ALICE_IP, "bob": BOB_IP, "proxy": "10.0.0.1"}
    fixed = node_addresses(udp_call, {"proxy": "10.9.9.9", "bob": "bob.b.example"})
    assert fixed == {"alice": ALICE_IP, "bob": BOB_IP, "proxy": "10.9.9.9"}


def test_sdp_reader_prefers_media_level_connection():
    body = b"v=0\r\nc=IN IP4 10.1.1.1\r\nm=video 0 RTP/AVP 31\r\nm=audio 5004 RTP/AVP 0\r\n" \
           b"c=IN IP4 10.2.2.2/127\r\n"
    assert sdp_media(body) == ("10.2.2.2", 5004, 5005)
    assert sdp_media(b"v=0\r\n") is None


def test_rows_without_bytes_are_skipped_and_bad_format_raises(udp_call, tmp_path):
    df = udp_call.copy()
    df.loc[df.index[0], "data"] = None
    assert write_pcap(df, tmp_path / "x.pcap") == int((df["event"] == "send").sum()) - 1
    with pytest.raises(ValueError):
        write_pcap(df, tmp_path / "x.pcap", fmt="erf")  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_simulator_trace_frames_export_like_hand_made_ones(fmt):
    from simvoip.sim.trace import Trace

    df = call_trace("tcp", lose=("INVITE@proxy->bob", "ACK@alice->bob"), packet_ids=True)
    trace = Trace()
    for rec in df.to_dict("records"):
        fields = {k: (None if pd.isna(v) else v) for k, v in rec.items()
                  if k not in ("time", "event", "node", "peer", "data")}
        fields = {k: int(v) if k in ("status", "cseq", "size", "packet") and v is not None
                  else v for k, v in fields.items()}
        trace.record(rec["time"], rec["event"], rec["node"], rec["peer"], data=rec["data"],
                     **fields)
    sim_df = trace.to_dataframe()
    assert sim_df["status"].dtype == "Int64"
    blob = pcap_bytes(sim_df, fmt=fmt)
    assert blob == pcap_bytes(df, fmt=fmt) == pcap_bytes(df.drop(columns="packet"), fmt=fmt)
    assert blob.count(b"dropped: loss") == (2 if fmt == "pcapng" else 0)


# -- tshark interop ---------------------------------------------------------------------

@pytest.mark.interop
@needs_tshark
@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_tshark_decodes_udp_call_without_errors_and_counts_match(tmp_path, udp_call, fmt):
    path = tmp_path / f"call.{fmt}"
    write_pcap(udp_call, path)
    assert_clean(path)
    requests, responses, resent = sip_stat(path)
    want_requests, want_responses = trace_counts(udp_call)
    assert requests == want_requests == Counter({"INVITE": 2, "ACK": 1, "BYE": 1})
    assert responses == want_responses == Counter({100: 1, 180: 2, 200: 3})
    assert resent == 0
    sdp_lines = tshark(path, "-Y", "sdp", "-T", "fields", "-e", "sdp.media.port")
    assert sdp_lines.split() == [str(ALICE_RTP), str(ALICE_RTP), str(BOB_RTP), str(BOB_RTP)]


@pytest.mark.interop
@needs_tshark
def test_tshark_decodes_rtp_from_the_sdp_with_right_ssrc_seq_and_ports(tmp_path, udp_call):
    path = tmp_path / "call.pcap"
    write_pcap(udp_call, path)
    # No heuristic: RTP is recognised only through the SDP offer/answer conversations.
    out = tshark(path, "-Y", "rtp", "-T", "fields", "-e", "ip.src", "-e", "udp.srcport",
                 "-e", "ip.dst", "-e", "udp.dstport", "-e", "rtp.ssrc", "-e", "rtp.seq",
                 "-e", "rtp.setup-frame")
    rows = [line.split("\t") for line in out.splitlines()]
    want = []
    for data in udp_call[(udp_call["event"] == "send") & (udp_call["kind"] == "rtp")]["data"]:
        seq, _, ssrc = struct.unpack("!HII", data[2:12])
        if ssrc == ALICE_SSRC:
            want.append([ALICE_IP, str(ALICE_RTP), BOB_IP, str(BOB_RTP), hex(ssrc), str(seq)])
        else:
            assert ssrc == BOB_SSRC
            want.append([BOB_IP, str(BOB_RTP), ALICE_IP, str(ALICE_RTP), f"0x{ssrc:08x}",
                         str(seq)])
    assert [r[:6] for r in rows] == [[*w[:4], f"0x{int(w[4], 16):08x}", w[5]] for w in want]
    assert all(r[6] for r in rows)  # each stream was set up by an SDP frame
    streams = tshark(path, "-q", "-z", "rtp,streams")
    assert "0x11223344" in streams and "0x55667788" in streams
    # RTCP on RTP port + 1 (RFC 3550 11), set up by the same SDP.
    rtcp = tshark(path, "-Y", "rtcp", "-T", "fields", "-e", "udp.srcport", "-e", "udp.dstport",
                  "-e", "rtcp.senderssrc", "-e", "rtcp.sender.packetcount")
    assert rtcp.splitlines() == [f"{ALICE_RTP + 1}\t{BOB_RTP + 1}\t0x11223344\t5",
                                 f"{BOB_RTP + 1}\t{ALICE_RTP + 1}\t0x55667788\t5"]


@pytest.mark.interop
@needs_tshark
def test_tshark_decodes_tcp_transport_as_a_clean_stream(tmp_path, tcp_call):
    path = tmp_path / "call.pcapng"
    packets = write_pcap(tcp_call, path)
    sends = int((tcp_call["event"] == "send").sum())
    assert packets == sends + 3 * 3  # one handshake per node pair: a-p, p-b, a-b
    assert_clean(path)
    assert tshark(path, "-Y", "tcp.analysis.flags") == ""
    requests, responses, _ = sip_stat(path)
    assert (requests, responses) == trace_counts(tcp_call)
    syns = tshark(path, "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0", "-T", "fields",
                  "-e", "tcp.dstport")
    assert syns.split() == ["5060", "5060", "5060"]


@pytest.mark.interop
@needs_tshark
def test_tshark_sees_the_retransmitted_invite_and_the_drop_comment(tmp_path):
    df = call_trace("udp", lose=("INVITE@proxy->bob",))
    path = tmp_path / "lossy.pcapng"
    write_pcap(df, path)
    assert_clean(path)
    requests, responses, resent = sip_stat(path)
    assert requests["INVITE"] == 3 and resent == 1
    comments = tshark(path, "-Y", "frame.comment", "-T", "fields", "-e", "frame.number",
                      "-e", "frame.comment")
    assert comments.split("\t") == ["3", "dropped: loss\n"]


@pytest.mark.interop
@needs_tshark
def test_tcp_transport_error_resets_and_reopens_the_connection(tmp_path):
    df = call_trace("tcp", lose=("ACK@alice->bob:transport-error",))
    path = tmp_path / "reset.pcap"
    write_pcap(df, path)
    out = tshark(path, "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0 || tcp.flags.reset == 1",
                 "-T", "fields", "-e", "frame.time_relative", "-e", "tcp.srcport",
                 "-e", "tcp.flags.reset")
    lines = [line.split("\t") for line in out.splitlines()]
    # SYNs alice-proxy, proxy-bob, alice-bob; RST when the ACK failed (1.044 + 5 ms);
    # the BYE at 2.144 opens a fourth connection from a new client port.
    assert [(float(t), port, rst) for t, port, rst in lines] == [
        (0.0, "49152", "0"), (0.012, "49153", "0"), (1.044, "49154", "0"),
        (1.049, "49154", "1"), (2.144, "49155", "0")]
    experts = tshark(path, "-Y", '_ws.malformed || _ws.expert.severity >= "Warning"',
                     "-T", "fields", "-e", "_ws.expert.message")
    assert set(experts.split()) <= {"Connection", "reset", "(RST)"}
    requests, responses, _ = sip_stat(path)
    assert (requests, responses) == trace_counts(df)


@pytest.mark.interop
@needs_tshark
def test_sdp_with_host_names_leaves_rtp_to_the_heuristic_and_stays_clean(tmp_path):
    df = call_trace("udp", hosts=("alice.a.example", "bob.b.example"))
    assert node_addresses(df) == {"alice": "10.0.0.1", "bob": "10.0.0.2", "proxy": "10.0.0.3"}
    path = tmp_path / "names.pcap"
    write_pcap(df, path)
    assert_clean(path)
    assert tshark(path, "-Y", "rtp") == ""  # no IPv4 in c=: no SDP-driven RTP set-up
    ssrcs = tshark(path, "--enable-heuristic", "rtp_udp", "-Y", "rtp", "-T", "fields",
                   "-e", "rtp.ssrc", "-e", "udp.srcport")
    assert ssrcs.split() == ["0x11223344", str(ALICE_RTP), "0x55667788", str(BOB_RTP)] * 5


# -- property: any trace gives a well-formed capture ------------------------------------

def _sum16(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


_sends = st.lists(
    st.tuples(
        st.floats(0, 100, allow_nan=False),
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from([("sip", "udp"), ("sip", "tcp"), ("rtp", "udp"), ("rtcp", "udp")]),
        st.binary(min_size=1, max_size=300),
    ).filter(lambda s: s[1] != s[2]),
    max_size=25,
)


@given(_sends)
def test_any_trace_gives_checksummed_in_order_frames_with_its_payloads(sends):
    sends = sorted(sends, key=lambda s: s[0])
    df = pd.DataFrame([{"time": t, "event": "send", "node": n, "peer": p, "kind": k,
                        "transport": tr, "data": d} for t, n, p, (k, tr), d in sends],
                      columns=["time", "event", "node", "peer", "kind", "transport", "data"])
    blob = pcap_bytes(df)
    offset, last, payloads = 24, -1, []
    next_seq: dict[tuple[bytes, int, bytes, int], int] = {}
    while offset < len(blob):
        sec, usec, incl, _ = struct.unpack("<IIII", blob[offset:offset + 16])
        stamp = sec * 1_000_000 + usec
        assert stamp >= last
        last = stamp
        ip = blob[offset + 30:offset + 16 + incl]
        offset += 16 + incl
        assert _sum16(ip[:20]) == 0xFFFF
        src, dst, proto = ip[12:16], ip[16:20], ip[9]
        segment = ip[20:]
        pseudo = src + dst + struct.pack("!BBH", 0, proto, len(segment))
        assert _sum16(pseudo + segment) == 0xFFFF  # UDP / TCP checksum verifies
        if proto == 17:
            assert struct.unpack("!H", segment[4:6])[0] == len(segment)
            payloads.append(segment[8:])
            continue
        assert proto == 6
        sport, dport, seq = struct.unpack("!HHI", segment[:8])
        flags, data = segment[13], segment[20:]
        key = (src, sport, dst, dport)
        if flags & 0x02:  # SYN takes one sequence number
            next_seq[key] = seq + 1
            continue
        assert seq == next_seq[key]
        next_seq[key] = seq + len(data)
        if data:
            payloads.append(data)
    assert payloads == [d for *_, d in sends]
