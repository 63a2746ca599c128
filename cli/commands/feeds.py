"""``wardwatch feeds update|list|stats|check --config FILE [INDICATOR…|-]``: threat feeds (issue 3).

- ``update [--force] [--feed NAME…]``: fetch/re-read feeds into their last-good snapshots; one JSON line
  per feed (``updated``, ``not-modified``, ``fresh``, ``kept-last-good`` with the reason, ``failed``),
  with ``rejected_by`` (e.g. ``top-domain``) and, when a copy was refused, ``using``: what the index
  reads instead. ``--force`` also accepts a copy that shrank or grew beyond ``max_shrink``/``max_growth``.
- ``list``: the configured feeds and allow-lists with their snapshot state.
- ``stats``: build the index offline and print accepted/rejected counts per feed and the index sizes.
- ``check INDICATOR…`` (or ``-`` for one a line on stdin): one JSON line per input,
  ``{"input", "match", "indicator", "feeds", …provenance}``; a non-match names the allow-list that won.

Exit status: 0 on success, 1 when a check had no match at all or an update left a feed with no good
copy, 2 for a config error.
"""

from __future__ import annotations

import argparse
import sys

import orjson


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("feeds", help="threat feeds: update, list, stats, check indicators")
    actions = p.add_subparsers(dest="action", required=True)
    helps = {
        "update": "fetch or re-read feeds into their last-good snapshots",
        "list": "configured feeds and their snapshot state",
        "stats": "accepted/rejected entries per feed and index sizes (offline)",
        "check": "look indicators up (offline); one JSON line per input",
    }
    for action, text in helps.items():
        a = actions.add_parser(action, help=text)
        a.add_argument("--config", required=True, metavar="FILE", help="wardwatch YAML config")
        if action == "update":
            a.add_argument(
                "--force",
                action="store_true",
                help="fetch even if the snapshot is fresh, and accept a copy that shrank or grew beyond "
                "the feed's max_shrink/max_growth",
            )
            a.add_argument("--feed", action="append", metavar="NAME", help="only these feeds")
        if action == "check":
            a.add_argument("indicators", nargs="+", metavar="INDICATOR", help="names, addresses, URLs, or -")
        a.set_defaults(func=run)


def _emit(obj: object) -> None:
    sys.stdout.buffer.write(orjson.dumps(obj) + b"\n")


def run(args: argparse.Namespace) -> int:
    from wardwatch.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as e:
        sys.stderr.write(f"wardwatch feeds: {e}\n")
        return 2
    try:
        if args.action == "update":
            return _update(config, args)
        if args.action == "list":
            return _list(config)
        if args.action == "stats":
            return _stats(config)
        return _check(config, args)
    except BrokenPipeError:
        return 0
    finally:
        sys.stdout.flush()


def _update(config, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from wardwatch.threatfeeds import update_feeds

    results = update_feeds(
        config,
        force=args.force,
        names=set(args.feed) if args.feed else None,
        accept_change=args.force,
    )
    for r in results:
        _emit(r.as_dict())
        if r.status == "kept-last-good":
            when = r.snapshot_from or "không rõ thời điểm tải"
            sys.stderr.write(
                f"wardwatch feeds: {r.feed}: không cập nhật ({r.reason}); "
                f"vẫn dùng bản tốt gần nhất ({when}, {r.accepted} chỉ báo)\n"
                f"wardwatch feeds: {r.feed}: not updated ({r.reason}); "
                f"using {r.using} ({r.accepted} entries)\n"
            )
        elif r.status == "failed":
            sys.stderr.write(
                f"wardwatch feeds: {r.feed}: cập nhật thất bại ({r.reason}); chưa có bản tốt, "
                f"đang dùng {r.accepted} chỉ báo hợp lệ\n"
                f"wardwatch feeds: {r.feed}: update failed ({r.reason}); using {r.using}\n"
            )
    return 1 if any(r.status == "failed" for r in results) else 0


def _list(config) -> int:  # type: ignore[no-untyped-def]
    from wardwatch.threatfeeds import FeedStore

    store = FeedStore(config.data_dir)
    for feed in config.all_feeds:
        meta = store.meta(feed.name)
        _emit(
            {
                "feed": feed.name,
                "kind": feed.kind,
                "format": feed.format,
                "source": feed.origin,
                "enabled": feed.enabled,
                "trusted": feed.trusted,  # skips the top-domain guard
                "refresh_s": feed.refresh,
                "snapshot": store.has_snapshot(feed.name),
                "fetched_at": meta.get("fetched_at"),
                "checked_at": meta.get("checked_at"),
                "accepted": meta.get("accepted"),
                "last_error": meta.get("last_error"),
            }
        )
    return 0


def _stats(config) -> int:  # type: ignore[no-untyped-def]
    from wardwatch.threatfeeds import build_index

    index = build_index(config)
    for s in index.stats:
        _emit({**s.as_dict(), **({"warnings": s.warnings} if s.warnings else {})})
    _emit({"index": index.counts()})
    return 0


def _inputs(indicators: list[str]):  # type: ignore[no-untyped-def]
    for item in indicators:
        if item == "-":
            for line in sys.stdin:
                s = line.strip()
                if s and not s.startswith("#"):
                    yield s
        else:
            yield item


def _check(config, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from wardwatch.threatfeeds import build_index

    index = build_index(config)
    any_match = False
    for text in _inputs(args.indicators):
        out = index.check(text)
        any_match = any_match or bool(out["match"])
        _emit(out)
    return 0 if any_match else 1
