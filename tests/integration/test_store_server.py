"""The server backend's wire path (clickhouse-driver) against a real ``clickhouse-server`` process.

Debian's package is ClickHouse 18.16 (2018): no LowCardinality, DateTime64, IPv6 types or TTL, so
the store's schema cannot be created there. This test uses a table of types 18.16 has to check what
is ours on this path: columnar inserts, typed parameter binding, reading rows back, and reconnecting
after the server restarts. The schema itself is tested on chdb (test_store_chdb.py).
Needs: ``apt-get install clickhouse-server`` (skipped when absent).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("clickhouse_driver")

from wardwatch.store.backend import Batch, StoreError  # noqa: E402
from wardwatch.store.server_backend import ServerBackend  # noqa: E402

SERVER = shutil.which("clickhouse-server") or (
    "/usr/sbin/clickhouse-server" if Path("/usr/sbin/clickhouse-server").exists() else None
)

CONFIG = """<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/error.log</errorlog><console>0</console></logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>{tcp}</tcp_port>
    <http_port>{http}</http_port>
    <path>{d}/data/</path>
    <tmp_path>{d}/tmp/</tmp_path>
    <user_files_path>{d}/user_files/</user_files_path>
    <format_schema_path>{d}/format_schemas/</format_schema_path>
    <users_config>{d}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>5368709</mark_cache_size>
    <max_concurrent_queries>20</max_concurrent_queries>
</yandex>
"""
USERS = """<?xml version="1.0"?>
<yandex>
    <profiles><default/></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
    <quotas><default/></quotas>
</yandex>
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, d: Path) -> None:
        self.dir = d
        self.tcp = _free_port()
        (d / "config.xml").write_text(CONFIG.format(d=d, tcp=self.tcp, http=_free_port()))
        (d / "users.xml").write_text(USERS)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert SERVER is not None
        self.proc = subprocess.Popen(
            [SERVER, f"--config-file={self.dir / 'config.xml'}"], cwd=self.dir,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.tcp), timeout=0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    pytest.skip(
                        f"clickhouse-server exited: {(self.dir / 'error.log').read_text()[-500:] if (self.dir / 'error.log').exists() else ''}"
                    )
                time.sleep(0.1)
        pytest.skip("clickhouse-server did not start in 30 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    if SERVER is None:
        pytest.skip("clickhouse-server not installed (apt-get install clickhouse-server)")
    s = Server(tmp_path)
    s.start()
    yield s
    s.stop()


def test_insert_select_reconnect(server: Server) -> None:
    be = ServerBackend(f"clickhouse://127.0.0.1:{server.tcp}/default")
    be.execute(
        "CREATE TABLE IF NOT EXISTS dns_compat (ts DateTime, uid String, segment String, query String,"
        " answers Array(String), rcode Nullable(UInt8)) ENGINE = ReplacingMergeTree ORDER BY (segment, ts, uid)"
    )
    ts = np.array([1767254400, 1767254401, 1767254402], dtype=np.int64)
    be.insert(Batch(
        "dns_compat",
        {"ts": [int(x) for x in ts], "uid": ["C1", "C2", "C3"], "segment": ["icu", "icu", "office"],
         "query": ["a.example", "it's.example", "b.example"], "answers": [["1.2.3.4"], [], []], "rcode": [0, None, 3]},
        {"ts": "DateTime", "uid": "String", "segment": "String", "query": "String", "answers": "Array(String)",
         "rcode": "Nullable(UInt8)"},
        3,
    ))  # fmt: skip
    rows = be.rows(
        "SELECT uid, query, answers, rcode FROM dns_compat WHERE segment = {s:String} AND query IN {q:Array(String)} ORDER BY uid",
        {"s": "icu", "q": ["it's.example", "a.example"]},
    )
    assert rows == [
        {"uid": "C1", "query": "a.example", "answers": ["1.2.3.4"], "rcode": 0},
        {"uid": "C2", "query": "it's.example", "answers": [], "rcode": None},
    ]
    # an injection attempt stays a value
    assert be.rows("SELECT count() AS c FROM dns_compat WHERE query = {q:String}", {"q": "x' OR 1=1 --"}) == [
        {"c": 0}
    ]

    server.stop()
    with pytest.raises(StoreError, match="unreachable"):
        be.rows("SELECT 1 AS x")
    server.start()
    assert be.rows("SELECT count() AS c FROM dns_compat") == [{"c": 3}]  # the same client reconnects
    be.set_readonly()
    with pytest.raises(StoreError):
        be.rows("DROP TABLE dns_compat")
    be.close()
