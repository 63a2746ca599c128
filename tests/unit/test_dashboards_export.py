"""The exported boards: they load back through the SDK unchanged, every panel queries the ClickHouse
plugin with a unique id, every variable a panel or link uses is defined, both languages are there,
and the provisioning files point Grafana at the endpoint or the server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

pytest.importorskip("grafana_foundation_sdk")

from grafana_foundation_sdk.cog.encoder import JSONEncoder  # noqa: E402
from grafana_foundation_sdk.models.dashboard import Dashboard  # noqa: E402
from wardwatch.dashboards import provisioning  # noqa: E402
from wardwatch.dashboards.export import export  # noqa: E402
from wardwatch.dashboards.macros import variables_used  # noqa: E402
from wardwatch.dashboards.sql import ranges  # noqa: E402

SEGMENTS = tuple(ranges([("his", "his", ["10.10.0.0/24"]), ("guest-wifi", "guest", ["172.16.0.0/20"])]))


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("boards")
    export(out, segments=SEGMENTS)
    return out


def _boards(out: Path) -> list[tuple[Path, dict]]:  # type: ignore[type-arg]
    return [
        (p, json.loads(p.read_text(encoding="utf-8"))) for p in sorted((out / "dashboards").glob("*/*.json"))
    ]


def test_six_boards_per_language(exported: Path) -> None:
    names = {(p.parent.name, p.stem) for p, _ in _boards(exported)}
    assert names == {
        (lang, b) for lang in ("vi", "en") for b in ("soc", "segment", "dns", "conn", "health", "triage")
    }


def test_exported_json_loads_back_through_the_sdk_unchanged(exported: Path) -> None:
    for path, doc in _boards(exported):
        back = json.loads(json.dumps(Dashboard.from_json(doc), cls=JSONEncoder))
        assert back == doc, path


def test_every_panel_queries_the_clickhouse_plugin_with_a_unique_id(exported: Path) -> None:
    uids = set()
    for path, doc in _boards(exported):
        assert doc["uid"] not in uids
        uids.add(doc["uid"])
        ids = [p["id"] for p in doc["panels"]]
        assert len(ids) == len(set(ids)) and all(isinstance(i, int) for i in ids), path
        for p in doc["panels"]:
            assert p["datasource"]["type"] == "grafana-clickhouse-datasource", (path, p["title"])
            (t,) = p["targets"]
            assert t["datasource"]["type"] == "grafana-clickhouse-datasource"
            assert t["editorType"] == "sql" and t["rawSql"].lstrip().upper().startswith(("SELECT", "WITH"))
            assert t["format"] == (0 if p["type"] == "timeseries" else 1), (path, p["title"])
            assert p["title"] and p["description"], path


def test_every_variable_used_is_defined(exported: Path) -> None:
    for path, doc in _boards(exported):
        defined = {v["name"] for v in doc["templating"]["list"]}
        used: set[str] = set()
        for v in doc["templating"]["list"]:
            used |= variables_used(json.dumps(v.get("datasource", {}))) | variables_used(
                str(v.get("query", ""))
            )
        for p in doc["panels"]:
            used |= variables_used(json.dumps(p["datasource"])) | variables_used(p["targets"][0]["rawSql"])
            for o in p["fieldConfig"]["overrides"]:
                for prop in o["properties"]:
                    if prop["id"] == "links":
                        for link in prop["value"]:
                            target = link["url"].split("?")[0].removeprefix("/d/")
                            other = json.loads(
                                (
                                    exported / "dashboards" / doc["uid"][-2:] / f"{target[3:-3]}.json"
                                ).read_text()
                            )
                            assert other["uid"] == target
                            linked = {
                                q.split("=")[0].removeprefix("var-")
                                for q in link["url"].split("?")[1].split("&")
                            }
                            assert linked - {"${__url_time_range}"} <= {
                                v["name"] for v in other["templating"]["list"]
                            }
        assert used <= defined, (path, used - defined)
        assert "ds" in defined


def test_titles_are_in_the_boards_language(exported: Path) -> None:
    vi = json.loads((exported / "dashboards/vi/soc.json").read_text(encoding="utf-8"))
    en = json.loads((exported / "dashboards/en/soc.json").read_text(encoding="utf-8"))
    assert vi["uid"] == "ww-soc-vi" and en["uid"] == "ww-soc-en"
    assert "Tổng quan" in vi["title"] and en["title"] == "wardwatch · SOC overview"
    assert [p["title"] for p in vi["panels"]] != [p["title"] for p in en["panels"]]
    assert "nghiêm trọng" in vi["panels"][3]["targets"][0]["rawSql"]  # severity names in the data too
    headings = {
        prop["value"]
        for p in vi["panels"]
        for o in p["fieldConfig"]["overrides"]
        for prop in o["properties"]
        if prop["id"] == "displayName"
    }
    assert "Nguồn" in headings and "Phân vùng mạng" in headings


def test_segment_ranges_from_the_config_go_into_the_segment_board(exported: Path) -> None:
    sql = json.loads((exported / "dashboards/en/segment.json").read_text())["panels"][0]["targets"][0][
        "rawSql"
    ]
    assert "toIPv6('::ffff:10.10.0.0') AND toIPv6('::ffff:10.10.0.255'), 'his'" in sql
    assert "'guest'" in sql


def test_provisioning_for_the_embedded_endpoint(exported: Path) -> None:
    ds = yaml.safe_load((exported / "provisioning/datasources/wardwatch.yaml").read_text())["datasources"][0]
    assert ds["type"] == "grafana-clickhouse-datasource" and ds["uid"] == "wardwatch-clickhouse"
    assert ds["jsonData"]["protocol"] == "http" and ds["jsonData"]["host"] == "127.0.0.1"
    assert ds["secureJsonData"]["password"] == "$WARDWATCH_GRAFANA_PASSWORD"  # never the password itself
    providers = yaml.safe_load((exported / "provisioning/dashboards/wardwatch.yaml").read_text())["providers"]
    assert {p["options"]["path"] for p in providers} == {
        str((exported / "dashboards" / lang).resolve()) for lang in ("vi", "en")
    }


def test_provisioning_for_a_clickhouse_server(tmp_path: Path) -> None:
    target = provisioning.target_of("server", "clickhouse://ch.benhvien.local:9000/wardwatch", None)
    export(tmp_path, ("en",), target=target)
    ds = yaml.safe_load((tmp_path / "provisioning/datasources/wardwatch.yaml").read_text())["datasources"][0]
    assert ds["jsonData"]["protocol"] == "native" and ds["jsonData"]["host"] == "ch.benhvien.local"
    assert ds["jsonData"]["defaultDatabase"] == "wardwatch"
    sql = (tmp_path / "clickhouse/grafana-reader.sql").read_text()
    assert "GRANT SELECT ON `wardwatch`.`alerts` TO wardwatch_grafana_reader;" in sql
    assert "readonly = 1" in sql and "{password:String}" in sql
    assert "GRANT ALL" not in sql and "INSERT" not in sql
    assert list((tmp_path / "dashboards").iterdir()) == [tmp_path / "dashboards" / "en"]
