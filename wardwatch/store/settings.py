"""The ``store:`` config section and the backend choice.

    store:
      sensor: sensor-1          # default: this host's name
      site: bv-cho-ray          # default: "" (one hospital)
      retention: {raw: 30d, rollups: 400d, alerts: 2y}   # days; d, w or y suffixes
      pseudonymise: false       # true, or {key_file: PATH}: keyed pseudonyms for internal client IPs
      batch_rows: 100000        # rows per insert per table

The backend: ``clickhouse: {url: …}`` picks it; ``chdb:PATH`` (relative to the config) or no
``clickhouse`` section at all is the embedded store at ``data_dir/store``.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wardwatch.config import Config

from .schema import RETENTION_DEFAULTS, Retention

_DAYS_RE = re.compile(r"(\d+)\s*([dwy]?)")
_UNIT = {"": 1, "d": 1, "w": 7, "y": 365}


@dataclass(frozen=True)
class StoreSettings:
    sensor: str
    site: str = ""
    retention: Retention = field(default_factory=Retention)
    pseudonymise: bool = False
    key_file: Path | None = None
    batch_rows: int = 100_000
    backend: str = "chdb"  # chdb | server
    chdb_path: Path | None = None
    url: str = ""
    options: dict[str, Any] = field(default_factory=dict)


def load_store_settings(config: Config) -> StoreSettings:
    raw = config.extra.get("store") or {}
    if not isinstance(raw, dict):
        raise config.error(("store",), "expected a mapping")
    known = ("sensor", "site", "retention", "pseudonymise", "batch_rows")
    for k in raw:
        if k not in known:
            raise config.error(("store", k), f"unknown key (expected one of {', '.join(known)})")
    days = dict(RETENTION_DEFAULTS)
    ret = raw.get("retention") or {}
    if not isinstance(ret, dict):
        raise config.error(("store", "retention"), "expected a mapping such as {raw: 30d}")
    for k, v in ret.items():
        if k not in days:
            raise config.error(
                ("store", "retention", k), f"unknown retention (expected one of {', '.join(days)})"
            )
        m = _DAYS_RE.fullmatch(str(v).strip().lower())
        if m is None or isinstance(v, bool) or int(m.group(1)) < 1:
            raise config.error(
                ("store", "retention", k), f"expected a number of days such as 30d, 52w or 2y, got {v!r}"
            )
        days[k] = int(m.group(1)) * _UNIT[m.group(2)]
    pseudo = raw.get("pseudonymise", False)
    key_file = None
    if isinstance(pseudo, dict):
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
    batch = raw.get("batch_rows", 100_000)
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 10_000_000:
        raise config.error(("store", "batch_rows"), f"expected an integer from 1 to 10000000, got {batch!r}")
    kw: dict[str, Any] = {}
    ch = config.clickhouse
    if ch is None or ch.url.startswith("chdb:"):
        rel = ch.url[5:] if ch is not None else ""
        path = Path(rel).expanduser() if rel else config.data_dir / "store"
        kw["chdb_path"] = path if path.is_absolute() else (base / path).resolve()
    else:
        kw.update(backend="server", url=ch.url, options=dict(ch.options))
    return StoreSettings(
        sensor=str(raw.get("sensor") or socket.gethostname()),
        site=str(raw.get("site") or ""),
        retention=Retention(days),
        pseudonymise=bool(pseudo),
        key_file=key_file,
        batch_rows=batch,
        **kw,
    )
