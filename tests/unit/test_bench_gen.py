"""tools/gen_mixed.py: deterministic, exact packet count, and well-formed for tshark."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from wardwatch.tools import gen_mixed as gen


def pcap_records(data: bytes) -> list[tuple[int, bytes]]:
    """(timestamp in µs, frame) of each record of a little-endian classic pcap."""
    magic, _, _, _, _, _, linktype = struct.unpack_from("<IHHiIII", data)
    assert magic == 0xA1B2C3D4 and linktype == 1
    out, pos = [], 24
    while pos < len(data):
        sec, usec, caplen, wirelen = struct.unpack_from("<IIII", data, pos)
        assert caplen == wirelen
        out.append((sec * 1_000_000 + usec, data[pos + 16 : pos + 16 + caplen]))
        pos += 16 + caplen
    assert pos == len(data)
    return out


def generate(tmp_path: Path, packets: int, seed: int) -> tuple[bytes, dict]:
    out = tmp_path / f"g-{packets}-{seed}.pcap"
    assert gen.main(["--packets", str(packets), "--seed", str(seed), "--out", str(out)]) == 0
    return out.read_bytes(), json.loads(out.with_name(out.name + ".json").read_text())


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a, side_a = generate(tmp_path / "a", 3000, 7)
    b, side_b = generate(tmp_path / "b", 3000, 7)
    c, _ = generate(tmp_path / "c", 3000, 8)
    assert a == b and side_a == side_b
    assert a != c


@pytest.mark.parametrize("packets", [50, 777, 5000])
def test_exact_packet_count_in_time_order(tmp_path: Path, packets: int) -> None:
    data, sidecar = generate(tmp_path, packets, 1)
    records = pcap_records(data)
    assert len(records) == packets == sidecar["packets"]
    assert sum(sidecar["packets_by_kind"].values()) == packets
    stamps = [t for t, _ in records]
    assert stamps == sorted(stamps)


def test_mix_has_every_kind_and_consistent_counts(tmp_path: Path) -> None:
    data, sidecar = generate(tmp_path, 20000, 3)
    kinds = sidecar["packets_by_kind"]
    for kind in ("https", "http", "dns_udp", "dns_tcp", "ntp", "icmp", "smb", "hl7", "scan", "arp"):
        assert kinds.get(kind, 0) > 0, kind
    assert kinds["https"] + kinds["http"] + kinds["smb"] > 0.6 * sidecar["packets"]  # mostly TCP
    assert 0.01 < kinds["dns_udp"] / sidecar["packets"] < 0.1
    links = sidecar["packets_by_link"]
    assert links["ipv6"] > 0 and links["vlan"] > 0 and links["gre"] + links["vxlan"] > 0
    conns = sidecar["connections"]
    assert conns["total"] == conns["tcp"] + conns["udp"] + conns["icmp"]
    dns = sidecar["dns"]
    assert dns["transactions"] == sum(dns["qtypes"].values()) + dns["tcp"]
    assert dns["nxdomain"] > 0 and dns["unanswered"] > 0

    # Every TCP connection the sidecar counts starts with exactly one SYN (no reused 5-tuples).
    syns: Counter[bytes] = Counter()
    for _, frame in pcap_records(data):
        ethertype = struct.unpack_from("!H", frame, 12)[0]
        l3 = 14
        if ethertype == 0x8100:
            ethertype, l3 = struct.unpack_from("!H", frame, 16)[0], 18
        if ethertype != 0x0800 or frame[l3 + 9] != 6:  # plain IPv4 TCP is enough to check the invariant
            continue
        tcp = l3 + (frame[l3] & 15) * 4
        if frame[tcp + 13] & 0x12 == 0x02:  # SYN without ACK
            syns[frame[l3 + 12 : l3 + 20] + frame[tcp : tcp + 4]] += 1
    assert syns and max(syns.values()) == 1


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_tshark_finds_no_malformed_packets(tmp_path: Path) -> None:
    out = tmp_path / "m.pcap"
    gen.main(["--packets", "30000", "--seed", "5", "--out", str(out)])
    sidecar = json.loads(out.with_name("m.pcap.json").read_text())
    res = subprocess.run(
        ["tshark", "-r", str(out), "-Y", "_ws.malformed || _ws.expert.severity == error", "-T", "fields",
         "-e", "frame.number", "-e", "_ws.expert.message"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert res.stdout == ""
    # tshark agrees on the DNS transactions and TCP connections the sidecar announces.
    res = subprocess.run(
        ["tshark", "-r", str(out), "-T", "fields", "-e", "tcp.stream", "-e", "dns.flags.response"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    streams, queries = set(), 0
    for line in res.stdout.splitlines():
        stream, response = line.split("\t")
        if stream:
            streams.add(stream)
        queries += sum(flag in ("0", "False") for flag in response.split(",") if flag)
    assert len(streams) == sidecar["connections"]["tcp"]
    assert queries == sidecar["dns"]["transactions"]
