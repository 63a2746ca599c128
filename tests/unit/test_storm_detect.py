"""Detection's storm paths give what the per-item paths give (issue 17): addresses resolved as arrays
(``SegmentMap._make_many``, ``PrefixTable.get_many4``/``first_many4``, the OTT detector's
``annotate_many``) and the port-scan detector's first probes kept as tuples (``compact``)."""

from __future__ import annotations

import copy
import ipaddress
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from wardwatch.detectors.base import Batch
from wardwatch.detectors.behaviour.options import ScanOptions
from wardwatch.detectors.behaviour.scan import ScanDetector
from wardwatch.detectors.policy.ott import OttDetector

from wardwatch.segments import PrefixTable, SegmentMap, ipv4_values

ODD = ["255.255.255.255", "224.0.0.1", "239.1.2.3", "0.0.0.0", "127.0.0.1", "::1", "fe80::1", "::ffff:10.10.0.5",
       "::ffff:8.8.8.8", "2001:db8::1", "junk", "", "1.2.3", "01.2.3.4", "1.2.3.4.5", "169.254.1.1", "100.64.0.1",
       "fe80::1%eth0", " 1.2.3.4", "1.2.3.4 "]  # fmt: skip


def _segments(rng: random.Random) -> list[tuple[str, list[str], str | None, int]]:
    """Random nested and apart networks, some listed twice, one segment the whole address space."""
    out = []
    for n in range(rng.randrange(1, 8)):
        cidrs = []
        for _ in range(rng.randrange(1, 4)):
            plen = rng.choice([0, 8, 12, 16, 20, 22, 24, 28, 31, 32]) if n else rng.choice([8, 16, 24])
            base = rng.choice([0x0A000000, 0xAC100000, rng.getrandbits(32)])
            cidrs.append(str(ipaddress.ip_network((base >> (32 - plen) << (32 - plen) if plen else 0, plen))))
        out.append((f"s{n}", cidrs, rng.choice([None, "his", "guest", "clinical"]), rng.randrange(1, 5)))
    return out


def _addresses(rng: random.Random, nets: list[str], n: int) -> list[str]:
    ips = []
    parsed = [ipaddress.ip_network(c) for c in nets]
    for _ in range(n):
        r = rng.random()
        if r < 0.4 and parsed:
            net = rng.choice(parsed)
            edge = rng.choice([0, net.num_addresses - 1, rng.randrange(net.num_addresses)])
            v = int(net.network_address) + edge + rng.choice([-1, 0, 0, 0, 1])
            ips.append(str(ipaddress.IPv4Address(v % (1 << 32))))
        elif r < 0.5:
            ips.append(rng.choice(ODD))
        else:
            ips.append(str(ipaddress.IPv4Address(rng.getrandbits(32))))
    return list(dict.fromkeys(ips))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32))
def test_addresses_resolved_as_arrays_equal_one_by_one(seed: int) -> None:
    rng = random.Random(seed)
    segs = _segments(rng)
    sm = SegmentMap(segs)
    ips = _addresses(rng, [c for _, cidrs, _, _ in segs for c in cidrs], 300)
    assert sm._make_many(ips) == [sm._make(ip) for ip in ips]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32))
def test_prefix_table_lookups_as_arrays(seed: int) -> None:
    rng = random.Random(seed)
    nets = [c for _, cidrs, _, _ in _segments(rng) for c in cidrs]
    items = [(ipaddress.ip_network(c), (i, c)) for i, c in enumerate(nets)]
    table = PrefixTable(items)
    ips = [ip for ip in _addresses(rng, nets, 200) if ":" not in ip]
    at, values = ipv4_values(ips)
    good = [ips[i] for i in at]
    assert len(good) == sum(1 for ip in ips if _dotted(ip))
    by_one = [int(ipaddress.IPv4Address(ip)) for ip in good]
    assert values.tolist() == by_one
    assert table.get_many4(values) == [table.get(4, v) for v in by_one]
    assert table.first_many4(values) == [table.first(4, v) for v in by_one]


