"""One report: read the store over a period and the week before, derive, render."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wardwatch.config import Config
from wardwatch.files import private_dir

from . import charts, content, data, render
from .period import Period
from .settings import report_settings


@dataclass
class Report:
    period: Period
    lang: str
    model: dict[str, Any]
    html: str
    _pdf: bytes | None = field(default=None, repr=False)

    def pdf(self) -> bytes:
        if self._pdf is None:
            self._pdf = render.pdf(self.html)
        return self._pdf

    @property
    def risk(self) -> str:
        return str(self.model["risk"]["label"])


def feed_metas(config: Config) -> dict[str, dict[str, Any]]:
    """Each enabled feed's snapshot facts (when fetched, entries), for freshness and provenance."""
    from wardwatch.threatfeeds import FeedStore

    store = FeedStore(config.data_dir)
    return {f.name: store.meta(f.name) for f in config.all_feeds if f.enabled}


def build_report(
    rows: data.Rows, config: Config, period: Period, lang: str | None = None, now: float | None = None
) -> Report:
    """``rows``: ``(sql, params) -> list[dict]`` over the store (see ``report.data``)."""
    import time

    settings = report_settings(config)
    lang = lang or settings.lang
    now = time.time() if now is None else now
    this = data.gather(rows, period.start, period.end, period.timezone)
    before = period.before()
    last = data.gather_previous(rows, before.start, before.end)
    model = content.build_model(
        this, last, period, config, lang, now, feed_metas(config), settings.organisation, settings.contact
    )
    w = model["t"]
    model["charts"] = {
        "alerts": render.data_uri(
            charts.alerts_chart(
                this["per_day_alerts"],
                period.first_day,
                period.last_day,
                {s: w.severity(s) for s in content.SEVERITIES},
            )
        ),
        "records": render.data_uri(
            charts.records_chart(this["per_day_records"], period.first_day, period.last_day)
        ),
    }
    return Report(period, lang, model, render.html(model))


def file_stem(report: Report) -> str:
    """``report-2026-W49.vi``: safe as a file name whatever the label."""
    return "report-" + re.sub(r"[^0-9A-Za-z_-]+", "_", report.period.label).strip("_") + "." + report.lang


def archive(config: Config, report: Report) -> Path:
    """Keep the HTML version in ``data_dir/reports/`` (owner-only folder: it names hosts)."""
    folder = private_dir(config.data_dir / "reports")
    path = folder / (file_stem(report) + ".html")
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(report.html, encoding="utf-8")
    tmp.replace(path)
    return path
