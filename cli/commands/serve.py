"""``wardwatch serve --config FILE [--pcap FILE…] [--once]``: capture → detectors → store around the
clock, with a local HTTP API (``http.listen``) for ``/healthz``, ``/metrics`` and the commands that
need the store while the service holds it (docs/SERVICE.md)."""

from __future__ import annotations

import argparse
import logging
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="run as a service: live capture (sensor.interfaces) or --pcap replay, detectors, store, local API",
    )
    p.add_argument("--config", required=True, metavar="FILE", help="wardwatch config (YAML)")
    p.add_argument(
        "--pcap",
        nargs="+",
        metavar="FILE",
        help="replay these captures instead of capturing live, then keep serving until SIGTERM",
    )
    p.add_argument("--once", action="store_true", help="with --pcap: stop once the files are replayed")
    p.set_defaults(func=run)


def _load(path: str):  # type: ignore[no-untyped-def]
    """The config, every room's section checked (the same checks as every command)."""
    from wardwatch.cli.commands.sections import check_sections

    from wardwatch.config import load_config

    config = load_config(path)
    for warning in check_sections(config):
        logging.getLogger("wardwatch.service").warning("%s", warning)
    return config


def run(args: argparse.Namespace) -> int:
    from wardwatch.service.runner import Service
    from wardwatch.store import StoreError

    # the service's own account (listening, reloads, stops) goes to the journal, beside the warnings
    service_log = logging.getLogger("wardwatch.service")
    if service_log.getEffectiveLevel() > logging.INFO:
        service_log.setLevel(logging.INFO)
    try:
        return Service(args.config, _load, pcaps=args.pcap or (), once=args.once).run()
    except StoreError as e:
        sys.stderr.write(f"wardwatch serve: {e}\n")
        return 2 if "in use" in str(e) or "no store" in str(e) else 1
