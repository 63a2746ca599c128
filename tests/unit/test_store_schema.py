"""The store's schema generation, parameter binding, settings and writer logic (no ClickHouse)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
from wardwatch.store.backend import Batch, bind_literals, param_text
from wardwatch.store.pseudonym import Pseudonymiser
from wardwatch.store.schema import BY_LOG, CONN, DNS, SCHEMA_VERSION, TABLES, VIEWS, message_fields
from wardwatch.store.settings import load_store_settings
from wardwatch.store.writer import Writer

from wardwatch.config import ConfigError, parse_config


def test_every_table_has_meta_columns_daily_partitions_and_ttl() -> None:
    for t in TABLES:
        names = [c.name for c in t.columns]
        for col in ("sensor", "segment", "site", "ingest_time", "ts", "uid"):
            assert col in names, (t.name, col)
        ddl = t.create(SCHEMA_VERSION, 30)
        assert "ttl_only_drop_parts = 1" in ddl
        assert "TTL ingest_time + toIntervalDay(30)" in ddl
        assert "LowCardinality(String)" in ddl
    assert DNS.partition_by == "toDate(ts)"
    assert "segment, toStartOfHour(ts), reverse(query)" in DNS.order_by
    assert "`id_orig_h` IPv6" in DNS.create(SCHEMA_VERSION, 30)
    for v in VIEWS:
        assert "ttl_only_drop_parts" in v.create_target(400) and v.create_view().startswith(
            "CREATE MATERIALIZED VIEW"
        )


def test_version_one_lacks_later_columns() -> None:
    assert "`site`" not in DNS.create(1, 30)
    assert "`site`" in DNS.create(2, 30)


def test_message_fields_skip_server_defaults() -> None:
    f = message_fields(DNS)
    assert "ingest_time" not in f and f["query"] == "String" and f["id_orig_h"] == "IPv6"
    assert set(BY_LOG) == {"dns", "conn", "tls", "http", "login"}


def test_param_text_and_literals_escape() -> None:
    assert param_text("a'b\\c\td") == "a'b\\\\c\\td"
    assert param_text(["x'y", "z"]) == "['x\\'y','z']"
    assert param_text(None) == "\\N"
    sql = bind_literals(
        "SELECT {s:String}, {a:Array(String)}, {n:UInt32}", {"s": "'; DROP TABLE x; --", "a": ["q"], "n": 3}
    )
    assert (
        sql
        == "SELECT CAST('\\'; DROP TABLE x; --' AS String), CAST(['q'] AS Array(String)), CAST(3 AS UInt32)"
    )


def _cfg(tmp_path: Path, text: str) -> Any:
    return parse_config(text, tmp_path / "c.yaml")


def test_store_settings(tmp_path: Path) -> None:
    s = load_store_settings(
        _cfg(tmp_path, "store: {sensor: s1, site: bv1, retention: {raw: 7d, alerts: 2y}}\n")
    )
    assert (s.sensor, s.site, s.backend) == ("s1", "bv1", "chdb")
    assert s.retention.days == {"raw": 7, "rollups": 400, "alerts": 730}
    assert s.chdb_path == tmp_path / "var" / "store"
    s = load_store_settings(_cfg(tmp_path, "clickhouse: {url: 'clickhouse://127.0.0.1:9000/db', user: u}\n"))
    assert s.backend == "server" and s.options == {"user": "u"}
    with pytest.raises(ConfigError, match=r"c.yaml:2: store.retention.raw"):
        load_store_settings(_cfg(tmp_path, "store:\n  retention: {raw: soon}\n"))


def test_pseudonymiser_stable_keyed_internal_only() -> None:
    p = Pseudonymiser(b"k" * 32, lambda ip: ip.startswith("10."))
    a = p("10.0.0.1")
    assert a == p("10.0.0.1") and a != "10.0.0.1" and a != p("10.0.0.2")
    assert ipaddress.ip_address(a) in ipaddress.ip_network("fd00::/8")
    assert Pseudonymiser(b"j" * 32, lambda ip: True)("10.0.0.1") != a
    assert p("8.8.8.8") == "8.8.8.8"


class FakeBackend:
    kind = "fake"

    def __init__(self) -> None:
        self.tables: dict[str, list[dict[str, Any]]] = {}

    def execute(self, sql: str, params: Any = None) -> None:
        pass

    def rows(self, sql: str, params: Any = None, readonly: bool = False) -> list[dict[str, Any]]:
        table = sql.split("FROM `")[1].split("`")[0]
        t = {d.name: d for d in TABLES}[table]
        if "count()" in sql:
            lo, hi = params["lo"], params["hi"]
            return [{"c": sum(lo <= r["ts"] <= hi for r in self.tables.get(table, []))}]
        uids = set(params["uids"])
        return [{k: r[k] for k in t.key} for r in self.tables.get(table, []) if r["uid"] in uids]

    def insert(self, batch: Batch) -> None:
        cols = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in batch.columns.items()}
        rows = [dict(zip(cols, vals, strict=True)) for vals in zip(*cols.values(), strict=True)]
        self.tables.setdefault(batch.table, []).extend(rows)

    def close(self) -> None:
        pass


def _dns(uid: str, trans_id: int, ts: float = 1767254400.123456, **kw: Any) -> dict[str, Any]:
    rec = {"_path": "dns", "ts": ts, "uid": uid, "id.orig_h": "10.0.0.5", "id.orig_p": 5353,
           "id.resp_h": "8.8.8.8", "id.resp_p": 53, "proto": "udp", "trans_id": trans_id, "query": "a.example",
           "AA": False, "TC": False, "RD": True, "RA": True, "Z": 0, "rejected": False}  # fmt: skip
    rec.update(kw)
    return rec


def test_writer_columns_and_dedup() -> None:
    be = FakeBackend()
    w = Writer(
        be, lambda ip: "icu" if ip.startswith("10.") else "internet", sensor="s", site="h", batch_rows=1000
    )
    recs = [
        _dns("C1", 1, answers=["1.2.3.4"], rcode=0),
        _dns("C1", 2),
        _dns("C1", 1, answers=["1.2.3.4"], rcode=0),
    ]
    w.add_records(recs)
    w.flush()
    rows = be.tables["dns"]
    assert len(rows) == 2  # the in-batch duplicate is dropped
    assert rows[0]["ts"] == 1767254400123456 and rows[0]["segment"] == "icu" and rows[0]["sensor"] == "s"
    assert rows[0]["rcode"] == 0 and rows[1]["rcode"] is None and rows[1]["answers"] == []
    w.add_records(recs + [_dns("C2", 1)])
    w.flush()
    assert len(be.tables["dns"]) == 3  # only the new record goes in
    assert w.duplicates["dns"] == 1 + 3
    assert w.written[("dns", "icu")] == 3


def test_conn_version_prefers_final_record() -> None:
    w = Writer(FakeBackend(), lambda ip: "x")
    base = {"_path": "conn", "ts": 1.0, "uid": "C9", "id.orig_h": "10.0.0.1", "id.orig_p": 1, "id.resp_h": "10.0.0.2",
            "id.resp_p": 2, "orig_pkts": 5, "resp_pkts": 5}  # fmt: skip
    b = w.columns(CONN, [{**base, "interim": True}, base])
    assert b.columns["version"][1] > b.columns["version"][0]
