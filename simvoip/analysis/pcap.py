"""pcap / pcapng export of a trace, for Wireshark and tshark.

What is exported: every ``send`` row that carries bytes (``data``), i.e. what a
sender put on the wire. A message lost on the link afterwards was still sent,
so it is in the capture (in pcapng it carries a packet comment such as
``dropped: loss``); ``recv`` and ``drop`` rows add no packets. Rows without
bytes are skipped. Each packet is framed as Ethernet II / IPv4 / UDP or TCP:

- Addresses: every node gets one IPv4 address — from ``addresses`` if given
  (values that are not IPv4 literals, e.g. host names, are ignored),
  else the IPv4 literal its own SDP announced in ``c=`` (so Wireshark's SDP
  based RTP set-up matches), else ``10.0.0.1``, ``10.0.0.2`` ... by sorted node
  name. MACs are ``02:00`` + the IPv4 address (locally administered).
- SIP uses port 5060 at both ends over UDP. Over TCP one connection per node
  pair is opened (SYN, SYN-ACK, ACK at the time of its first segment) by the
  first sender from port 49152 + connection number to 5060; each message is
  one PSH/ACK segment and sequence / acknowledgement numbers advance (the
  simulator's hidden TCP retransmissions add no packets). A message dropped
  with cause ``transport-error`` resets the connection (RST at the drop time);
  the next message opens a new one.
- RTP and RTCP (always UDP) use the ports of the SDP the node announced for
  that Call-ID (``m=`` port, RTCP = port + 1 or ``a=rtcp:``). An SDP body
  belongs to the first node that sent it, so proxies forwarding it do not
  count. Rows without a Call-ID use the node's latest SDP; nodes with no SDP
  use 16384 / 16385. When ``c=`` holds a host name rather than an IPv4
  literal, Wireshark cannot tie RTP to the SDP: use
  ``tshark --enable-heuristic rtp_udp``.
- A datagram the link duplicated (``send`` row with cause ``duplicate``)
  repeats the original's IP identification.
- IPv4 header, UDP and TCP checksums are computed; timestamps are simulated
  seconds plus ``epoch`` (pcap: microseconds, pcapng: nanoseconds).

>>> import pandas as pd
>>> df = pd.DataFrame({"time": [0.25], "event": ["send"], "node": ["a"], "peer": ["b"],
...     "kind": ["sip"], "transport": ["udp"], "data": [b"OPTIONS sip:b SIP/2.0\\r\\n\\r\\n"]})
>>> blob = pcap_bytes(df)
>>> blob[:4].hex(), len(blob) == 24 + 16 + 14 + 20 + 8 + 25
('d4c3b2a1', True)
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from simvoip.analysis.metrics import _text, cell, hop_outcomes, normalise, rows

__all__ = ["pcap_bytes", "write_pcap", "node_addresses", "sdp_media", "SIP_PORT"]

SIP_PORT = 5060
DEFAULT_RTP_PORT = 16384
TCP_CLIENT_PORT_BASE = 49152
LINKTYPE_ETHERNET = 1
SNAPLEN = 262144

_TCP_SYN, _TCP_RST, _TCP_PSH, _TCP_ACK = 0x02, 0x04, 0x08, 0x10


def sdp_media(body: bytes) -> tuple[str | None, int, int] | None:
    """The connection address and RTP / RTCP ports of the first active ``m=`` line.

    A tiny reader of RFC 4566 ``c=``, ``m=`` and RFC 3605 ``a=rtcp:`` lines, enough
    to place RTP on the right ports; returns None when there is no usable ``m=``.

    >>> sdp_media(b"v=0\\r\\nc=IN IP4 10.0.0.7\\r\\nm=audio 49170 RTP/AVP 0\\r\\n")
    ('10.0.0.7', 49170, 49171)
    >>> sdp_media(b"v=0\\r\\nm=audio 4000 RTP/AVP 0\\r\\na=rtcp:4005\\r\\n")
    (None, 4000, 4005)
    """
    session_addr: str | None = None
    media: list[list[Any]] = []
    for raw in body.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line.startswith("c="):
            parts = line[2:].split()
            addr = parts[2].split("/")[0] if len(parts) >= 3 else None
            if media:
                media[-1][0] = addr
            else:
                session_addr = addr
        elif line.startswith("m="):
            parts = line[2:].split()
            try:
                port = int(parts[1].split("/")[0])
            except (IndexError, ValueError):
                continue
            media.append([None, port, port + 1])
        elif line.startswith("a=rtcp:") and media:
            try:
                media[-1][2] = int(line[7:].split()[0])
            except (IndexError, ValueError):
                pass
    for addr, port, rtcp in media:
        if port > 0:
            return (addr or session_addr, port, rtcp)
    return None


def _sip_body(data: bytes) -> bytes:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep or not body:
        return b""
    if b"application/sdp" in head.lower() or body.startswith(b"v=0"):
        return body
    return b""


def _is_ipv4(text: str | None) -> bool:
    if not text:
        return False
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


@dataclass(slots=True)
class _Media:
    """SDP announcements: (call_id, node) -> ports, node -> time-ordered ports, node -> c= IP."""

    by_call: dict[tuple[str | None, str], tuple[int, int]] = field(default_factory=dict)
    latest: dict[str, list[tuple[float, int, int]]] = field(default_factory=dict)
    address: dict[str, str] = field(default_factory=dict)


def _collect_media(sends: pd.DataFrame) -> _Media:
    """Attribute each distinct SDP to the node that first sent it (its author)."""
    media = _Media()
    author: dict[bytes, str] = {}
    for _, row in rows(sends):
        if _text(row.kind) not in (None, "sip") or not isinstance(row.data, bytes):
            continue
        body = _sip_body(row.data)
        found = sdp_media(body) if body else None
        if found is None:
            continue
        addr, port, rtcp = found
        node = str(row.node)
        owner = author.setdefault(body, node)
        if owner != node:
            continue  # a proxy forwarding someone else's (byte-identical) SDP
        media.by_call.setdefault((_text(row.call_id), node), (port, rtcp))
        media.latest.setdefault(node, []).append((float(row.time), port, rtcp))
        if _is_ipv4(addr) and addr is not None:
            media.address.setdefault(node, addr)
    return media


def node_addresses(
    df: pd.DataFrame, addresses: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The IPv4 address each node gets in the capture (see the module notes).

    >>> import pandas as pd
    >>> df = pd.DataFrame({"time": [0.0], "event": ["send"], "node": ["bob"], "peer": ["alice"]})
    >>> node_addresses(df)
    {'alice': '10.0.0.1', 'bob': '10.0.0.2'}
    >>> node_addresses(df, {"bob": "192.0.2.9"})
    {'alice': '10.0.0.1', 'bob': '192.0.2.9'}
    """
    frame = normalise(df)
    names = sorted({str(n) for col in ("node", "peer") for n in frame[col] if _text(n)})
    sends = frame[frame["event"] == "send"]
    chosen: dict[str, str] = {}
    for name, ip in (addresses or {}).items():
        if _is_ipv4(str(ip)):
            chosen[str(name)] = str(ipaddress.IPv4Address(str(ip)))
    for name, ip in _collect_media(sends).address.items():
        if name not in chosen and ip not in chosen.values():
            chosen[name] = ip
    taken = set(chosen.values())
    candidate = int(ipaddress.IPv4Address("10.0.0.1"))
    for name in names:
        if name in chosen:
            continue
        while str(ipaddress.IPv4Address(candidate)) in taken or candidate & 0xFF in (0, 255):
            candidate += 1
        chosen[name] = str(ipaddress.IPv4Address(candidate))
        taken.add(chosen[name])
        candidate += 1
    return {name: chosen[name] for name in sorted(chosen)}


