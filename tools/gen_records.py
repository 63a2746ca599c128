#!/usr/bin/env python3
"""Deterministic record-dense capture for the store benchmark: about one sensor record per packet.

    python tools/gen_records.py --records 1000000 --seed 1 --out bench/out/records-1000000-s1.pcap

``gen_mixed.py`` writes realistic traffic, which is mostly bulk TCP: 300k packets give only ~15k
records, so a ≥ 1M-record run would need a 20M-packet capture. This one is what a busy resolver-side
tap sees instead: DNS over UDP (query + response: one ``dns`` and one ``conn`` record for two
packets; A/AAAA answers, some NXDOMAIN) and short TCP connection attempts (SYN, SYN-ACK, RST: one
``conn`` record for three packets; a few are refused). Clients sit in the bench config's segments
(10.0/16 HIS, 10.1/16 wards, 172.16/12 office); names come from a few thousand domains with a
long tail, so top-domain queries have something to rank. Traffic spans ``--hours`` (default 6) of
one day. Frames reuse ``gen_mixed``'s packers; the same seed gives the same bytes.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import struct
import sys
from pathlib import Path

from wardwatch.tools import gen_mixed as gm

BASE_TS_US = gm.BASE_TS_US
ETHER = struct.Struct("!6s6sH")
SEGMENT_NETS = (("10.0.0.0/16", 4), ("10.1.0.0/16", 4), ("172.16.0.0/12", 2))
RESOLVER = "10.20.1.10"
TLDS = ("vn", "com.vn", "com", "net", "org", "gov.vn", "edu.vn", "io")


def _ip(prefix: str, k: int) -> str:
    net = ipaddress.ip_network(prefix)
    return str(net.network_address + 1 + k % (min(net.num_addresses, 1 << 20) - 2))


def generate(records: int, seed: int, hours: float) -> tuple[list[tuple[int, bytes]], dict[str, int]]:
    rnd = random.Random(seed)
    clients: list[str] = []
    for prefix, weight in SEGMENT_NETS:
        clients += [_ip(prefix, rnd.randrange(1 << 20)) for _ in range(400 * weight)]
    domains = [
        f"{''.join(rnd.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rnd.randint(4, 12)))}.{rnd.choice(TLDS)}"
        for _ in range(5000)
    ]
    servers = [_ip("203.113.0.0/16", rnd.randrange(1 << 16)) for _ in range(3000)]
    res_b = ipaddress.ip_address(RESOLVER).packed
    frames: list[tuple[int, bytes]] = []
    stats = {"dns": 0, "tcp": 0, "records_expected": 0}
    span = int(hours * 3600e6)
    mac_r, mac_gw = gm.mac_of(RESOLVER), gm.GATEWAY_MAC
    ident = 0
    used: set[tuple[str, int]] = set()
    while stats["records_expected"] < records:
        t = BASE_TS_US + rnd.randrange(span)
        client = rnd.choice(clients)
        c_b = ipaddress.ip_address(client).packed
        c_mac = gm.mac_of(client)
        while True:
            port = rnd.randrange(20000, 65535)
            if (client, port) not in used:
                used.add((client, port))
                break
        ident += 2
        if rnd.random() < 0.75:  # a DNS transaction: dns + conn
            # a long tail: low indexes far more often
            name = domains[min(int(rnd.paretovariate(1.1)) - 1, len(domains) - 1)]
            if rnd.random() < 0.3:
                name = f"{rnd.choice(('www', 'api', 'cdn', 'mail'))}.{name}"
            qtype = 28 if rnd.random() < 0.2 else 1
            txid = rnd.randrange(1 << 16)
            if rnd.random() < 0.05:
                resp = gm.dns_response(txid, name, qtype, [], rcode=3)
            else:
                addr = rnd.choice(servers)
                if qtype == 1:
                    rdata = ipaddress.ip_address(addr).packed
                else:
                    rdata = ipaddress.ip_address("2001:db8::" + addr.split(".")[-1]).packed
                resp = gm.dns_response(txid, name, qtype, [(name, qtype, 300, rdata)])
            q = gm.udp(port, 53, gm.dns_query(txid, name, qtype))
            r = gm.udp(53, port, resp)
            frames.append((t, ETHER.pack(mac_r, c_mac, 0x0800) + gm.ipv4(c_b, res_b, 17, q, ident, 128)))
            frames.append(
                (
                    t + rnd.randrange(300, 30000),
                    ETHER.pack(c_mac, mac_r, 0x0800) + gm.ipv4(res_b, c_b, 17, r, ident + 1, 60),
                )
            )
            stats["dns"] += 1
            stats["records_expected"] += 2
        else:  # a short TCP attempt: SYN, SYN-ACK (or RST), RST
            server = rnd.choice(servers)
            s_b = ipaddress.ip_address(server).packed
            dport = rnd.choice((443, 443, 443, 80, 8443, 2575, 104))
            seq, sseq = rnd.randrange(1 << 32), rnd.randrange(1 << 32)
            out = ETHER.pack(mac_gw, c_mac, 0x0800)
            back = ETHER.pack(c_mac, mac_gw, 0x0800)
            frames.append(
                (t, out + gm.ipv4(c_b, s_b, 6, gm.tcp(port, dport, seq, 0, gm.SYN, opts=gm.SYN_OPTS), ident))
            )
            rtt = rnd.randrange(2000, 60000)
            if rnd.random() < 0.1:  # refused
                frames.append(
                    (
                        t + rtt,
                        back
                        + gm.ipv4(s_b, c_b, 6, gm.tcp(dport, port, 0, seq + 1, gm.RST | gm.ACK), ident + 1),
                    )
                )
            else:
                frames.append(
                    (
                        t + rtt,
                        back
                        + gm.ipv4(
                            s_b, c_b, 6, gm.tcp(dport, port, sseq, seq + 1, gm.SYN | gm.ACK), ident + 1
                        ),
                    )
                )
                frames.append(
                    (
                        t + rtt + 200,
                        out + gm.ipv4(c_b, s_b, 6, gm.tcp(port, dport, seq + 1, 0, gm.RST), ident + 2),
                    )
                )
            stats["tcp"] += 1
            stats["records_expected"] += 1
    frames.sort(key=lambda f: f[0])
    return frames, stats


def write(path: Path, frames: list[tuple[int, bytes]]) -> None:
    hdr = gm.REC_HDR
    parts = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for t, frame in frames:
        parts.append(hdr.pack(t // 1_000_000, t % 1_000_000, len(frame), len(frame)))
        parts.append(frame)
    path.write_bytes(b"".join(parts))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=1_000_000, help="sensor records to aim for (default 1M)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--hours", type=float, default=6.0, help="time the traffic spans (default 6)")
    p.add_argument("--out", type=Path, default=Path("records.pcap"))
    args = p.parse_args(argv)
    frames, stats = generate(args.records, args.seed, args.hours)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write(args.out, frames)
    side = {"packets": len(frames), **stats}
    args.out.with_name(args.out.name + ".json").write_text(json.dumps(side, indent=1) + "\n")
    sys.stderr.write(
        f"gen_records: {len(frames)} packets, ~{stats['records_expected']} records -> {args.out}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
