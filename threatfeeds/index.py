"""One indicator index: domains (suffix matching), IPv4/IPv6 addresses and CIDR ranges, each with the
provenance of every feed that lists it; allow-list entries live in the same tables and always win.

Domains are one ``dict`` from name to an int that packs ``combo * 4 + flags`` (bit 0: match this exact
name only; bit 1: allow-list entry). A lookup probes the name, then each parent suffix (``a.b.c`` →
``b.c`` → ``c``); the first hit is the most specific listed name. That is a handful of hash probes per
name, which keeps Python above 1M lookups/s, and one small dict entry per indicator.

A "combo" is the interned tuple of ``Source`` ids of the feeds listing an indicator, so indicators that
the same feeds list with the same metadata share one provenance record.

URL indicators (URLhaus, OpenPhish and Maltrail publish URLs) are one more ``dict`` from the normalised
``host/path[?query]`` (``normalize.url_key``), or the bare ``/path`` of a Maltrail path trail, to its
combo. A URL entry also lists its host (exactly, see ``url_hosts``), as before; ``match_url`` looks up
an HTTP request's host + path, then its path alone, each with and without the query and then folder by
folder upwards, so a listed folder covers what is under it.

Regex trails (Maltrail's ``dga[0-9]+\\.example\\.com``) are a ``regexes.RegexSet`` of pattern → combo.
They are a domain lookup's last resort: only a name that no listed name and no allow entry covers is
tried against them, so exact and suffix hits keep priority and the allow-list still wins. A regex hit
is a ``Match`` of type ``"regex"`` whose indicator is the pattern; its packed value in ``DomainHits``
is negative (``-1 - pattern id``), which ``resolve`` tells apart from a dict value.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from . import normalize, topdomains
from .model import Entry, FeedStats, Meta, Source
from .ranges import RangeTable
from .regexes import RegexSet
from .suffixhash import _CHUNK, SuffixHashTable, hash_names

EXACT = 1
ALLOW = 2
MAX_REGEXES = 1000  # every domain miss is tried against them: keep that probe cheap
_V4_MAPPED = 0xFFFF
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Match:
    """An indicator hit: which listed indicator matched and every feed's statement about it."""

    indicator: str
    # "domain", "host" (exact name from a URL), "regex" (a regex trail), "ip", "cidr", "url"
    # (host/path) or "path"
    type: str
    sources: tuple[Source, ...]

    @property
    def feeds(self) -> list[str]:
        return sorted({s.feed for s in self.sources})

    def provenance(self) -> dict[str, object]:
        src = self.sources
        conf = [s.confidence for s in src if s.confidence is not None]
        first = [s.first_seen for s in src if s.first_seen]
        last = [s.last_seen for s in src if s.last_seen]
        return {
            "indicator": self.indicator,
            "type": self.type,
            "feeds": self.feeds,
            "threats": sorted({s.threat for s in src if s.threat}),
            "tags": sorted({t for s in src for t in s.tags}),
            "confidence": max(conf) if conf else None,
            "first_seen": min(first) if first else None,
            "last_seen": max(last) if last else None,
            "references": sorted({s.reference for s in src if s.reference}),
        }


@dataclass(frozen=True, slots=True)
class Allowed:
    """A name or address that an allow-list entry protects: never a match."""

    entry: str
    source: str


@dataclass(frozen=True, slots=True)
class DomainHits:
    """Bulk result: the rows of the input that hit, the listed name each hit, and its packed value."""

    rows: np.ndarray
    indicators: list[str]
    values: list[int]


def nearest_listed(
    name: str, get: Callable[[str], V | None], parent_ok: Callable[[V], bool] | None = None
) -> tuple[str, V] | None:
    """(listed name, value) for ``name`` itself or its nearest parent domain that ``get`` knows, or
    None; a parent counts only when ``parent_ok(value)`` says so (exact-host entries do not).

    Own code rather than a trie: a few dict probes per name."""
    v = get(name)
    if v is not None:
        return name, v
    j = name.find(".")
    while j >= 0:
        s = name[j + 1 :]
        v = get(s)
        if v is not None and (parent_ok is None or parent_ok(v)):
            return s, v
        j = name.find(".", j + 1)
    return None


