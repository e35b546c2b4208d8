"""Per-call voice quality report: counts, jitter, delay, BurstR, R and MOS."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from simvoip.media.codecs import Codec
from simvoip.media.emodel import EModel
from simvoip.media.jitter_buffer import PlayoutResult
from simvoip.media.loss import burst_r
from simvoip.media.statistics import ReceptionStatistics

__all__ = ["QualityReport", "build_quality_report"]


@dataclass(frozen=True, slots=True)
class QualityReport:
    """Quality of one direction of one call.

    Attributes
    ----------
    codec : str
    packets_sent, packets_received : int
        ``packets_received`` counts distinct packets that arrived (late or not).
    packets_lost : int
        Lost in the network.
    packets_discarded : int
        Arrived too late for playout (jitter-buffer discards).
    jitter_ms : float
        RFC 3550 interarrival jitter at the end of the call, in ms.
    network_delay_ms, buffer_delay_ms, mouth_to_ear_ms : float
        Mean one-way network delay and mean buffer delay of the played
        packets, and mouth-to-ear delay = network + packetisation + buffer.
    ppl : float
        Packet loss seen by the decoder, lost + discarded, in percent.
    burst_r : float
        G.107 BurstR measured from the lost-or-discarded pattern.
    r, mos : float
        G.107 rating and MOS.
    """

    codec: str
    packets_sent: int
    packets_received: int
    packets_lost: int
    packets_discarded: int
    jitter_ms: float
    network_delay_ms: float
    buffer_delay_ms: float
    mouth_to_ear_ms: float
    ppl: float
    burst_r: float
    r: float
    mos: float


def build_quality_report(
    codec: Codec,
    statistics: ReceptionStatistics,
    playout: PlayoutResult,
    ptime_ms: float | None = None,
    emodel: EModel | None = None,
) -> QualityReport:
    """Combine receiver statistics, jitter-buffer output and codec into a report.

    Parameters
    ----------
    codec : Codec
        Gives ``ie``, ``bpl`` and the packetisation delay.
    statistics : ReceptionStatistics
        RFC 3550 receiver state of the stream (jitter).
    playout : PlayoutResult
        Per-packet outcome from :func:`~simvoip.media.jitter_buffer.run_playout`.
    ptime_ms : float, optional
        Packetisation interval; the codec default when omitted.
    emodel : EModel, optional
        Other G.107 parameters (echo, noise, ...); defaults when omitted.

    Examples
    --------
    >>> from simvoip.media.codecs import codec_by_name
    >>> from simvoip.media.jitter_buffer import FixedJitterBuffer, run_playout
    >>> send = [0.02 * i for i in range(100)]
    >>> arrival = [t + 0.05 if i % 50 != 7 else float("nan") for i, t in enumerate(send)]
    >>> stats = ReceptionStatistics(8000, min_sequential=0)
    >>> for i, t in enumerate(arrival):
    ...     if t == t:
    ...         _ = stats.receive(i, 160 * i, t)
    >>> rep = build_quality_report(codec_by_name("PCMU"), stats,
    ...                            run_playout(FixedJitterBuffer(0.04), send, arrival))
    >>> rep.packets_lost, rep.ppl, round(rep.mouth_to_ear_ms, 1), round(rep.r, 3)
    (2, 2.0, 110.0, 86.195)
    """
    played = playout.packets_played
    sent = playout.packets
    impaired = playout.impaired
    ppl = 100.0 * (sent - played) / sent if sent else 0.0
    burst = burst_r(impaired) if sent > 1 else 1.0
    packetisation = codec.packetisation_delay_ms(ptime_ms) / 1000.0
    mouth_to_ear = playout.mouth_to_ear(packetisation) * 1000.0
    model = dataclasses.replace(
        emodel or EModel(), ie=codec.ie, bpl=codec.bpl, ppl=ppl, burst_r=burst,
        ta=0.0 if math.isnan(mouth_to_ear) else mouth_to_ear,
    )
    r = model.r
    return QualityReport(
        codec=codec.name,
        packets_sent=sent,
        packets_received=sent - playout.network_losses,
        packets_lost=playout.network_losses,
        packets_discarded=playout.late_discards,
        jitter_ms=statistics.jitter_seconds * 1000.0,
        network_delay_ms=playout.played_network_delay * 1000.0,
        buffer_delay_ms=playout.buffer_delay * 1000.0,
        mouth_to_ear_ms=mouth_to_ear,
        ppl=ppl,
        burst_r=burst,
        r=r,
        mos=model.mos,
    )
