"""Hand-built traces of one complete SIP call, with real SIP and RTP bytes.

(A plain helper module, not a conftest.py: a second conftest.py here would clash
with tests/conftest.py, as neither folder is a package.)

``call_trace()`` returns a trace DataFrame in the ARCHITECTURE.md schema for
alice -> proxy -> bob: INVITE (SDP), 100, 180, 200 (SDP), ACK, RTP both ways
(alice <-> bob direct), one RTCP sender report each way, BYE, 200. Every message is a ``send`` row at the sender
and a ``recv`` row at the receiver 10 ms later, unless listed in ``lose``.
"""

from __future__ import annotations

import struct
from typing import Any

import pandas as pd

from simvoip.sip import Headers, Request, Response

HOP = 0.010
ALICE_IP, BOB_IP = "192.0.2.10", "198.51.100.20"
ALICE_RTP, BOB_RTP = 49170, 3456
ALICE_SSRC, BOB_SSRC = 0x11223344, 0x55667788
CALL_ID = "a84b4c76e66710@alice.a.example"


def sdp(user: str, ip: str, port: int) -> bytes:
    return (
        f"v=0\r\no={user} 2890844526 2890844526 IN IP4 {ip}\r\ns=-\r\n"
        f"c=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\n"
        "a=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
    ).encode()


def rtp(seq: int, timestamp: int, ssrc: int) -> bytes:
    # RFC 3550 5.1: V=2, P=0, X=0, CC=0 | M=0, PT=0 (PCMU) | seq | timestamp | SSRC
    return struct.pack("!BBHII", 0x80, 0, seq, timestamp, ssrc) + b"\xff" * 160


def rtcp_sender_report(ssrc: int, packets: int) -> bytes:
    # RFC 3550 6.4.1: V=2, RC=0, PT=200 (SR), length 6 (32-bit words - 1), SSRC,
    # NTP timestamp (2 words), RTP timestamp, sender's packet count, octet count.
    return struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, 0, 0, 160 * packets, packets,
                       160 * packets)


def _request(method: str, cseq: int, branch: str, transport: str, body: bytes = b"",
             via_proxy: str | None = None) -> Request:
    rows = []
    if via_proxy:
        rows.append(("Via", f"SIP/2.0/{transport.upper()} proxy.a.example;branch={via_proxy}"))
    rows += [
        ("Via", f"SIP/2.0/{transport.upper()} alice.a.example;branch={branch}"),
        ("Max-Forwards", "70"),
        ("From", "Alice <sip:alice@a.example>;tag=1928301774"),
        ("To", "Bob <sip:bob@b.example>" + (";tag=a6c85cf" if method != "INVITE" else "")),
        ("Call-ID", CALL_ID),
        ("CSeq", f"{cseq} {method}"),
        ("Contact", "<sip:alice@alice.a.example>"),
    ]
    if body:
        rows.append(("Content-Type", "application/sdp"))
    return Request(method, "sip:bob@b.example", Headers(rows), body)


def _response(req: Request, status: int, reason: str, body: bytes = b"") -> Response:
    rows = [(n, v) for n, v in req.headers if n in ("Via", "From", "To", "Call-ID", "CSeq")]
    rows = [(n, v + ";tag=a6c85cf" if n == "To" and "tag=" not in v and status > 100 else v)
            for n, v in rows]
    if body:
        rows.append(("Content-Type", "application/sdp"))
    return Response(status, reason, Headers(rows), body)


def _strip_top_via(msg: Request | Response) -> Request | Response:
    vias = msg.headers.get_all("Via")
    rows = [(n, v) for n, v in msg.headers if n != "Via"]
    headers = Headers([("Via", v) for v in vias[1:]] + rows)
    if isinstance(msg, Request):
        return Request(msg.method, msg.uri, headers, msg.body)
    return Response(msg.status_code, msg.reason, headers, msg.body)