def _not_exact(value: int) -> bool:
    return not value & EXACT


def _fmt(version: int, start: int, plen: int) -> str:
    cls = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
    net = cls((start, plen))
    return str(net.network_address) if plen == net.max_prefixlen else str(net)


class _Ranges:
    """Address/CIDR items of one kind (indicators or allow entries) for both IP versions."""

    def __init__(self, items: dict[tuple[int, int, int], int]) -> None:
        v4 = [(k, v) for k, v in items.items() if k[0] == 4]
        v6 = [(k, v) for k, v in items.items() if k[0] == 6]
        self.v4_start = np.asarray([k[1] for k, _ in v4], dtype=np.uint32)
        self.v4_plen = np.asarray([k[2] for k, _ in v4], dtype=np.uint8)
        self.v4_value = np.asarray([v for _, v in v4], dtype=np.int64)
        self.v4 = RangeTable(
            [(k[1], k[1] | ((1 << (32 - k[2])) - 1), i) for i, (k, _) in enumerate(v4)],
            32,
        )
        self.v6_items = [(k[1], k[2], v) for k, v in v6]
        self.v6 = RangeTable(
            [(s, s | ((1 << (128 - p)) - 1), i) for i, (s, p, _) in enumerate(self.v6_items)],
            128,
        )

    def __len__(self) -> int:
        return len(self.v4_value) + len(self.v6_items)

    def get(self, version: int, value: int) -> tuple[str, int] | None:
        if version == 4:
            i = self.v4.get(value)
            if i < 0:
                return None
            return _fmt(4, int(self.v4_start[i]), int(self.v4_plen[i])), int(self.v4_value[i])
        i = self.v6.get(value)
        if i < 0:
            return None
        s, p, v = self.v6_items[i]
        return _fmt(6, s, p), v


