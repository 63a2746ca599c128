"""CPU time of the flow meter and the DNS analyser on a capture, with the C and the Python DNS decoder,
beside tshark decoding the same capture's DNS fields (not a test).

    python bench/bench_dns.py [bench/out/mixed-300000-s1.pcap] [--runs 5] [--no-tshark]

Reads and decodes the capture once, then runs FlowMeter.process and DnsTracker.process (plus
expire/flush) over the same batches ``--runs`` times, each with fresh state, alternating the C decoder
(ingest/dns/_dnswire.c, when built) and the Python one (wire.decode_message_py), and prints the best
thread CPU time of each stage (CPU time: other work on the machine inflates wall times). The peer,
``tshark -T fields`` with the DNS fields, runs once per round in the same loop (child CPU time).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import time

from wardwatch.ingest.capture import read_captures
from wardwatch.ingest.decode import DecodeConfig, Decoder
from wardwatch.ingest.dns import DnsConfig, DnsTracker
from wardwatch.ingest.dns import wire as dns_wire
from wardwatch.ingest.flows import FlowConfig, FlowMeter

from wardwatch.counters import Counters

TSHARK_FIELDS = ["frame.number", "ip.src", "ip.dst", "dns.id", "dns.qry.name", "dns.qry.type", "dns.flags.rcode",
                 "dns.a", "dns.aaaa", "dns.cname", "dns.resp.ttl"]  # fmt: skip


def tshark_cpu(pcap: str) -> float | None:
    """Child CPU seconds of ``tshark -T fields`` (the DNS fields) over the capture; None without tshark."""
    exe = shutil.which("tshark")
    if exe is None:
        return None
    cmd = [exe, "-r", pcap, "-T", "fields"]
    for f in TSHARK_FIELDS:
        cmd += ["-e", f]
    before = os.times()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    after = os.times()
    return (after.children_user - before.children_user) + (after.children_system - before.children_system)


def one_run(batches: list, python_decoder: bool) -> tuple[list[float], int]:
    meter = FlowMeter(Counters(), FlowConfig())
    tracker = DnsTracker(Counters(), DnsConfig(), python_decoder=python_decoder)
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
    return spent, tracker.counters["dns.messages"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("pcap", nargs="?", default="bench/out/mixed-300000-s1.pcap")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-tshark", action="store_true", help="leave the peer out")
    args = parser.parse_args()
    counters = Counters()
    decoder = Decoder(counters, DecodeConfig())
    batches = [decoder.decode(raw) for raw in read_captures([args.pcap], counters, batch_frames=131072)]
    packets = sum(len(b) for b in batches)
    paths = {"python": True, "C": False} if dns_wire.NATIVE else {"python": True}
    best = {name: [float("inf")] * 3 for name in paths}
    peer: list[float] = []
    messages = 0
    for _ in range(args.runs):
        for name, python_decoder in paths.items():
            spent, messages = one_run(batches, python_decoder)
            best[name] = [min(a, b) for a, b in zip(best[name], spent, strict=True)]
        if not args.no_tshark:
            cpu = tshark_cpu(args.pcap)
            if cpu is not None:
                peer.append(cpu)
    print(f"{packets} packets, {messages} DNS messages, best of {args.runs} (thread CPU s):")
    for name, b in best.items():
        print(
            f"{name:>6} decoder: flows {b[0]:.3f}  dns {b[1]:.3f}  expire+flush {b[2]:.3f}"
            f"  (dns {b[1] / max(messages, 1) * 1e6:.1f} us a message)"
        )
    if peer:
        print(f"tshark -T fields (DNS fields), whole run: {min(peer):.3f} CPU s (best of {len(peer)})")


if __name__ == "__main__":
    main()
