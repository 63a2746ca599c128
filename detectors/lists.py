"""The data files in ``detectors/data/``: apps, their domains, ports and address ranges, public DNS
resolvers and the directives. Every app entry must name its source; loading refuses one that does not.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from wardwatch.threatfeeds.index import nearest_listed

from wardwatch.errors import UsageError


class ListError(UsageError, ValueError):
    """A broken data file (ours or one the config points at)."""


@dataclass(frozen=True, slots=True)
class App:
    name: str
    source: str
    domains: tuple[str, ...] = ()
    ports: tuple[tuple[int, str], ...] = ()  # (port, "tcp"|"udp")
    cidrs: tuple[str, ...] = ()


class SuffixTable:
    """Names matched exactly or with any subdomain: ``a.b.zalo.me`` hits ``zalo.me``.

    The same scheme as the feed index (``nearest_listed``).
    """

    def __init__(self, entries: dict[str, Any] | None = None, exact: dict[str, Any] | None = None) -> None:
        self.suffix: dict[str, Any] = dict(entries or {})
        self.exact: dict[str, Any] = dict(exact or {})
        self._cache: dict[str, tuple[str, Any] | None] = {}

    def __len__(self) -> int:
        return len(self.suffix) + len(self.exact)

    def lookup(self, name: str) -> tuple[str, Any] | None:
        """(listed name, payload) for a lower-case name without trailing dot, or None."""
        cache = self._cache
        if name in cache:
            return cache[name]
        if len(cache) > 100_000:
            cache.clear()
        hit = cache[name] = self._probe(name)
        return hit

    def _probe(self, name: str) -> tuple[str, Any] | None:
        v = self.exact.get(name)
        if v is not None:
            return name, v
        return nearest_listed(name, self.suffix.get)


def read_data(name: str) -> Any:
    """A YAML file of ``detectors/data``, parsed."""
    text = resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _apps(name: str) -> tuple[App, ...]:
    raw = read_data(name)
    out = []
    for i, a in enumerate(raw.get("apps") or []):
        where = f"{name}: apps[{i}]"
        if not isinstance(a, dict) or not a.get("name"):
            raise ListError(f"{where}: needs a name")
        if not str(a.get("source") or "").strip():
            raise ListError(f"{where} ({a['name']}): needs a source")
        ports = []
        for p in a.get("ports") or []:
            if (
                not isinstance(p, dict)
                or p.get("proto") not in ("tcp", "udp")
                or not isinstance(p.get("port"), int)
            ):
                raise ListError(f"{where}: bad port entry {p!r} (expected {{port: N, proto: tcp|udp}})")
            ports.append((int(p["port"]), str(p["proto"])))
        cidrs = []
        for c in a.get("cidrs") or []:
            try:
                cidrs.append(str(ipaddress.ip_network(str(c), strict=False)))
            except ValueError as e:
                raise ListError(f"{where}: bad CIDR {c!r}: {e}") from None
        out.append(
            App(
                name=str(a["name"]),
                source=str(a["source"]),
                domains=tuple(str(d).lower().rstrip(".") for d in a.get("domains") or []),
                ports=tuple(ports),
                cidrs=tuple(cidrs),
            )
        )
    return tuple(out)


@lru_cache(maxsize=1)
def remote_access_apps() -> tuple[App, ...]:
    return _apps("remote_access.yaml")


@lru_cache(maxsize=1)
def ott_apps() -> tuple[App, ...]:
    return _apps("ott.yaml")


@lru_cache(maxsize=1)
def doh_names() -> tuple[tuple[str, str], ...]:
    """(name, source) of the DoH/DoT resolver names we ship."""
    raw = read_data("dns_resolvers.yaml")
    out = []
    for i, e in enumerate(raw.get("doh") or []):
        if not isinstance(e, dict) or not e.get("name") or not str(e.get("source") or "").strip():
            raise ListError(f"dns_resolvers.yaml: doh[{i}]: needs a name and a source")
        out.append((str(e["name"]).lower().rstrip("."), str(e["source"])))
    return tuple(out)


@lru_cache(maxsize=1)
def domain_table(apps: tuple[App, ...]) -> SuffixTable:
    return SuffixTable({d: app for app in apps for d in app.domains})


def port_table(apps: tuple[App, ...]) -> dict[tuple[int, str], App]:
    return {p: app for app in apps for p in app.ports}


def read_name_list(path: Path) -> list[str]:
    """Host names from a MISP warning list (JSON with ``list``) or a text file (one a line, ``#``
    comments). Raises ``ListError`` with the reason."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ListError(f"cannot read {path}: {e.strerror or e}") from None
    text = data.decode("utf-8", "replace")
    if text.lstrip().startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError as e:
            raise ListError(f"{path}: not valid JSON: {e}") from None
        items = obj.get("list") if isinstance(obj, dict) else None
        if not isinstance(items, list):
            raise ListError(f"{path}: a MISP warning list needs a 'list' array")
        names = [str(x) for x in items]
    else:
        names = [ln.split("#", 1)[0] for ln in text.splitlines()]
    return [n.strip().lower().rstrip(".") for n in names if n.strip() and "/" not in n]
