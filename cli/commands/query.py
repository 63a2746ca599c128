"""``wardwatch query --config FILE "SQL" [--param name=value …]``: read-only SQL against the configured
store; one JSON object a line. Values go in as ``{name:Type}`` parameters, never into the text.
While ``wardwatch serve`` holds the embedded store, the query goes through its local API."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("query", help="run a read-only SQL query on the store; JSON rows out")
    p.add_argument("--config", required=True, metavar="FILE", help="wardwatch config (YAML)")
    p.add_argument("sql", help='SQL, e.g. "SELECT segment, count() FROM dns GROUP BY segment"')
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="value of {NAME:Type}")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from wardwatch.service.client import query as client_query
    from wardwatch.service.client import running
    from wardwatch.store import StoreError, open_store
    from wardwatch.store.query import read_only

    from wardwatch.config import ConfigError, load_config

    params = {}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name:
            sys.stderr.write(f"wardwatch query: --param expects NAME=VALUE, got {item!r}\n")
            return 2
        params[name] = value
    try:
        config = load_config(args.config)
        # `wardwatch serve` holds the embedded store: it runs the query (same checks and limits)
        holder = running(config)
        if holder is not None:
            return _print(client_query(holder, args.sql, params))
        # a reader: a missing store is an error, not a new empty store that answers 0
        store = open_store(config, create=False)
    except (ConfigError, StoreError) as e:
        sys.stderr.write(f"wardwatch query: {e}\n")
        return 2
    try:
        return _print(read_only(store, args.sql, params))
    finally:
        store.close()


def _print(lines: Iterator[bytes]) -> int:
    """The service's answer, as a local query prints it (1 when the service refused it)."""
    from wardwatch.store import StoreError

    out = sys.stdout.buffer
    try:
        for line in lines:
            out.write(line + b"\n")
        out.flush()
    except StoreError as e:
        sys.stderr.write(f"wardwatch query: {e}\n")
        return 1
    except BrokenPipeError:
        return 0
    return 0
