"""The coverage watchdog (issue 13 point 4) on a fake clock: a segment or sensor that had traffic and
falls silent raises one ``sensor_silent`` per episode, re-armed when traffic comes back; kernel drops
over a rate or a share raise ``sensor_drops``; what never had traffic never alerts."""

from __future__ import annotations

from pathlib import Path

import pytest
from wardwatch.detectors.coverage import CoverageWatchdog

from wardwatch.alerts import Alert
from wardwatch.config import ConfigError, parse_config
from wardwatch.counters import Counters
from wardwatch.directives import directives
from wardwatch.i18n import category

CONFIG = """\
segments:
  - {name: icu, cidrs: [10.20.0.0/16], zone: clinical, criticality: critical}
  - {name: wards, cidrs: [10.30.0.0/16], zone: clinical, criticality: medium}
  - {name: pacs, cidrs: [10.40.0.0/16], zone: pacs}
detectors:
  coverage: {silent_after: 15m, drops_rate: 50, drops_share: 0.01, drops_min: 10, drops_window: 1m}
"""
T0 = 1_700_000_000.0


def _watchdog(text: str = CONFIG, counters: Counters | None = None) -> CoverageWatchdog:
    return CoverageWatchdog.from_config(parse_config(text, Path("/tmp/c.yaml")), counters, sensor="s1")


def _conn(src: str, dst: str = "8.8.8.8") -> dict[str, object]:
    return {"_path": "conn", "ts": 1.0, "uid": "C1", "id.orig_h": src, "id.resp_h": dst}


def _both(w: CoverageWatchdog, now: float) -> None:
    w.observe([_conn("10.20.0.5"), _conn("10.30.0.7")], now)


def _silent(alerts: list[Alert]) -> list[str]:
    return sorted(a.indicator for a in alerts if a.category == "sensor_silent")


def test_one_segment_stops_while_another_continues_gives_one_alert_for_the_silent_one() -> None:
    counters = Counters()
    w = _watchdog(counters=counters)
    for minute in range(5):
        _both(w, T0 + 60 * minute)
        assert w.tick(T0 + 60 * minute) == []
    # from minute 5 on, only the wards segment has traffic
    got: list[Alert] = []
    for minute in range(5, 60):
        w.observe([_conn("10.30.0.7")], T0 + 60 * minute)
        got += w.tick(T0 + 60 * minute + 1)
    assert _silent(got) == ["segment:icu"]
    a = got[0]
    assert a.segment == "icu" and a.src_ip == "10.20.0.0" and a.dst_ip is None
    assert a.severity == "critical"  # high, raised by the segment's criticality
    assert a.directive in directives()
    assert a.evidence["last_seen"] == "2023-11-14T22:17:20Z"  # minute 4
    assert a.evidence["silent_for"] >= 15 * 60 and a.evidence["records_before"] == 5
    assert "icu" in a.summary["vi"] and "icu" in a.summary["en"] and "SPAN" in a.summary["en"]
    # fired at the first tick at least 15 minutes after the last record (minute 4 → minute 19)
    assert a.ts == T0 + 60 * 19 + 1
    assert counters["coverage.silent"] == 1


def test_traffic_coming_back_re_arms_the_watch() -> None:
    counters = Counters()
    w = _watchdog(counters=counters)
    _both(w, T0)
    assert _silent(w.tick(T0 + 901)) == ["segment:icu", "segment:wards", "sensor:s1"]
    assert w.tick(T0 + 2000) == []  # still silent: the same episode, no second alert
    assert sorted(w.silent()) == ["segment:icu", "segment:wards", "sensor:s1"]
    w.observe([_conn("10.20.0.5")], T0 + 3000)  # icu (and the sensor) come back
    assert counters["coverage.recovered"] == 2
    assert sorted(w.silent()) == ["segment:wards"]
    assert w.tick(T0 + 3100) == []
    again = w.tick(T0 + 3000 + 900)
    assert _silent(again) == ["segment:icu", "sensor:s1"]  # a new episode
    assert len({a.uid for a in again}) == 2


def test_a_segment_that_never_had_traffic_never_alerts() -> None:
    w = _watchdog()
    assert w.tick(T0 + 10 * 86400) == []  # nothing seen at all: not even the sensor
    w.observe([_conn("10.30.0.7"), _conn("192.168.1.1", "1.1.1.1")], T0)
    got = w.tick(T0 + 10 * 86400)
    assert _silent(got) == ["segment:wards", "sensor:s1"]  # not pacs, not icu, not "local"


def test_only_the_listed_segments_are_watched_and_unknown_names_are_config_errors() -> None:
    w = _watchdog(CONFIG.replace("drops_window: 1m}", "drops_window: 1m, segments: [icu], sensors: false}"))
    _both(w, T0)
    assert _silent(w.tick(T0 + 900)) == ["segment:icu"]
    with pytest.raises(
        ConfigError, match=r"c.yaml:6: detectors.coverage.segments\[0\]: no segment named 'icux'"
    ):
        _watchdog(CONFIG.replace("drops_window: 1m}", "drops_window: 1m, segments: [icux]}"))
    with pytest.raises(ConfigError, match="silent_aftr"):
        _watchdog(CONFIG.replace("silent_after", "silent_aftr"))


