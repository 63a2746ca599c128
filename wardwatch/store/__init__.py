"""The ClickHouse store: schema, migrations, the two backends (embedded chdb, a server through
clickhouse-driver), the batched writer and the queries.

    store = open_store(config)            # migrated, ready
    writer = store.writer(counters)
    writer.add_records(records); writer.add_alerts(alerts); writer.flush()
    store.rows("SELECT … {since:DateTime}", {"since": …})
    store.close()
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wardwatch.config import Config
from wardwatch.counters import Counters

from .backend import Backend, Batch, StoreError
from .migrations import SchemaTooNew, migrate
from .schema import SCHEMA_VERSION, TABLES, VIEWS
from .settings import StoreSettings, load_store_settings
from .writer import Writer

__all__ = [
    "SCHEMA_VERSION",
    "TABLES",
    "VIEWS",
    "Backend",
    "Batch",
    "SchemaTooNew",
    "Store",
    "StoreError",
    "StoreSettings",
    "Writer",
    "load_store_settings",
    "migrate",
    "open_backend",
    "open_store",
    "segment_lookup",
]


def open_backend(settings: StoreSettings) -> Backend:
    if settings.backend == "server":
        from .server_backend import ServerBackend

        return ServerBackend(settings.url, settings.options)
    from .chdb_backend import ChdbBackend

    assert settings.chdb_path is not None
    return ChdbBackend(settings.chdb_path)


def segment_lookup(config: Config) -> tuple[Callable[[str], str], Callable[[str], bool]]:
    """(address → segment name, address → internal?) from the config's segments; an address outside
    every segment is ``internet`` or ``local`` (private, link-local…), as the detectors say."""
    from wardwatch.detectors.segments import SegmentMap, criticality_level

    smap = SegmentMap(
        (s.name, s.cidrs, s.zone, criticality_level(s.criticality) or 2) for s in config.segments
    )
    names: dict[str, str] = {}

    def segment_of(ip: str) -> str:
        hit = names.get(ip)
        if hit is None:
            if len(names) > 500_000:
                names.clear()
            info = smap.info(ip)
            hit = names[ip] = info.segment.name if info.segment is not None else info.zone
        return hit

    def internal(ip: str) -> bool:
        return not smap.info(ip).external

    return segment_of, internal


class Store:
    def __init__(self, backend: Backend, settings: StoreSettings, config: Config | None = None) -> None:
        self.backend = backend
        self.settings = settings
        self.config = config

    def migrate(self) -> list[int]:
        return migrate(self.backend, self.settings.retention)

    def writer(self, counters: Counters | None = None, dedup: bool = True, background: bool = False) -> Writer:
        if self.config is not None:
            segment_of, internal = segment_lookup(self.config)
        else:
            segment_of, internal = (lambda ip: "local"), (lambda ip: True)
        pseudo = None
        if self.settings.pseudonymise and self.settings.key_file is not None:
            from .pseudonym import Pseudonymiser, load_key

            pseudo = Pseudonymiser(load_key(self.settings.key_file), internal)
        return Writer(
            self.backend,
            segment_of,
            sensor=self.settings.sensor,
            site=self.settings.site,
            pseudonymise=pseudo,
            counters=counters,
            batch_rows=self.settings.batch_rows,
            dedup=dedup,
            background=background,
        )

    def rows(
        self, sql: str, params: dict[str, Any] | None = None, readonly: bool = False
    ) -> list[dict[str, Any]]:
        return self.backend.rows(sql, params, readonly=readonly)

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(config: Config, migrate_schema: bool = True) -> Store:
    """Open the configured store and bring its schema up to date (refusing a newer one)."""
    settings = load_store_settings(config)
    backend = open_backend(settings)
    store = Store(backend, settings, config)
    if migrate_schema:
        try:
            store.migrate()
        except BaseException:
            backend.close()
            raise
    return store
