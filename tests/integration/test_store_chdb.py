"""The schema on the embedded store (chdb): migrations, TTL, rollups, passive DNS, read-only queries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("chdb")

from wardwatch.store import Store, open_store  # noqa: E402
from wardwatch.store.backend import StoreError  # noqa: E402
from wardwatch.store.chdb_backend import ChdbBackend  # noqa: E402
from wardwatch.store.migrations import SchemaTooNew, migrate  # noqa: E402
from wardwatch.store.query import conn_names, read_only, top_domains  # noqa: E402
from wardwatch.store.schema import SCHEMA_VERSION, all_objects  # noqa: E402

from wardwatch.config import parse_config  # noqa: E402

CONFIG = """
data_dir: var
segments:
  - {name: icu, cidrs: [10.20.0.0/24], zone: clinical}
  - {name: office, cidrs: [10.30.0.0/24], zone: admin}
store: {sensor: s1, site: bv1}
"""
T0 = 1767254400.0  # 2026-01-01 08:00 UTC


def _schema(backend: ChdbBackend) -> dict[str, str]:
    rows = backend.rows(
        "SELECT name, create_table_query FROM system.tables WHERE database = currentDatabase()"
        " AND name != 'schema_migrations' ORDER BY name"
    )
    return {r["name"]: r["create_table_query"] for r in rows}


def test_migrations_fresh_and_upgrade_end_in_same_schema(tmp_path: Path) -> None:
    fresh = ChdbBackend(tmp_path / "fresh")
    assert migrate(fresh) == list(range(1, SCHEMA_VERSION + 1))  # every migration, in order
    assert migrate(fresh) == []  # re-running is a no-op
    want = _schema(fresh)
    fresh.close()
    assert set(want) == set(all_objects())

    old = ChdbBackend(tmp_path / "old")
    assert migrate(old, target=1) == [1]
    assert (
        "site" not in old.rows("SELECT groupArray(name) AS n FROM system.columns WHERE table = 'dns'")[0]["n"]
    )
    old.close()
    old = ChdbBackend(tmp_path / "old")  # the next code version opens the older store
    assert migrate(old) == list(range(2, SCHEMA_VERSION + 1))
    assert _schema(old) == want
    old.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', now())")
    with pytest.raises(SchemaTooNew, match="schema version 99, newer than this wardwatch knows"):
        migrate(old)
    old.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    cfg = parse_config(CONFIG, tmp_path / "c.yaml")
    s = open_store(cfg)
    yield s
    s.close()


def _dns(
    i: int, client: str, query: str, ts: float, rcode: str = "NOERROR", answers: list[str] | None = None
) -> dict[str, Any]:
    return {"_path": "dns", "ts": ts, "uid": f"D{i}", "id.orig_h": client, "id.orig_p": 40000 + i, "id.resp_h": "10.40.0.53",
            "id.resp_p": 53, "proto": "udp", "trans_id": i, "query": query, "qtype": 1, "qtype_name": "A",
            "rcode": 3 if rcode == "NXDOMAIN" else 0, "rcode_name": rcode, "answers": answers or [],
            "TTLs": [60.0] * len(answers or [])}  # fmt: skip


def _conn(uid: str, client: str, server: str, ts: float, nbytes: int) -> dict[str, Any]:
    return {"_path": "conn", "ts": ts, "uid": uid, "id.orig_h": client, "id.orig_p": 50000, "id.resp_h": server,
            "id.resp_p": 443, "proto": "tcp", "duration": 1.0, "orig_bytes": nbytes, "resp_bytes": 2 * nbytes,
            "conn_state": "SF", "orig_pkts": 3, "resp_pkts": 3}  # fmt: skip


def test_rollups_passive_dns_and_dashboard_queries(store: Store) -> None:
    recs = []
    for i in range(30):  # icu: 20 lookups in minute 0, office: 10 NXDOMAIN in minute 1
        if i < 20:
            recs.append(_dns(i, "10.20.0.5", "pacs.example.vn", T0 + i, answers=["203.0.113.9"]))
        else:
            recs.append(_dns(i, "10.30.0.7", "x.bad.example", T0 + 60 + i, rcode="NXDOMAIN"))
    recs.append(_conn("C1", "10.20.0.5", "203.0.113.9", T0 + 40, 100))
    recs.append(_conn("C2", "10.20.0.5", "198.51.100.1", T0 + 41, 50))  # no name led to it
    recs.append(_conn("C3", "10.20.0.6", "203.0.113.9", T0 + 42, 10))  # another client: no join
    w = store.writer()
    w.add_records(recs)
    w.flush()
    per_min = store.rows(
        "SELECT minute, segment, rcode_name, sum(queries) AS q FROM dns_minute GROUP BY minute, segment, rcode_name ORDER BY minute"
    )
    assert [(r["segment"], r["rcode_name"], r["q"]) for r in per_min] == [
        ("icu", "NOERROR", 20),
        ("office", "NXDOMAIN", 10),
    ]
    talk = store.rows(
        "SELECT toString(orig_h) AS h, sum(conns) AS c, sum(orig_bytes) AS b FROM talkers_minute GROUP BY h ORDER BY h"
    )
    assert talk == [{"h": "::ffff:10.20.0.5", "c": 2, "b": 150}, {"h": "::ffff:10.20.0.6", "c": 1, "b": 10}]
    pd = store.rows(
        "SELECT query, toString(answer) AS a, sum(count) AS n, min(first_seen) AS f FROM pdns GROUP BY query, a"
    )
    assert pd == [
        {"query": "pacs.example.vn", "a": "::ffff:203.0.113.9", "n": 20, "f": "2026-01-01 08:00:00.000000"}
    ]
    joined = conn_names(store, T0, T0 + 3600)
    assert [(r["uid"], r["name"]) for r in joined] == [("C1", "pacs.example.vn")]
    top = top_domains(store, T0, T0 + 86400, n=1)
    assert [(r["segment"], r["query"], r["queries"]) for r in top] == [
        ("icu", "pacs.example.vn", 20),
        ("office", "x.bad.example", 10),
    ]
    assert store.rows("SELECT DISTINCT sensor, site FROM dns") == [{"sensor": "s1", "site": "bv1"}]
    # writing the same rows again changes nothing, in the tables or the rollups
    w.add_records(recs)
    w.flush()
    assert store.rows("SELECT count() AS c FROM dns")[0]["c"] == 30
    assert store.rows("SELECT sum(queries) AS q FROM dns_minute")[0]["q"] == 30


def test_retention_counts_from_ingest_time(store: Store) -> None:
    old_capture = T0 - 3 * 365 * 86400  # traffic from three years ago, analysed today
    w = store.writer()
    w.add_records([_dns(i, "10.20.0.5", "old.example", old_capture + i) for i in range(5)])
    w.flush()
    assert store.rows("SELECT count() AS c FROM dns")[0]["c"] == 5  # not dropped on insert
    # rows stored 40 days ago (beyond the 30-day default) go at the next merge
    store.backend.execute(
        "INSERT INTO dns (ts, uid, sensor, segment, id_orig_h, id_resp_h, query, ingest_time)"
        " VALUES (now64(6), 'OLD', 's1', 'icu', toIPv6('10.20.0.9'), toIPv6('10.40.0.53'), 'gone.example', now() - INTERVAL 40 DAY)"
    )
    store.backend.execute("OPTIMIZE TABLE dns FINAL")
    left = store.rows("SELECT query, count() AS c FROM dns GROUP BY query")
    assert left == [{"query": "old.example", "c": 5}]


def test_retention_is_configurable(tmp_path: Path) -> None:
    s = open_store(parse_config(CONFIG, tmp_path / "c.yaml"))  # created with the defaults
    s.close()
    cfg2 = parse_config(
        CONFIG.replace("store: {sensor: s1, site: bv1}", "store: {retention: {raw: 7d, rollups: 2y}}"),
        tmp_path / "c.yaml",
    )
    s = open_store(cfg2)
    try:
        eng = {
            r["name"]: r["engine_full"]
            for r in s.rows("SELECT name, engine_full FROM system.tables WHERE database = currentDatabase()")
        }
        assert "TTL ingest_time + toIntervalDay(7)" in eng["dns"]
        assert "TTL ingest_time + toIntervalDay(730)" in eng["alerts"]
        assert "TTL last_ingest + toIntervalDay(730)" in eng["pdns"]
    finally:
        s.close()


def test_read_only_queries(store: Store) -> None:
    assert list(read_only(store, "SELECT {x:String} AS x", {"x": "it's"})) == [b'{"x":"it\'s"}']
    for sql in ("INSERT INTO dns (uid) VALUES ('x')", "DROP TABLE dns", "ALTER TABLE dns DELETE WHERE 1"):
        with pytest.raises(StoreError, match="readonly"):
            list(read_only(store, sql))


def test_pseudonymised_clients(tmp_path: Path) -> None:
    cfg = parse_config(
        CONFIG.replace("store: {sensor: s1, site: bv1}", "store: {pseudonymise: true}"), tmp_path / "c.yaml"
    )
    s = open_store(cfg)
    try:
        w = s.writer()
        w.add_records([_dns(1, "10.20.0.5", "a.example", T0, answers=["203.0.113.9"])])
        w.flush()
        row = s.rows("SELECT toString(id_orig_h) AS c, toString(id_resp_h) AS r, answers, segment FROM dns")[0]
        # every internal address is replaced (the resolver 10.40.0.53 too); internet ones are kept
        assert row["c"].startswith("fd") and row["r"].startswith("fd") and row["c"] != row["r"]
        assert row["answers"] == ["203.0.113.9"]
        assert row["segment"] == "icu"  # computed before pseudonymising
        assert (tmp_path / "var" / "pseudonym.key").stat().st_mode & 0o077 == 0
    finally:
        s.close()
