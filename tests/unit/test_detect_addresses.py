"""Address resolution: the fast path (inet_pton, prefix tables, grouped feed lookups) gives the same
IpInfo as the per-address ``ipaddress`` path it replaced."""

from __future__ import annotations

import ipaddress
import random

import pytest
from wardwatch.detectors.base import Batch
from wardwatch.detectors.feedmatch import FeedMatcher
from wardwatch.detectors.policy import OttDetector
from wardwatch.threatfeeds import IndexBuilder

from wardwatch.segments import PrefixTable, SegmentMap, addr_value, parse_ip

ODD = ["::ffff:8.8.8.8", "fe80::1%eth0", "garbage", "", "255.255.255.255", "ff02::1", "224.0.0.251", "::1",
       "2001:db8::1", "01.2.3.4", " 1.2.3.4", "1.2.3", "10.1.2.3", "::ffff:10.1.2.3", "[::1]"]  # fmt: skip


def _addresses(n: int, seed: int = 1) -> list[str]:
    rnd = random.Random(seed)
    out = list(ODD)
    for _ in range(n):
        k = rnd.random()
        if k < 0.4:
            out.append(f"10.{rnd.choice((1, 2, 3))}.{rnd.randrange(256)}.{rnd.randrange(256)}")
        elif k < 0.8:
            out.append(str(ipaddress.IPv4Address(rnd.getrandbits(32))))
        else:
            out.append(str(ipaddress.IPv6Address((0x20010DB8 << 96) | rnd.getrandbits(40))))
    return out


@pytest.mark.parametrize("text", ODD + _addresses(300))
def test_addr_value_agrees_with_ipaddress(text: str) -> None:
    got = addr_value(text)
    ip = parse_ip(text)
    if got is None:
        assert ip is None or "%" in text  # scope ids are left to the ipaddress path
    else:
        assert ip is not None and got == (ip.version, int(ip))


def test_prefix_table_longest_and_first() -> None:
    nets = [(ipaddress.ip_network("10.0.0.0/8"), "wide"), (ipaddress.ip_network("10.1.0.0/16"), "narrow"),
            (ipaddress.ip_network("10.1.0.0/16"), "dup"), (ipaddress.ip_network("2001:db8::/32"), "v6")]  # fmt: skip
    t = PrefixTable(nets)
    v = int(ipaddress.ip_address("10.1.2.3"))
    assert t.get(4, v) == "narrow"  # longest prefix; the first listed of two equal networks
    assert t.first(4, v) == "wide"  # listed first
    assert t.get(4, int(ipaddress.ip_address("11.0.0.1"))) is None
    assert t.get(6, int(ipaddress.ip_address("2001:db8::5"))) == "v6"
    assert not PrefixTable([])


def _segments() -> SegmentMap:
    return SegmentMap([("wide", ["10.0.0.0/8"], "admin", 2), ("emr", ["10.1.0.0/16"], "emr", 4),
                       ("emr-dup", ["10.1.0.0/16"], "his", 3), ("ward", ["10.2.3.0/24", "2001:db8:0:1::/64"],
                       "clinical", 3), ("none", ["10.3.0.0/16"], None, 1)])  # fmt: skip


def test_segment_map_fast_path_matches_slow_path() -> None:
    seg = _segments()
    addrs = _addresses(3000)
    seg.resolve(addrs[: len(addrs) // 2])
    for ip in addrs:
        got = seg.info(ip)
        want = seg._make_slow(ip)
        assert got == want, ip
    assert seg.info("10.1.9.9").segment is not None and seg.info("10.1.9.9").segment.name == "emr"
    assert seg.info("::ffff:10.2.3.4").zone == "clinical"
    assert seg.info("ff02::1").broadcast and seg.info("255.255.255.255").broadcast


def _index():  # type: ignore[no-untyped-def]
    b = IndexBuilder()
    b.add_feed("f", [("45.33.0.0/16", None, None), ("185.220.101.7", None, None), ("8.8.0.0/16", None, None),
                     ("2a00:1450:dead::/48", None, None), ("evil.example", None, None)])  # fmt: skip
    return b.build()


def test_feed_annotate_many_matches_annotate() -> None:
    index = _index()
    fm = FeedMatcher(index)
    seg = SegmentMap([])
    addrs = _addresses(2000) + [
        "45.33.1.9",
        "185.220.101.7",
        "185.220.101.8",
        "::ffff:8.8.4.4",
        "2a00:1450:dead::1",
    ]
    infos = [seg._make(ip) for ip in addrs]
    fm.annotate_many(infos)
    hits = 0
    for info in infos:
        one = seg._make(info.ip)
        fm.annotate(one)
        assert info.feed == one.feed, info.ip
        hits += info.feed is not None
    assert hits >= 5


def test_ott_annotate_takes_first_listed_range() -> None:
    ott = OttDetector(frozenset({"clinical"}))
    assert ott.nets, "the built-in OTT list has address ranges"
    seg = SegmentMap([])
    net, app = ott.nets[0]
    inside = str(net.network_address + 1)
    info = seg._make(inside)
    ott.annotate(info)
    assert info.ott is not None
    want = next(
        (a.name, str(n)) for n, a in ott.nets if n.version == net.version and net.network_address + 1 in n
    )
    assert info.ott == want


def test_batch_groups_new_addresses_into_one_resolve() -> None:
    seg = _segments()
    calls: list[int] = []
    seg.bulk_annotators.append(lambda infos: calls.append(len(infos)))
    recs = [
        {"_path": "conn", "ts": 1.0, "id.orig_h": f"10.1.0.{i % 7}", "id.resp_h": "8.8.8.8"}
        for i in range(50)
    ]
    recs.append({"_path": "conn", "ts": 2.0, "id.orig_h": "10.1.0.1"})  # no responder: no pair
    b = Batch(recs, seg.info, seg.cache, seg.resolve)
    pairs = b.pairs("conn")
    assert calls == [8]  # 7 sources and one destination, annotated as one group
    assert pairs[-1] is None
    assert all(
        p is not None and p[0] is seg.info(r["id.orig_h"]) for r, p in zip(recs[:-1], pairs, strict=False)
    )
    Batch(recs, seg.info, seg.cache, seg.resolve).pairs("conn")
    assert calls == [8]  # all cached now
