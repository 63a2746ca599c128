"""The writer's fast path into chdb (Arrow struct conversion, defaults in the INSERT's SELECT,
dedup answered by ClickHouse) stores exactly what the per-value path stores, and keeps re-runs,
in-batch repeats, odd values and pseudonymised addresses right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("chdb")

from wardwatch.store import open_store  # noqa: E402
from wardwatch.store.backend import Batch  # noqa: E402
from wardwatch.store.schema import BY_NAME  # noqa: E402

from wardwatch.config import parse_config  # noqa: E402
from wardwatch.counters import Counters  # noqa: E402

CFG = "data_dir: var\nsegments:\n  - {name: icu, cidrs: [10.0.0.0/16], zone: clinical}\n"


def _dns(i: int, **kw: Any) -> dict[str, Any]:
    r = {"_path": "dns", "ts": 1767254400.0 + i / 7, "uid": f"C{i % 50}", "id.orig_h": f"10.0.{i % 3}.{i % 200}",
         "id.orig_p": 1000 + i, "id.resp_h": "8.8.8.8", "id.resp_p": 53, "proto": "udp", "trans_id": i,
         "query": f"n{i}.example.vn", "qtype": 1, "qtype_name": "A", "RD": True, "Z": 0}  # fmt: skip
    if i % 3:
        r.update(rcode=0, rcode_name="NOERROR", answers=[f"1.2.3.{i % 250}"], TTLs=[60.0], rtt=0.5)
    r.update(kw)
    return r


def _conn(i: int, **kw: Any) -> dict[str, Any]:
    r = {"_path": "conn", "ts": 1767254400.0 + i, "uid": f"K{i}", "id.orig_h": "10.0.0.9", "id.orig_p": i,
         "id.resp_h": "2001:db8::1", "id.resp_p": 443, "proto": "tcp", "conn_state": "SF", "history": "ShADadFf",
         "orig_pkts": 5 + i, "resp_pkts": 4, "orig_ip_bytes": 900, "resp_ip_bytes": 4000}  # fmt: skip
    if i % 2:
        r.update(duration=1.5, orig_bytes=100, resp_bytes=3000, service="ssl")
    r.update(kw)
    return r


class _Sink:
    """A backend without the fast path (as a ClickHouse server's): takes ``columns()`` batches."""

    kind = "fake"

    def __init__(self) -> None:
        self.batches: list[Batch] = []

    def insert(self, batch: Batch) -> None:
        self.batches.append(batch)

    def rows(self, *a: Any, **k: Any) -> list[dict[str, Any]]:
        return [{"c": 0}]


def _dump(store: Any, table: str) -> list[dict[str, Any]]:
    cols = [c.name for c in BY_NAME[table].inserted]
    rows = store.rows(f"SELECT {', '.join(f'`{c}`' for c in cols)} FROM {table}")
    return sorted(rows, key=lambda r: (r["ts"], r["uid"], r["id_orig_p"], repr(r)))


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = open_store(parse_config(CFG, tmp_path / "c.yaml"))
    yield s
    s.close()


def test_fast_path_stores_what_the_per_value_path_stores(store: Any) -> None:
    recs = (
        [_dns(i) for i in range(300)]
        + [_conn(i) for i in range(40)]
        + [_conn(3, interim=True, ts=1767254403.0)]
    )
    w = store.writer(Counters())
    assert w._fast
    w.add_records(recs)
    w.flush()
    fast = {t: _dump(store, t) for t in ("dns", "conn")}
    for t in ("dns", "conn"):
        store.backend.execute(f"TRUNCATE TABLE {t}")
    slow = store.writer(Counters())
    slow._fast = False  # the per-value columns() path (as on a ClickHouse server)
    slow.add_records(recs)
    slow.flush()
    for t in ("dns", "conn"):
        assert fast[t] == _dump(store, t) and fast[t]
    assert {r["segment"] for r in fast["dns"]} == {"icu"}
    assert w.written[("dns", "icu")] == 300 and w.written[("conn", "icu")] == 41
    row = next(r for r in fast["dns"] if r["trans_id"] == 3)
    assert row["rcode"] is None and row["answers"] == [] and row["id_orig_h"] == "::ffff:10.0.0.3"


def test_fast_dedup_reruns_and_in_batch_repeats(store: Any) -> None:
    recs = [_dns(i) for i in range(200)] + [_conn(i) for i in range(20)]
    w = store.writer(Counters())
    w.add_records(recs + recs[:5])  # five repeats inside the batch
    w.flush()
    assert w.duplicates["dns"] == 5
    w2 = store.writer(Counters())
    w2.add_records(recs + [_dns(500)])  # a re-run, plus one new record
    w2.flush()
    assert w2.duplicates == {"dns": 200, "conn": 20}
    assert store.rows("SELECT count() AS c FROM dns")[0]["c"] == 201
    assert store.rows("SELECT count() AS c FROM conn")[0]["c"] == 20
    # the rollups were not fed twice either
    assert store.rows("SELECT sum(queries) AS q FROM dns_minute")[0]["q"] == 201
    # the final conn record of a connection is new next to its interim record (higher version)
    w3 = store.writer(Counters())
    w3.add_records([_conn(1, interim=True, orig_pkts=2, resp_pkts=1)])
    w3.flush()
    assert store.rows("SELECT count() AS c FROM conn")[0]["c"] == 21
    assert store.rows("SELECT count() AS c FROM conn FINAL")[0]["c"] == 20


def test_odd_values_take_the_slow_path(store: Any) -> None:
    c = Counters()
    w = store.writer(c)
    w.add_records([_dns(1), _dns(2, trans_id="seven", qtype="1"), _dns(3, answers="1.2.3.4")])
    w.flush()
    assert c.get("store.slow_batches.dns") == 1
    rows = _dump(store, "dns")
    assert len(rows) == 3 and rows[1]["trans_id"] == 0 and rows[1]["qtype"] == 1


def test_pending_reset_by_a_caller_is_respected(store: Any) -> None:
    w = store.writer(Counters())
    w.add_records([_dns(i) for i in range(10)])
    for k in w.pending:  # what the bus consumer does after a failed insert
        w.pending[k] = []
    w.add_records([_dns(i) for i in range(10, 13)])
    w.flush()
    assert store.rows("SELECT count() AS c FROM dns")[0]["c"] == 3


def test_pseudonymised_fast_path(tmp_path: Path) -> None:
    s = open_store(parse_config(CFG + "store: {pseudonymise: true}\n", tmp_path / "c.yaml"))
    try:
        w = s.writer(Counters())
        w.add_records([_dns(i) for i in range(20)])
        w.flush()
        rows = s.rows("SELECT DISTINCT toString(id_orig_h) AS a, segment FROM dns")
    finally:
        s.close()
    assert rows and all(r["a"].startswith("fd") and r["segment"] == "icu" for r in rows)


def test_batch_shape_unchanged_for_other_backends() -> None:
    from wardwatch.store.writer import Writer

    sink = _Sink()
    w = Writer(sink, lambda ip: "x")  # type: ignore[arg-type]
    w.add_records([_dns(1)])
    w.flush()
    assert [b.table for b in sink.batches] == ["dns"] and sink.batches[0].columns["segment"] == ["x"]


def _arrow(recs: list[dict[str, Any]], log: str) -> Any:
    """Records as the bus writer hands them over: NDJSON parsed straight into Arrow."""
    import orjson
    from wardwatch.bus.envelope import decode_arrow
    from wardwatch.store.writer import record_struct

    struct = record_struct(log)
    assert struct is not None
    return decode_arrow([b"".join(orjson.dumps(r) + b"\n" for r in recs)], log, struct, len(recs))


def test_arrow_input_stores_what_dict_input_stores(tmp_path: Path) -> None:
    recs = [_dns(i) for i in range(200)]
    conns = [_conn(i) for i in range(30)]
    dumps = []
    for name, arrow in (("dicts", False), ("arrow", True)):
        s = open_store(parse_config(CFG, tmp_path / name / "c.yaml"))
        w = s.writer(Counters(), background=arrow)
        if arrow:
            w.add_arrow("dns", _arrow(recs[:120], "dns"))
            w.add_records(recs[120:])  # dict and Arrow rows of one table in one batch
            w.add_arrow("conn", _arrow(conns, "conn"))
        else:
            w.add_records(recs + conns)
        w.flush()
        w.close()
        dumps.append((_dump(s, "dns"), _dump(s, "conn")))
        if arrow:  # the same Arrow rows again: every one is found stored
            w2 = s.writer(Counters())
            w2.add_arrow("dns", _arrow(recs, "dns"))
            w2.flush()
            assert w2.duplicates["dns"] == 200 and len(_dump(s, "dns")) == 200
        s.close()
    assert dumps[0] == dumps[1]
    assert len(dumps[0][0]) == 200 and len(dumps[0][1]) == 30


def test_arrow_input_reaches_a_backend_without_the_fast_path() -> None:
    from wardwatch.store.writer import Writer

    sink = _Sink()
    w = Writer(sink, lambda ip: "x")  # type: ignore[arg-type]
    w.add_arrow("dns", _arrow([_dns(1), _dns(2)], "dns"))
    w.flush()
    (batch,) = sink.batches
    assert batch.table == "dns" and batch.rows == 2
    assert batch.columns["query"] == ["n1.example.vn", "n2.example.vn"]
    assert batch.columns["answers"] == [["1.2.3.1"], ["1.2.3.2"]]


def test_background_writer_hands_a_store_error_to_the_caller(tmp_path: Path) -> None:
    from wardwatch.store.backend import StoreError
    from wardwatch.store.writer import Writer

    class Down:
        def insert(self, batch: Batch) -> None:
            raise StoreError("connection refused: store unreachable")

        def rows(self, *a: Any, **k: Any) -> list[dict[str, Any]]:
            raise StoreError("connection refused: store unreachable")

    w = Writer(Down(), lambda ip: "x", background=True)  # type: ignore[arg-type]
    w.add_records([_dns(1)])
    with pytest.raises(StoreError, match="unreachable"):
        w.flush()
    w.close()
