"""The embedded ClickHouse endpoint's settings and its one Native re-framing (the rest is tested
with real clients in tests/integration/test_clickhouse_endpoint.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from wardwatch.service.clickhouse_native import at_revision, hello_sql, is_hello
from wardwatch.service.clickhouse_settings import ClickhouseSection, endpoint_settings
from wardwatch.service.clickhouse_sql import ClickhouseError, rewrite_schema_statement


def _error(key: str, msg: str) -> ValueError:
    return ValueError(f"{key}: {msg}")


def test_loopback_by_default_and_a_password_is_required(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="password"):
        endpoint_settings(ClickhouseSection(), _error)
    s = endpoint_settings(ClickhouseSection(password="p"), _error)
    assert (s.host, s.port, s.user) == ("127.0.0.1", 8123, "grafana")
    (tmp_path / "pw").write_text("from-file\n")
    assert endpoint_settings(ClickhouseSection(password_file=tmp_path / "pw"), _error).password == "from-file"
    with pytest.raises(ValueError, match="listen"):
        endpoint_settings(ClickhouseSection(listen="0.0.0.0", password="p"), _error)


def test_the_hello_answers_revision_zero_and_is_reframed_for_the_clients_revision() -> None:
    sql = "SELECT\n    displayName(),\n    version(),\n    revision(),\n    timezone()"
    assert is_hello(sql) and not is_hello("SELECT version()")
    assert "revision()" not in hello_sql(sql)
    # one block, one String column "a" = ["x"], one UInt32 column "b" = [7], as chdb writes it
    native = b"\x02\x01" + b"\x01a\x06String" + b"\x01x" + b"\x01b\x06UInt32" + (7).to_bytes(4, "little")
    framed = at_revision(native, 54460)
    info = b"\x01\x00\x02\xff\xff\xff\xff\x00"
    assert framed == info + b"\x02\x01" + b"\x01a\x06String\x00" + b"\x01x" + b"\x01b\x06UInt32\x00" + (
        7
    ).to_bytes(4, "little")
    assert at_revision(native, 0) == native
    with pytest.raises(ValueError):
        at_revision(b"\x01\x01\x01c\x05Array", 54460)


def test_the_plugins_schema_statements_become_selects() -> None:
    assert rewrite_schema_statement("SHOW DATABASES").startswith("SELECT name FROM system.databases")
    assert rewrite_schema_statement('SHOW TABLES FROM "default"').startswith("SELECT name FROM system.tables")
    described = rewrite_schema_statement('DESC TABLE "default"."alerts"\n FORMAT Native')
    assert "table = 'alerts'" in described and described.endswith("FORMAT Native")
    with pytest.raises(ClickhouseError) as e:
        rewrite_schema_statement("SHOW TABLES FROM system")
    assert e.value.code == 81 and e.value.status == 404
    assert "Code: 81. DB::Exception:" in e.value.text("26.9")
