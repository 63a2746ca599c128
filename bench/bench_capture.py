"""Records/s of the capture readers on a big generated pcap / pcapng / gzip (not a test).

python bench/bench_capture.py [N_RECORDS] [--python]

--python times the pure-Python record scan (as on a machine where the C extension ``_scan`` was not
built); by default the C scan runs when it is built. The generated mixed capture from
tools/gen_mixed.py is timed too when bench/out/mixed-300000-s1.pcap exists.
"""

from __future__ import annotations

import gzip
import struct
import sys
import time
from pathlib import Path

from wardwatch.ingest.capture import pcap as pcap_mod
from wardwatch.ingest.capture import read_captures

from wardwatch.counters import Counters

SIZES = (54, 60, 74, 90, 142, 590, 1514, 66)  # a mix like real traffic: ACKs, DNS, full segments


def make_pcap(path: Path, n: int) -> None:
    frames = [bytes(range(256)) * 6 for _ in range(1)]
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        chunk = []
        for i in range(n):
            size = SIZES[i % len(SIZES)]
            chunk.append(struct.pack("<IIII", 1_700_000_000 + i // 1000, i % 1000 * 1000, size, size))
            chunk.append(frames[0][:size])
            if len(chunk) > 20000:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))


def make_pcapng(path: Path, n: int) -> None:
    def block(btype: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    data = bytes(range(256)) * 6
    with path.open("wb") as f:
        f.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
        f.write(block(1, struct.pack("<HHI", 1, 0, 0)))
        chunk = []
        for i in range(n):
            size = SIZES[i % len(SIZES)]
            units = 1_700_000_000_000_000 + i * 1000
            chunk.append(
                block(6, struct.pack("<IIIII", 0, units >> 32, units & 0xFFFFFFFF, size, size) + data[:size])
            )
            if len(chunk) > 20000:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))


def bench(label: str, path: Path, n: int) -> None:
    best = float("inf")
    for _ in range(7):  # best of several: the figure is what the reader can do, not machine noise
        t0 = time.perf_counter()
        got = sum(len(b) for b in read_captures([path], Counters()))
        best = min(best, time.perf_counter() - t0)
    assert got == n, (got, n)
    mb = path.stat().st_size / 1e6
    print(f"{label:14s} {n / best / 1e6:6.2f} M records/s  ({mb:.0f} MB in {best:.2f} s)")


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--python"]
    if "--python" in sys.argv[1:]:
        pcap_mod._cscan = None  # type: ignore[assignment]
    print("record scan:", "pure Python" if pcap_mod._cscan is None else "C extension _scan")
    n = int(args[0]) if args else 2_000_000
    tmp = Path("/tmp/wardwatch-bench")
    tmp.mkdir(exist_ok=True)
    pcap, ng, gz = tmp / "big.pcap", tmp / "big.pcapng", tmp / "big.pcap.gz"
    if not pcap.exists() or pcap.stat().st_size < n * 16:
        make_pcap(pcap, n)
        make_pcapng(ng, n)
        gz.write_bytes(gzip.compress(pcap.read_bytes(), compresslevel=1))
    bench("pcap", pcap, n)
    bench("pcapng", ng, n)
    bench("pcap.gz", gz, n)
    mixed = Path(__file__).parent / "out" / "mixed-300000-s1.pcap"
    if mixed.exists():
        bench("mixed pcap", mixed, 300_000)


if __name__ == "__main__":
    main()
