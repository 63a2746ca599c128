"""Flows per second of the NetFlow/IPFIX collector beside the ``netflow`` package (PyPI), same datagrams,
same run, one core (not a test).

    python bench/bench_collect.py [--datagrams 20000] [--repeat 5]

Datagrams are built here: NetFlow v5 (30 flows each, the protocol's maximum) and IPFIX and v9 with
softflowd's data template (addresses, ports, protocol, TCP flags, packets, octets, start/end times; 42
bytes a record, 32 records a datagram as softflowd sends them). Rows:

- ``decode``: ``Decoder.decode`` alone (numpy arrays out);
- ``records``: ``Collector.feed`` and ``pair``: datagram → conn records as the detectors get them;
- ``udp``: datagrams sent over loopback at ``--rate`` flows a second by a second process to a running
  ``Collector`` (its socket, its batching thread), timed until the last record is out; lost datagrams
  (the kernel's buffer overflowing: the collector fell behind) are shown;
- ``netflow pkg``: ``netflow.parse_packet`` (0.12.2) on the same datagrams, flows as its objects.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import socket
import struct
import threading
import time
from collections.abc import Callable

from wardwatch.ingest.netflow import Collector, Decoder
from wardwatch.ingest.netflow.records import conn_records, pair

from wardwatch.counters import Counters

FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (2, 4), (1, 4), (152, 8), (153, 8), (10, 4)]


def _flows(rng: random.Random, n: int) -> list[tuple[int, ...]]:
    out = []
    for _ in range(n):
        src = 0x0A140000 | rng.randrange(1 << 12)
        dst = rng.choice((0x0A28000A, 0x0A0B000A, 0x08080808, 0x5DB8D822 + rng.randrange(256)))
        out.append((src, dst, rng.randrange(1024, 65535), rng.choice((53, 80, 443, 3389)), rng.choice((6, 17)),
                    rng.randrange(1, 100), rng.randrange(40, 100_000)))  # fmt: skip
    return out


def v5_datagrams(n: int, rng: random.Random) -> list[bytes]:
    out = []
    for i in range(n):
        flows = _flows(rng, 30)
        head = struct.pack("!HHIIIIBBH", 5, 30, 3_600_000, 1_767_254_400 + i, 0, i * 30, 0, 0, 0)
        body = b"".join(
            struct.pack("!IIIHHIIIIHHBBBBHHBBH", s, d, 0, 1, 2, pk, by, 3_500_000, 3_590_000, sp, dp, 0, 0x1B, pr,
                        0, 0, 0, 24, 24, 0)
            for s, d, sp, dp, pr, pk, by in flows
        )  # fmt: skip
        out.append(head + body)
    return out


def _record(f: tuple[int, ...], t: int) -> bytes:
    s, d, sp, dp, pr, pk, by = f
    return struct.pack("!IIHHBBIIQQI", s, d, sp, dp, pr, 0x1B, pk, by, t, t + 900, 3)


def ipfix_datagrams(n: int, rng: random.Random) -> list[bytes]:
    tpl = struct.pack("!HH", 1024, len(FIELDS)) + b"".join(struct.pack("!HH", ie, ln) for ie, ln in FIELDS)
    out = []
    for i in range(n):
        recs = b"".join(_record(f, 1_767_254_400_000 + i) for f in _flows(rng, 32))
        sets = (
            (struct.pack("!HH", 2, 4 + len(tpl)) + tpl if i % 100 == 0 else b"")
            + struct.pack("!HH", 1024, 4 + len(recs))
            + recs
        )
        out.append(struct.pack("!HHIII", 10, 16 + len(sets), 1_767_254_400 + i, i * 32, 0) + sets)
    return out


def v9_datagrams(n: int, rng: random.Random) -> list[bytes]:
    fields = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (2, 4), (1, 4), (22, 4), (21, 4), (10, 4)]
    tpl = struct.pack("!HH", 1024, len(fields)) + b"".join(struct.pack("!HH", ie, ln) for ie, ln in fields)
    out = []
    for i in range(n):
        recs = b"".join(
            struct.pack("!IIHHBBIIIII", s, d, sp, dp, pr, 0x1B, pk, by, 3_500_000, 3_590_000, 3)
            for s, d, sp, dp, pr, pk, by in _flows(rng, 32)
        )
        sets = (
            (struct.pack("!HH", 0, 4 + len(tpl)) + tpl if i % 100 == 0 else b"")
            + struct.pack("!HH", 1024, 4 + len(recs))
            + recs
        )
        out.append(struct.pack("!HHIIII", 9, 33, 3_600_000, 1_767_254_400 + i, i, 0) + sets)
    return out


def best(fn: Callable[[], int], repeat: int) -> tuple[float, int, float]:
    """The best wall time of ``repeat`` runs, the count, and the best CPU time."""
    walls, cpus = [], []
    n = 0
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        n = fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return min(walls), n, min(cpus)


def ours_decode(dgrams: list[bytes]) -> int:
    d = Decoder(Counters())
    return sum(len(b) for g in dgrams for b in d.decode(g, ("192.0.2.1", 2055)))


def ours_records(dgrams: list[bytes]) -> int:
    d = Decoder(Counters())
    n = 0
    batch: list[dict] = []
    for g in dgrams:
        for b in d.decode(g, ("192.0.2.1", 2055)):
            batch += conn_records(b)
        if len(batch) >= 20_000:
            n += len(pair(batch))
            batch = []
    return n + len(pair(batch))


def netflow_pkg(dgrams: list[bytes]) -> int:
    import netflow

    templates: dict = {"netflow": {}, "ipfix": {}}
    n = 0
    for g in dgrams:
        p = netflow.parse_packet(g, templates)
        n += len(p.flows)
    return n


def _send(dgrams: list[bytes], port: int, rate: float) -> None:
    """Send at ``rate`` datagrams a second (as an exporter does; loopback has no flow control)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    start = time.perf_counter()
    for i, g in enumerate(dgrams):
        s.sendto(g, ("127.0.0.1", port))
        if i % 16 == 15:
            ahead = start + (i + 1) / rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
    s.close()


