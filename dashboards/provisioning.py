"""Grafana's provisioning files and the server's read-only role, for the two ways Grafana reaches
the store:

- **embedded** (chdb inside ``wardwatch serve``): the data source is the service's ClickHouse-
  compatible endpoint (``http.clickhouse``), ``protocol: http``;
- **server** (a ClickHouse server): the data source is the server itself, with a user whose only
  role grants SELECT on our tables (``clickhouse/grafana-reader.sql``).

Passwords never go into these files: Grafana expands ``$WARDWATCH_GRAFANA_PASSWORD`` from its own
environment when it reads them (Grafana's provisioning supports ``$ENV`` values).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from wardwatch.store.schema import TABLES, VIEWS

from .spec import DATASOURCE_TYPE, DATASOURCE_UID

PASSWORD_ENV = "WARDWATCH_GRAFANA_PASSWORD"
ROLE = "wardwatch_grafana_reader"
READ_TABLES = tuple(t.name for t in TABLES) + ("alert_events",) + tuple(v.name for v in VIEWS)


@dataclass(frozen=True)
class Target:
    """Where Grafana finds the store."""

    mode: str  # embedded | server
    host: str = "127.0.0.1"
    port: int = 8123
    user: str = "grafana"
    database: str = "default"
    secure: bool = False


def target_of(store_backend: str, store_url: str, endpoint: tuple[str, int, str] | None) -> Target:
    """The target from the config: the endpoint's address and user, or the server's host."""
    if store_backend != "server":
        host, port, user = endpoint or ("127.0.0.1", 8123, "grafana")
        return Target("embedded", host, port, user)
    u = urlsplit(store_url)
    secure = u.scheme in ("clickhouses", "https")
    database = u.path.strip("/") or "default"
    return Target("server", u.hostname or "127.0.0.1", 9440 if secure else 9000, "grafana", database, secure)


def datasource(t: Target) -> dict[str, object]:
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "wardwatch",
                "uid": DATASOURCE_UID,
                "type": DATASOURCE_TYPE,
                "access": "proxy",
                "isDefault": True,
                "editable": False,
                "jsonData": {
                    "host": t.host,
                    "port": t.port,
                    "protocol": "http" if t.mode == "embedded" else "native",
                    "secure": t.secure,
                    "username": t.user,
                    "defaultDatabase": t.database,
                },
                "secureJsonData": {"password": f"${PASSWORD_ENV}"},
            }
        ],
    }


def dashboard_providers(folder: Path, langs: tuple[str, ...], folders: dict[str, str]) -> dict[str, object]:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": f"wardwatch-{lang}",
                "folder": folders[lang],
                "folderUid": f"wardwatch-{lang}",
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": str((folder / lang).resolve())},
            }
            for lang in langs
        ],
    }


def reader_sql(t: Target) -> str:
    """The server's read-only role and user for Grafana (run once as an admin)."""
    db = t.database
    grants = "\n".join(f"GRANT SELECT ON `{db}`.`{name}` TO {ROLE};" for name in READ_TABLES)
    return (
        "-- wardwatch: a read-only ClickHouse user for Grafana (run once, as an administrator:\n"
        "--   clickhouse-client --multiquery --param_password=… < grafana-reader.sql)\n"
        f"CREATE ROLE IF NOT EXISTS {ROLE};\n{grants}\n"
        f"CREATE SETTINGS PROFILE IF NOT EXISTS wardwatch_grafana_limits SETTINGS readonly = 1,"
        " max_execution_time = 60, max_result_rows = 100000, result_overflow_mode = 'throw'"
        f" TO {ROLE};\n"
        f"CREATE USER IF NOT EXISTS {t.user} IDENTIFIED WITH sha256_password BY {{password:String}}"
        f" DEFAULT ROLE {ROLE} DEFAULT DATABASE `{db}`;\n"
        f"GRANT {ROLE} TO {t.user};\n"
    )


def dump(doc: object) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
