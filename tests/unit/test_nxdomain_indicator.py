"""Issue 19 point 8: an NXDOMAIN burst's indicator names what failed, never a domain that resolved."""

from __future__ import annotations

from collections import Counter

from wardwatch.detectors.behaviour.nxdomain import burst_indicator

from tests.unit.test_behaviour_detectors import dns, engine, run


def test_indicator_rule() -> None:
    # most failed names under one domain: the domain (a subdomain enumeration)
    assert (
        burst_indicator(Counter({f"w{i}.benhvien.vn": 1 for i in range(10)} | {"x.com": 1})) == "benhvien.vn"
    )
    # no majority: the name that failed most
    names = Counter({"cdn.benhvien.vn": 1, "img.benhvien.vn": 1, "qzkx.top": 3, "plmo.net": 1, "ahgq.org": 1})
    assert burst_indicator(names) == "qzkx.top"


def test_busy_successful_domain_never_names_the_burst() -> None:
    src = "10.30.0.78"
    recs = [dns(src, "www.benhvien.vn", 1000.0 + i / 10) for i in range(40)]  # resolves, queried most
    failed = ["cdn.benhvien.vn", "img.benhvien.vn"] + [
        f"{c * 9}{i}.com" for i, c in enumerate("abcdefghijklmnopqrst")
    ]
    recs += [dns(src, n, 1010.0 + i / 10, rcode="NXDOMAIN") for i, n in enumerate(failed)]
    (a,) = [a for a in run(engine(), recs) if a.category == "nxdomain_burst"]
    assert a.indicator in failed and a.indicator != "benhvien.vn"  # a failed name, not the domain
    assert set(a.evidence["sample"]) <= set(failed)
