"""The ``store:`` config section and the backend choice.

    store:
      sensor: sensor-1          # default: this host's name
      site: bv-cho-ray          # default: "" (one hospital)
      retention: {raw: 30d, rollups: 400d, alerts: 2y}   # days; d, w or y suffixes
      pseudonymise: false       # true, or {key_file: PATH}: keyed pseudonyms for internal client IPs
      batch_rows: 100000        # rows per insert per table
      query: {max_execution_time: 60s, max_result_rows: 100000, max_memory_usage: 2G}  # `wardwatch query`
      flush_seconds: 5          # `run` also inserts whatever is pending this often (a kill loses less)

The backend: ``clickhouse: {url: …}`` picks it; ``chdb:PATH`` (relative to the config) or no
``clickhouse`` section at all is the embedded store at ``data_dir/store``::

    clickhouse:
      url: clickhouse://host:9000/db    # clickhouses:// or secure: true for TLS
      user: wardwatch
      password_file: /etc/wardwatch/clickhouse.pass   # or password_env: VAR (or password, inline)
      secure: false
      verify: true                      # check the server's certificate
      connect_timeout: 10s
      timeout: 300s                     # per query

Both sections are declared to the ground's config reader (``StoreSection``, ``ClickHouseSection``),
which checks their keys and types; this module turns them into ``StoreSettings``.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wardwatch.config import Config, declare_section, parse_duration, setting

from .limits import load_query_limits
from .schema import RETENTION_DEFAULTS, Retention


@dataclass(frozen=True)
class StoreSection:
    sensor: str | None = None
    site: str | None = None
    retention: dict[str, Any] = setting(default_factory=dict, keys=tuple(RETENTION_DEFAULTS), item="raw")
    pseudonymise: Any = setting(False, kind="raw")  # true, false or {key_file: PATH}
    batch_rows: int = setting(100_000, lo=1, hi=10_000_000)
    flush_seconds: float = setting(5.0, kind="duration", lo=0.001, hi=3600)
    query: Any = setting(None, kind="raw")  # limits.py reads it


@dataclass(frozen=True)
class ClickHouseSection:
    url: str
    database: str | None = None
    user: str | None = None
    password: str | None = None
    password_env: str | None = None
    password_file: str | None = setting(None, kind="path")
    secure: bool = False
    verify: bool = True
    connect_timeout: float = setting(10.0, kind="duration")
    timeout: float = setting(300.0, kind="duration")


@dataclass(frozen=True)
class StoreSettings:
    sensor: str
    site: str = ""
    retention: Retention = field(default_factory=Retention)
    pseudonymise: bool = False
    key_file: Path | None = None
    batch_rows: int = 100_000
    flush_seconds: float = 5.0
    backend: str = "chdb"  # chdb | server
    chdb_path: Path | None = None
    url: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    query_limits: dict[str, Any] = field(default_factory=dict)  # limits.py: settings of read-only queries


def _days(config: Config, kind: str, v: Any) -> int:
    """Retention in whole days: a plain number is days; ``52w`` and ``2y`` are counted in days too."""
    kp = ("store", "retention", kind)
    seconds = None if isinstance(v, (bool, float)) else parse_duration(v if isinstance(v, str) else f"{v}d")
    if seconds is None or seconds < 86400 or seconds % 86400:
        raise config.error(kp, f"expected a number of days such as 30d, 52w or 2y, got {v!r}")
    return int(seconds // 86400)


def load_store_settings(config: Config) -> StoreSettings:
    sec: StoreSection = config.section("store", StoreSection)
    days = dict(RETENTION_DEFAULTS)
    for k, v in sec.retention.items():
        days[k] = _days(config, k, v)
    pseudo = sec.pseudonymise
    key_file = None
    if isinstance(pseudo, dict):
        config.reader().unknown(pseudo, ("store", "pseudonymise"), ("key_file",))
        key_file = Path(str(pseudo.get("key_file", "pseudonym.key")))
        pseudo = True
    elif not isinstance(pseudo, bool):
        raise config.error(
            ("store", "pseudonymise"), f"expected true, false or {{key_file: PATH}}, got {pseudo!r}"
        )
    base = config.path.parent
    if pseudo:
        key_file = key_file or Path("pseudonym.key")
        key_file = key_file if key_file.is_absolute() else (config.data_dir / key_file)
    batch = sec.batch_rows
    every = sec.flush_seconds
    kw: dict[str, Any] = {}
    ch = config.clickhouse
    if ch is None or ch.url.startswith("chdb:"):
        rel = ch.url[5:] if ch is not None else ""
        path = Path(rel).expanduser() if rel else config.data_dir / "store"
        kw["chdb_path"] = path if path.is_absolute() else (base / path).resolve()
    else:
        kw.update(backend="server", url=ch.url, options=_server_options(config))
    return StoreSettings(
        sensor=sec.sensor or socket.gethostname(),
        site=sec.site or "",
        retention=Retention(days),
        pseudonymise=bool(pseudo),
        key_file=key_file,
        batch_rows=batch,
        query_limits=load_query_limits(config, sec.query),
        flush_seconds=float(every),
        **kw,
    )


def _server_options(config: Config) -> dict[str, Any]:
    """The ``clickhouse:`` keys the operator set (checked), with the password read from its source."""
    assert config.clickhouse is not None
    sec: ClickHouseSection = config.section("clickhouse", ClickHouseSection)
    given = config.clickhouse.options
    out = {k: getattr(sec, k) for k in given if k not in ("password_env", "password_file")}
    if sum(k in given for k in ("password", "password_env", "password_file")) > 1:
        raise config.error(("clickhouse",), "give only one of password, password_env and password_file")
    if sec.password_env:
        if sec.password_env not in os.environ:
            raise config.error(
                ("clickhouse", "password_env"), f"environment variable {sec.password_env} is not set"
            )
        out["password"] = os.environ[sec.password_env]
    elif sec.password_file:
        try:
            out["password"] = Path(sec.password_file).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as e:
            raise config.error(
                ("clickhouse", "password_file"), f"cannot read {sec.password_file}: {e.strerror or e}"
            ) from None
    return out


def _check_clickhouse(config: Config) -> None:
    if config.clickhouse is not None and not config.clickhouse.url.startswith("chdb:"):
        _server_options(config)


declare_section("store", StoreSection, load_store_settings)
declare_section("clickhouse", ClickHouseSection, _check_clickhouse)
