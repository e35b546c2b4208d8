"""Vectorised media statistics for many calls, and its per-packet reference path.

When a study needs only statistics (loss, jitter, R, MOS) for thousands of
calls, :func:`simulate_calls` draws per-packet delay and loss with NumPy for
a whole batch of calls at once, runs a vectorised fixed jitter buffer and
computes per-call loss, late discards, RFC 3550 jitter, BurstR, R and MOS.

:func:`simulate_calls_per_packet` is the reference: the same link model,
stepped one packet at a time with a :class:`random.Random`, through the real
media objects (:class:`~simvoip.media.rtp.RtpSender`, RTP encode/decode,
:class:`~simvoip.media.statistics.ReceptionStatistics`,
:class:`~simvoip.media.jitter_buffer.FixedJitterBuffer`,
:func:`~simvoip.media.quality.build_quality_report`). The two agree
statistically (tests/media/test_fastpath.py); they do not share random draws.

Link model: one-way delay ``delay + X`` with ``X`` i.i.d. per packet
(``exponential`` with mean ``jitter``, ``uniform`` on [0, 2 jitter], ``normal``
N(0, jitter) with the total delay floored at 0, or ``none``); packets may be
reordered. Loss is Gilbert–Elliott (:class:`~simvoip.media.loss.GilbertElliott`).
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from simvoip.media.codecs import Codec
from simvoip.media.emodel import EModel, mos_from_r_array
from simvoip.media.errors import LocalProtocolError
from simvoip.media.jitter_buffer import FixedJitterBuffer, PlayoutResult
from simvoip.media.loss import GilbertElliott, burst_r_array
from simvoip.media.quality import QualityReport, build_quality_report
from simvoip.media.rtp import RtpSender, decode_rtp, encode_rtp
from simvoip.media.statistics import ReceptionStatistics

__all__ = [
    "CallBatch",
    "LinkModel",
    "simulate_call_per_packet",
    "simulate_calls",
    "simulate_calls_per_packet",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_JITTER_KINDS = ("none", "exponential", "uniform", "normal")


@dataclass(frozen=True, slots=True)
class LinkModel:
    """Delay, jitter and loss of the media path of a call (one direction).

    Parameters
    ----------
    delay : float
        Fixed one-way delay in seconds.
    jitter : float
        Scale of the random extra delay in seconds (see module docstring).
    jitter_distribution : str
        ``"exponential"``, ``"uniform"``, ``"normal"`` or ``"none"``.
    loss : GilbertElliott
        Packet-loss process (``GilbertElliott.bernoulli(p)`` for random loss).

    Examples
    --------
    >>> link = LinkModel(delay=0.04, jitter=0.01, loss=GilbertElliott.bernoulli(0.01))
    >>> d = link.delays((2, 1000), np.random.default_rng(0))
    >>> d.shape, round(float(d.mean()), 2)
    ((2, 1000), 0.05)
    """

    delay: float = 0.040
    jitter: float = 0.0
    jitter_distribution: str = "exponential"
    loss: GilbertElliott = field(default_factory=lambda: GilbertElliott.bernoulli(0.0))

    def __post_init__(self) -> None:
        if self.jitter_distribution not in _JITTER_KINDS:
            raise LocalProtocolError(f"jitter distribution must be one of {_JITTER_KINDS}")
        if self.delay < 0 or self.jitter < 0:
            raise LocalProtocolError("delay and jitter must be non-negative")

    def delays(self, shape: tuple[int, int], rng: np.random.Generator) -> FloatArray:
        """One-way delays for ``shape = (calls, packets)``, vectorised."""
        kind = self.jitter_distribution
        if kind == "none" or self.jitter == 0.0:
            return np.full(shape, self.delay)
        if kind == "exponential":
            return self.delay + rng.exponential(self.jitter, shape)
        if kind == "uniform":
            return self.delay + rng.uniform(0.0, 2.0 * self.jitter, shape)
        return np.maximum(self.delay + rng.normal(0.0, self.jitter, shape), 0.0)

    def delay_sample(self, rng: random.Random) -> float:
        """One delay drawn with a :class:`random.Random` (reference path)."""
        kind = self.jitter_distribution
        if kind == "none" or self.jitter == 0.0:
            return self.delay
        if kind == "exponential":
            return self.delay + rng.expovariate(1.0 / self.jitter)
        if kind == "uniform":
            return self.delay + rng.uniform(0.0, 2.0 * self.jitter)
        return max(self.delay + rng.gauss(0.0, self.jitter), 0.0)


@dataclass(frozen=True, slots=True)
class CallBatch:
    """Per-call results (arrays of length ``calls``) of either path."""

    packets_sent: int
    lost: IntArray
    discarded: IntArray
    jitter_ms: FloatArray
    mouth_to_ear_ms: FloatArray
    ppl: FloatArray
    burst_r: FloatArray
    r: FloatArray
    mos: FloatArray

    @property
    def calls(self) -> int:
        return int(self.r.size)

    def as_columns(self) -> dict[str, npt.NDArray]:
        """Per-call columns, e.g. for ``pandas.DataFrame(batch.as_columns())``.

        >>> from simvoip.media.codecs import codec_by_name
        >>> batch = simulate_calls(LinkModel(), codec_by_name("PCMA"), 3, 50,
        ...                        np.random.default_rng(0))
        >>> sorted(batch.as_columns())[:3], len(batch.as_columns()["mos"])
        (['burst_r', 'discarded', 'jitter_ms'], 3)
        """
        return {name: getattr(self, name) for name in (
            "lost", "discarded", "jitter_ms", "mouth_to_ear_ms", "ppl", "burst_r", "r", "mos")}

    @classmethod
    def from_reports(cls, reports: list[QualityReport]) -> CallBatch:
        """Stack per-call :class:`QualityReport` objects."""
        def col(name: str, dtype: type = float) -> npt.NDArray:
            return np.array([getattr(rep, name) for rep in reports], dtype=dtype)

        return cls(
            packets_sent=reports[0].packets_sent if reports else 0,
            lost=col("packets_lost", np.int64), discarded=col("packets_discarded", np.int64),
            jitter_ms=col("jitter_ms"), mouth_to_ear_ms=col("mouth_to_ear_ms"),
            ppl=col("ppl"), burst_r=col("burst_r"), r=col("r"), mos=col("mos"),
        )


def _batch(link: LinkModel, codec: Codec, calls: int, packets: int, rng: np.random.Generator,
           buffer_delay: float, ptime: float, model: EModel) -> tuple[FloatArray, ...]:
    shape = (calls, packets)
    delay = link.delays(shape, rng)
    lost = link.loss.losses_array(shape, rng)
    send = np.arange(packets) * ptime
    arrival = np.where(lost, np.inf, send[None, :] + delay)
    received = packets - lost.sum(axis=1)
    rows = np.arange(calls)
    # Fixed buffer anchored on the first packet to arrive: playout = t_i + n_first + D,
    # so a packet is late iff its network delay exceeds n_first + D.
    first = np.argmin(arrival, axis=1)
    offset = delay[rows, first] + buffer_delay
    late = ~lost & (delay > offset[:, None])
    impaired = lost | late
    played = packets - impaired.sum(axis=1)
    # RFC 3550 6.4.1 jitter in arrival order: J = sum_j (1/16)(15/16)^(m-1-j) |D_j|.
    order = np.argsort(arrival, axis=1)
    transit = np.take_along_axis(np.where(lost, np.nan, delay), order, axis=1)
    d = np.abs(np.diff(transit, axis=1))
    m = np.maximum(received - 1, 0)
    exponent = (m[:, None] - 1 - np.arange(packets - 1)[None, :]).astype(float)
    weights = np.where(exponent >= 0, (15.0 / 16.0) ** np.maximum(exponent, 0) / 16.0, 0.0)
    jitter = np.nansum(np.where(weights > 0, d, 0.0) * weights, axis=1)
    ppl = 100.0 * (packets - played) / packets
    burst = burst_r_array(impaired)
    m2e = (offset + codec.packetisation_delay_ms(ptime * 1000.0) / 1000.0) * 1000.0
    m2e = np.where(played > 0, m2e, np.nan)
    r = model.r_array(np.nan_to_num(m2e, nan=0.0), ppl, burst)
    return (lost.sum(axis=1), late.sum(axis=1), jitter * 1000.0, m2e, ppl, burst, r)


def simulate_calls(
    link: LinkModel,
    codec: Codec,
    calls: int,
    packets: int,
    rng: np.random.Generator,
    buffer_delay: float = 0.060,
    ptime_ms: float | None = None,
    emodel: EModel | None = None,
    chunk_packets: int = 1 << 20,
) -> CallBatch:
    """Vectorised statistics of ``calls`` calls of ``packets`` RTP packets each.

    Parameters
    ----------
    link : LinkModel
    codec : Codec
    calls, packets : int
    rng : numpy.random.Generator
    buffer_delay : float
        Fixed jitter-buffer delay in seconds.
    ptime_ms : float, optional
        Packetisation interval; codec default when omitted.
    emodel : EModel, optional
        Other G.107 parameters; ``ie``/``bpl`` come from ``codec``.
    chunk_packets : int
        Upper bound of packets held in memory at once.

    Examples
    --------
    >>> from simvoip.media.codecs import codec_by_name
    >>> link = LinkModel(delay=0.03, jitter=0.005, loss=GilbertElliott.bernoulli(0.01))
    >>> res = simulate_calls(link, codec_by_name("PCMU"), calls=100, packets=1500,
    ...                      rng=np.random.default_rng(3), buffer_delay=0.03)
    >>> res.calls, round(float(res.ppl.mean()), 1), 4.0 < float(res.mos.mean()) < 4.4
    (100, 1.1, True)
    """
    if packets < 2 or calls < 1:
        raise LocalProtocolError("need at least one call of two packets")
    ptime = (codec.default_ptime_ms if ptime_ms is None else ptime_ms) / 1000.0
    base = emodel or EModel()
    model = dataclasses.replace(base, ie=codec.ie, bpl=codec.bpl)
    step = max(1, chunk_packets // packets)
    parts = [_batch(link, codec, min(step, calls - start), packets, rng, buffer_delay, ptime,
                    model) for start in range(0, calls, step)]
    cols = [np.concatenate([p[i] for p in parts]) for i in range(7)]
    return CallBatch(packets, cols[0].astype(np.int64), cols[1].astype(np.int64), cols[2],
                     cols[3], cols[4], cols[5], cols[6], mos_from_r_array(cols[6]))


def simulate_call_per_packet(
    link: LinkModel, codec: Codec, packets: int, rng: random.Random,
    buffer_delay: float = 0.060, ptime_ms: float | None = None, emodel: EModel | None = None,
) -> QualityReport:
    """One call through the per-packet objects; see :func:`simulate_calls_per_packet`."""
    if packets > 1 << 16:
        raise LocalProtocolError("the per-packet reference path handles at most 65536 packets")
    sender = RtpSender(codec, rng, ptime_ms=ptime_ms)
    first_seq, first_ts = sender.sequence_number, sender.timestamp
    losses = link.loss.losses(packets, rng)
    wire: list[tuple[float, bytes]] = []
    for i in range(packets):
        packet = sender.audio_packet()
        if not losses[i]:
            send_time = ((packet.timestamp - first_ts) % (1 << 32)) / codec.clock_rate
            wire.append((send_time + link.delay_sample(rng), encode_rtp(packet)))
    wire.sort()  # the network delivers in arrival order
    stats = ReceptionStatistics(codec.clock_rate, ssrc=sender.ssrc or 0, min_sequential=0)
    buffer = FixedJitterBuffer(buffer_delay)
    step = sender.samples_per_packet / codec.clock_rate
    send = np.asarray(np.arange(packets) * step, dtype=np.float64)
    arrival = np.full(packets, np.nan)
    playout = np.full(packets, np.nan)
    late = np.zeros(packets, dtype=bool)
    for when, raw in wire:
        packet = decode_rtp(raw)
        stats.receive(packet.sequence_number, packet.timestamp, when)
        index = (packet.sequence_number - first_seq) % (1 << 16)
        arrival[index] = when
        result = buffer.arrive(((packet.timestamp - first_ts) % (1 << 32)) / codec.clock_rate,
                               when)
        if result is None:
            late[index] = True
        else:
            playout[index] = result
    lost = np.isnan(arrival)
    record = PlayoutResult(send, arrival, playout, lost, late, ~lost & ~late)
    return build_quality_report(codec, stats, record, ptime_ms=step * 1000.0, emodel=emodel)


def simulate_calls_per_packet(
    link: LinkModel, codec: Codec, calls: int, packets: int, rng: random.Random,
    buffer_delay: float = 0.060, ptime_ms: float | None = None, emodel: EModel | None = None,
) -> CallBatch:
    """Reference path: every packet encoded, decoded and buffered one at a time.

    Examples
    --------
    >>> from simvoip.media.codecs import codec_by_name
    >>> link = LinkModel(delay=0.03, jitter=0.005, loss=GilbertElliott.bernoulli(0.01))
    >>> res = simulate_calls_per_packet(link, codec_by_name("PCMU"), calls=5, packets=500,
    ...                                 rng=random.Random(3), buffer_delay=0.03)
    >>> res.calls, res.packets_sent
    (5, 500)
    """
    reports = [simulate_call_per_packet(link, codec, packets, rng, buffer_delay, ptime_ms, emodel)
               for _ in range(calls)]
    return CallBatch.from_reports(reports)
