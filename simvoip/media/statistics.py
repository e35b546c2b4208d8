"""Receiver statistics of one RTP source (RFC 3550 Appendix A.1, A.3, A.8).

:class:`ReceptionStatistics` is fed one packet at a time
(:meth:`~ReceptionStatistics.receive`) with the arrival time as an argument
and produces the numbers of a reception report block.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simvoip.media.rtcp import ReportBlock, ntp_middle32

__all__ = ["MAX_DROPOUT", "MAX_MISORDER", "MIN_SEQUENTIAL", "ReceptionStatistics"]

# RFC 3550 A.1: typical values (2 s misordering at 50 packet/s, 1 min dropout).
MAX_DROPOUT = 3000
MAX_MISORDER = 100
MIN_SEQUENTIAL = 2
RTP_SEQ_MOD = 1 << 16


@dataclass(slots=True)
class ReceptionStatistics:
    """Per-source sequence, loss and jitter bookkeeping.

    Parameters
    ----------
    clock_rate : int
        RTP clock of the payload (converts arrival seconds to timestamp units).
    ssrc : int
        Source being reported on.
    min_sequential : int
        Packets in sequence before the source is valid (RFC 3550 A.1,
        MIN_SEQUENTIAL = 2). Use 0 when the source is already known from
        signalling: the first packet then counts.

    Notes
    -----
    Jitter follows RFC 3550 6.4.1 / A.8 and is updated for every packet
    except those rejected by the large-jump rule of A.1 (probation packets
    included, so the jitter estimate starts with the first packet).
    ``jitter`` is the exact floating-point estimate (``J += (|D| - J)/16``);
    ``jitter_reported`` is the A.8 integer variant sent in report blocks.

    Examples
    --------
    The hand example of RFC 3550 6.4.1 (reference_values.json,
    ``rtp.jitter.rfc3550_example``), arrival times given in seconds:

    >>> stats = ReceptionStatistics(clock_rate=8000, ssrc=1, min_sequential=0)
    >>> for seq, (ts, arr) in enumerate(zip([0, 160, 320, 480, 640, 800],
    ...                                     [1000, 1170, 1310, 1500, 1640, 1820])):
    ...     _ = stats.receive(seq, ts, arr / 8000)
    >>> round(stats.jitter, 6), stats.jitter_reported
    (5.58259, 5)
    >>> stats.received, stats.expected, stats.cumulative_lost
    (6, 6, 0)
    """

    clock_rate: int
    ssrc: int = 0
    min_sequential: int = MIN_SEQUENTIAL
    # RFC 3550 A.1 source state
    max_seq: int = field(init=False, default=0)
    cycles: int = field(init=False, default=0)
    base_seq: int = field(init=False, default=0)
    bad_seq: int = field(init=False, default=RTP_SEQ_MOD + 1)
    probation: int = field(init=False, default=0)
    received: int = field(init=False, default=0)
    expected_prior: int = field(init=False, default=0)
    received_prior: int = field(init=False, default=0)
    # RFC 3550 A.8 jitter state
    jitter: float = field(init=False, default=0.0)
    jitter_q4: int = field(init=False, default=0)
    _transit: float | None = field(init=False, default=None)
    _started: bool = field(init=False, default=False)
    # last SR from this source (RFC 3550 6.4.1 LSR / DLSR)
    last_sr: int = field(init=False, default=0)
    last_sr_arrival: float | None = field(init=False, default=None)
    duplicates_or_late: int = field(init=False, default=0)

    def _init_seq(self, seq: int) -> None:
        self.base_seq = seq
        self.max_seq = seq
        self.bad_seq = RTP_SEQ_MOD + 1  # so seq == bad_seq is false
        self.cycles = 0
        self.received = 0
        self.received_prior = 0
        self.expected_prior = 0

    def _update_seq(self, seq: int) -> bool:
        """RFC 3550 A.1 ``update_seq``: True if the packet is valid."""
        udelta = (seq - self.max_seq) % RTP_SEQ_MOD
        if self.probation:
            # Packet is in sequence (compared modulo 2^16, unlike the C code,
            # so a stream starting at 65535 can still validate).
            if seq == (self.max_seq + 1) % RTP_SEQ_MOD:
                self.probation -= 1
                self.max_seq = seq
                if self.probation == 0:
                    self._init_seq(seq)
                    self.received += 1
                    return True
            else:
                self.probation = self.min_sequential - 1
                self.max_seq = seq
            return False
        if udelta < MAX_DROPOUT:
            # In order, with permissible gap.
            if seq < self.max_seq:
                self.cycles += RTP_SEQ_MOD  # sequence number wrapped
            self.max_seq = seq
        elif udelta <= RTP_SEQ_MOD - MAX_MISORDER:
            # The sequence number made a very large jump.
            if seq == self.bad_seq:
                # Two sequential packets: the other side restarted; re-sync.
                self._init_seq(seq)
            else:
                self.bad_seq = (seq + 1) & (RTP_SEQ_MOD - 1)
                return False
        else:
            self.duplicates_or_late += 1  # duplicate or reordered packet
        self.received += 1
        return True

    def receive(self, sequence_number: int, timestamp: int, arrival: float) -> bool:
        """Account for one arriving RTP packet.

        Parameters
        ----------
        sequence_number, timestamp : int
            From the RTP header.
        arrival : float
            Arrival time in seconds (any fixed origin).

        Returns
        -------
        bool
            Whether RFC 3550 A.1 considers the packet valid.
        """
        large_jump = False
        if not self._started:
            self._started = True
            self._init_seq(sequence_number)
            if self.min_sequential > 0:
                self.max_seq = (sequence_number - 1) % RTP_SEQ_MOD
                self.probation = self.min_sequential
                valid = self._update_seq(sequence_number)
            else:
                self.received = 1
                valid = True
        else:
            bad_before = self.bad_seq
            valid = self._update_seq(sequence_number)
            large_jump = not valid and not self.probation and self.bad_seq != bad_before
        if not large_jump:
            self._update_jitter(timestamp, arrival)
        return valid

    def _update_jitter(self, timestamp: int, arrival: float) -> None:
        # RFC 3550 A.8: transit = arrival - timestamp, both in timestamp units.
        # The timestamp is unwrapped relative to the previous transit.
        arrival_units = arrival * self.clock_rate
        transit = arrival_units - timestamp
        if self._transit is not None:
            # Undo a 32-bit timestamp wrap between consecutive packets.
            d = transit - self._transit
            wraps = round(d / 2**32)
            transit -= wraps * 2**32
            d = abs(transit - self._transit)
            # RFC 3550 6.4.1: J(i) = J(i-1) + (|D(i-1,i)| - J(i-1))/16
            self.jitter += (d - self.jitter) / 16.0
            # RFC 3550 A.8 integer variant, jitter kept scaled by 16.
            self.jitter_q4 += int(round(d)) - ((self.jitter_q4 + 8) >> 4)
        self._transit = transit

    @property
    def jitter_reported(self) -> int:
        """Jitter as sent in a report block (RFC 3550 A.8: ``jitter >> 4``)."""
        return self.jitter_q4 >> 4

    @property
    def jitter_seconds(self) -> float:
        """The floating-point jitter estimate in seconds."""
        return self.jitter / self.clock_rate

    @property
    def extended_highest_sequence(self) -> int:
        """RFC 3550 A.3: ``cycles + max_seq``."""
        return self.cycles + self.max_seq

    @property
    def expected(self) -> int:
        """RFC 3550 A.3: packets expected."""
        if not self.received:
            return 0
        return self.extended_highest_sequence - self.base_seq + 1

    @property
    def cumulative_lost(self) -> int:
        """RFC 3550 A.3: expected - received, clamped to a signed 24-bit number."""
        lost = self.expected - self.received
        return max(-0x800000, min(0x7FFFFF, lost))

    def fraction_lost_interval(self) -> int:
        """RFC 3550 A.3 fraction lost since the previous call (8-bit fixed point).

        Updates the ``*_prior`` counters, so call it once per report.
        """
        expected = self.expected
        expected_interval = expected - self.expected_prior
        self.expected_prior = expected
        received_interval = self.received - self.received_prior
        self.received_prior = self.received
        lost_interval = expected_interval - received_interval
        if expected_interval == 0 or lost_interval <= 0:
            return 0
        return (lost_interval << 8) // expected_interval

    def on_sender_report(self, ntp_timestamp: int, arrival: float) -> None:
        """Remember an SR from this source for LSR/DLSR (RFC 3550 6.4.1)."""
        self.last_sr = ntp_middle32(ntp_timestamp)
        self.last_sr_arrival = arrival

    def report_block(self, now: float) -> ReportBlock:
        """Reception report block for this source at time ``now``.

        >>> stats = ReceptionStatistics(8000, ssrc=9, min_sequential=0)
        >>> for seq in (0, 1, 3, 4):  # seq 2 lost
        ...     _ = stats.receive(seq, 160 * seq, seq * 0.02)
        >>> block = stats.report_block(now=1.0)
        >>> block.fraction_lost, block.cumulative_lost, block.extended_highest_sequence
        (51, 1, 4)
        """
        dlsr = 0
        if self.last_sr_arrival is not None:
            # RFC 3550 6.4.1: DLSR in units of 1/65536 s.
            dlsr = int(round((now - self.last_sr_arrival) * 65536)) & 0xFFFFFFFF
        return ReportBlock(
            ssrc=self.ssrc,
            fraction_lost=self.fraction_lost_interval(),
            cumulative_lost=self.cumulative_lost,
            extended_highest_sequence=self.extended_highest_sequence & 0xFFFFFFFF,
            jitter=self.jitter_reported & 0xFFFFFFFF,
            lsr=self.last_sr,
            dlsr=dlsr,
        )