class FeedIndex:
    """Read-only at run time. Build it with ``IndexBuilder`` (or ``threatfeeds.load_index``)."""

    def __init__(
        self,
        domains: dict[str, int],
        sources: list[Source],
        combos: list[tuple[int, ...]],
        ranges: dict[tuple[int, int, int], int],
        allow_sources: list[str],
        allow_ranges: dict[tuple[int, int, int], int],
        stats: list[FeedStats] | None = None,
        urls: dict[str, int] | None = None,
        regexes: dict[str, int] | None = None,
    ) -> None:
        self._domains = domains
        self._urls = urls or {}
        self._regex = RegexSet(regexes) if regexes else None
        self._table: SuffixHashTable | None = None
        self._sources = sources
        self._combos = combos
        self._ranges = _Ranges(ranges)
        self._allow_sources = allow_sources
        self._allow = _Ranges(allow_ranges)
        self.stats: list[FeedStats] = stats or []

    # -- sizes -------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        allow_names = sum(1 for v in self._domains.values() if v & ALLOW)
        return {
            "domains": len(self._domains) - allow_names,
            "ranges": len(self._ranges),
            "allow_domains": allow_names,
            "allow_ranges": len(self._allow),
            "urls": len(self._urls),
            "regexes": len(self._regex) if self._regex is not None else 0,
            "sources": len(self._sources),
            "provenance_combos": len(self._combos),
        }

    def __len__(self) -> int:
        c = self.counts()
        return c["domains"] + c["ranges"] + c["urls"] + c["regexes"]

    # -- provenance --------------------------------------------------------------------------------
    def _match(self, indicator: str, type_: str, combo: int) -> Match:
        return Match(indicator, type_, tuple(self._sources[i] for i in self._combos[combo]))

    def resolve(self, indicator: str, value: int) -> Match | Allowed:
        """Turn a packed domain value (from ``match_domains``) into a ``Match`` or ``Allowed``."""
        if value < 0:
            assert self._regex is not None
            return self._match(indicator, "regex", self._regex.values[-1 - value])
        if value & ALLOW:
            return Allowed(indicator, self._allow_sources[value >> 2])
        return self._match(indicator, "host" if value & EXACT else "domain", value >> 2)

    # -- domains -----------------------------------------------------------------------------------
    def _probe(self, name: str) -> tuple[str, int] | None:
        return nearest_listed(name, self._domains.get, _not_exact)

    def lookup_domain(self, name: str) -> Match | Allowed | None:
        """The most specific listed name at or above ``name``; an allow-list entry there wins. A name
        that nothing covers is tried against the regex trails."""
        name = normalize.normalize_name(name)
        hit = self._probe(name)
        if hit is None:
            if self._regex is None:
                return None
            hit = self._regex.match(name)
            if hit is None:
                return None
        return self.resolve(*hit)

    def match_domain(self, name: str) -> Match | None:
        r = self.lookup_domain(name)
        return r if isinstance(r, Match) else None

    def table(self) -> SuffixHashTable:
        """The vectorised probe table over every listed name (built on first bulk lookup)."""
        if self._table is None:
            keys = list(self._domains)
            flags = np.fromiter(self._domains.values(), dtype=np.int64, count=len(keys)) & 3
            self._table = SuffixHashTable(hash_names(keys), flags.astype(np.int8))
        return self._table

    def match_domains(self, names: Sequence[str], normalized: bool = False) -> DomainHits:
        """Bulk domain lookup for the hot path: only the rows that hit an indicator are returned.

        Lower-cases and drops trailing dots (``normalized`` is accepted for compatibility; the
        vectorised path normalises anyway). Non-ASCII names are not IDNA-encoded here: DNS on the
        wire is ASCII already. Same answers as ``match_domain`` row by row.
        """
        table = self.table()
        get = self._domains.get
        rows: list[int] = []
        inds: list[str] = []
        vals: list[int] = []
        for base in range(0, len(names), _CHUNK):
            chunk = names[base : base + _CHUNK]
            found = table.probe(chunk, EXACT)
            if found is None:
                h = self._match_domains_py(chunk, normalized)
                rows.extend((h.rows + base).tolist())
                inds.extend(h.indicators)
                vals.extend(h.values)
                continue
            r, start, end, flags, raw = found
            first = len(rows)
            misses: list[int] = []  # collisions that settle as "nothing covers it"
            for row, p, e, f in zip(r.tolist(), start.tolist(), end.tolist(), flags.tolist(), strict=True):
                if f & ALLOW:
                    continue
                name = raw[p:e].decode("utf-8", "surrogateescape")
                v = get(name)
                if v is None:  # 64-bit hash collision: settle this one name exactly
                    hit = self._probe(normalize.normalize_name(chunk[row]))
                    if hit is None:
                        misses.append(row)
                        continue
                    if hit[1] & ALLOW:
                        continue
                    name, v = hit
                rows.append(base + row)
                inds.append(name)
                vals.append(v)
            if self._regex is not None:
                uncovered = np.ones(len(chunk), dtype=bool)
                uncovered[r] = False
                uncovered[misses] = True
                self._regex_hits(chunk, np.flatnonzero(uncovered), base, first, rows, inds, vals)
        return DomainHits(np.asarray(rows, dtype=np.int64), inds, vals)

    def _regex_hits(
        self,
        chunk: Sequence[str],
        uncovered: np.ndarray,
        base: int,
        first: int,
        rows: list[int],
        inds: list[str],
        vals: list[int],
    ) -> None:
        """Add the regex hits among the ``uncovered`` rows of ``chunk`` to the chunk's hits (which
        start at ``first``), keeping rows in order."""
        regex = self._regex
        assert regex is not None
        found: list[tuple[int, str, int]] = []
        for row in uncovered.tolist():
            name = chunk[row].lower()
            if name[-1:] == ".":
                name = name[:-1]
            hit = regex.match(name)
            if hit is not None:
                found.append((base + row, *hit))
        if not found:
            return
        merged = sorted([*zip(rows[first:], inds[first:], vals[first:], strict=True), *found])
        rows[first:] = [m[0] for m in merged]
        inds[first:] = [m[1] for m in merged]
        vals[first:] = [m[2] for m in merged]

    def _match_domains_py(self, names: Sequence[str], normalized: bool = False) -> DomainHits:
        """The same lookup as a plain Python loop (label-split dict probes)."""
        get = self._domains.get
        rows: list[int] = []
        inds: list[str] = []
        vals: list[int] = []
        for i, name in enumerate(names):
            if not normalized:
                name = name.lower()
                if name[-1:] == ".":
                    name = name[:-1]
            s = name
            v = get(name)
            if v is None:
                j = name.find(".")
                while j >= 0:
                    s = name[j + 1 :]
                    v = get(s)
                    if v is not None:
                        if not v & EXACT:
                            break
                        v = None
                    j = name.find(".", j + 1)
                if v is None:
                    hit = self._regex.match(name) if self._regex is not None else None
                    if hit is None:
                        continue
                    s, v = hit
            if v < 0 or not v & ALLOW:
                rows.append(i)
                inds.append(s)
                vals.append(v)
        return DomainHits(np.asarray(rows, dtype=np.int64), inds, vals)

    # -- addresses ---------------------------------------------------------------------------------
    def lookup_ip(self, addr: str | int, version: int | None = None) -> Match | Allowed | None:
        """``addr`` as text (``1.2.3.4``, ``2001:db8::1``) or int with its ``version``."""
        if isinstance(addr, str):
            try:
                ip = ipaddress.ip_address(addr.strip().strip("[]"))
            except ValueError:
                return None
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            version, value = ip.version, int(ip)
        else:
            value = addr
            version = version or (4 if addr < (1 << 32) else 6)
        allowed = self._allow.get(version, value)
        if allowed is not None:
            return Allowed(allowed[0], self._allow_sources[allowed[1]])
        hit = self._ranges.get(version, value)
        if hit is None:
            return None
        text, combo = hit
        return self._match(text, "cidr" if "/" in text else "ip", combo)

    def match_ip(self, addr: str | int, version: int | None = None) -> Match | None:
        r = self.lookup_ip(addr, version)
        return r if isinstance(r, Match) else None

    def match_ipv4(self, addrs: np.ndarray) -> np.ndarray:
        """Vectorised IPv4 lookup over uint32 addresses: per row the item id that hit, or -1.

        Turn an id into a ``Match`` with ``ipv4_match(id)``. Allow-listed rows are -1.
        """
        addrs = np.asarray(addrs, dtype=np.uint32)
        ids = self._ranges.v4.lookup32(addrs)
        if len(self._allow.v4_value):
            ids[self._allow.v4.lookup32(addrs) >= 0] = -1
        return ids

    def ipv4_match(self, item: int) -> Match:
        r = self._ranges
        text = _fmt(4, int(r.v4_start[item]), int(r.v4_plen[item]))
        return self._match(text, "cidr" if "/" in text else "ip", int(r.v4_value[item]))

    def match_ips(self, hi: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, list[Match]]:
        """Bulk lookup over ``PacketBatch`` address columns (uint64 halves, IPv4 mapped into IPv6):
        the rows that hit and their matches. IPv4 rows are vectorised; IPv6 rows go one by one."""
        hi = np.asarray(hi, dtype=np.uint64)
        lo = np.asarray(lo, dtype=np.uint64)
        is4 = (hi == 0) & ((lo >> np.uint64(32)) == np.uint64(_V4_MAPPED))
        rows4 = np.flatnonzero(is4)
        ids = self.match_ipv4((lo[rows4] & np.uint64(0xFFFFFFFF)).astype(np.uint32))
        hit = ids >= 0
        out_rows = list(rows4[hit].tolist())
        matches = [self.ipv4_match(int(i)) for i in ids[hit]]
        if len(self._ranges.v6_items):
            for r in np.flatnonzero(~is4).tolist():
                m = self.match_ip((int(hi[r]) << 64) | int(lo[r]), 6)
                if m is not None:
                    out_rows.append(r)
                    matches.append(m)
        order = np.argsort(np.asarray(out_rows, dtype=np.int64), kind="stable")
        return np.asarray(out_rows, dtype=np.int64)[order], [matches[i] for i in order]

    # -- URLs --------------------------------------------------------------------------------------
    def lookup_url(self, host: str, uri: str) -> Match | Allowed | None:
        """An HTTP request (``Host`` header or address, request URI): the most specific listed URL
        (host + path) or path trail at or above it; an allow-listed host is never a match."""
        urls = self._urls
        if not urls:
            return None
        h, keys = normalize.request_url_keys(host, uri)
        if not keys:
            return None
        if h:
            allowed = self.lookup_ip(h) if (h[0].isdigit() or ":" in h) else self.lookup_domain(h)
            if isinstance(allowed, Allowed):
                return allowed
            get = urls.get
            for k in keys:
                v = get(h + k)
                if v is not None:
                    return self._match(h + k, "url", v)
        for k in keys:
            v = urls.get(k)
            if v is not None:
                return self._match(k, "path", v)
        return None

    def match_url(self, host: str, uri: str) -> Match | None:
        r = self.lookup_url(host, uri)
        return r if isinstance(r, Match) else None

    # -- any indicator -----------------------------------------------------------------------------
    def lookup(self, text: str) -> Match | Allowed | None:
        """Anything a person may type: a domain, an address, ``ip:port``, a URL, ``host/path``, a
        ``/path`` or a regex trail; a URL is looked up as a URL first, then by its host."""
        r = normalize.classify(text, strict=False)
        if r[0] == "p":
            return self.lookup_url("", r[1])
        if r[0] == "r":  # a pattern itself: is it listed?
            i = self._regex.find(r[1]) if self._regex is not None else None
            return None if i is None else self.resolve(r[1], -1 - i)
        key = normalize.url_key(text) if ("/" in text or "?" in text) and r[0] != "n" else None
        if key is not None:
            slash = key.find("/") if key.find("/") >= 0 else key.find("?")
            hit = self.lookup_url(key[:slash], key[slash:])
            if hit is not None:
                return hit
        if r[0] == "a":
            return self.lookup_ip(r[2], r[1])
        if r[0] == "n":
            return self.lookup_ip(r[2], r[1])
        if r[0] in ("d", "h"):
            return self.lookup_domain(r[1])
        name = normalize.normalize_name(text.split("/", 1)[0])
        return self.lookup_domain(name) if name else None

    def check(self, text: str) -> dict[str, object]:
        """One JSON-able line of ``wardwatch feeds check``."""
        r = self.lookup(text)
        if isinstance(r, Match):
            return {"input": text, "match": True, **r.provenance()}
        out: dict[str, object] = {"input": text, "match": False, "indicator": None, "feeds": []}
        if isinstance(r, Allowed):
            out["allowlisted"] = {"entry": r.entry, "source": r.source}
        return out


