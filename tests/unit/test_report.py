"""report/'s pure parts: periods, changes and risk, gaps in coverage, the compliance table's
verdicts, the order of findings (HIS/EMR first), the ``report:`` section, and the HTML's escaping."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from wardwatch.report import PeriodError, dates, iso_week, last_week, week_of
from wardwatch.report.compliance import REQUIREMENTS, assess, compliance_rows
from wardwatch.report.content import (
    ROWS_PER_CATEGORY,
    Words,
    arrow,
    build_model,
    citation_parts,
    findings,
    hour_gaps,
    risk_level,
    todo,
)
from wardwatch.report.render import html
from wardwatch.report.settings import report_settings

from wardwatch.config import ConfigError, parse_config
from wardwatch.directives import directives
from wardwatch.segments import segment_order

TZ = "Asia/Ho_Chi_Minh"
VI, EN = Words("vi"), Words("en")
CONFIG = """
data_dir: var
segments:
  - {name: emr, cidrs: [10.11.0.0/24], zone: emr, criticality: critical}
  - {name: wards, cidrs: [10.20.0.0/22], zone: clinical, criticality: high}
  - {name: guest, cidrs: [172.16.0.0/20], zone: guest, criticality: low}
"""


def _config(extra: str = "") -> Any:
    import wardwatch.report.settings  # noqa: F401  (declares the section)

    return parse_config(CONFIG + extra, Path("/tmp/c.yaml"))


# -- periods -----------------------------------------------------------------------------------------


def test_an_iso_week_runs_monday_to_monday_local_time() -> None:
    p = iso_week("2026-W49", TZ)
    assert (p.first_day, p.last_day, p.label) == (date(2026, 11, 30), date(2026, 12, 6), "2026-W49")
    assert p.end - p.start == 7 * 86400 and p.hours == 168
    assert p.start == datetime(2026, 11, 30, 0, 0, tzinfo=timezone(timedelta(hours=7))).timestamp()
    before = p.before()
    assert before.label == "2026-W48" and before.end == p.start
    assert iso_week("2026-W01", TZ).first_day == date(2025, 12, 29)


def test_dates_include_the_last_day_and_refuse_nonsense() -> None:
    p = dates("2026-12-01", "2026-12-03", TZ)
    assert p.days == 3 and p.label == "2026-12-01 … 2026-12-03" and p.before().last_day == date(2026, 11, 30)
    for bad in (("2026-12-03", "2026-12-01"), ("yesterday", "2026-12-01"), ("2020-01-01", "2026-01-01")):
        with pytest.raises(PeriodError):
            dates(*bad, TZ)
    for bad in ("2026-W54", "2026-49", "W49", ""):
        with pytest.raises(PeriodError):
            iso_week(bad, TZ)


def test_last_week_is_the_complete_week_before_now() -> None:
    saturday = iso_week("2026-W49", TZ).start + 5 * 86400 + 3600
    assert last_week(saturday, TZ).label == "2026-W48"
    assert week_of(saturday, TZ).label == "2026-W49"
    monday_early = iso_week("2026-W49", TZ).start + 60  # 00:01 local, still Sunday in UTC
    assert last_week(monday_early, TZ).label == "2026-W48"


# -- summary -----------------------------------------------------------------------------------------


def test_changes_show_arrows_counts_and_percent() -> None:
    assert arrow(12, 10) == ("▲", "+2 (+20%)")
    assert arrow(5, 10) == ("▼", "-5 (-50%)")
    assert arrow(3, 3) == ("=", "0")
    assert arrow(4, 0) == ("▲", "+4")


def test_risk_is_the_worst_severity_and_unknown_without_data() -> None:
    none = dict.fromkeys(("critical", "high", "medium", "low"), 0)
    assert risk_level(0, none) == "unknown"
    assert risk_level(10, none) == "low"
    assert risk_level(10, {**none, "medium": 2, "low": 9}) == "medium"
    assert risk_level(10, {**none, "critical": 1, "low": 9}) == "critical"


def test_numbers_are_written_the_vietnamese_way() -> None:
    assert VI.number(1234567) == "1.234.567" and EN.number(1234567) == "1,234,567"


def test_hour_gaps_counts_and_names_the_longest_runs() -> None:
    p = iso_week("2026-W49", TZ)
    first = int(p.start)
    have = [first + h * 3600 for h in range(168) if not (10 <= h < 14 or 100 <= h < 101)]
    missing, text = hour_gaps(have, p.start, p.end, TZ)
    assert missing == 5
    assert text[0] == "2026-11-30 10:00 → 14:00 (4 h)" and text[1].endswith("(1 h)")
    assert hour_gaps([], p.start, p.end, TZ)[0] == 168


# -- findings and the things to do ---------------------------------------------------------------------


def _alert(uid: str, sev: str, cat: str, seg: str, host: str, ts: float = 1764500000.0) -> dict[str, Any]:
    return {
        "uid": uid, "ts": ts, "last_seen": ts, "category": cat, "severity": sev, "segment": seg, "dst_segment": "",
        "host": host, "dst": "", "indicator": f"{cat}.example", "rule": f"r.{cat}", "directive": "BYT-CNTT-2021",
        "count": 1, "summary": {"vi": f"tóm tắt {uid}", "en": f"summary {uid}"}, "mitre": [], "sensor": "s1",
        "retro": False, "state": "new", "feed": None,
    }  # fmt: skip


def _counts(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for a in alerts:
        r = out.setdefault(
            (a["severity"], a["category"], a["segment"]),
            {
                "severity": a["severity"],
                "category": a["category"],
                "segment": a["segment"],
                "alerts": 0,
                "events": 0,
            },
        )
        r["alerts"] += 1
    return list(out.values())


def test_findings_put_the_worst_first_and_emr_before_wards() -> None:
    seg_key = segment_order(_config().segments)
    alerts = [
        _alert("a1", "high", "port_scan", "wards", "10.20.0.5"),
        _alert("a2", "high", "policy_ott", "emr", "10.11.0.5"),
        _alert("a3", "critical", "beacon", "wards", "10.20.0.6"),
        _alert("a4", "low", "dga", "guest", "172.16.0.9"),
    ]
    found = findings(alerts, _counts(alerts), seg_key, VI, TZ)
    assert [g["severity"] for g in found] == ["critical", "high", "low"]
    assert [k["category"] for k in found[1]["kinds"]] == ["policy_ott", "port_scan"]
    assert found[0]["kinds"][0]["rows"][0]["what"] == "tóm tắt a3"
    items = todo(found, {"open_urgent": 3}, 100, 168, ["feed-x"], 5000, VI)
    assert len(items) == 3
    assert "10.20.0.6" in items[0] and "10.11.0.5" in items[1] and "3" in items[2]
    quiet = todo([], {"open_urgent": 0}, 168, 168, [], 5000, EN)
    assert quiet == [EN("report.todo.keep")]


def test_more_alerts_than_rows_are_counted_not_dropped() -> None:
    seg_key = segment_order(_config().segments)
    alerts = [
        _alert(f"a{i:03d}", "medium", "policy_dns_bypass", "wards", f"10.20.0.{i % 200}") for i in range(45)
    ]
    counts = _counts(alerts)
    counts[0]["alerts"] = 60  # 15 more in the store than were read one by one
    kind = findings(alerts, counts, seg_key, EN, TZ)[0]["kinds"][0]
    shown = ROWS_PER_CATEGORY
    assert (
        len(kind["rows"]) == shown
        and f"{60 - shown} more" in kind["more"]
        and kind["line"].startswith("60 alerts")
    )


# -- compliance ----------------------------------------------------------------------------------------


def _data(**over: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "records": {"dns": 100, "conn": 100, "tls": 10, "http": 5, "login": 0},
        "alert_counts": [],
        "category_hosts": [],
        "handling": {"open_urgent": 0},
    }
    d.update(over)
    return d


def test_compliance_verdicts_follow_what_was_seen() -> None:
    config = _config()
    cov = {"watched": 168, "hours": 168}
    reqs = {r.key: r for r in REQUIREMENTS}
    # no login records: passwords cannot be judged; no airgap zone: neither can the state-secret network
    assert assess(reqs["passwords"], _data(), config, cov, VI)[0] == "not_observable"
    assert assess(reqs["airgap"], _data(), config, cov, VI)[0] == "not_observable"
    assert assess(reqs["sharing"], _data(), config, cov, VI)[0] == "not_observable"
    assert assess(reqs["remote"], _data(), config, cov, VI) == (
        "met",
        "Không có cảnh báo trên 200 bản ghi dns/conn",
    )
    hits = [{"category": "policy_remote_access", "directive": "SYT-BDI-2024", "alerts": 3, "hosts": ["a", "b"]},
            {"category": "sigma", "directive": "SYT-BDI-2024", "alerts": 1, "hosts": ["b", "c"]}]  # fmt: skip
    assert assess(reqs["remote"], _data(category_hosts=hits), config, cov, EN) == (
        "violated",
        "4 alerts from 3 hosts",
    )
    assert assess(reqs["monitoring"], _data(), config, {"watched": 150, "hours": 168}, EN)[0] == "violated"
    assert assess(reqs["monitoring"], _data(), config, cov, EN)[0] == "met"
    urgent = _data(alert_counts=[{"severity": "high", "alerts": 4}], handling={"open_urgent": 1})
    assert assess(reqs["response"], urgent, config, cov, EN) == (
        "violated",
        "1 of 4 critical or high alerts not taken",
    )
    # no feeds configured: malicious domains cannot be found
    assert assess(reqs["malicious"], _data(), config, cov, EN)[0] == "not_observable"


def test_every_order_is_cited_with_its_number_and_date() -> None:
    rows = compliance_rows(_data(), _config(), {"watched": 168, "hours": 168}, VI)
    assert {r["directive"] for r in rows} == set(directives())
    issuer, number, when = citation_parts("SYT-TTH-2021", VI)
    assert (issuer, number, when) == ("Sở Y tế Thừa Thiên Huế", "số 3846/SYT-KHTC", "ngày 2021-09-06")
    assert citation_parts("SYT-BDI-2024", EN)[1:] == ("no. …/SYT-VP", "dated 2024")


# -- the section -----------------------------------------------------------------------------------------


def test_the_report_section_reads_and_refuses() -> None:
    s = report_settings(_config("report: {day: tuesday, at: '06:30', lang: en, organisation: BV}\n"))
    assert (s.weekday, s.minute, s.lang, s.receiver, s.enabled) == (1, 390, "en", None, True)
    for bad, msg in (
        ("report: {at: '7h'}\n", "report.at: expected a time"),
        ("report: {day: someday}\n", "report.day"),
        ("report: {timezone: Mars/Olympus}\n", "unknown time zone"),
        ("report: {receiver: boss}\n", "no notify receiver named 'boss'"),
        ("report: {colour: red}\n", "report.colour: unknown key"),
    ):
        with pytest.raises(ConfigError, match=msg):
            report_settings(_config(bad))
    no_mail = (
        "notify: {receivers: [{name: oncall, webhook: {url: 'https://x.example/h', secret: s}}]}\n"
        "report: {receiver: oncall}\n"
    )
    with pytest.raises(ConfigError, match="has no e-mail channel"):
        report_settings(_config(no_mail))


# -- rendering ------------------------------------------------------------------------------------------


def test_network_chosen_text_is_escaped_in_the_html() -> None:
    config = _config()
    p = iso_week("2026-W49", TZ)
    hostile = _alert("h1", "critical", "threat_feed_domain", "emr", "10.11.0.9", p.start + 3600)
    hostile["indicator"] = "<script>alert(1)</script>{{7*7}}"
    hostile["summary"] = {"vi": "<img src=x onerror=alert(1)>", "en": "<b>x</b>"}
    alerts = [hostile]
    data = {
        "records": {"dns": 10}, "alert_counts": _counts(alerts), "alert_hosts": 1,
        "category_hosts": [{"category": "threat_feed_domain", "directive": "BYT-CNTT-2021", "alerts": 1, "hosts": ["10.11.0.9"]}],
        "alerts": alerts, "handling": {"alerts": 1, "acknowledged": 0, "false_positives": 0, "open_urgent": 1,
                                       "median_ack": 0, "max_ack": 0},
        "silences": [{"id": "s", "matchers": ['rule="<i>"'], "author": "<u>", "comment": "{{ t('x') }}",
                      "starts": p.start, "ends": p.end}],
        "hours": [], "per_day_records": [], "per_day_alerts": [], "top_alert_hosts": [], "top_talkers": [],
    }  # fmt: skip
    previous = {"records": {}, "alert_counts": [], "alert_hosts": 0}
    model = build_model(data, previous, p, config, "vi", p.end, {}, "<BV>", report_settings(config).contact)
    model["charts"] = {"alerts": "data:,", "records": "data:,"}
    page = html(model)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;{{7*7}}" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<u>" not in page and "{{ t(&#39;x&#39;) }}" in page and "&lt;BV&gt;" in page
    assert model["risk"]["level"] == "critical"
