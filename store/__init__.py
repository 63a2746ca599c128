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
from wardwatch.files import private_dir

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
    "NoStore",
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

        server = ServerBackend(settings.url, settings.options)
        server.query_limits = dict(settings.query_limits)
        return server
    from .chdb_backend import ChdbBackend

    assert settings.chdb_path is not None
    return ChdbBackend(settings.chdb_path, query_limits=settings.query_limits)


def segment_lookup(config: Config) -> tuple[Callable[[str], str], Callable[[str], bool]]:
    """(address → segment name, address → internal?) from the config's segments; an address outside
    every segment is ``internet`` or ``local`` (private, link-local…), as the detectors say."""
    from wardwatch.segments import SegmentMap, criticality_level

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
        kw: dict[str, Any] = dict(
            sensor=self.settings.sensor,
            site=self.settings.site,
            counters=counters,
            batch_rows=self.settings.batch_rows,
            dedup=dedup,
            background=background,
        )
        if self.settings.pseudonymise and self.settings.key_file is not None:
            from .privacy import PseudonymisingWriter
            from .pseudonym import Pseudonymiser, load_key

            # every internal address, in every column and text, not only the client's
            pseudo = Pseudonymiser(load_key(self.settings.key_file), internal)
            return PseudonymisingWriter(self.backend, segment_of, pseudonymise=pseudo, **kw)
        return Writer(self.backend, segment_of, **kw)

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


class NoStore(StoreError):
    """``open_store(create=False)`` on a path where no store was ever created."""


def open_store(config: Config, migrate_schema: bool = True, create: bool = True) -> Store:
    """Open the configured store and bring its schema up to date (refusing a newer one).

    ``create=False`` (readers such as ``wardwatch query``) refuses a path that holds no embedded
    store, instead of creating an empty one there and answering from it."""
    settings = load_store_settings(config)
    path = settings.chdb_path
    if settings.backend == "chdb" and path is not None:
        if not create and not (path / "metadata").is_dir():
            raise NoStore(
                f"không có kho dữ liệu tại {path} · there is no store at {path}: nothing was stored with"
                " this config yet (`wardwatch run --pcap … --config …`), or data_dir / clickhouse.url"
                " points elsewhere"
            )
        if path.parent == config.data_dir:
            private_dir(config.data_dir)  # keys, feeds and state live beside the store: owner-only
    backend = open_backend(settings)
    store = Store(backend, settings, config)
    if migrate_schema:
        try:
            store.migrate()
        except BaseException:
            backend.close()
            raise
    return store
