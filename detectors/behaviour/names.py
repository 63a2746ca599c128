"""DNS names for the behavioural detectors: the registered domain (Public Suffix List, ICANN section,
through ``threatfeeds.suffixes``) and the part of a name in front of it."""

from __future__ import annotations

from collections.abc import Iterator

from wardwatch.threatfeeds.suffixes import is_public_suffix

from wardwatch.segments import IpInfo

from ..base import Batch, Record

# Names that never reach the internet's DNS or whose labels are not chosen by people.
SKIP_SUFFIXES = ("in-addr.arpa", "ip6.arpa", "local", "lan", "home", "internal", "localdomain", "corp")

_cache: dict[str, int] = {}


def _suffix_len(labels: list[str]) -> int:
    """How many trailing labels form the public suffix (at least 1: an unknown TLD counts as one)."""
    n = 1
    while n < len(labels) and is_public_suffix(".".join(labels[-(n + 1) :])):
        n += 1
    return n


def split_name(name: str) -> tuple[str, str] | None:
    """``a.b.example.co.uk`` → (``a.b``, ``example.co.uk``); None for a bare suffix or a skipped name.

    ``name`` is lower-case without the trailing dot. The suffix length is cached per last two labels:
    a tunnel sends thousands of distinct names under one domain."""
    dot = name.rfind(".")
    if dot <= 0:
        return None
    dot2 = name.rfind(".", 0, dot)
    tail = name[dot2 + 1 :]
    key = tail
    n = _cache.get(key)
    labels = name.split(".")
    if n is None or n >= 2:
        # two-label suffixes (co.uk) can grow (a.b.c under wildcards): recompute, still cheap
        n = _suffix_len(labels)
        if len(_cache) > 50_000:
            _cache.clear()
        _cache[key] = min(n, 2)
    if len(labels) <= n:
        return None
    reg = ".".join(labels[-(n + 1) :])
    if reg.endswith(SKIP_SUFFIXES) and any(reg == s or reg.endswith("." + s) for s in SKIP_SUFFIXES):
        return None
    sub = ".".join(labels[: -(n + 1)])
    return sub, reg


def registered(name: str) -> str | None:
    got = split_name(name)
    return got[1] if got is not None else None


def clean_query(q: object) -> str | None:
    """A query as the DNS detectors use it: stripped of the trailing dot, original case kept (tunnels
    use mixed case), or None when it is no name."""
    if not isinstance(q, str) or not q or "." not in q:
        return None
    q = q.rstrip(".")
    return q if q and " " not in q else None


def nxdomain_lookups(batch: Batch) -> list[tuple[Record, IpInfo, IpInfo, str]]:
    """(record, client, server, cleaned query) of the NXDOMAIN answers to clients' own lookups: not a
    configured resolver's forwarded copies, not mDNS. Once per batch: two detectors walk them."""
    return batch.memo("nxdomain_lookups", lambda b: list(_nxdomain_lookups(b)))


def _nxdomain_lookups(batch: Batch) -> Iterator[tuple[Record, IpInfo, IpInfo, str]]:
    for rec, src, dst in batch.each("dns"):
        if rec.get("rcode_name") != "NXDOMAIN" or src.resolver or rec.get("id.resp_p") == 5353:
            continue
        q = clean_query(rec.get("query"))
        if q is not None:
            yield rec, src, dst, q
