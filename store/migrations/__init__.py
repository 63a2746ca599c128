"""Versioned, idempotent schema migrations.

Each migration is a module ``vNNN_name.py`` with ``VERSION`` and ``steps(retention) -> list[str]``.
Every step is idempotent on its own (``IF NOT EXISTS`` everywhere), so a migration interrupted half
way simply runs again. Applied versions are rows of ``schema_migrations``; running ``migrate`` on an
up-to-date store does nothing, and a store whose version is newer than this code refuses to open.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from types import ModuleType

from ..backend import Backend, StoreError
from ..schema import BY_NAME, SCHEMA_VERSION, VIEWS, Retention, ttl_expr

MIGRATIONS_TABLE = "schema_migrations"
_MODULES = ("v001_records", "v002_site_rollups", "v003_alert_state", "v004_destinations", "v005_console", "v006_source",
            "v007_dns_authority")


class SchemaTooNew(StoreError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    module: ModuleType

    def steps(self, retention: Retention) -> list[str]:
        return list(self.module.steps(retention))


def migrations() -> list[Migration]:
    out = []
    for name in _MODULES:
        mod = importlib.import_module(f"{__name__}.{name}")
        out.append(Migration(int(mod.VERSION), name, mod))
    out.sort(key=lambda m: m.version)
    assert out[-1].version == SCHEMA_VERSION, "schema.SCHEMA_VERSION must equal the last migration"
    return out


def current_version(backend: Backend) -> int:
    backend.execute(
        f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (version UInt32, name String, applied_at DateTime)"
        " ENGINE = ReplacingMergeTree ORDER BY version"
    )
    rows = backend.rows(f"SELECT max(version) AS v, count() AS n FROM {MIGRATIONS_TABLE}")
    return int(rows[0]["v"]) if rows and int(rows[0]["n"]) else 0


def migrate(backend: Backend, retention: Retention | None = None, target: int | None = None) -> list[int]:
    """Bring the store to ``target`` (default: this code's version); returns the versions applied."""
    retention = retention or Retention()
    target = SCHEMA_VERSION if target is None else target
    have = current_version(backend)
    if have > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the store has schema version {have}, newer than this wardwatch knows ({SCHEMA_VERSION});"
            " upgrade wardwatch, or point data_dir/clickhouse at another store"
        )
    applied = []
    for m in migrations():
        if have < m.version <= target:
            for sql in m.steps(retention):
                backend.execute(sql)
            backend.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (version, name, applied_at) VALUES"
                " ({v:UInt32}, {n:String}, {t:DateTime})",
                {"v": m.version, "n": m.name, "t": int(time.time())},
            )
            applied.append(m.version)
    if target == SCHEMA_VERSION:
        sync_retention(backend, retention)
    return applied


def sync_retention(backend: Backend, retention: Retention) -> list[str]:
    """Point each table's TTL at the configured retention; only tables whose TTL differs change."""
    rows = backend.rows(
        "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN {n:Array(String)}",
        {"n": [*BY_NAME, *(v.name for v in VIEWS)]},
    )
    have = {r["name"]: r["engine_full"] for r in rows}
    changed = []
    objs = [(t.name, t.ttl_column, t.retention) for t in BY_NAME.values()]
    objs += [(v.name, v.ttl_column, v.retention) for v in VIEWS]
    for name, column, kind in objs:
        want = ttl_expr(column, retention.of(kind))
        if name in have and f"TTL {want}" not in have[name]:
            # only the TTL expression changes; parts are re-checked at their next merge
            backend.execute(
                f"ALTER TABLE `{name}` MODIFY TTL {want} SETTINGS materialize_ttl_after_modify = 0"
            )
            changed.append(name)
    return changed
