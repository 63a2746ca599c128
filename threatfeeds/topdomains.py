"""The top-domain guard: everyday names (``google.com``, ``gmail.com``) a block feed must not list.

A feed that names such a domain, by mistake or by poisoning, would raise an alert on most of a
hospital's traffic. The names are the MISP warning lists' top-domain lists (Tranco, Cisco Umbrella,
Cloudflare Radar; CC0-1.0) where at least two of the three agree, pinned in ``data/top-domains.txt``
(built by ``topdomains_build``; nothing is downloaded or read from outside the package at run time).
A feed marked ``trusted: true`` skips the guard. Only the listed names themselves are refused:
``evil.blogspot.com`` stays a good indicator even though ``blogspot.com`` is guarded.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

TOP_DOMAIN = "top-domain"  # the reject category, counted per feed
DATA = Path(__file__).with_name("data") / "top-domains.txt"


@lru_cache(maxsize=1)
def names() -> frozenset[str]:
    with DATA.open(encoding="ascii") as f:
        return frozenset(s for line in f if (s := line.strip()) and not s.startswith("#"))


def is_top_domain(name: str) -> bool:
    """``name`` (normalised: lower case, IDNA, no trailing dot) or its ``www.`` form is a top domain."""
    guard = names()
    return name in guard or (name.startswith("www.") and name[4:] in guard)
