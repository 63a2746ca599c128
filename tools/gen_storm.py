#!/usr/bin/env python3
"""Deterministic connection-dense captures: what a worm, a scan or a flood looks like on a SPAN port.

    python tools/gen_storm.py --shape pp1 --packets 300000 --out /tmp/pp1.pcap

Shapes (every connection has a key of its own, so counts do not depend on timeouts):

    pp1        one packet per connection: a SYN to a new (host, port) each time (a SYN scan)
    pp2        two: the SYN and the closed port's RST-ACK
    pp10       ten: handshake, a request and a response each ACKed, FIN/ACK both ways, the last ACK
    pp40       thirty-eight: as pp10 with 8 request/response exchanges
    synflood   spoofed sources, one SYN each, to one web server (an attack on the HIS front end)
    udpscan    UDP probes to closed ports, every other one answered by ICMP port unreachable
    dnsflood   DNS queries for random names under one domain, each answered (NXDOMAIN): a water
               torture attack, or a tunnel's traffic shape

Frames are packed with ``struct`` (Ethernet, IPv4, µs timestamps, 100 µs apart: 10,000 packets/s);
checksums are zero (tshark does not verify them by default). Prints the connection count.
"""

from __future__ import annotations

import argparse
import random
import struct
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

SHAPES = ("pp1", "pp2", "pp10", "pp40", "synflood", "udpscan", "dnsflood")
BASE_US = 1_733_364_000_000_000  # 2024-12-05 09:00 +07:00
GAP_US = 100

ETH = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
SYN, ACK, PSH_ACK, FIN_ACK, RST_ACK, SYN_ACK = 0x02, 0x10, 0x18, 0x11, 0x14, 0x12

Packet = tuple[int, int, int, int, bytes]  # (src, dst, proto, ttl, l4 bytes)


def _ip(src: int, dst: int, proto: int, l4: bytes) -> bytes:
    return struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0, src, dst) + l4


def _tcp(sport: int, dport: int, seq: int, ack: int, flags: int, data: bytes = b"") -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + data


def _udp(sport: int, dport: int, data: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def _addr(a: int, b: int, c: int, d: int) -> int:
    return (a << 24) | (b << 16) | (c << 8) | d


def _host(net: tuple[int, int], i: int) -> int:
    return _addr(10, net[0], net[1] + (i >> 8) % 4, 1 + i % 250)


CLIENT = _addr(10, 20, 0, 66)  # a ward PC (10.20.0.0/22 in the synthetic hospital)
WEB = _addr(10, 10, 0, 10)  # the HIS front end
RESOLVER = _addr(10, 40, 0, 53)


def _tcp_conn(src: int, dst: int, sport: int, dport: int, exchanges: int) -> Iterator[bytes]:
    c, s = 1000, 5000
    yield _ip(src, dst, 6, _tcp(sport, dport, c, 0, SYN))
    yield _ip(dst, src, 6, _tcp(dport, sport, s, c + 1, SYN_ACK))
    yield _ip(src, dst, 6, _tcp(sport, dport, c + 1, s + 1, ACK))
    c, s = c + 1, s + 1
    req, resp = b"GET / HTTP/1.1\r\nHost: his.bv.local\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    for _ in range(exchanges):
        yield _ip(src, dst, 6, _tcp(sport, dport, c, s, PSH_ACK, req))
        c += len(req)
        yield _ip(dst, src, 6, _tcp(dport, sport, s, c, ACK))
        yield _ip(dst, src, 6, _tcp(dport, sport, s, c, PSH_ACK, resp))
        s += len(resp)
        yield _ip(src, dst, 6, _tcp(sport, dport, c, s, ACK))
    yield _ip(src, dst, 6, _tcp(sport, dport, c, s, FIN_ACK))
    yield _ip(dst, src, 6, _tcp(dport, sport, s, c + 1, FIN_ACK))
    yield _ip(src, dst, 6, _tcp(sport, dport, c + 1, s + 1, ACK))


def _dns(qid: int, name: str, answer: bool) -> bytes:
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack("!HH", 1, 1)
    flags = 0x8183 if answer else 0x0100  # response NXDOMAIN / query RD
    return struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 0) + q


def connections(shape: str, rng: random.Random) -> Iterator[list[bytes]]:
    """The shape's connections, each its frames' IP packets, forever (the caller stops)."""
    i = 0
    while True:
        i += 1
        port = 1 + i % 65000
        if shape == "pp1":
            yield [_ip(CLIENT, _host((10, 0), i // 65000 + i), 6, _tcp(40000 + i % 20000, port, i, 0, SYN))]
        elif shape == "pp2":
            dst = _host((10, 0), i // 65000 + i)
            sport = 40000 + i % 20000
            yield [_ip(CLIENT, dst, 6, _tcp(sport, port, i, 0, SYN)), _ip(dst, CLIENT, 6, _tcp(port, sport, 0, i + 1, RST_ACK))]
        elif shape in ("pp10", "pp40"):
            src = _host((20, 0), i // 50000)
            yield list(_tcp_conn(src, WEB, 1024 + i % 50000, 80, 1 if shape == "pp10" else 8))
        elif shape == "synflood":
            src = rng.getrandbits(32) | 0x01000000
            yield [_ip(src, WEB, 6, _tcp(rng.randrange(1024, 65536), 80, rng.getrandbits(32), 0, SYN))]
        elif shape == "udpscan":
            dst = _host((40, 0), i // 65000)
            sport = 40000 + (i // 65000) % 20000
            probe = _ip(CLIENT, dst, 17, _udp(sport, port, b""))
            if i % 2:
                # ICMP port unreachable quoting the probe's IP header and first 8 bytes
                icmp = struct.pack("!BBHI", 3, 3, 0, 0) + probe[:28]
                yield [probe, _ip(dst, CLIENT, 1, icmp)]
            else:
                yield [probe]
        elif shape == "dnsflood":
            name = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12)) + ".victim-hospital.vn"
            qid, sport = i % 65536, 1024 + i % 60000
            src = _host((20, 0), i // 60000)
            yield [_ip(src, RESOLVER, 17, _udp(sport, 53, _dns(qid, name, False))), _ip(RESOLVER, src, 17, _udp(53, sport, _dns(qid, name, True)))]
        else:
            raise ValueError(shape)


def generate(shape: str, packets: int, out: Path, seed: int = 1) -> int:
    """Writes ``packets`` frames of ``shape`` to ``out`` (classic pcap); returns the connections."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}: one of {', '.join(SHAPES)}")
    rng = random.Random(seed)
    rec = struct.Struct("<IIII")
    n = conns = 0
    ts = BASE_US
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        write: Callable[[bytes], object] = f.write
        for frames in connections(shape, rng):
            if n >= packets:
                break
            conns += 1
            for ip in frames[: packets - n]:
                frame = ETH + ip
                write(rec.pack(ts // 1_000_000, ts % 1_000_000, len(frame), len(frame)) + frame)
                ts += GAP_US
                n += 1
    return conns


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shape", choices=SHAPES, required=True)
    p.add_argument("--packets", type=int, default=300_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    conns = generate(args.shape, args.packets, args.out, args.seed)
    sys.stderr.write(f"gen_storm: {args.shape}: {args.packets} packets, {conns} connections -> {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