def _checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class _Framer:
    """Builds Ethernet/IPv4 frames with consistent identification numbers."""

    def __init__(self) -> None:
        self._ident: dict[bytes, int] = {}
        self.last_ident = 0

    def ipv4(self, src: bytes, dst: bytes, proto: int, payload: bytes,
             ident: int | None = None) -> bytes:
        total = 20 + len(payload)
        if total > 0xFFFF:
            raise ValueError(f"packet of {len(payload)} bytes does not fit in one IPv4 datagram")
        if ident is None:
            ident = self._ident.get(src, 0)
            self._ident[src] = (ident + 1) & 0xFFFF
        self.last_ident = ident
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ident, 0x4000, 64, proto, 0,
                             src, dst)
        header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
        mac_dst, mac_src = b"\x02\x00" + dst, b"\x02\x00" + src
        return mac_dst + mac_src + b"\x08\x00" + header + payload

    @staticmethod
    def _pseudo(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
        return src + dst + struct.pack("!BBH", 0, proto, length)

    def udp(self, src: bytes, dst: bytes, sport: int, dport: int, payload: bytes,
            ident: int | None = None) -> bytes:
        length = 8 + len(payload)
        header = struct.pack("!HHHH", sport, dport, length, 0)
        checksum = _checksum(self._pseudo(src, dst, 17, length) + header + payload) or 0xFFFF
        segment = header[:6] + struct.pack("!H", checksum) + payload
        return self.ipv4(src, dst, 17, segment, ident)

    def tcp(self, src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int,
            flags: int, payload: bytes = b"") -> bytes:
        header = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                             5 << 4, flags, 65535, 0, 0)
        checksum = _checksum(self._pseudo(src, dst, 6, 20 + len(payload)) + header + payload)
        segment = header[:16] + struct.pack("!H", checksum) + header[18:] + payload
        return self.ipv4(src, dst, 6, segment)