def call_trace(transport: str = "udp", lose: tuple[str, ...] = (),
               rtp_packets: int = 5, packet_ids: bool = False,
               hosts: tuple[str, str] = (ALICE_IP, BOB_IP)) -> pd.DataFrame:
    """A trace DataFrame of one call; ``lose`` names hops ("INVITE@proxy->bob") to drop
    (cause ``loss``, or another after a colon: "BYE@alice->bob:transport-error").

    ``packet_ids`` adds simvoip.sim's ``packet`` column (one id per copy on the wire);
    ``hosts`` are what alice's and bob's SDP put in ``c=``.
    """
    rows: list[dict[str, Any]] = []

    def hop(t: float, src: str, dst: str, msg: Request | Response | bytes, kind: str = "sip",
            label: str = "") -> None:
        data = msg if isinstance(msg, bytes) else msg.encode()
        common: dict[str, Any] = {"peer": dst, "kind": kind,
                                  "transport": transport if kind == "sip" else "udp",
                                  "size": len(data), "data": data, "call_id": CALL_ID}
        if packet_ids:
            common["packet"] = len(rows) + 1
        if not isinstance(msg, bytes):
            common.update(method=msg.cseq.method, cseq=msg.cseq.number, branch=msg.branch,
                          status=msg.status_code if isinstance(msg, Response) else None)
        rows.append({"time": t, "event": "send", "node": src, **common})
        causes = {k.partition(":")[0]: k.partition(":")[2] or "loss" for k in lose}
        if f"{label}@{src}->{dst}" in causes:
            # dropped on the way: recorded at the sender's end, as simvoip.sim does
            rows.append({"time": t + HOP / 2, "event": "drop", "node": src,
                         **common, "cause": causes[f"{label}@{src}->{dst}"]})
        else:
            rows.append({"time": t + HOP, "event": "recv", "node": dst, **common, "peer": src})

    invite_ab = _request("INVITE", 1, "z9hG4bKa1", transport, sdp("alice", hosts[0], ALICE_RTP))
    invite_pb = Request("INVITE", "sip:bob@bob.b.example", Headers(
        [("Via", f"SIP/2.0/{transport.upper()} proxy.a.example;branch=z9hG4bKp1")]
        + list(invite_ab.headers)), invite_ab.body)
    t = 0.0
    hop(t, "alice", "proxy", invite_ab, label="INVITE")
    hop(t + 0.011, "proxy", "alice", _response(invite_ab, 100, "Trying"), label="100")
    hop(t + 0.012, "proxy", "bob", invite_pb, label="INVITE")
    if "INVITE@proxy->bob" in lose:
        rows.append({"time": 0.512, "event": "timer", "node": "proxy", "cause": "A",
                     "call_id": CALL_ID, "branch": "z9hG4bKp1", "kind": "sip"})
        hop(0.512, "proxy", "bob", invite_pb, label="INVITE-rtx")
    t = rows[-1]["time"]
    ringing = _response(invite_pb, 180, "Ringing")
    ok = _response(invite_pb, 200, "OK", sdp("bob", hosts[1], BOB_RTP))
    hop(t + 0.001, "bob", "proxy", ringing, label="180")
    hop(t + 0.012, "proxy", "alice", _strip_top_via(ringing), label="180")
    hop(t + 1.0, "bob", "proxy", ok, label="200")
    hop(t + 1.011, "proxy", "alice", _strip_top_via(ok), label="200")
    t += 1.022
    ack = _request("ACK", 1, "z9hG4bKa2", transport)
    hop(t, "alice", "bob", ack, label="ACK")
    for i in range(rtp_packets):
        hop(t + 0.020 * i, "alice", "bob", rtp(1000 + i, 160 * i, ALICE_SSRC), kind="rtp")
        hop(t + 0.020 * i + 0.005, "bob", "alice", rtp(7000 + i, 8000 + 160 * i, BOB_SSRC),
            kind="rtp")
    t += 0.020 * rtp_packets
    hop(t, "alice", "bob", rtcp_sender_report(ALICE_SSRC, rtp_packets), kind="rtcp")
    hop(t + 0.005, "bob", "alice", rtcp_sender_report(BOB_SSRC, rtp_packets), kind="rtcp")
    t += 1.0
    bye = _request("BYE", 2, "z9hG4bKa3", transport)
    hop(t, "alice", "bob", bye, label="BYE")
    hop(t + 0.011, "bob", "alice", _response(bye, 200, "OK"), label="200")
    df = pd.DataFrame(rows)
    return df.sort_values("time", kind="stable", ignore_index=True)
