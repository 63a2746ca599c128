"""Config → snapshots → one ``FeedIndex``: the only place that knows all three.

``build_index`` never touches the network: it reads each feed's last good snapshot (or a local file
that has none yet), so the sensor starts offline. ``update_feeds`` is the network step.
``LiveIndex`` holds the index in use and replaces it only with a complete new one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from wardwatch.config import Config

from . import unpack
from .formats import FormatError
from .index import FeedIndex, IndexBuilder
from .model import FeedStats
from .store import FeedStore, UpdateResult, entries, in_use, update_feed

log = logging.getLogger(__name__)
_UNREADABLE = (FormatError, unpack.UnpackError, OSError)


def update_feeds(
    config: Config,
    force: bool = False,
    names: set[str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    accept_change: bool = False,
) -> list[UpdateResult]:
    """Fetch or re-read every enabled feed and allow-list source whose snapshot is due.

    ``accept_change`` takes copies beyond the ``max_shrink``/``max_growth`` guards (``--force``)."""
    store = FeedStore(config.data_dir)
    out = []
    for feed in config.all_feeds:
        if not feed.enabled or (names and feed.name not in names):
            continue
        out.append(update_feed(store, feed, force=force, sleep=sleep, accept_change=accept_change))
    return out


def build_index(config: Config, update_local: bool = True) -> FeedIndex:
    """The index from the allow-list and every enabled feed's last good copy; no network.

    ``update_local`` first refreshes the snapshots of local-file feeds that changed on disk (with the
    same validation as downloads, so a local file that was emptied keeps its last good copy).
    """
    store = FeedStore(config.data_dir)
    if update_local:
        for feed in config.all_feeds:
            if feed.enabled and feed.path is not None and feed.path.is_file():
                update_feed(store, feed)
    b = IndexBuilder()
    inline = config.allowlist.entries
    if any(not e.exact for e in inline):
        b.add_allow("config", [(e.value, None, None) for e in inline if not e.exact])
    if any(e.exact for e in inline):
        b.add_allow("config (exact)", [(e.value, None, None) for e in inline if e.exact], exact=True)
    allow_feeds = [f for f in config.all_feeds if f.kind == "allow" and f.enabled]
    for src in allow_feeds:
        try:
            b.add_allow(src.name, entries(src, store.parts(src)), exact=src.match == "exact")
        except _UNREADABLE as e:
            log.warning("allow-list %s: unreadable (%s); it adds nothing to this index", src.name, e)
    for feed in config.feeds:
        if feed.kind != "block" or not feed.enabled:
            continue
        meta = store.meta(feed.name)
        stats = FeedStats(feed.name, origin=feed.origin)
        if not store.has_snapshot(feed.name) and not (feed.path and feed.path.exists()):
            last = f" (last update failed: {meta['last_error']})" if meta.get("last_error") else ""
            stats.warnings.append(
                f"no good copy yet{last}; the feed adds nothing: run `wardwatch feeds update`"
            )
        elif meta.get("last_error"):
            stats.warnings.append(
                f"last update failed ({meta['last_error']}); using {in_use(store, feed, meta)}"
            )
        try:
            b.add_feed(
                feed.name,
                entries(feed, store.parts(feed)),
                tags=feed.tags,
                confidence=feed.confidence,
                url_hosts_exact=feed.url_hosts == "exact",
                seen=meta.get("fetched_at"),
                stats=stats,
                allow_reserved=feed.allow_reserved,
                trusted=feed.trusted,
            )
        except _UNREADABLE as e:
            # snapshots were validated when stored; this is a local file that went bad since
            log.warning("feed %s: unreadable (%s); it adds only what was read before the error", feed.name, e)
            stats.warnings.append(f"unreadable: {e}")
        if stats not in b.stats:
            b.stats.append(stats)
    return b.build()


class LiveIndex:
    """The index in use. ``refresh`` updates the feeds and swaps in a new index in one assignment;
    a failed build leaves the old one in place."""

    def __init__(self, config: Config, index: FeedIndex | None = None) -> None:
        self.config = config
        self.index = index if index is not None else build_index(config)

    def refresh(self, force: bool = False, sleep: Callable[[float], None] = time.sleep) -> list[UpdateResult]:
        results = update_feeds(self.config, force=force, sleep=sleep)
        try:
            new = build_index(self.config, update_local=False)
        except Exception:  # noqa: BLE001 - keep serving the old index whatever went wrong
            log.exception("rebuilding the feed index failed; keeping the current one")
            return results
        self.index = new
        return results
