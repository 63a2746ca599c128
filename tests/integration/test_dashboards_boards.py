"""Issue 14: every panel of the exported boards, its SQL expanded as the ClickHouse plugin expands it
(``dashboards/macros.py``, ported from grafana/clickhouse-datasource), runs on the chdb store that
``wardwatch run`` filled from the synthetic hospital, returns the columns its visualisation needs,
and the attacks the generator injected show up in the panels meant for them (one test per board).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("chdb")
pytest.importorskip("grafana_foundation_sdk")

from wardwatch.dashboards.macros import Query, interpolate, utc  # noqa: E402
from wardwatch.store import Store, open_store  # noqa: E402
from wardwatch.tools.synth import generate  # noqa: E402

from wardwatch.config import load_config  # noqa: E402

pytestmark = pytest.mark.integration

# the synthetic capture spans 2026-01-01 08:00–08:15 UTC
START, END = utc("2026-01-01 07:00:00"), utc("2026-01-01 09:00:00")
ALL = {
    "segments": "$__all",
    "severity": "$__all",
    "segment": "his",
    "search": "",
    "host": "",
    "alert": "",
    "record": "",
}
NUMERIC = ("UInt", "Int", "Float", "Decimal", "Nullable(UInt", "Nullable(Int", "Nullable(Float")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wardwatch.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path, Store]]:
    """(the synthetic hospital, the exported boards' folder, its store opened read-only here)."""
    folder = tmp_path_factory.mktemp("dash_boards")
    synth = generate(folder / "synth", seed=7)
    run = _cli("run", "--quiet", "--pcap", str(synth.pcap), "--config", str(synth.config), cwd=folder)
    assert run.returncode == 0, run.stderr
    out = folder / "grafana"
    exported = _cli("dashboards", "export", "--out", str(out), "--config", str(synth.config), cwd=folder)
    assert exported.returncode == 0, exported.stderr
    store = open_store(load_config(synth.config), create=False)
    try:
        yield synth, out, store
    finally:
        store.close()


def _board(out: Path, lang: str, name: str) -> dict[str, Any]:
    return json.loads((out / "dashboards" / lang / f"{name}.json").read_text(encoding="utf-8"))


def _panel(board: dict[str, Any], pid: int) -> dict[str, Any]:
    return next(p for p in board["panels"] if p["id"] == pid)


def _sql(panel: dict[str, Any], **variables: str) -> str:
    (target,) = panel["targets"]
    assert target["datasource"]["type"] == "grafana-clickhouse-datasource" and target["editorType"] == "sql"
    return interpolate(target["rawSql"], Query(START, END, 60, {**ALL, **variables}))


def _rows(store: Store, panel: dict[str, Any], **variables: str) -> list[dict[str, Any]]:
    return store.rows(_sql(panel, **variables))


def _by_key(store: Store, out: Path, name: str, lang: str = "en") -> dict[str, dict[str, Any]]:
    """The board's panels by their spec key (titles differ by language; ids follow the spec's order)."""
    from wardwatch.dashboards.boards import BOARDS
    from wardwatch.dashboards.spec import Context

    spec = dict(BOARDS)[name](Context(lang))
    board = _board(out, lang, name)
    return {p.key: _panel(board, i) for i, p in enumerate(spec.panels, start=1)}


def _column(rows: list[dict[str, Any]], name: str) -> set[Any]:
    return {r[name] for r in rows}


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("name", ["soc", "segment", "dns", "conn", "health", "triage"])
def test_every_panel_runs_and_returns_what_its_visualisation_needs(hospital, lang: str, name: str) -> None:  # type: ignore[no-untyped-def]
    from wardwatch.dashboards.boards import BOARDS
    from wardwatch.dashboards.spec import Context

    _synth, out, store = hospital
    spec = dict(BOARDS)[name](Context(lang))
    board = _board(out, lang, name)
    for i, p in enumerate(spec.panels, start=1):
        panel = _panel(board, i)
        sql = _sql(panel)
        assert "$" not in sql.replace("'$__all'", ""), (
            f"{name}.{p.key}: unexpanded macro or variable in {sql}"
        )
        shape = store.rows(f"DESCRIBE TABLE ({sql})")  # names and types even when no row comes back
        names = tuple(r["name"] for r in shape)
        types = {r["name"]: r["type"] for r in shape}
        assert names == p.columns, f"{name}.{p.key}"
        rows = store.rows(sql)
        if p.kind == "timeseries":
            assert names[0] == "time" and types["time"].startswith("DateTime"), f"{name}.{p.key}: {types}"
            assert any(types[c].startswith(NUMERIC) for c in names[1:]), f"{name}.{p.key}: no value column"
        elif p.kind == "stat":
            assert len(rows) == 1 and all(types[c].startswith(NUMERIC) for c in names), f"{name}.{p.key}"
        elif p.kind == "barchart":
            assert all(types[c].startswith(NUMERIC) for c in names[1:]), f"{name}.{p.key}: {types}"
            assert not types[names[0]].startswith(NUMERIC)


def _injected(synth: Any, *categories: str) -> list[dict[str, Any]]:
    got = [a for a in synth.attacks if a["category"] in categories]
    assert got, categories
    return got


def test_soc_overview_shows_the_open_alerts_the_critical_ones_and_the_offending_hosts(hospital) -> None:  # type: ignore[no-untyped-def]
    synth, out, store = hospital
    panels = _by_key(store, out, "soc")
    direct = {
        r["severity"]: r["n"]
        for r in store.rows("SELECT severity, count() AS n FROM alerts GROUP BY severity")
    }
    (counts,) = _rows(store, panels["open_by_severity"])
    assert {k: int(v) for k, v in counts.items() if v} == {k: int(v) for k, v in direct.items()}
    assert sum(int(r["critical"]) for r in _rows(store, panels["open_by_segment"])) == direct["critical"]
    critical = _rows(store, panels["newest_critical"])
    assert {"10.11.0.30", "10.99.0.7", "172.16.1.23", "10.20.3.88"} <= _column(
        critical, "src"
    )  # exfil, airgap, segmentation, tunnel
    top = _column(_rows(store, panels["top_hosts"]), "src")
    assert {a["src_ip"] for a in _injected(synth, "beacon", "exfiltration", "dns_tunnel")} <= top
    series = _rows(store, panels["alerts_over_time"])
    assert sum(int(r["alerts"]) for r in series) == sum(direct.values())
    (glance,) = _rows(store, panels["health_glance"])
    assert int(glance["feed_hits"]) == len(
        store.rows("SELECT uid FROM alerts WHERE category LIKE 'threat_feed_%'")
    )
    # one segment chosen: only its alerts
    (office,) = _rows(store, panels["open_by_severity"], segments=["office"])
    assert (
        sum(int(v) for v in office.values())
        == store.rows("SELECT count() AS n FROM alerts WHERE segment = 'office'")[0]["n"]
    )


def test_segment_board_shows_who_reaches_his_and_emr_and_the_segments_violations(hospital) -> None:  # type: ignore[no-untyped-def]
    synth, out, store = hospital
    panels = _by_key(store, out, "segment")
    for attack in _injected(synth, "policy_segmentation"):  # guest Wi-Fi → HIS, guest Wi-Fi → EMR
        seg = attack["indicator"]
        inbound = _rows(store, panels["inbound"], segment=seg)
        assert ("guest-wifi", "guest") in {(r["from_segment"], r["from_zone"]) for r in inbound}, seg
        assert attack["src_ip"] in _column(_rows(store, panels["violations"], segment=seg), "src")
    # the air-gapped network reached from the wards, and reaching the internet
    for attack in _injected(synth, "policy_airgap"):
        assert attack["src_ip"] in _column(_rows(store, panels["violations"], segment="secret-lan"), "src")
    office = {
        a["src_ip"] for a in _injected(synth, "dga", "nxdomain_burst") if a["src_ip"].startswith("10.30.")
    }
    assert office <= _column(_rows(store, panels["malicious_dns"], segment="office"), "src")
    logins = _rows(store, panels["cleartext_logins"], segment="office")
    assert {"10.30.0.30", "10.30.0.31"} <= _column(logins, "src")  # ftp, and http with a weak password
    assert any(r["weak_password"] for r in logins)
    volume = _rows(store, panels["volume_baseline"], segment="emr")
    assert sum(float(r["current"]) for r in volume) >= 3_000_000  # the 3 MB upload from the EMR segment
    assert all(float(r["baseline"]) == 0 for r in volume)  # no earlier days in the capture


def test_dns_board_shows_feed_hits_dga_tunnels_nxdomain_bypass_and_passive_dns(hospital) -> None:  # type: ignore[no-untyped-def]
    synth, out, store = hospital
    panels = _by_key(store, out, "dns")
    hits = _rows(store, panels["feed_hits"])
    assert {a["indicator"] for a in _injected(synth, "threat_feed_domain")} <= _column(hits, "indicator")
    assert {a["src_ip"] for a in _injected(synth, "threat_feed_domain", "threat_feed_ip")} <= _column(
        hits, "src"
    )
    assert all(r["feeds"] for r in hits) and {"dns", "tls", "http", "conn"} <= _column(hits, "seen_in")
    assert {a["src_ip"] for a in _injected(synth, "dga")} <= _column(_rows(store, panels["dga"]), "src")
    assert {a["src_ip"] for a in _injected(synth, "dns_tunnel")} <= _column(
        _rows(store, panels["tunnels"]), "src"
    )
    bursts = _rows(store, panels["nxdomain_bursts"])
    assert {a["src_ip"] for a in _injected(synth, "nxdomain_burst")} <= _column(bursts, "src")
    assert sum(int(r["nxdomain"]) for r in _rows(store, panels["nxdomain_rate"])) >= 20
    bypass = _rows(store, panels["bypass"])
    assert {a["src_ip"] for a in _injected(synth, "policy_dns_bypass")} <= _column(bypass, "src")
    assert {"doh", "dot", "direct"} <= _column(bypass, "method")
    assert _rows(store, panels["new_domains"])
    found = _rows(store, panels["pdns_search"], search="evil-c2.example")
    assert found and all(r["query"].endswith("evil-c2.example") for r in found)
    assert "10.20.0.31" in _column(found, "client_ip")
    by_ip = _rows(store, panels["pdns_search"], search="91.200.12.34")  # the answer with a listed address
    assert "files.cloudstore.example" in _column(by_ip, "query")
    assert _rows(store, panels["pdns_search"], search="") == []  # nothing asked, nothing scanned
    assert _rows(store, panels["pdns_search"], search="x' OR 1=1 OR query='") == []  # quoted, not SQL


def test_connections_board_shows_beacons_scans_exfiltration_apps_and_talkers(hospital) -> None:  # type: ignore[no-untyped-def]
    synth, out, store = hospital
    panels = _by_key(store, out, "conn")
    assert {a["src_ip"] for a in _injected(synth, "beacon")} <= _column(
        _rows(store, panels["beacons"]), "src"
    )
    scans = _rows(store, panels["scans"])
    assert {a["src_ip"] for a in _injected(synth, "port_scan")} <= _column(scans, "src")
    assert {"vertical", "horizontal"} == _column(scans, "kind")
    exfil = _rows(store, panels["exfiltration"])
    assert {a["src_ip"] for a in _injected(synth, "exfiltration")} <= _column(exfil, "src")
    apps = _rows(store, panels["apps"])
    assert {a["src_ip"] for a in _injected(synth, "policy_remote_access", "policy_ott")} <= _column(
        apps, "src"
    )
    assert {"TeamViewer", "AnyDesk", "Zalo", "Telegram"} <= _column(apps, "app")
    by_segment = {r["segment"]: r for r in _rows(store, panels["apps_by_segment"])}
    assert int(by_segment["emr"]["ott"]) >= 1 and int(by_segment["wards"]["remote_access"]) >= 1
    talkers = _rows(store, panels["top_talkers"])
    assert talkers[0]["src"] == "10.11.0.30"  # the exfiltrating EMR workstation sent most
    dests = _rows(store, panels["internet_destinations"])
    assert dests[0]["dst"] == "198.51.100.90"
    assert not any(r["dst"].startswith(("10.", "172.16.", "192.168.")) for r in dests)
    # a host picked (the link from the SOC board): only its alerts
    only = _rows(store, panels["beacons"], host="10.30.0.66")
    assert only == []
    assert _column(_rows(store, panels["scans"], host="10.30.0.66"), "src") == {"10.30.0.66"}


def test_health_board_counts_every_log_and_finds_each_segments_last_record(hospital) -> None:  # type: ignore[no-untyped-def]
    _synth, out, store = hospital
    panels = _by_key(store, out, "health")
    per_log: dict[str, int] = {}
    for r in _rows(store, panels["records_per_log"]):
        per_log[r["log"]] = per_log.get(r["log"], 0) + int(r["records"])
    direct = {
        t: int(
            store.rows(f"SELECT count() AS n FROM {t}" + (" WHERE NOT interim" if t == "conn" else ""))[0][
                "n"
            ]
        )
        for t in ("dns", "tls", "http", "login", "conn")
    }
    assert per_log == direct
    fresh = {r["log"]: r for r in _rows(store, panels["freshness"])}
    assert set(fresh) == set(direct) and all(
        r["newest_record"].startswith("2026-01-01 08:1") for r in fresh.values()
    )
    lag = _rows(store, panels["store_lag"])
    assert {r["log"] for r in lag} == set(direct) and all(
        float(r["lag_p95_s"]) >= float(r["lag_p50_s"]) for r in lag
    )
    silent = _rows(store, panels["silent_segments"])
    segments = {r["segment"] for r in store.rows("SELECT DISTINCT segment FROM talkers_minute")}
    assert {r["segment"] for r in silent} == segments
    assert [int(r["silent_min"]) for r in silent] == sorted(
        (int(r["silent_min"]) for r in silent), reverse=True
    )


def test_triage_lists_every_alert_and_drills_down_to_its_records(hospital) -> None:  # type: ignore[no-untyped-def]
    synth, out, store = hospital
    panels = _by_key(store, out, "triage")
    alerts = _rows(store, panels["alerts"])
    assert len(alerts) == store.rows("SELECT count() AS n FROM alerts")[0]["n"]
    assert {r["state"] for r in alerts} == {"new"}
    critical = _rows(store, panels["alerts"], severity=["critical"])
    assert critical and {r["level"] for r in critical} == {"critical"}
    tunnel = next(r for r in alerts if r["src"] == "10.20.3.88")
    records = _rows(store, panels["records"], record=tunnel["record"], alert=tunnel["uid"])
    assert records and {r["uid"] for r in records} == {tunnel["record"]}
    assert {"dns", "conn"} <= {r["log"] for r in records}  # the query and the connection that carried it
    assert all(r["src"] == "10.20.3.88" for r in records)
    # the link the table's uid and record columns carry sets both variables of this board
    links = [
        link["url"]
        for o in _panel(_board(out, "en", "triage"), 1)["fieldConfig"]["overrides"]
        for prop in o["properties"]
        if prop["id"] == "links"
        for link in prop["value"]
    ]
    assert any(
        "var-record=${__data.fields.record}" in u and "var-alert=${__data.fields.uid}" in u for u in links
    )
    assert _rows(store, panels["history"], alert=tunnel["uid"]) == []  # nobody handled it yet
