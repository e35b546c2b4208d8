"""RTP packets per wall-second: per-packet path vs vectorised fast path.

Per-packet path (simvoip.media.fastpath.simulate_calls_per_packet): for every
packet, RtpSender builds it, encode_rtp/decode_rtp round-trip the header,
ReceptionStatistics (RFC 3550 A.1/A.3/A.8) and a FixedJitterBuffer handle it;
link delay and Gilbert-Elliott loss are drawn one packet at a time.

Sender + receiver: RtpSender/encode_rtp and MediaReceiver (what a simulated
node runs per packet), one long stream.

Vectorised path (simulate_calls): the same link model drawn with NumPy for a
whole batch of calls, vectorised fixed buffer, RFC 3550 jitter, BurstR, R, MOS.

Run:  python benchmarks/bench_media.py [--calls 10000] [--packets 1500]
Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np

from simvoip.media.codecs import codec_by_name
from simvoip.media.fastpath import LinkModel, simulate_calls, simulate_calls_per_packet
from simvoip.media.loss import GilbertElliott
from simvoip.media.receiver import MediaReceiver
from simvoip.media.rtp import RtpSender, encode_rtp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000, help="calls on the vectorised path")
    parser.add_argument("--packets", type=int, default=1_500, help="packets per call (30 s)")
    parser.add_argument("--slow-calls", type=int, default=100, help="calls on the per-packet path")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    codec = codec_by_name("PCMU")
    link = LinkModel(delay=0.040, jitter=0.010,
                     loss=GilbertElliott.from_loss_and_burst(0.02, 2.0))

    slow_time = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        slow = simulate_calls_per_packet(link, codec, calls=args.slow_calls, packets=args.packets,
                                         rng=random.Random(1), buffer_delay=0.04)
        slow_time = min(slow_time, time.perf_counter() - start)
    slow_rate = args.slow_calls * args.packets / slow_time
    print(f"per-packet path : {args.slow_calls * args.packets:>11,d} packets in {slow_time:7.3f} s "
          f"= {slow_rate:>12,.0f} packets/s   (mean MOS {slow.mos.mean():.3f})")

    # The path a simulation node uses: RtpSender + encode_rtp at the sender,
    # MediaReceiver (decode, RFC 3550 statistics, jitter buffer) at the receiver.
    rx_time = float("inf")
    n_rx = args.slow_calls * args.packets
    for _ in range(args.repeat):
        rng = random.Random(2)
        sender = RtpSender(codec, rng)
        receiver = MediaReceiver(codec)
        start = time.perf_counter()
        for i in range(n_rx):
            raw = encode_rtp(sender.audio_packet())
            receiver.receive(raw, now=0.02 * i + 0.04 + rng.random() * 0.01)
        report = receiver.report(packets_sent=n_rx)
        rx_time = min(rx_time, time.perf_counter() - start)
    print(f"sender+receiver : {n_rx:>11,d} packets in {rx_time:7.3f} s "
          f"= {n_rx / rx_time:>12,.0f} packets/s   (MOS {report.mos:.3f}; encode, decode, "
          "statistics, buffer)")

    fast_time = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        fast = simulate_calls(link, codec, calls=args.calls, packets=args.packets,
                              rng=np.random.default_rng(1), buffer_delay=0.04)
        fast_time = min(fast_time, time.perf_counter() - start)
    fast_rate = args.calls * args.packets / fast_time
    print(f"vectorised path : {args.calls * args.packets:>11,d} packets in {fast_time:7.3f} s "
          f"= {fast_rate:>12,.0f} packets/s   (mean MOS {fast.mos.mean():.3f}; "
          f"MOS of {args.calls:,d} calls in {fast_time:.2f} s)")
    print(f"speed-up        : x{fast_rate / slow_rate:,.0f}   (target >= 1,000,000 packets/s "
          f"on the vectorised path: {'met' if fast_rate >= 1e6 else 'NOT met'})")


if __name__ == "__main__":
    main()
