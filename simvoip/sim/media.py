"""The media plane of simulated calls: RTP packets over the same links as the signalling.

When a call is answered, each side starts an RTP stream towards the other
(per the negotiated SDP: codec and ptime of the answer's first format). Every
packet is a real RFC 3550 datagram (:mod:`simvoip.media.rtp`) that crosses the
simulated links like any SIP message: same delay, jitter, loss and queues, and
traced with ``kind="rtp"``. The receiving side feeds a
:class:`~simvoip.media.receiver.MediaReceiver` (statistics, jitter buffer,
E-model); when a stream stops (BYE sent or received, or the run ends) its
:class:`~simvoip.media.quality.QualityReport` is kept for ``call.mos``.

Each endpoint also reports over RTCP (RFC 3550 section 6: SR/RR with a
report block, SDES CNAME, BYE at hang-up) on the same links, traced with
``kind="rtcp"``; see :mod:`simvoip.sim.rtcp` (``sim.media.rtt(call_id, node)``
gives the round-trip time it measured).

Timing is the simulation's, not the media layer's: the receiver is fed
arrival times relative to the stream's first packet, which is what a
mouth-to-ear measurement with synchronised clocks would see.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from simvoip.media.codecs import Codec, codec_by_name, codec_by_payload_type
from simvoip.media.errors import RtpParseError
from simvoip.media.quality import QualityReport
from simvoip.media.receiver import MediaReceiver
from simvoip.media.rtp import RtpSender, encode_rtp
from simvoip.sim.elements import media_params
from simvoip.sim.rtcp import RTCP_FRACTION, RtcpAgent, session_bandwidth
from simvoip.sip.errors import ParseError
from simvoip.sip.message import Response
from simvoip.sip.sdp import SessionDescription

if TYPE_CHECKING:
    from simvoip.sim.simulation import Simulation
    from simvoip.sim.transport import Packet
    from simvoip.sip.ua.call import Call

__all__ = ["MediaPlane", "RtpStream", "negotiated_codec"]

DEFAULT_CODEC = "PCMU"
#: ITU-T P.59 artificial conversational speech: mean talkspurt and pause (s).
P59_TALKSPURT = 1.004
P59_PAUSE = 1.587


def negotiated_codec(call: Call) -> tuple[Codec, float | None]:
    """Codec and ptime of a call: the first audio format of the 2xx's SDP answer.

    RFC 3264 6.1: the answerer lists the formats it will use, most preferred
    first; both sides then send the first one. Falls back to PCMU/20 ms.
    """
    for _, _, message in call.messages:
        if isinstance(message, Response) and 200 <= message.status_code < 300 and message.body:
            try:
                sdp = SessionDescription.parse(message.body)
            except ParseError:
                break
            for media in sdp.media:
                if media.media != "audio" or media.is_rejected:
                    continue
                for pt in media.payload_types:
                    try:
                        codec = codec_by_payload_type(pt)
                    except (KeyError, ValueError):
                        rtpmap = media.rtpmap(pt)
                        if rtpmap is None:
                            continue
                        try:
                            codec = codec_by_name(rtpmap.encoding)
                        except (KeyError, ValueError):
                            continue
                    if codec.name == "telephone-event":
                        continue
                    return codec, (float(media.ptime) if media.ptime else None)
            break
    return codec_by_name(DEFAULT_CODEC), None


def _finish(stream: RtpStream) -> None:
    stream.finish()


@dataclass(slots=True)
class RtpStream:
    """One direction of a call's media: ``src`` sends to ``dst`` every ptime."""

    call_id: str
    src: str
    dst: str
    sender: RtpSender
    receiver: MediaReceiver
    started_at: float
    #: With VAD: draws talkspurt and pause lengths (ITU-T P.59); ``None``: always talking.
    vad_rng: random.Random | None = None
    running: bool = True
    report: QualityReport | None = None
    rtp_errors: int = 0
    #: Packets left in the current talkspurt (VAD).
    talk_left: int = -1
    #: Audio packets sent (comfort noise and DTMF not counted).
    audio_sent: int = 0

    @property
    def ptime(self) -> float:
        assert self.sender.ptime_ms is not None
        return self.sender.ptime_ms / 1000.0

    def finish(self) -> QualityReport:
        """Stop sending and compute the quality of what arrived so far."""
        self.running = False
        if self.report is None:
            self.report = self.receiver.report(packets_sent=self.audio_sent)
        return self.report


