"""``wardwatch dashboards export --out DIR [--lang vi|en] [--config FILE]`` writes the Grafana boards
(JSON, one set per language) and the provisioning files; ``wardwatch dashboards push --url U
[--lang vi|en] [--config FILE]`` sends the boards to a Grafana through its API, with the token from
the environment (``GRAFANA_TOKEN``). With ``--config``, the boards know the segments' address ranges
and the provisioning points at this config's store (docs/DASHBOARDS.md)."""

from __future__ import annotations

import argparse
import os
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dashboards", help="Grafana boards: export JSON and provisioning, or push to a Grafana"
    )
    verbs = p.add_subparsers(dest="verb", required=True, metavar="export|push")
    e = verbs.add_parser("export", help="write the boards and Grafana's provisioning files into a folder")
    e.add_argument(
        "--out", required=True, metavar="DIR", help="folder for dashboards/, provisioning/, clickhouse/"
    )
    push = verbs.add_parser("push", help="send the boards to a running Grafana (token: $GRAFANA_TOKEN)")
    push.add_argument(
        "--url", required=True, metavar="URL", help="Grafana's address, e.g. http://127.0.0.1:3000"
    )
    for v in (e, push):
        v.add_argument("--lang", choices=("vi", "en"), help="one language only (default: both sets)")
        v.add_argument(
            "--config", metavar="FILE", help="wardwatch config: segments' ranges, store and endpoint"
        )
        v.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from wardwatch.dashboards.export import export, render
    from wardwatch.dashboards.push import TOKEN_ENV, push
    from wardwatch.dashboards.spec import LANGS

    from wardwatch.i18n import say

    langs = (args.lang,) if args.lang else LANGS
    segments, target = _from_config(args.config)
    if args.config is None:
        sys.stderr.write(say("dashboards.cli.no_segments", prefix="wardwatch dashboards: "))
    if args.verb == "export":
        from wardwatch.outputs import OutputError, prepare_output_dir

        try:
            out = prepare_output_dir(args.out, "--out")
        except OutputError as e:
            sys.stderr.write(f"wardwatch dashboards: {e}\n")
            return 2
        done = export(out, langs, segments, target)
        sys.stderr.write(
            say(
                "dashboards.cli.exported",
                prefix="wardwatch dashboards: ",
                boards=done.boards,
                langs=", ".join(langs),
                out=out,
            )
        )
        return 0
    pushed = push(args.url, os.environ.get(TOKEN_ENV), render(langs, segments))
    sys.stderr.write(
        say(
            "dashboards.cli.pushed",
            prefix="wardwatch dashboards: ",
            boards=pushed.boards,
            folder=", ".join(pushed.folders),
            url=args.url,
        )
    )
    return 0


def _from_config(path: str | None):  # type: ignore[no-untyped-def]
    """(segment ranges, provisioning target) from the config, or none and the embedded defaults."""
    from wardwatch.dashboards import provisioning
    from wardwatch.dashboards.sql import ranges
    from wardwatch.service.settings import http_settings
    from wardwatch.store import load_store_settings

    from wardwatch.config import load_config

    if path is None:
        return (), provisioning.Target("embedded")
    config = load_config(path)  # a ConfigError is a UsageError: the CLI prints it, exit 2
    segments = tuple(ranges((s.name, s.zone, [str(c) for c in s.cidrs]) for s in config.segments))
    store = load_store_settings(config)
    ch = http_settings(config).clickhouse
    endpoint = (ch.host, ch.port, ch.user) if ch is not None else None
    return segments, provisioning.target_of(store.backend, store.url, endpoint)
