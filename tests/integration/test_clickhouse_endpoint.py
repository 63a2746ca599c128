"""Issue 14: the ClickHouse-compatible endpoint of ``wardwatch serve`` with real clients.

While ``serve`` holds the embedded store, clickhouse-connect (Python) and a Go program using
clickhouse-go/v2 over HTTP (the driver of Grafana's ClickHouse plugin, built here from the Go module
proxy) run every board's queries and get the rows chdb gives directly; writes, ``file()``, ``url()``,
``system.*`` beyond what the drivers need, and a wrong password are refused, with ClickHouse's codes.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("chdb")
clickhouse_connect = pytest.importorskip("clickhouse_connect")

from wardwatch.dashboards.export import render  # noqa: E402
from wardwatch.dashboards.macros import Query, interpolate, utc  # noqa: E402
from wardwatch.dashboards.sql import ranges  # noqa: E402
from wardwatch.store import open_store  # noqa: E402
from wardwatch.tools.synth import generate  # noqa: E402

from tests.integration.waiting import wait_for  # noqa: E402
from wardwatch.config import load_config  # noqa: E402

pytestmark = pytest.mark.integration

GO_PROGRAM = Path(__file__).parent / "go" / "chquery"
PASSWORD = "grafana-test-Pa55"
VARIABLES = {"segments": "$__all", "severity": "$__all", "segment": "emr", "search": "evil-c2.example",
             "host": "", "alert": "", "record": ""}  # fmt: skip
REFUSED = {
    "INSERT INTO dns (query) VALUES ('x')": 164,
    "DROP TABLE alerts": 164,
    "SELECT * FROM file('/etc/passwd', 'LineAsString')": 497,
    "SELECT file('/etc/passwd')": 497,
    "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')": 497,
    "SELECT * FROM system.query_log": 497,
    "SELECT name FROM system.users": 497,
    "SELECT * FROM merge('system', '^users$')": 497,
    "SELECT 1 FROM dns WHERE uid IN (SELECT name FROM system.processes)": 497,
    "SELECT 1; DROP TABLE dns": 62,
    # the console's accounts (password hashes, sealed TOTP secrets) and its audit log
    "SELECT * FROM console_users": 497,
    "SELECT user FROM default.`console_audit`": 497,
    "SELECT 1 FROM dns WHERE uid IN (SELECT name FROM console_users)": 497,
    "SELECT * FROM view(SELECT * FROM console_users)": 497,
}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _queries(config_path: Path) -> list[tuple[str, str]]:
    """(board.panel, SQL as the plugin sends it) for every panel of the Vietnamese boards."""
    config = load_config(config_path)
    segs = tuple(ranges((s.name, s.zone, [str(c) for c in s.cidrs]) for s in config.segments))
    q = Query(utc("2026-01-01 07:00:00"), utc("2026-01-01 09:00:00"), 60, VARIABLES)
    out = []
    for board in render(("vi",), segs)["vi"]:
        for panel in board["panels"]:
            out.append((f"{board['uid']}#{panel['id']}", interpolate(panel["targets"][0]["rawSql"], q)))
    return out


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A store filled by ``wardwatch run``, the boards' rows read from it directly, then ``serve``
    on it with the endpoint (replaying an empty capture: it adds nothing)."""
    folder = tmp_path_factory.mktemp("ch_endpoint")
    synth = generate(folder / "synth", seed=7)
    run = subprocess.run(
        [sys.executable, "-m", "wardwatch.cli", "run", "--quiet", "--pcap", str(synth.pcap), "--config", str(synth.config)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    queries = _queries(synth.config)
    store = open_store(load_config(synth.config), create=False)
    try:
        direct = {key: store.rows(sql) for key, sql in queries}
    finally:
        store.close()
    port = _free_port()
    (folder / "password").write_text(PASSWORD + "\n")
    cfg = yaml.safe_load(synth.config.read_text())
    cfg["http"] = {
        "listen": "127.0.0.1:0",
        "clickhouse": {
            "listen": f"127.0.0.1:{port}",
            "user": "grafana",
            "password_file": str(folder / "password"),
        },
    }
    config = folder / "serve.yaml"
    config.write_text(yaml.safe_dump(cfg))
    empty = folder / "empty.pcap"
    empty.write_bytes(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "wardwatch.cli", "serve", "--config", str(config), "--pcap", str(empty)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip

    def ping() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"serve ended early ({proc.returncode}): {proc.stderr.read()}")  # type: ignore[union-attr]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5) as r:
                return r.read() == b"Ok.\n"
        except OSError:
            return False

    wait_for("the ClickHouse endpoint to answer /ping", ping)
    try:
        yield {"port": port, "queries": queries, "direct": direct, "folder": folder}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- comparing rows from three clients ---------------------------------------------------------------
_TS = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?$")


def _canon(v: Any) -> Any:
    """One form for what chdb's JSON, clickhouse-connect's Python types and the Go program print."""
    if isinstance(v, datetime):
        return v.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(v, str) and _TS.match(v):
        return datetime.fromisoformat(v.replace("T", " ")).isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, (IPv4Address, IPv6Address)):
        return str(v)
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float, Decimal)) or (
        isinstance(v, str) and re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", v)
    ):
        f = float(v)
        return round(f, 6) if math.isfinite(f) else str(f)
    if isinstance(v, (list, tuple)):
        return [_canon(x) for x in v]
    if isinstance(v, dict):
        return sorted((str(k), _canon(x)) for k, x in v.items())
    return v


