"""Issue 19 point 3: fast beacons (HTTPS every few seconds with ±10% jitter, for minutes) are scored,
with a guard that keeps benign fast polling quiet (too short, too irregular, too few connections)."""

from __future__ import annotations

import random

from wardwatch.detectors.behaviour.beacon import beacon_score

from tests.unit.test_behaviour_detectors import conn, engine, run

C2 = "198.51.100.44"


def beacon(
    src: str, every: float, jitter: float, count: int, start: float = 1000.0, seed: int = 3
) -> list[dict]:
    rnd = random.Random(seed)
    out, ts = [], start
    for _ in range(count):
        out.append(conn(src, C2, 443, round(ts, 6), orig_bytes=517 + rnd.randrange(0, 8), history="ShADadFf"))
        ts += every * rnd.uniform(1 - jitter, 1 + jitter)
    return out


def beacons(recs: list[dict], extra: str = "") -> list:
    return [a for a in run(engine(extra), recs) if a.category == "beacon"]


def test_https_every_three_seconds_for_minutes_is_a_beacon() -> None:
    got = beacons(beacon("10.20.0.7", 3.0, 0.10, 100))
    assert [(a.src_ip, a.indicator) for a in got] == [("10.20.0.7", C2)]
    assert 2.5 < got[0].evidence["interval"] < 3.5


def test_fast_beacon_in_a_long_capture_keeps_its_coverage() -> None:
    # a day of other traffic around it: coverage is measured against fast_span, not the day
    rnd = random.Random(4)
    other = [conn("10.20.0.9", "203.0.113.9", 443, 1000.0 + rnd.uniform(0, 86_400), orig_bytes=rnd.randrange(300, 9000))
             for _ in range(24)]  # fmt: skip
    got = beacons(other + beacon("10.20.0.7", 3.0, 0.10, 100, start=40_000.0))
    assert [a.src_ip for a in got] == ["10.20.0.7"]


def test_the_old_floor_missed_it() -> None:
    assert beacons(beacon("10.20.0.7", 3.0, 0.10, 100), "  beacon: {min_interval: 5}\n") == []


def test_short_or_irregular_fast_polling_stays_quiet() -> None:
    # a page refreshing every 2 s for a minute: too short for a fast beacon
    assert beacons(beacon("10.20.0.8", 2.0, 0.05, 30)) == []
    # an app polling every 1–6 s at random for ten minutes: not regular enough
    rnd = random.Random(9)
    ts, recs = 1000.0, []
    for _ in range(200):
        recs.append(conn("10.20.0.8", C2, 443, round(ts, 6), orig_bytes=rnd.randrange(300, 4000)))
        ts += rnd.uniform(1.0, 6.0)
    assert beacons(recs) == []


def test_fast_coverage_uses_the_fast_span() -> None:
    ts = [1000.0 + 3 * i for i in range(60)]
    sizes = [517.0] * 60
    slow = beacon_score(ts, sizes, observed=86_400.0)
    fast = beacon_score(ts, sizes, observed=86_400.0, fast=(5.0, 120.0))
    assert slow["coverage"] < 0.01 and fast["coverage"] == 1.0
