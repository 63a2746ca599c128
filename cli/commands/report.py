"""``wardwatch report --config FILE [--week 2026-W49 | --from D --to D] [--lang vi|en]
[--format pdf|html] [--out FILE]``: the weekly threat report (report/). Without a period, last
week (Monday to Sunday in ``report.timezone``). While ``wardwatch serve`` holds the embedded store,
the report reads it through the service's query API."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="the weekly threat report for leadership (PDF or HTML, Vietnamese first)"
    )
    p.add_argument("--config", required=True, metavar="FILE", help="wardwatch config (YAML)")
    p.add_argument("--week", metavar="YYYY-Www", help="an ISO week, e.g. 2026-W49 (default: last week)")
    p.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day (with --to)")
    p.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day, included (with --from)")
    p.add_argument("--lang", choices=("vi", "en"), default=None, help="language (default: report.lang, vi)")
    p.add_argument("--format", choices=("pdf", "html"), default="pdf", help="output format (default pdf)")
    p.add_argument(
        "--out", metavar="FILE", help="where to write (default: report-<week>.<lang>.<format> here)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import wardwatch.report.settings  # noqa: F401  (declares the report: section before the config is read)
    from wardwatch.cli.commands.sections import check_sections
    from wardwatch.report import build_report, dates, file_stem, iso_week, last_week, report_settings
    from wardwatch.service.client import rows_through, running
    from wardwatch.store import open_store

    from wardwatch.config import load_config
    from wardwatch.errors import UsageError
    from wardwatch.i18n import say

    if args.week and (args.start or args.end):
        raise UsageError("give --week or --from/--to, not both")
    if bool(args.start) != bool(args.end):
        raise UsageError("--from and --to go together")
    config = load_config(args.config)
    check_sections(config)
    settings = report_settings(config)
    if args.week:
        period = iso_week(args.week, settings.timezone)
    elif args.start:
        period = dates(args.start, args.end, settings.timezone)
    else:
        period = last_week(time.time(), settings.timezone)
    holder = running(config)
    if holder is not None:
        report = build_report(rows_through(holder), config, period, args.lang)
    else:
        # a reader: a missing store is an error, not a new empty store that reports a quiet week
        store = open_store(config, create=False)
        try:
            report = build_report(store.rows, config, period, args.lang)
        finally:
            store.close()
    out = Path(args.out) if args.out else Path(f"{file_stem(report)}.{args.format}")
    body = report.pdf() if args.format == "pdf" else report.html.encode("utf-8")
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(body)
    tmp.replace(out)
    sys.stderr.write(say("report.written", prefix="wardwatch report: ", label=period.label, path=str(out)))
    return 0
