"""CPU time of the flow meter and the DNS analyser on a capture (not a test).

    python bench/bench_dns.py [bench/out/mixed-300000-s1.pcap] [--runs 5]

Reads and decodes the capture once, then runs FlowMeter.process and DnsTracker.process (plus
expire/flush) over the same batches ``--runs`` times, each with fresh state, and prints the best
thread CPU time of each stage (CPU time: other work on the machine inflates wall times).
"""

from __future__ import annotations

import argparse
import time

from wardwatch.ingest.capture import read_captures
from wardwatch.ingest.decode import DecodeConfig, Decoder
from wardwatch.ingest.dns import DnsConfig, DnsTracker
from wardwatch.ingest.flows import FlowConfig, FlowMeter

from wardwatch.counters import Counters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("pcap", nargs="?", default="bench/out/mixed-300000-s1.pcap")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    counters = Counters()
    decoder = Decoder(counters, DecodeConfig())
    batches = [decoder.decode(raw) for raw in read_captures([args.pcap], counters, batch_frames=131072)]
    packets = sum(len(b) for b in batches)
    best = [float("inf")] * 3
    messages = 0
    for _ in range(args.runs):
        meter, tracker = FlowMeter(Counters(), FlowConfig()), DnsTracker(Counters(), DnsConfig())
        spent = [0.0, 0.0, 0.0]
        for batch in batches:
            t = time.thread_time()
            flows = meter.process(batch)
            spent[0] += time.thread_time() - t
            t = time.thread_time()
            tracker.process(batch, flows, meter)
            spent[1] += time.thread_time() - t
            now = float(batch.ts.max())
            t = time.thread_time()
            tracker.expire(now)
            meter.expire(now)
            spent[2] += time.thread_time() - t
        t = time.thread_time()
        tracker.flush()
        meter.flush()
        spent[2] += time.thread_time() - t
        best = [min(a, b) for a, b in zip(best, spent, strict=True)]
        messages = tracker.counters["dns.messages"]
    print(f"{packets} packets, {messages} DNS messages, best of {args.runs} (thread CPU s):")
    print(f"flows {best[0]:.3f}  dns {best[1]:.3f}  expire+flush {best[2]:.3f}")
    print(f"dns per message: {best[1] / max(messages, 1) * 1e6:.1f} us")


if __name__ == "__main__":
    main()