@dataclass(slots=True)
class _Connection:
    """One TCP connection between two nodes; ``client`` opened it."""

    client: str
    server: str
    client_port: int
    next_seq: dict[str, int]
    failed_at: float | None = None


def _packets(
    df: pd.DataFrame, addresses: Mapping[str, str] | None
) -> list[tuple[float, bytes, str | None]]:
    """(time, Ethernet frame, comment) for every exported packet, in time order."""
    frame = normalise(df)
    ips = {name: ipaddress.IPv4Address(ip).packed
           for name, ip in node_addresses(frame, addresses).items()}
    sends = frame[frame["event"] == "send"]
    media = _collect_media(sends)
    fates = hop_outcomes(frame)
    framer = _Framer()
    connections: dict[tuple[str, str], _Connection] = {}
    opened = 0
    # A datagram the link duplicated (send row with cause "duplicate") is the same
    # IP packet twice: it keeps the original's identification field.
    idents: dict[tuple[str, str, int], int] = {}
    out: list[tuple[float, bytes, str | None]] = []

    def media_ports(node: str, call_id: str | None, t: float) -> tuple[int, int]:
        found = media.by_call.get((call_id, node))
        if found is not None:
            return found
        history = [(p, r) for when, p, r in media.latest.get(node, []) if when <= t]
        if history:
            return history[-1]
        if media.latest.get(node):
            _, p, r = media.latest[node][0]
            return (p, r)
        return (DEFAULT_RTP_PORT, DEFAULT_RTP_PORT + 1)

    for idx, row in rows(sends):
        data = row.data
        if not isinstance(data, bytes | bytearray) or not data:
            continue
        data = bytes(data)
        if _text(row.peer) is None:
            continue
        node, peer = str(row.node), str(row.peer)
        # hash() is only a lookup key here: nothing depends on its (salted) value.
        copy_key = (node, peer, hash(data))
        src, dst, t = ips[node], ips[peer], float(row.time)
        cause = _text(cell(fates, idx, "drop_cause")) if idx in fates.index else None
        comment = f"dropped: {cause}" if cause else None
        kind = _text(row.kind) or "sip"
        if kind in ("rtp", "rtcp"):
            call_id = _text(row.call_id)
            sport = media_ports(node, call_id, t)[kind == "rtcp"]
            dport = media_ports(peer, call_id, t)[kind == "rtcp"]
            ident = idents.get(copy_key) if row.cause == "duplicate" else None
            out.append((t, framer.udp(src, dst, sport, dport, data, ident), comment))
            idents[copy_key] = framer.last_ident
        elif (_text(row.transport) or "udp").lower() == "tcp":
            pair = (min(node, peer), max(node, peer))
            conn = connections.get(pair)
            if conn is None or (conn.failed_at is not None and t >= conn.failed_at):
                # One connection per node pair (RFC 3261 18.2.2: responses come back on
                # it), opened by whoever sends first; reopened after a transport error.
                opened += 1
                conn = _Connection(node, peer, TCP_CLIENT_PORT_BASE + opened - 1,
                                   {node: 1000 * opened, peer: 5000})
                connections[pair] = conn
                cs, ss = conn.next_seq[node], conn.next_seq[peer]
                cport = conn.client_port
                out.append((t, framer.tcp(src, dst, cport, SIP_PORT, cs, 0, _TCP_SYN), None))
                out.append((t, framer.tcp(dst, src, SIP_PORT, cport, ss, cs + 1,
                                          _TCP_SYN | _TCP_ACK), None))
                out.append((t, framer.tcp(src, dst, cport, SIP_PORT, cs + 1, ss + 1, _TCP_ACK),
                            None))
                conn.next_seq = {node: cs + 1, peer: ss + 1}
            sport = conn.client_port if node == conn.client else SIP_PORT
            dport = conn.client_port if peer == conn.client else SIP_PORT
            seq, ack = conn.next_seq[node], conn.next_seq[peer]
            out.append((t, framer.tcp(src, dst, sport, dport, seq, ack, _TCP_PSH | _TCP_ACK,
                                      data), comment))
            conn.next_seq[node] = seq + len(data)
            if cause == "transport-error" and conn.failed_at is None:
                # The simulator gave up on the connection: show it reset by the sender.
                conn.failed_at = float(cell(fates, idx, "drop_time"))
                out.append((conn.failed_at, framer.tcp(
                    src, dst, sport, dport, conn.next_seq[node], conn.next_seq[peer],
                    _TCP_RST | _TCP_ACK), None))
        else:
            ident = idents.get(copy_key) if row.cause == "duplicate" else None
            out.append((t, framer.udp(src, dst, SIP_PORT, SIP_PORT, data, ident), comment))
            idents[copy_key] = framer.last_ident
    out.sort(key=lambda item: item[0])  # stable: same-time packets keep trace order
    return out


