"""Plain data shared by the feed parsers, the index and the CLI.

A parser yields ``Entry`` tuples ``(value, hint, meta)``: the raw indicator text as the feed wrote it, a
hint about its type when the format says so (``domain``, ``ip``, ``cidr``, ``url``, ``hostpath``), and
the per-entry provenance (``Meta``), shared between the entries of one block when the feed has none per
entry. Tuples, not objects, because a feed can hold millions of entries.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# What the feeds carry that the index understands.
HINTS = ("domain", "ip", "cidr", "url", "hostpath")


@dataclass(frozen=True, slots=True)
class Meta:
    """Provenance a feed gives for one entry (or one block of entries)."""

    threat: str | None = None
    tags: tuple[str, ...] = ()
    confidence: int | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    reference: str | None = None


Entry = tuple[str, "str | None", "Meta | None"]


@dataclass(frozen=True, slots=True)
class Source:
    """One feed's statement about an indicator: the feed, its settings, and the entry's own meta."""

    feed: str
    threat: str | None
    tags: tuple[str, ...]
    confidence: int | None
    first_seen: str | None
    last_seen: str | None
    reference: str | None


@dataclass
class FeedStats:
    """What one feed contributed: accepted entries and every reject counted by category."""

    name: str
    accepted: int = 0
    domains: int = 0
    ips: int = 0
    cidrs: int = 0
    urls: int = 0  # URL and path indicators (a URL entry also counts its host under domains or ips)
    regexes: int = 0  # regex trails (Maltrail's ``dga[0-9]+\.example\.com``)
    rejected: Counter[str] = field(default_factory=Counter)
    allowlisted: int = 0
    origin: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "feed": self.name,
            "origin": self.origin,
            "accepted": self.accepted,
            "domains": self.domains,
            "ips": self.ips,
            "cidrs": self.cidrs,
            "urls": self.urls,
            "regexes": self.regexes,
            "allowlisted": self.allowlisted,
            "rejected": self.rejected_total,
            "rejected_by": dict(sorted(self.rejected.items())),
        }
