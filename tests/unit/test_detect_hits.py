"""Merge before building (detectors/hits.py, issue 17 item 4): the noise filter counts a finding that
joins an open window without building its alert, and what comes out is the same as when every finding
is built first — on generated sequences (late records, equal times, duplicates, severities rising,
announced windows, suppressions) and on a flood through the whole engine."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from wardwatch.detectors.engine import Engine
from wardwatch.detectors.hits import Hit, built
from wardwatch.detectors.noise import Merger
from wardwatch.detectors.rules import make_hit
from wardwatch.detectors.settings import Suppression

from wardwatch.alerts import Alert
from wardwatch.config import parse_config
from wardwatch.counters import Counters
from wardwatch.segments import SegmentMap

T0 = 1_764_000_000.0
SEGMENTS = SegmentMap(
    [
        ("guest", ["172.16.0.0/20"], "guest", 1),
        ("his", ["10.10.0.0/24"], "his", 3),
        ("emr", ["10.11.0.0/24"], "emr", 4),
    ]
)
SOURCES = ["172.16.0.5", "172.16.0.6"]
TARGETS = ["10.10.0.2", "10.11.0.3", "10.10.0.9"]

event = st.tuples(
    st.sampled_from(SOURCES),
    st.sampled_from(TARGETS),
    # seconds after T0: equal times often (ties go by uid), late records, windows closing
    st.one_of(st.integers(0, 8).map(lambda s: s * 40.0), st.integers(0, 900).map(lambda s: s / 2)),
    st.integers(0, 1),  # bump (answered): raises the severity inside a window
    st.integers(0, 12),  # evidence record: repeats are a duplicated record
)
step = st.one_of(
    st.lists(event, min_size=1, max_size=12).map(lambda evs: ("add", evs)),
    st.integers(0, 1200).map(lambda s: ("expire", s)),
    st.just(("opened", None)),
)


def _hit(src: str, dst: str, secs: float, bump: int, rec: int) -> Hit:
    o, d = SEGMENTS.info(src), SEGMENTS.info(dst)
    ev = {"log": "conn", "uid": f"C{rec}", "answered": bool(bump)}
    indicator = d.segment.name if d.segment else d.ip
    return make_hit(
        "policy.segmentation.zone", T0 + secs, o, d, indicator, ev, rid=f"conn|C{rec}", bump=bump, port=445
    )


def _rows(alerts: list[Alert]) -> list[dict[str, Any]]:
    return [{**a.to_dict(), "seen": sorted(a.seen)} for a in alerts]


def _run(steps: list[tuple[str, Any]], build_first: bool, announce: frozenset[str],
         suppress: tuple[Suppression, ...]) -> tuple[list[Any], dict[str, int]]:  # fmt: skip
    counters = Counters()
    m = Merger(300.0, suppress, counters, lag=60.0)
    m.announce = announce
    out: list[Any] = []
    for kind, arg in steps:
        if kind == "add":
            hits: list[Alert | Hit] = [_hit(*e) for e in arg]
            out.append(("closed", _rows(m.add(built(hits) if build_first else hits))))
        elif kind == "expire":
            out.append(("expired", _rows(m.expire(T0 + arg))))
        else:
            out.append(("opened", _rows(m.take_opened())))
    out.append(("flush", _rows(m.flush())))
    got = {k: v for k, v in counters.items() if k != "alerts.hits_counted"}
    return out, got


TIE = ("add", [("172.16.0.5", "10.10.0.9", 40.0, 0, 1), ("172.16.0.5", "10.10.0.2", 40.0, 0, 2)])
LATE = ("add", [("172.16.0.5", "10.10.0.2", 80.0, 0, 1), ("172.16.0.5", "10.10.0.9", 40.0, 1, 2)])


@settings(max_examples=300, deadline=None)
@example(steps=[TIE], announce=frozenset(), suppress=())  # equal times: the smaller uid heads
@example(steps=[LATE, ("opened", None), TIE], announce=frozenset({"critical", "high"}), suppress=())
@given(
    steps=st.lists(step, min_size=1, max_size=14),
    announce=st.sampled_from([frozenset(), frozenset({"critical"}), frozenset({"critical", "high"})]),
    suppress=st.sampled_from(
        [(), (Suppression(dst_segment="emr", src=(ipaddress.ip_network("172.16.0.6/32"),)),)]
    ),
)
def test_counting_hits_gives_the_alerts_of_building_them(
    steps: list[tuple[str, Any]], announce: frozenset[str], suppress: tuple[Suppression, ...]
) -> None:
    assert _run(steps, False, announce, suppress) == _run(steps, True, announce, suppress)


def test_a_flood_builds_one_alert_per_window() -> None:
    """A worm on the guest Wi-Fi opening 20,000 connections into HIS: the segmentation rule fires for
    each, the engine builds only the alerts it keeps, and the counts say every connection."""
    cfg = parse_config(
        "segments:\n"
        "  - {name: guest-wifi, cidrs: [172.16.0.0/20], zone: guest, criticality: low}\n"
        "  - {name: his, cidrs: [10.10.0.0/24], zone: his, criticality: high}\n",
        Path("flood.yaml"),
    )
    engine = Engine.from_config(cfg)
    made = 0
    real = Hit.build

    def counting(self: Hit) -> Alert:
        nonlocal made
        made += 1
        return real(self)

    recs = [
        {"_path": "conn", "ts": T0 + i * 0.03, "uid": f"C{i}", "id.orig_h": "172.16.0.5", "id.orig_p": 40000,
         "id.resp_h": f"10.10.0.{2 + i % 200}", "id.resp_p": 445, "proto": "tcp", "conn_state": "S0",
         "history": "S", "orig_pkts": 1, "resp_pkts": 0}
        for i in range(20_000)
    ]  # fmt: skip
    Hit.build = counting  # type: ignore[method-assign]
    try:
        alerts: list[Alert] = []
        for i in range(0, len(recs), 1000):
            alerts += engine.process(recs[i : i + 1000])
        alerts += engine.flush()
    finally:
        Hit.build = real  # type: ignore[method-assign]
    seg = [a for a in alerts if a.category == "policy_segmentation"]
    assert seg and sum(a.count for a in seg) == len(recs)  # every connection counted
    assert made == len(seg)  # one alert built per merged key and window, not one per connection
    assert engine.counters["alerts.hits_counted"] == len(recs) - len(seg)