def udp(dgrams: list[bytes], rate: float) -> tuple[float, int, int]:
    c = Counters()
    stop = threading.Event()
    got = [0]
    with Collector(("127.0.0.1", 0), c, receive_buffer=64 * 1024 * 1024) as col:

        def run() -> None:
            for b in col.batches(stop, every=0.2):
                got[0] += len(b)

        t = threading.Thread(target=run)
        t.start()
        start = time.perf_counter()
        p = multiprocessing.get_context("fork").Process(target=_send, args=(dgrams, col.address[1], rate))
        p.start()
        p.join()
        # until the last datagram is read, or none has come for half a second (the rest was lost)
        last, seen = time.perf_counter(), -1
        while c.get("netflow.datagrams", 0) < len(dgrams):
            now = c.get("netflow.datagrams", 0)
            if now != seen:
                seen, last = now, time.perf_counter()
            elif time.perf_counter() - last > 0.5:
                break
            time.sleep(0.001)
        took = (last if c.get("netflow.datagrams", 0) < len(dgrams) else time.perf_counter()) - start
        stop.set()
        t.join()
    return took, c.get("netflow.flows", 0), len(dgrams) - c.get("netflow.datagrams", 0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datagrams", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rate", type=float, default=250_000, help="udp row: flows a second the exporter sends")
    args = ap.parse_args()
    rng = random.Random(1)
    sets = {
        "v5": v5_datagrams(args.datagrams, rng),
        "v9": v9_datagrams(args.datagrams, rng),
        "IPFIX": ipfix_datagrams(args.datagrams, rng),
    }
    print(
        "| export | flows | decode: flows/s wall (CPU) | records: flows/s wall (CPU)"
        " | udp at --rate: flows/s (lost datagrams) | netflow pkg: flows/s wall (CPU) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, dgrams in sets.items():
        td, n, cd = best(lambda dg=dgrams: ours_decode(dg), args.repeat)
        tr, _, cr = best(lambda dg=dgrams: ours_records(dg), args.repeat)
        per = n / len(dgrams)
        tu, nu, lost = udp(dgrams, args.rate / per)
        peer = dgrams[: max(len(dgrams) // 10, 200)]  # the package is slow: a tenth of the datagrams
        tp, np_, cp = best(lambda dg=peer: netflow_pkg(dg), max(args.repeat // 2, 1))
        print(
            f"| {name} | {n:,} | {n / td:,.0f} ({n / cd:,.0f}) | {n / tr:,.0f} ({n / cr:,.0f})"
            f" | {nu / tu:,.0f} ({lost}) | {np_ / tp:,.0f} ({np_ / cp:,.0f}) |"
        )


if __name__ == "__main__":
    main()