@dataclass
class MediaPlane:
    """All RTP streams of a simulation, keyed by ``(call_id, sending node)``."""

    sim: Simulation
    streams: dict[tuple[str, str], RtpStream] = field(default_factory=dict)
    #: RTCP agents keyed like the streams: ``(call_id, node)`` (:mod:`simvoip.sim.rtcp`).
    rtcp: dict[tuple[str, str], RtcpAgent] = field(default_factory=dict)

    def start(self, call_id: str, src: str, dst: str, call: Call) -> RtpStream | None:
        """Start ``src``'s stream of ``call_id`` towards ``dst`` (once per direction)."""
        key = (call_id, src)
        if key in self.streams:
            return None
        codec, ptime = negotiated_codec(call)
        rng = self.sim.rng("rtp", call_id, src)
        vad, _ = media_params(self.sim.topology, src)
        _, buffer = media_params(self.sim.topology, dst)
        stream = RtpStream(call_id, src, dst, RtpSender(codec, rng, ptime_ms=ptime),
                           MediaReceiver(codec, buffer=buffer, ptime_ms=ptime), self.sim.now,
                           vad_rng=rng if vad else None)
        self.streams[key] = stream
        self._tick(stream)
        self._start_rtcp(stream)
        return stream

    def stop(self, call_id: str, src: str) -> None:
        """``src`` stops sending on ``call_id`` (it sent or received BYE)."""
        stream = self.streams.get((call_id, src))
        if stream is not None and stream.running:
            stream.running = False
            agent = self.rtcp.get((call_id, src))
            if agent is not None and agent.running:
                # RFC 3550 6.6: a last report with a BYE when leaving the session.
                agent.running = False
                self._send_rtcp(agent, bye=True)
            # Packets still in flight may arrive: judge the stream after the
            # largest plausible network delay.
            self.sim.at(self.sim.now + 2.0, partial(_finish, stream))

    def finish_all(self) -> None:
        for stream in self.streams.values():
            if stream.report is None:
                stream.finish()

    def reports(self, call_id: str, caller: str, callee: str | None) -> dict[str, QualityReport]:
        """Quality per receiving node of the call between ``caller`` and ``callee``.

        Streams of forked branches the caller did not keep are left out.
        Live streams are judged on what arrived so far.
        """
        out = {}
        for src, dst in ((caller, callee), (callee, caller)):
            stream = self.streams.get((call_id, src)) if src is not None else None
            if stream is not None and stream.dst == dst:
                out[dst] = stream.report or stream.receiver.report(
                    packets_sent=stream.audio_sent)
        return out

    def _tick(self, stream: RtpStream, _event: Any = None) -> None:
        if not stream.running:
            return
        sim = self.sim
        rng = stream.vad_rng
        if rng is not None and stream.talk_left == 0:
            # Silence (VAD): one RFC 3389 comfort-noise packet, then the timestamp
            # runs on for the pause and the next talkspurt starts with the M bit.
            pause = max(1, round(rng.expovariate(1 / P59_PAUSE) / stream.ptime))
            packet_bytes = encode_rtp(stream.sender.comfort_noise())
            stream.sender.silence(pause)
            stream.talk_left = -1
            self._send(stream, packet_bytes)
            # The CN packet took this slot; the next audio (timestamp advanced by
            # the pause) is due ``pause`` packet times from now.
            event = sim.env.timeout(stream.ptime * pause)
            event.callbacks.append(partial(self._tick, stream))
            return
        if rng is not None and stream.talk_left < 0:
            stream.talk_left = max(1, round(rng.expovariate(1 / P59_TALKSPURT) / stream.ptime))
        if stream.talk_left > 0:
            stream.talk_left -= 1
        stream.audio_sent += 1
        self._send(stream, encode_rtp(stream.sender.audio_packet()))
        event = sim.env.timeout(stream.ptime)
        event.callbacks.append(partial(self._tick, stream))

    def _send(self, stream: RtpStream, data: bytes) -> None:
        self._put_on_wire(stream.src, stream.dst, stream.call_id, data, "rtp")

    def _put_on_wire(self, src: str, dst: str, call_id: str, data: bytes, kind: str) -> None:
        """Send one RTP or RTCP datagram (the trace meta carries only the Call-ID)."""
        sim = self.sim
        packet = sim.network.new_packet(src, dst, data, "udp", (None, None, call_id, None, None),
                                        sim.now, kind)
        sim.network.send(packet)

    # -- RTCP (RFC 3550 section 6) ---------------------------------------------------------
    def _start_rtcp(self, stream: RtpStream) -> None:
        key = (stream.call_id, stream.src)
        if key in self.rtcp:
            return
        address = (self.sim.trace.addresses or {}).get(stream.src) or stream.src
        agent = RtcpAgent(stream.call_id, stream.src, stream.dst,
                          f"{stream.src}@{address}".encode(),
                          self.sim.rng("rtcp", stream.call_id, stream.src),
                          RTCP_FRACTION * session_bandwidth(stream))
        self.rtcp[key] = agent
        self.sim.at(self.sim.now + agent.next_interval(we_sent=False),
                    partial(self._rtcp_tick, agent))

    def _rtcp_tick(self, agent: RtcpAgent) -> None:
        if not agent.running:
            return
        own = self.streams.get((agent.call_id, agent.node))
        self._send_rtcp(agent)
        we_sent = own is not None and own.sender.packets_sent > 0
        self.sim.at(self.sim.now + agent.next_interval(we_sent), partial(self._rtcp_tick, agent))

    def _incoming(self, call_id: str, node: str, peer: str) -> RtpStream | None:
        stream = self.streams.get((call_id, peer))
        return stream if stream is not None and stream.dst == node else None

    def _send_rtcp(self, agent: RtcpAgent, bye: bool = False) -> None:
        sim = self.sim
        own = self.streams.get((agent.call_id, agent.node))
        data = agent.compound(own, self._incoming(agent.call_id, agent.node, agent.peer),
                              sim.now, bye=bye)
        self._put_on_wire(agent.node, agent.peer, agent.call_id, data, "rtcp")

    def _receive_rtcp(self, packet: Packet, now: float) -> None:
        call_id = packet.meta[2]
        agent = self.rtcp.get((call_id, packet.dst))
        if agent is None:
            return
        agent.receive(packet.data, self.streams.get((call_id, packet.dst)),
                      self._incoming(call_id, packet.dst, packet.src), now)

    def rtt(self, call_id: str, node: str) -> float | None:
        """Mean RTCP round-trip time (s) measured by ``node`` in ``call_id`` (``None``: none yet)."""
        agent = self.rtcp.get((call_id, node))
        if agent is None or not agent.rtt:
            return None
        return sum(agent.rtt) / len(agent.rtt)

    def deliver(self, packet: Packet, now: float) -> None:
        """An RTP or RTCP packet reached its destination node."""
        if packet.kind == "rtcp":
            self._receive_rtcp(packet, now)
            return
        call_id = packet.meta[2]
        stream = self.streams.get((call_id, packet.src))
        if stream is None or stream.report is not None:
            return
        try:
            stream.receiver.receive(packet.data, now - stream.started_at)
        except (RtpParseError, ParseError):
            stream.rtp_errors += 1
