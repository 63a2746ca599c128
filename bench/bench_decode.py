"""Decoder speed on a big synthetic batch of ordinary frames (not a test): prints pkt/s.

python bench/bench_decode.py [--frames 131072] [--repeat 5] [--slow]
"""

from __future__ import annotations

import argparse
import random
import struct
import time

from wardwatch.ingest.capture.batch import RawBatch
from wardwatch.ingest.decode import DecodeConfig, Decoder

from wardwatch.counters import Counters


def _frame(rng: random.Random) -> bytes:
    """A plausible mix: mostly TCP over IPv4, some UDP, IPv6, VLAN-tagged and ICMP frames."""
    kind = rng.random()
    payload = bytes(rng.randrange(0, 1200)) if rng.random() < 0.6 else b""
    if kind < 0.75:
        l4 = struct.pack(
            "!HHIIBBHHH", rng.randrange(1024, 65535), 443, rng.getrandbits(32), 0, 0x50, 0x18, 512, 0, 0
        )
        proto = 6
    elif kind < 0.95:
        l4 = struct.pack("!HHHH", rng.randrange(1024, 65535), 53, 8 + len(payload), 0)
        proto = 17
    else:
        l4 = struct.pack("!BBHI", 8, 0, 0, 0)
        proto = 1
    body = l4 + payload
    if rng.random() < 0.15:
        nh = 58 if proto == 1 else proto
        ip = struct.pack("!IHBB", 0x60000000, len(body), nh, 64) + rng.randbytes(32)
        ethertype = 0x86DD
    else:
        ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(body), 1, 0x4000, 64, proto, 0) + rng.randbytes(8)
        ethertype = 0x0800
    eth = bytes(12)
    if rng.random() < 0.2:
        eth += struct.pack("!HH", 0x8100, rng.randrange(1, 4095))
    return eth + struct.pack("!H", ethertype) + ip + body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=131072)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--slow", action="store_true", help="also time the slow path alone")
    args = parser.parse_args()
    rng = random.Random(1)
    raw = RawBatch.from_frames([(i * 1e-4, _frame(rng)) for i in range(args.frames)])
    modes = [True, False] if args.slow else [True]
    for fast in modes:
        decoder = Decoder(Counters(), DecodeConfig(fastpath=fast))
        best = float("inf")
        for _ in range(args.repeat if fast else 1):
            t0 = time.perf_counter()
            out = decoder.decode(raw)
            best = min(best, time.perf_counter() - t0)
        label = "fast path" if fast else "slow path"
        print(f"{label}: {args.frames} frames → {len(out)} rows, {args.frames / best:,.0f} pkt/s")


if __name__ == "__main__":
    main()
