"""The weekly threat report for hospital leadership, Vietnamese first, PDF and HTML (issue 16).

    from wardwatch.report import build_report, iso_week
    report = build_report(store.rows, config, iso_week("2026-W49", "Asia/Ho_Chi_Minh"), lang="vi")
    report.html; report.pdf()

``data`` reads the store (SQL over one period), ``content`` and ``compliance`` derive what it says,
``render`` makes HTML and PDF, ``mail`` sends it through notify's e-mail settings, ``settings``
reads the ``report:`` section (``schedule`` is when ``wardwatch serve`` sends it)."""

from __future__ import annotations

from .build import Report, archive, build_report, file_stem
from .period import Period, PeriodError, dates, iso_week, last_week, week_of
from .render import RenderError
from .settings import ReportSettings, report_settings

__all__ = [
    "Period",
    "PeriodError",
    "RenderError",
    "Report",
    "ReportSettings",
    "archive",
    "build_report",
    "dates",
    "file_stem",
    "iso_week",
    "last_week",
    "report_settings",
    "week_of",
]