def _pcap(packets: list[tuple[float, bytes, str | None]], epoch: float) -> bytes:
    parts = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET)]
    for t, frame, _ in packets:
        micros = round((t + epoch) * 1_000_000)
        sec, usec = divmod(micros, 1_000_000)
        parts.append(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
        parts.append(frame)
    return b"".join(parts)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)


def _block(block_type: int, body: bytes) -> bytes:
    length = 12 + len(body)
    return struct.pack("<II", block_type, length) + body + struct.pack("<I", length)


def _pcapng(packets: list[tuple[float, bytes, str | None]], epoch: float) -> bytes:
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
                 + _option(4, b"simvoip") + _option(0, b""))
    # if_tsresol (code 9) = 9: timestamps in nanoseconds.
    idb = _block(1, struct.pack("<HHI", LINKTYPE_ETHERNET, 0, SNAPLEN)
                 + _option(2, b"sim") + _option(9, b"\x09") + _option(0, b""))
    parts = [shb, idb]
    for t, frame, comment in packets:
        nanos = round((t + epoch) * 1_000_000_000)
        body = struct.pack("<IIIII", 0, nanos >> 32, nanos & 0xFFFFFFFF, len(frame), len(frame))
        body += frame + b"\x00" * (-len(frame) % 4)
        if comment:
            body += _option(1, comment.encode("utf-8")) + _option(0, b"")
        parts.append(_block(6, body))
    return b"".join(parts)


def pcap_bytes(
    df: pd.DataFrame,
    addresses: Mapping[str, str] | None = None,
    fmt: Literal["pcap", "pcapng"] = "pcap",
    epoch: float = 0.0,
) -> bytes:
    """The capture file of a trace DataFrame, as bytes (see :func:`write_pcap`)."""
    packets = _packets(df, addresses)
    if fmt == "pcap":
        return _pcap(packets, epoch)
    if fmt == "pcapng":
        return _pcapng(packets, epoch)
    raise ValueError(f"fmt must be 'pcap' or 'pcapng', not {fmt!r}")


def write_pcap(
    df: pd.DataFrame,
    path: str | Path,
    addresses: Mapping[str, str] | None = None,
    fmt: Literal["pcap", "pcapng"] | None = None,
    epoch: float = 0.0,
) -> int:
    """Write the ``send`` rows of a trace DataFrame as a pcap or pcapng file.

    Parameters
    ----------
    df : DataFrame
        The trace DataFrame (``sim.trace.to_dataframe()``).
    path : str or Path
        File to write.
    addresses : mapping, optional
        ``{node: "IPv4"}`` to fix some or all node addresses.
    fmt : {"pcap", "pcapng"}, optional
        Default: ``pcapng`` if ``path`` ends in ``.pcapng``, else ``pcap``.
    epoch : float
        Seconds added to every simulated time (0 = 1970-01-01).

    Returns
    -------
    int
        The number of packets written (TCP handshakes included).

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> df = pd.DataFrame({"time": [0.0], "event": ["send"], "node": ["a"], "peer": ["b"],
    ...     "kind": ["sip"], "transport": ["tcp"], "data": [b"OPTIONS sip:b SIP/2.0\\r\\n\\r\\n"]})
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_pcap(df, os.path.join(d, "t.pcapng"))
    4
    """
    target = Path(path)
    chosen = fmt or ("pcapng" if target.suffix.lower() == ".pcapng" else "pcap")
    if chosen not in ("pcap", "pcapng"):
        raise ValueError(f"fmt must be 'pcap' or 'pcapng', not {chosen!r}")
    packets = _packets(df, addresses)
    target.write_bytes(_pcapng(packets, epoch) if chosen == "pcapng" else _pcap(packets, epoch))
    return len(packets)