def _dotted(ip: str) -> bool:
    try:
        ipaddress.IPv4Address(ip)
    except ValueError:
        return False
    return True


def test_ott_ranges_as_arrays_equal_one_by_one() -> None:
    ott = OttDetector(frozenset({"clinical"}))
    v4 = [net for net, _ in ott.nets if net.version == 4]
    assert v4, "the OTT list has IPv4 ranges"
    rng = random.Random(7)
    ips = []
    for net in v4:  # every edge of every range, inside and just outside
        first, last = int(net.network_address), int(net.broadcast_address)
        for v in (first - 1, first, first + rng.randrange(net.num_addresses), last, last + 1):
            ips.append(str(ipaddress.IPv4Address(v % (1 << 32))))
    ips += [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(2000)] + ODD
    ips += [str(net[1]) for net, _ in ott.nets if net.version == 6]
    sm = SegmentMap([])
    one = [sm._make(ip) for ip in dict.fromkeys(ips)]
    many = copy.deepcopy(one)
    for info in one:
        ott.annotate(info)
    ott.annotate_many(many)
    assert many == one
    assert sum(1 for i in one if i.ott) >= len(v4)  # the lookups found something to compare


def _probe_stream(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """A scan mixed with a spoofed flood: few sources probing many ports and hosts, many sources
    probing once, repeats of the same probe, answered connections."""
    recs = []
    ts = 1_700_000_000.0
    for i in range(n):
        ts += rng.choice([0.001, 0.5, 3.0, 700.0])
        kind = rng.random()
        if kind < 0.35:
            src, dst, port = "10.20.0.5", f"10.10.0.{rng.randrange(1, 40)}", rng.choice([22, 80, 445, 3389])
        elif kind < 0.7:
            src, dst, port = "10.20.0.6", "10.10.0.9", rng.randrange(1, 60)
        else:
            src, dst, port = str(ipaddress.IPv4Address(rng.getrandbits(32))), "10.10.0.10", 80
        proto = rng.choice(["tcp", "tcp", "udp"])
        answered = rng.random() < 0.1
        recs.append({
            "_path": "conn", "ts": ts, "uid": f"C{i}", "id.orig_h": src, "id.orig_p": 40000 + i % 20000,
            "id.resp_h": dst, "id.resp_p": port, "proto": proto, "conn_state": "S0",
            "history": "ShADad" if answered else "S", "orig_pkts": 1,
            "resp_pkts": 1 if answered else 0, "orig_bytes": 10 if answered else 0,
        })  # fmt: skip
    return recs


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 2**32),
    st.sampled_from([(15, 20), (2, 2), (1, 1), (1, 3), (4, 1)]),
    st.sampled_from([4, 50]),
)
def test_scan_first_probes_as_tuples_alert_alike(
    seed: int, thresholds: tuple[int, int], max_hosts: int
) -> None:
    rng = random.Random(seed)
    opts = ScanOptions(min_ports=thresholds[0], min_hosts=thresholds[1], window=600.0, cooldown=60.0)
    recs = _probe_stream(rng, 400)
    sm = SegmentMap([("wards", ["10.20.0.0/22"], "clinical", 3), ("his", ["10.10.0.0/24"], "his", 3)])
    got = []
    for compact in (True, False):
        det = ScanDetector(opts, max_hosts=max_hosts)
        det.compact = compact
        alerts = []
        for i in range(0, len(recs), 37):
            batch = Batch(recs[i : i + 37], sm.info, sm.cache, sm.resolve)
            alerts += [(a.rule, a.ts, a.src_ip, a.dst_ip, a.indicator, a.evidence) for a in det.detect(batch)]
        got.append((alerts, det.evicted(), len(det.vertical), len(det.horizontal)))
    assert got[0] == got[1]
    if thresholds == (2, 2):
        assert got[0][0], "the stream holds scans: something to compare"