def _bag(rows: list[list[Any]]) -> list[str]:
    """Rows as a sorted multiset (ties in a panel's ORDER BY may come back in any order)."""
    return sorted(json.dumps([_canon(v) for v in r], ensure_ascii=False) for r in rows)


def _direct(served: dict[str, Any], key: str) -> list[str]:
    return _bag([list(r.values()) for r in served["direct"][key]])


def _same(served: dict[str, Any], key: str, sql: str, rows: list[list[Any]]) -> None:
    """The rows chdb gave directly; a panel that reads the clock (``now()``: "minutes since…") only
    as many rows, since time went on between the two reads."""
    if "now()" in sql:
        assert len(rows) == len(served["direct"][key]), key
    else:
        assert _bag(rows) == _direct(served, key), key


def test_clickhouse_connect_gets_the_rows_chdb_gives(served) -> None:  # type: ignore[no-untyped-def]
    client = clickhouse_connect.get_client(
        host="127.0.0.1", port=served["port"], username="grafana", password=PASSWORD
    )
    try:
        assert client.server_version.count(".") >= 2
        nonempty = 0
        for key, sql in served["queries"]:
            result = client.query(sql)
            _same(served, key, sql, [list(r) for r in result.result_rows])
            nonempty += bool(result.result_rows)
        assert nonempty >= len(served["queries"]) * 2 // 3  # the comparison is not over empty answers
        # server-side parameters, as clickhouse-connect sends them
        got = client.query("SELECT count() FROM alerts WHERE segment = {s:String}", parameters={"s": "emr"})
        assert got.result_rows[0][0] == sum(
            1 for r in served["direct"]["ww-triage-vi#1"] if r["segment"] == "emr"
        )
    finally:
        client.close()


