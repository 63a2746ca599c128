"""Threat feeds: real feed formats, safe refresh, one fast indicator index (issue 3).

For detectors::

    from wardwatch.threatfeeds import load_index
    index = load_index(config)            # offline: last good snapshots
    index.match_domain("cdn.bad.example")  # -> Match(indicator="bad.example", ...) or None
    index.match_domains(names)             # bulk, for the hot path
    index.match_ip("203.0.113.7"); index.match_ips(hi, lo)
"""

from __future__ import annotations

from .index import Allowed, DomainHits, FeedIndex, IndexBuilder, Match
from .model import FeedStats, Meta, Source
from .service import LiveIndex, build_index, update_feeds
from .store import FeedStore, UpdateResult

load_index = build_index

__all__ = [
    "Allowed",
    "DomainHits",
    "FeedIndex",
    "FeedStats",
    "FeedStore",
    "IndexBuilder",
    "LiveIndex",
    "Match",
    "Meta",
    "Source",
    "UpdateResult",
    "build_index",
    "load_index",
    "update_feeds",
]
