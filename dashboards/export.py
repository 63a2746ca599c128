"""``wardwatch dashboards export``: the boards' JSON (one set per language) and the provisioning
files, written into one folder a hospital hands to its Grafana:

    OUT/dashboards/vi/*.json, OUT/dashboards/en/*.json
    OUT/provisioning/datasources/wardwatch.yaml
    OUT/provisioning/dashboards/wardwatch.yaml
    OUT/clickhouse/grafana-reader.sql              (server mode: the read-only role and user)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from wardwatch import i18n

from . import provisioning
from .build import boards
from .spec import LANGS, Context
from .sql import SegmentRange


@dataclass(frozen=True)
class Exported:
    out: Path
    files: tuple[Path, ...]
    boards: int
    langs: tuple[str, ...]


def dashboard_json(dashboard: Any) -> dict[str, Any]:
    """The SDK's model as plain JSON (what Grafana stores and ``Dashboard.from_json`` reads)."""
    return json.loads(json.dumps(dashboard, cls=JSONEncoder))


def folder_title(lang: str) -> str:
    vi, en = i18n.text("dashboards.folder")
    return vi if lang == "vi" else en


def render(langs: tuple[str, ...], segments: tuple[SegmentRange, ...]) -> dict[str, list[dict[str, Any]]]:
    """Every board of each language as JSON."""
    return {lang: [dashboard_json(d) for _b, d in boards(Context(lang, segments))] for lang in langs}


def export(
    out: Path,
    langs: tuple[str, ...] = LANGS,
    segments: tuple[SegmentRange, ...] = (),
    target: provisioning.Target | None = None,
) -> Exported:
    target = target or provisioning.Target("embedded")
    written: list[Path] = []

    def write(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)

    count = 0
    for lang, docs in render(langs, segments).items():
        for doc in docs:
            name = doc["uid"].removeprefix("ww-").removesuffix(f"-{lang}")
            write(
                out / "dashboards" / lang / f"{name}.json",
                json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
            )
            count += 1
    prov = out / "provisioning"
    write(prov / "datasources" / "wardwatch.yaml", provisioning.dump(provisioning.datasource(target)))
    folders = {lang: folder_title(lang) for lang in langs}
    write(
        prov / "dashboards" / "wardwatch.yaml",
        provisioning.dump(provisioning.dashboard_providers(out / "dashboards", langs, folders)),
    )
    write(out / "clickhouse" / "grafana-reader.sql", provisioning.reader_sql(target))
    return Exported(out, tuple(written), count, langs)
