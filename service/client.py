"""The other side of the service's API: how ``wardwatch query`` and ``hunt`` reach a running
``wardwatch serve`` that holds the embedded store, instead of failing on its lock.

    holder = running(config)            # None: nobody serves this store; open it directly
    for line in query(holder, sql, params): ...
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from wardwatch.store import StoreError, load_store_settings
from wardwatch.store.lock import Holder, serving

from wardwatch.config import Config

TIMEOUT = 600.0  # a hunt over months of records takes minutes; queries stop at their own limit


class ServiceError(StoreError):
    """The running service refused the work or could not be reached."""


def running(config: Config) -> Holder | None:
    """The ``wardwatch serve`` that holds this config's embedded store, if one is running."""
    settings = load_store_settings(config)
    if settings.backend != "chdb" or settings.chdb_path is None:
        return None  # a ClickHouse server takes any number of clients itself
    return serving(settings.chdb_path)


def call(holder: Holder, path: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(
        holder.api.rstrip("/") + path,
        data=orjson.dumps(body),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {holder.token}"},
    )
    try:
        return urllib.request.urlopen(req, timeout=TIMEOUT)  # noqa: S310 - our own loopback address
    except urllib.error.HTTPError as e:
        try:
            message = orjson.loads(e.read()).get("error", "")
        except (orjson.JSONDecodeError, AttributeError, OSError):
            message = ""
        raise ServiceError(message or f"{holder.api}{path}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise ServiceError(
            f"không liên lạc được với dịch vụ wardwatch {holder.describe()} tại {holder.api}"
            f" · cannot reach the running wardwatch service {holder.describe()} at {holder.api}: {reason}"
        ) from None


def query(holder: Holder, sql: str, params: dict[str, str]) -> Iterator[bytes]:
    """The rows of a read-only query run by the service, one JSON line each."""
    with call(holder, "/query", {"sql": sql, "params": params}) as resp:
        for line in resp:
            line = line.rstrip(b"\n")
            if line:
                yield line


def hunt(holder: Holder, since: float, until: float, dry_run: bool) -> dict[str, Any]:
    with call(holder, "/hunt", {"since": since, "until": until, "dry_run": dry_run}) as resp:
        return orjson.loads(resp.read())


def rows_through(holder: Holder) -> Callable[[str, dict[str, Any]], list[dict[str, Any]]]:
    """``store.rows`` as the running service answers it (``/query``): for readers such as the
    report while ``serve`` holds the embedded store."""

    def rows(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in query(holder, sql, {k: str(v) for k, v in params.items()})]

    return rows
