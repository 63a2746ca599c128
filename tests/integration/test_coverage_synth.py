"""The coverage watchdog over the synthetic hospital (issue 13 point 4): the records of `wardwatch
sensor --pcap` of `wardwatch synth`, replayed batch by batch on the capture's own clock. With one
segment's traffic removed after a point in time, that segment, and only it, raises one
``sensor_silent``; the untouched capture raises none."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import orjson
import pytest
import yaml
from wardwatch.cli import main
from wardwatch.detectors.coverage import CoverageWatchdog

from wardwatch.alerts import Alert
from wardwatch.config import load_config
from wardwatch.counters import Counters

SILENT = "office"  # 234 records over the capture's 15 minutes, never quiet for more than 2.5
CUT = 6 * 60  # seconds into the capture after which SILENT's records are removed
STEP = 10.0  # seconds of capture per batch, as the service would hand them over


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    base = tmp_path_factory.mktemp("coverage")
    assert main(["synth", "--out", str(base / "synth"), "--sessions", "200", "--seed", "3"]) == 0
    out = base / "records.jsonl"
    assert main(["sensor", "--pcap", str(base / "synth" / "hospital.pcap"), "--out", str(out)]) == 0
    records = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    raw = yaml.safe_load((base / "synth" / "hospital.yaml").read_text())
    # five minutes: longer than any gap of the synthetic traffic, shorter than the capture after CUT
    raw.setdefault("detectors", {})["coverage"] = {"silent_after": "5m"}
    config = base / "coverage.yaml"
    config.write_text(yaml.safe_dump(raw))
    return config, sorted(records, key=lambda r: r["ts"])


def _replay(config: Path, records: list[dict]) -> tuple[list[Alert], Counters]:
    counters = Counters()
    w = CoverageWatchdog.from_config(load_config(config), counters, sensor="synth")
    t = records[0]["ts"]
    end = records[-1]["ts"]
    i = 0
    alerts: list[Alert] = []
    while t <= end:
        t += STEP
        batch = []
        while i < len(records) and records[i]["ts"] < t:
            batch.append(records[i])
            i += 1
        w.observe(batch, t)
        alerts += w.tick(t)
    return alerts, counters


def _in_segment(config: Path, name: str):
    nets = next(s.cidrs for s in load_config(config).segments if s.name == name)

    def inside(r: dict) -> bool:
        return any(
            any(
                ipaddress.ip_address(r[k]) in n
                for n in nets
                if n.version == ipaddress.ip_address(r[k]).version
            )
            for k in ("id.orig_h", "id.resp_h")
        )

    return inside


def _keys(alerts: list[Alert]) -> list[str]:
    return sorted(a.indicator for a in alerts)


def test_the_untouched_capture_keeps_the_segment_and_the_sensor_watched_quietly(hospital) -> None:
    config, records = hospital
    alerts, _ = _replay(config, records)
    # quieter segments of the synthetic traffic may pause longer than five minutes; these two never do
    assert f"segment:{SILENT}" not in _keys(alerts) and "sensor:synth" not in _keys(alerts)
    assert all(a.category == "sensor_silent" for a in alerts)


def test_one_segment_falling_silent_raises_one_alert_for_it_alone(hospital) -> None:
    config, records = hospital
    start = records[0]["ts"]
    inside = _in_segment(config, SILENT)
    assert sum(map(inside, records)) > 100  # the segment is busy, not an unused one
    kept = [r for r in records if r["ts"] < start + CUT or not inside(r)]
    last = max(r["ts"] for r in kept if inside(r))

    before, _ = _replay(config, records)
    alerts, counters = _replay(config, kept)

    new = [a for a in alerts if a.indicator not in _keys(before)]
    assert [(a.category, a.indicator, a.segment) for a in new] == [
        ("sensor_silent", f"segment:{SILENT}", SILENT)
    ]
    a = new[0]
    assert 300 <= a.ts - last < 300 + 2 * STEP  # at the first tick five minutes after its last record
    assert a.evidence["records_before"] > 0 and a.directive == "BYT-CNTT-2021"
    assert a.severity == "high"  # the rule's level: office is of medium criticality, no raise
    assert counters["coverage.silent"] == len(alerts) == len(before) + 1  # one per episode
