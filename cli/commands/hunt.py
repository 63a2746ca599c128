"""``wardwatch hunt --config FILE [--since 30d]``: look for past matches of today's feeds and Sigma
rules in the stored records and store them as alerts marked ``retro``."""

from __future__ import annotations

import argparse
import re
import sys
import time

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
    from wardwatch.detectors import Engine
    from wardwatch.hunt import hunt_feeds, hunt_sigma
    from wardwatch.store import StoreError, open_store
    from wardwatch.threatfeeds import load_index

    from wardwatch.config import ConfigError, load_config

    now = float(args.until) if args.until else time.time()
    try:
        since = parse_since(args.since, now)
        config = load_config(args.config)
        engine = Engine.from_config(config, None)
        index = load_index(config)
        store = open_store(config)
    except (ValueError, StoreError) as e:  # ConfigError is a ValueError
        sys.stderr.write(f"wardwatch hunt: {e}\n")
        return 2
    try:
        alerts = hunt_feeds(store, index, engine.info, since, now + 1)
        sigma = hunt_sigma(store, config, engine.info, since, now + 1)
        alerts += sigma.alerts
        for key, reason in sigma.rejected:
            sys.stderr.write(f"wardwatch hunt: sigma rule {key} skipped: {reason}\n")
        for key, err in sigma.errors:
            sys.stderr.write(f"wardwatch hunt: sigma rule {key} failed in ClickHouse: {err}\n")
        sys.stderr.write(
            f"wardwatch hunt: sigma: {sigma.rules} rules and {sigma.correlations} correlations run,"
            f" {len(sigma.alerts)} matches\n"
        )
        if args.dry_run:
            for a in alerts:
                sys.stdout.buffer.write(a.to_json() + b"\n")
        else:
            writer = store.writer()
            writer.add_alerts(alerts, retro=True)
            writer.flush()
            stored = sum(writer.written.values())
            sys.stderr.write(
                f"wardwatch hunt: {len(alerts)} past matches, {stored} new retro alerts stored"
                f" · {len(alerts)} kết quả, {stored} cảnh báo hồi tố mới\n"
            )
            for a in alerts:
                sys.stdout.buffer.write(
                    orjson.dumps(
                        {
                            "uid": a.uid,
                            "rule": a.rule,
                            "src_ip": a.src_ip,
                            "indicator": a.indicator,
                            "count": a.count,
                        }
                    )
                    + b"\n"
                )
    except (ConfigError, StoreError) as e:
        sys.stderr.write(f"wardwatch hunt: {e}\n")
        return 2
    finally:
        store.close()
    return 0