def test_clickhouse_connect_is_refused_writes_files_urls_system_tables_and_a_wrong_password(served) -> None:  # type: ignore[no-untyped-def]
    from clickhouse_connect.driver.exceptions import DatabaseError

    client = clickhouse_connect.get_client(
        host="127.0.0.1", port=served["port"], username="grafana", password=PASSWORD
    )
    try:
        for sql, code in REFUSED.items():
            with pytest.raises(DatabaseError) as e:
                client.query(sql)
            assert f"code: {code}" in str(e.value) or f"Code: {code}" in str(e.value), (sql, str(e.value))
        # a statement's own SETTINGS cannot lift readonly or the store's limits
        lifted = client.query(
            "SELECT getSetting('readonly'), getSetting('max_result_rows') SETTINGS readonly = 0, max_result_rows = 0"
        )
        assert [int(x) for x in lifted.result_rows[0]] == [1, 100_000]
        # what the drivers and the plugin's schema browser need still answers
        assert client.query("SELECT name FROM system.settings WHERE name = 'max_threads'").result_rows
        tables = {r[0] for r in client.query("SHOW TABLES").result_rows}
        assert {"dns", "conn", "alerts", "alerts_minute", "talkers_minute"} <= tables
        described = {r[0] for r in client.query("DESCRIBE TABLE alerts").result_rows}
        assert {"ts", "category", "severity", "src_ip"} <= described
        assert client.query("SELECT count() FROM alerts").result_rows[0][0] > 0  # nothing was dropped
    finally:
        client.close()
    with pytest.raises(DatabaseError) as e:
        clickhouse_connect.get_client(
            host="127.0.0.1", port=served["port"], username="grafana", password="wrong"
        )
    assert "516" in str(e.value) and "Authentication failed" in str(e.value)
    with pytest.raises(DatabaseError):
        clickhouse_connect.get_client(
            host="127.0.0.1", port=served["port"], username="default", password=PASSWORD
        )


def test_wrong_password_gets_clickhouse_status_and_code(served) -> None:  # type: ignore[no-untyped-def]
    req = urllib.request.Request(
        f"http://127.0.0.1:{served['port']}/?query=SELECT%201",
        headers={"X-ClickHouse-User": "grafana", "X-ClickHouse-Key": "nope"},
    )
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=30)
    assert e.value.code == 401 and e.value.headers["X-ClickHouse-Exception-Code"] == "516"
    assert e.value.read().startswith(b"Code: 516. DB::Exception:")


@pytest.fixture(scope="module")
def go_program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if os.path.exists("/usr/local/go/bin/go") else None)
    if go is None:
        pytest.skip("Go is not installed: the clickhouse-go/v2 client test needs `go` (https://go.dev/dl/)")
    out = tmp_path_factory.mktemp("go") / "chquery"
    build = subprocess.run(
        [go, "build", "-o", str(out), "."], cwd=GO_PROGRAM, capture_output=True, text=True, timeout=600,
        env={**os.environ, "GOFLAGS": "-mod=mod"},
    )  # fmt: skip
    if build.returncode != 0:
        if "proxy" in build.stderr or "dial tcp" in build.stderr or "lookup" in build.stderr:
            pytest.skip(
                f"the Go module proxy is unreachable, clickhouse-go/v2 cannot be fetched: {build.stderr[-400:]}"
            )
        pytest.fail(f"go build failed: {build.stderr}")
    return out


def _go(program: Path, port: int, password: str, queries: list[str]) -> list[dict[str, Any]]:
    env = {**os.environ, "CH_ADDR": f"127.0.0.1:{port}", "CH_USER": "grafana", "CH_PASSWORD": password}
    done = subprocess.run(
        [str(program)], input=json.dumps(queries), capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_clickhouse_go_over_http_gets_the_rows_chdb_gives(served, go_program: Path) -> None:  # type: ignore[no-untyped-def]
    answers = _go(go_program, served["port"], PASSWORD, [sql for _, sql in served["queries"]])
    assert len(answers) == len(served["queries"])
    for (key, sql), got in zip(served["queries"], answers, strict=True):
        assert not got.get("error"), (key, got.get("error"))
        _same(served, key, sql, got["rows"])
        if served["direct"][key]:
            assert got["columns"] == list(served["direct"][key][0]), key


def test_clickhouse_go_is_refused_writes_files_urls_system_tables_and_a_wrong_password(
    served, go_program: Path
) -> None:  # type: ignore[no-untyped-def]
    answers = _go(go_program, served["port"], PASSWORD, list(REFUSED))
    for (sql, code), got in zip(REFUSED.items(), answers, strict=True):
        assert f"code: {code}" in got.get("error", ""), (sql, got)
    (wrong,) = _go(go_program, served["port"], "wrong", ["SELECT 1"])
    assert "516" in wrong["error"] and "Authentication failed" in wrong["error"]