def test_the_default_is_fifteen_minutes() -> None:
    w = _watchdog("segments:\n  - {name: icu, cidrs: [10.20.0.0/16]}\n")
    w.observe([_conn("10.20.0.5")], T0)
    assert w.tick(T0 + 899) == []
    assert len(w.tick(T0 + 900)) == 2


def test_drops_over_the_rate_raise_one_sensor_drops_per_episode() -> None:
    counters = Counters()
    w = _watchdog(counters=counters)
    assert w.tick(T0, drops={"eth1": 0}) == []
    assert w.tick(T0 + 30, drops={"eth1": 5}) == []  # under drops_min
    got = w.tick(T0 + 60, drops={"eth1": 6000})  # 100/s over a minute, the threshold is 50/s
    assert [a.category for a in got] == ["sensor_drops"]
    a = got[0]
    assert a.indicator == "sensor:eth1" and a.evidence["drops"] == 6000 and a.evidence["rate"] == 100.0
    assert a.directive in directives() and "eth1" in a.summary["vi"]
    assert w.tick(T0 + 90, drops={"eth1": 12000}) == []  # the same episode
    # a whole window with no new drops ends it; the next burst is a new alert
    for t in range(120, 300, 30):
        assert w.tick(T0 + t, drops={"eth1": 12000}) == []
    assert len(w.tick(T0 + 330, drops={"eth1": 20000})) == 1
    assert counters["coverage.drops"] == 2


def test_drops_over_the_share_alert_even_at_a_low_rate() -> None:
    w = _watchdog()
    w.tick(T0, drops={"eth1": 0}, packets={"eth1": 0})
    # 20 drops for 980 delivered in a minute: 0.33/s, far under 50/s, but 2% of the packets
    got = w.tick(T0 + 60, drops={"eth1": 20}, packets={"eth1": 980})
    assert [a.category for a in got] == ["sensor_drops"]
    assert got[0].evidence["share"] == 0.02


def test_a_counter_that_goes_down_starts_over_instead_of_alerting() -> None:
    counters = Counters()
    w = _watchdog(counters=counters)
    w.tick(T0, drops={"eth1": 1_000_000})
    assert w.tick(T0 + 60, drops={"eth1": 3}) == []  # the capture was reopened
    assert counters["coverage.drops_reset"] == 1
    assert w.tick(T0 + 120, drops={"eth1": 4}) == []


def test_disabled_means_silent() -> None:
    w = _watchdog(CONFIG.replace("{silent_after", "{enabled: false, silent_after"))
    _both(w, T0)
    assert w.tick(T0 + 86400, drops={"eth1": 10**9}) == []


def test_the_categories_have_words_in_both_languages() -> None:
    for name in ("sensor_silent", "sensor_drops", "sensor_overload"):
        vi, en = category(name)
        assert vi != en and "_" not in vi


def test_state_shed_for_want_of_room_raises_one_sensor_overload_per_episode() -> None:
    counters = Counters()
    w = _watchdog(counters=counters)
    quiet = {"flows.evicted": 0, "dropped.app_table_full": 0}
    assert w.tick(T0, shed={"sensor-1": quiet}) == []
    assert w.tick(T0 + 60, shed={"sensor-1": {"flows.evicted": 400, "dropped.app_table_full": 0}}) == []
    got = w.tick(T0 + 120, shed={"sensor-1": {"flows.evicted": 900, "dropped.app_table_full": 300}})
    assert [a.category for a in got] == ["sensor_overload"]
    a = got[0]
    assert a.indicator == "sensor:sensor-1" and a.evidence["shed"] == 1200
    assert a.evidence["counters"] == {"dropped.app_table_full": 300, "flows.evicted": 900}
    assert "flows.evicted 900" in a.summary["en"] and "sensor-1" in a.summary["vi"]
    assert a.directive in directives()
    # the storm goes on: the same episode
    assert w.tick(T0 + 180, shed={"sensor-1": {"flows.evicted": 5000, "dropped.app_table_full": 300}}) == []
    # a whole window (default 5 min) with nothing shed ends it; the next storm is a new alert
    calm = {"flows.evicted": 5000, "dropped.app_table_full": 300}
    for t in range(240, 900, 60):
        assert w.tick(T0 + t, shed={"sensor-1": calm}) == []
    again = w.tick(T0 + 960, shed={"sensor-1": {"flows.evicted": 7000, "dropped.app_table_full": 300}})
    assert [a.category for a in again] == ["sensor_overload"]
    assert counters["coverage.overload"] == 2


def test_overload_can_be_switched_off_and_a_restarted_sensor_starts_over() -> None:
    off = _watchdog(CONFIG.replace("{silent_after", "{overload_min: 0, silent_after"))
    assert off.tick(T0, shed={"s": {"flows.evicted": 10**6}}) == []
    w = _watchdog()
    w.tick(T0, shed={"s": {"flows.evicted": 500}})
    # the workers restarted: their counters start from zero, which is not "minus 500"
    assert w.tick(T0 + 60, shed={"s": {"flows.evicted": 10}}) == []
    assert w.tick(T0 + 120, shed={"s": {"flows.evicted": 1100}}) != []