class IndexBuilder:
    """Collects allow-list entries first, then feeds, and produces a ``FeedIndex``."""

    def __init__(self) -> None:
        self._domains: dict[str, int] = {}
        self._sources: list[Source] = []
        self._source_ids: dict[Source, int] = {}
        self._combos: list[tuple[int, ...]] = []
        self._combo_ids: dict[tuple[int, ...], int] = {}
        self._merge: dict[tuple[int, int], int] = {}
        self._ranges: dict[tuple[int, int, int], int] = {}
        self._urls: dict[str, int] = {}
        self._regexes: dict[str, int] = {}  # pattern -> combo
        self._allow_sources: list[str] = []
        self._allow_domains: dict[str, int] = {}  # name -> allow source * 2 + exact
        self._allow_ranges: dict[tuple[int, int, int], int] = {}
        self._allow_v4: RangeTable | None = None
        self._allow_v6: RangeTable | None = None
        self.stats: list[FeedStats] = []

    # -- allow-list --------------------------------------------------------------------------------
    def add_allow(self, source: str, entries: Iterable[Entry], exact: bool = False) -> FeedStats:
        """Allow-list entries: names (and, unless ``exact``, their subdomains), addresses, CIDRs."""
        stats = FeedStats(source, origin="allowlist")
        sid = len(self._allow_sources)
        self._allow_sources.append(source)
        for value, hint, _ in entries:
            r = normalize.classify(value, hint, strict=False)
            k = r[0]
            if k == "x" or k == "p":  # path trails say nothing about a host: not allow-list entries
                stats.rejected[r[1] if k == "x" else normalize.URL_PATH] += 1
                continue
            if k == "r":  # an allow-list names what it trusts; a pattern there could hide a feed's hit
                stats.rejected[normalize.UNSUPPORTED] += 1
                continue
            stats.accepted += 1
            if k in ("d", "h"):
                old = self._allow_domains.get(r[1])
                flag = 1 if exact or k == "h" else 0
                if old is None or (old & 1 and not flag):
                    self._allow_domains[r[1]] = sid * 2 + flag
                stats.domains += 1
            else:
                plen = r[3] if k == "n" else (32 if r[1] == 4 else 128)
                self._allow_ranges.setdefault((r[1], r[2], plen), sid)
                stats.ips += 1
        self._allow_v4 = self._allow_v6 = None
        self.stats.append(stats)
        return stats

    def _allowed_name(self, name: str) -> bool:
        get = self._allow_domains.get
        if get(name) is not None:
            return True
        j = name.find(".")
        while j >= 0:
            a = get(name[j + 1 :])
            if a is not None and not a & 1:
                return True
            j = name.find(".", j + 1)
        return False

    def _allowed_range(self, version: int, start: int, plen: int) -> bool:
        if not self._allow_ranges:
            return False
        if self._allow_v4 is None or self._allow_v6 is None:
            items = list(self._allow_ranges)
            self._allow_v4 = RangeTable(
                [(s, s | ((1 << (32 - p)) - 1), p) for v, s, p in items if v == 4], 128
            )
            self._allow_v6 = RangeTable(
                [(s, s | ((1 << (128 - p)) - 1), p) for v, s, p in items if v == 6], 128
            )
        table = self._allow_v4 if version == 4 else self._allow_v6
        allow_plen = table.get(start)
        return allow_plen >= 0 and allow_plen <= plen  # the allowed block holds the whole range

    # -- provenance --------------------------------------------------------------------------------
    def _source(self, s: Source) -> int:
        i = self._source_ids.get(s)
        if i is None:
            i = self._source_ids[s] = len(self._sources)
            self._sources.append(s)
        return i

    def _combo(self, ids: tuple[int, ...]) -> int:
        c = self._combo_ids.get(ids)
        if c is None:
            c = self._combo_ids[ids] = len(self._combos)
            self._combos.append(ids)
        return c

    def _merged(self, combo: int, sid: int) -> int:
        key = (combo, sid)
        c = self._merge.get(key)
        if c is None:
            ids = self._combos[combo]
            c = combo if sid in ids else self._combo(tuple(sorted((*ids, sid))))
            self._merge[key] = c
        return c

    # -- feeds -------------------------------------------------------------------------------------
    def add_feed(
        self,
        feed: str,
        entries: Iterable[Entry],
        *,
        tags: tuple[str, ...] = (),
        confidence: int | None = None,
        url_hosts_exact: bool = True,
        seen: str | None = None,
        stats: FeedStats | None = None,
        allow_reserved: bool = False,
        trusted: bool = False,
    ) -> FeedStats:
        """Normalise, filter and merge one feed's entries; every reject is counted by category.

        ``seen`` (the snapshot's time) stands for ``last_seen`` where the feed gives no dates.
        ``allow_reserved`` accepts documentation/benchmarking addresses (``normalize.RESERVED_OK``).
        A URL entry adds its host (or address) and, when it names a path, a URL indicator.
        Unless ``trusted``, a top domain (``topdomains``) is refused as ``top-domain``; a URL on such a
        host keeps only its URL indicator (a phishing form on docs.google.com, not all of it).
        """
        stats = stats or FeedStats(feed)
        domains = self._domains
        classify = normalize.classify
        check_allow = bool(self._allow_domains)
        rejected = stats.rejected
        last_meta: Meta | None | int = -1
        sid = combo1 = 0
        n_dom = n_ip = n_net = n_allowed = n_url = n_path = n_regex = n_url_only = 0
        url_key = normalize.url_key
        top = frozenset() if trusted else topdomains.names()
        top_seen: list[str] = []
        for value, hint, meta in entries:
            r = classify(value, hint, True, allow_reserved)
            k = r[0]
            if k == "x":
                rejected[r[1]] += 1
                continue
            if meta is not last_meta:
                last_meta = meta
                m = meta or Meta()
                sid = self._source(
                    Source(
                        feed,
                        m.threat,
                        tuple(dict.fromkeys((*tags, *m.tags))),
                        m.confidence if m.confidence is not None else confidence,
                        m.first_seen,
                        m.last_seen or seen,
                        m.reference,
                    )
                )
                combo1 = self._combo((sid,))
            if k == "p":
                self._add_url(r[1], sid, combo1)
                n_url += 1
                n_path += 1
                continue
            if k == "r":
                old = self._regexes.get(r[1])
                if old is None and len(self._regexes) >= MAX_REGEXES:
                    rejected[normalize.REGEX_COST] += 1
                    continue
                self._regexes[r[1]] = combo1 if old is None else self._merged(old, sid)
                n_regex += 1
                continue
            if k == "d" or k == "h":
                name = r[1]
                if top and (name in top or (name.startswith("www.") and name[4:] in top)):
                    ukey = url_key(value) if k == "h" and ("/" in value or "?" in value) else None
                    if ukey is None:
                        rejected[topdomains.TOP_DOMAIN] += 1
                        if len(top_seen) < 3 and name not in top_seen:
                            top_seen.append(name)
                    else:
                        self._add_url(ukey, sid, combo1)
                        n_url += 1
                        n_url_only += 1
                    continue
                if check_allow and self._allowed_name(name):
                    n_allowed += 1
                    continue
                flag = EXACT if (k == "h" and url_hosts_exact) else 0
                old = domains.get(name)
                if old is None:
                    domains[name] = combo1 * 4 + flag
                else:
                    # listed as a whole domain by any feed → matches subdomains too
                    domains[name] = self._merged(old >> 2, sid) * 4 + (old & flag)
                n_dom += 1
                if k == "h" and ("/" in value or "?" in value):
                    ukey = url_key(value)
                    if ukey is not None:
                        self._add_url(ukey, sid, combo1)
                        n_url += 1
            else:
                version, start = r[1], r[2]
                plen = r[3] if k == "n" else (32 if version == 4 else 128)
                if self._allowed_range(version, start, plen):
                    n_allowed += 1
                    continue
                key = (version, start, plen)
                old = self._ranges.get(key)
                self._ranges[key] = combo1 if old is None else self._merged(old, sid)
                if k == "n":
                    n_net += 1
                else:
                    n_ip += 1
                    if "/" in value and hint not in ("ip", "cidr") and not normalize.is_cidr(value):
                        ukey = url_key(value)  # a URL on an address: http://1.2.3.4/bins/x
                        if ukey is not None:
                            self._add_url(ukey, sid, combo1)
                            n_url += 1
        stats.urls += n_url
        stats.regexes += n_regex
        stats.domains += n_dom
        stats.ips += n_ip
        stats.cidrs += n_net
        # a URL's host or address counts it, or the URL itself when its host is a guarded top domain
        stats.accepted += n_dom + n_ip + n_net + n_path + n_regex + n_url_only
        stats.allowlisted += n_allowed
        if top_seen:
            stats.warnings.append(
                f"{rejected[topdomains.TOP_DOMAIN]} entries refused as top domains ({', '.join(top_seen)}"
                f"{', …' if rejected[topdomains.TOP_DOMAIN] > len(top_seen) else ''}); "
                "set `trusted: true` on the feed if it really means them"
            )
        if stats not in self.stats:
            self.stats.append(stats)
        return stats

    def _add_url(self, key: str, sid: int, combo1: int) -> None:
        old = self._urls.get(key)
        self._urls[key] = combo1 if old is None else self._merged(old, sid)

    def build(self) -> FeedIndex:
        domains = self._domains
        for name, a in self._allow_domains.items():
            # allow entries share the dict so that one probe sequence finds the most specific entry
            domains[name] = (a >> 1) * 4 + ALLOW + (a & 1)
        index = FeedIndex(
            domains,
            self._sources,
            self._combos,
            self._ranges,
            self._allow_sources,
            dict(self._allow_ranges),
            self.stats,
            self._urls,
            self._regexes,
        )
        index.table()  # build the bulk-lookup table now, not on the first packet batch
        return index
