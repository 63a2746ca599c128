"""``wardwatch hunt --config FILE [--since 30d]``: look for past matches of today's feeds and Sigma
rules in the stored records and store them as alerts marked ``retro``. While ``wardwatch serve``
holds the embedded store, the hunt runs inside the service (its API), with the feeds it has loaded."""

from __future__ import annotations

import argparse
import re
import sys
import time
from typing import Any

import orjson

_SINCE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "hunt",
        help="retro-hunt: match today's feeds and Sigma rules against stored records; store alerts marked retro",
    )
    p.add_argument("--config", required=True, metavar="FILE", help="wardwatch config (YAML)")
    p.add_argument("--since", default="30d", help="how far back, e.g. 30d, 12h, or 'all' (default 30d)")
    p.add_argument("--until", default=None, help="epoch seconds (default: now)")
    p.add_argument("--dry-run", action="store_true", help="print the alerts as JSON lines, store nothing")
    p.set_defaults(func=run)


def parse_since(text: str, now: float) -> float:
    if text == "all":
        return 0.0
    m = _SINCE_RE.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"--since: expected a duration such as 30d or 12h, or 'all', got {text!r}")
    return now - float(m.group(1)) * _SECONDS[m.group(2)]


def run(args: argparse.Namespace) -> int:
    from wardwatch.service.client import hunt as client_hunt
    from wardwatch.service.client import running
    from wardwatch.service.hunting import hunt
    from wardwatch.store import StoreError, open_store
    from wardwatch.threatfeeds import load_index

    from wardwatch.config import ConfigError, load_config

    now = float(args.until) if args.until else time.time()
    try:
        since = parse_since(args.since, now)
        config = load_config(args.config)
        # `wardwatch serve` holds the embedded store: the hunt runs inside it, with its feed index
        holder = running(config)
        if holder is None:
            index = load_index(config)
            store = open_store(config)
    except (ValueError, StoreError) as e:  # ConfigError is a ValueError
        sys.stderr.write(f"wardwatch hunt: {e}\n")
        return 2
    if holder is not None:
        try:
            result = client_hunt(holder, since, now + 1, args.dry_run)
        except StoreError as e:
            sys.stderr.write(f"wardwatch hunt: {e}\n")
            return 1
        return _report(result, args.dry_run)
    try:
        result = hunt(store, config, index, since, now + 1, args.dry_run)
    except (ConfigError, StoreError) as e:
        sys.stderr.write(f"wardwatch hunt: {e}\n")
        return 2
    finally:
        store.close()
    return _report(result, args.dry_run)


def _report(result: dict[str, Any], dry_run: bool) -> int:
    sigma = result["sigma"]
    for key, reason in sigma["rejected"]:
        sys.stderr.write(f"wardwatch hunt: sigma rule {key} skipped: {reason}\n")
    for key, err in sigma["errors"]:
        sys.stderr.write(f"wardwatch hunt: sigma rule {key} failed in ClickHouse: {err}\n")
    sys.stderr.write(
        f"wardwatch hunt: sigma: {sigma['rules']} rules and {sigma['correlations']} correlations run,"
        f" {sigma['matches']} matches\n"
    )
    if not dry_run:
        n, stored = result["matches"], result["stored"]
        sys.stderr.write(
            f"wardwatch hunt: {n} past matches, {stored} new retro alerts stored"
            f" · {n} kết quả, {stored} cảnh báo hồi tố mới\n"
        )
    for a in result["alerts"]:
        sys.stdout.buffer.write(orjson.dumps(a) + b"\n")
    return 0
