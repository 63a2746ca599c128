"""Who may open the embedded store and what `wardwatch query` may do with it (issue 11, points 5, 6, 7):
a second process is told which wardwatch holds the store, a stale lock of a killed process is
explained and taken over, a missing store is an error, and the read-only path refuses writing files,
several statements, outside functions and unbounded queries."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("chdb")

from wardwatch.store import NoStore, open_store  # noqa: E402
from wardwatch.store.backend import StoreError  # noqa: E402
from wardwatch.store.lock import StoreBusy  # noqa: E402
from wardwatch.store.query import QueryRefused, read_only  # noqa: E402

from wardwatch.config import parse_config  # noqa: E402

CONFIG = """
data_dir: var
segments:
  - {name: icu, cidrs: [10.20.0.0/24], zone: clinical}
store: {sensor: s1, query: {max_result_rows: 50, max_execution_time: 1s, max_memory_usage: 64M}}
"""

# opens the store, says so, and holds it until killed; with "fork" a child inherits the lock first,
# as the sensor's worker processes do
HOLDER = textwrap.dedent(
    """
    import os, sys, time
    from wardwatch.config import load_config
    from wardwatch.store import open_store
    store = open_store(load_config(sys.argv[1]))
    if len(sys.argv) > 2:
        if os.fork() == 0:
            print("child", os.getpid(), flush=True)
            time.sleep(120)
            os._exit(0)
    print("ready", os.getpid(), flush=True)
    time.sleep(120)
    """
)


def _wardwatch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wardwatch.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(CONFIG)
    open_store(parse_config(CONFIG, p)).close()  # a migrated, empty store
    return p


@pytest.fixture
def holder(config_path: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(config_path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("ready")  # waits for the state, not the clock
    yield proc
    proc.kill()
    proc.wait()


def test_second_process_is_told_who_holds_the_store(config_path: Path, holder: subprocess.Popen[str]) -> None:
    with pytest.raises(StoreBusy) as e:
        open_store(parse_config(CONFIG, config_path))
    msg = str(e.value)
    assert f"wardwatch PID {holder.pid}" in msg and "in use" in msg and f"kill {holder.pid}" in msg
    assert "Cannot lock file" not in msg
    # the command line says the same, in Vietnamese first
    r = _wardwatch("query", "--config", str(config_path), "SELECT 1", cwd=config_path.parent)
    assert r.returncode == 2
    assert "đang được một tiến trình khác dùng" in r.stderr and f"PID {holder.pid}" in r.stderr
    assert "Traceback" not in r.stderr


def test_stale_lock_of_a_killed_process_is_explained_and_taken_over(
    config_path: Path, holder: subprocess.Popen[str], caplog: pytest.LogCaptureFixture
) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    s = open_store(parse_config(CONFIG, config_path))  # the kernel dropped the flock: usable again
    try:
        assert s.rows("SELECT count() AS c FROM dns") == [{"c": 0}]
    finally:
        s.close()
    stale = [r.getMessage() for r in caplog.records if "stale lock" in r.getMessage()]
    assert stale and f"PID {holder.pid}" in stale[0] and "not committed" in stale[0]
    # closed properly this time: nothing stale on the next open
    caplog.clear()
    open_store(parse_config(CONFIG, config_path)).close()
    assert not [r for r in caplog.records if "stale lock" in r.getMessage()]


def test_lock_held_by_leftover_children_of_a_dead_holder(config_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(config_path), "fork"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    lines = [proc.stdout.readline(), proc.stdout.readline()]
    if not any(x.startswith("child") for x in lines):
        proc.kill()
        pytest.fail(f"the holder did not start: {lines} {proc.stderr.read()}")
    child = int(next(x for x in lines if x.startswith("child")).split()[1])
    try:
        proc.kill()
        proc.wait()
        with pytest.raises(StoreBusy) as e:
            open_store(parse_config(CONFIG, config_path))
        msg = str(e.value)
        assert f"PID {proc.pid}" in msg and "has ended" in msg and f"PID {child}" in msg
    finally:
        os.kill(child, signal.SIGKILL)


def test_query_without_a_store_says_so_and_creates_nothing(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG)
    r = _wardwatch("query", "--config", str(cfg), "SELECT count() FROM dns", cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert (
        "không có kho dữ liệu" in r.stderr
        and f"there is no store at {tmp_path / 'var' / 'store'}" in r.stderr
    )
    assert not (tmp_path / "var" / "store").exists()
    with pytest.raises(NoStore):
        open_store(parse_config(CONFIG, cfg), create=False)


@pytest.fixture
def store(config_path: Path) -> Iterator[object]:
    s = open_store(parse_config(CONFIG, config_path), create=False)
    yield s
    s.close()


def test_into_outfile_is_refused_and_writes_nothing(store: object, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("evidence")
    for sql in (
        f"SELECT 1 INTO OUTFILE '{victim}' TRUNCATE",
        f"select 1 /* a comment */ into   outfile '{victim}' APPEND",
        f"SELECT 1 UNION ALL SELECT 2 INTO OUTFILE '{victim}' TRUNCATE",
        f"SHOW TABLES INTO OUTFILE '{victim}' TRUNCATE",
    ):
        with pytest.raises(QueryRefused, match="INTO OUTFILE"):
            list(read_only(store, sql))  # type: ignore[arg-type]
    assert victim.read_text() == "evidence"
    # the words in a string are just text
    assert list(read_only(store, "SELECT 'x INTO OUTFILE y' AS s")) == [b'{"s":"x INTO OUTFILE y"}']  # type: ignore[arg-type]


def test_several_statements_and_outside_functions_are_refused(store: object) -> None:
    with pytest.raises(QueryRefused, match="only one SQL statement"):
        list(read_only(store, "SELECT 1; SELECT 2"))  # type: ignore[arg-type]
    # a ';' inside a comment or a string is not a second statement
    assert list(read_only(store, "SELECT ';' AS s -- ; DROP TABLE dns")) == [b'{"s":";"}']  # type: ignore[arg-type]
    for sql in (
        "SELECT file('/etc/hostname') AS x",  # readonly lets this scalar function read any file
        "SELECT * FROM file('/etc/hostname', 'LineAsString')",
        "SELECT * FROM url('http://127.0.0.1:9/', 'LineAsString')",
        "SELECT * FROM (SELECT FILE('/etc/hostname') AS x)",
        "SELECT * FROM sqlite('/tmp/x.db', 't')",
    ):
        with pytest.raises(QueryRefused, match="is refused"):
            list(read_only(store, sql))  # type: ignore[arg-type]
    with pytest.raises(QueryRefused, match="FORMAT"):
        list(read_only(store, "SELECT 1 FORMAT CSV"))  # type: ignore[arg-type]
    assert list(read_only(store, "SELECT count() AS n FROM numbers(10)")) == [b'{"n":10}']  # type: ignore[arg-type]


def test_limits_from_the_config_bound_every_query(store: object) -> None:
    with pytest.raises(StoreError, match="max_result_rows"):
        list(read_only(store, "SELECT number FROM numbers(51)"))  # type: ignore[arg-type]
    assert len(list(read_only(store, "SELECT number FROM numbers(50)"))) == 50  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="max_execution_time"):
        list(read_only(store, "SELECT sleepEachRow(0.5) FROM numbers(4)"))  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="max_memory_usage"):
        list(read_only(store, "SELECT length(groupArray(number)) FROM numbers(50000000)"))  # type: ignore[arg-type]
    # readonly forbids lifting them from inside the query
    with pytest.raises(StoreError, match="readonly"):
        list(read_only(store, "SELECT number FROM numbers(51) SETTINGS max_result_rows = 0"))  # type: ignore[arg-type]


def test_query_limits_config_is_checked(tmp_path: Path) -> None:
    from wardwatch.store import load_store_settings

    from wardwatch.config import ConfigError

    ok = load_store_settings(
        parse_config("store: {query: {max_execution_time: 5m, max_memory_usage: 1G}}", tmp_path / "c.yaml")
    )
    assert ok.query_limits == {
        "max_execution_time": 300,
        "max_result_rows": 100_000,
        "max_memory_usage": 1 << 30,
        "result_overflow_mode": "throw",
    }
    for bad in ("{max_result_rows: 0}", "{max_execution_time: soon}", "{max_rows: 5}"):
        with pytest.raises(ConfigError, match="store.query"):
            load_store_settings(parse_config(f"store: {{query: {bad}}}", tmp_path / "c.yaml"))


def test_the_consoles_accounts_and_audit_log_are_not_readable(store: object) -> None:
    """`wardwatch query` and the service's /query read the store, but not the console's accounts
    (argon2 hashes, sealed TOTP secrets) nor its audit log, however the table is named."""
    for sql in (
        "SELECT * FROM console_users",
        "SELECT password FROM default.console_users",
        "SELECT * FROM `console_audit`",
        "SELECT count() FROM dns WHERE uid IN (SELECT user FROM console_audit)",
        "SELECT * FROM view(SELECT * FROM console_users)",
        "SELECT * FROM merge(currentDatabase(), '^console_')",
    ):
        with pytest.raises(QueryRefused):
            list(read_only(store, sql))  # type: ignore[arg-type]
    assert list(read_only(store, "SELECT count() AS n FROM alerts")) == [b'{"n":0}']  # type: ignore[arg-type]
