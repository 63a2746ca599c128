"""Hospital segments: which segment and zone an address belongs to, and which zones may reach which.

An address outside every configured segment is ``internet`` when it is routable, or ``local`` when it
is private, loopback, link-local, multicast or broadcast (a hospital host nobody put in a segment).
Documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) count as internet on purpose:
test captures and the synthetic hospital use them as public addresses.
"""

from __future__ import annotations

import importlib
import ipaddress
import os
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

ZONES = ("his", "emr", "pacs", "lis", "clinical", "server", "admin", "guest", "airgap", "dmz", "iot")
INTERNET = "internet"
LOCAL = "local"
CRITICALITY = {"low": 1, "medium": 2, "high": 3, "critical": 4}
DEFAULT_CRITICALITY = 2
# _addr.c: ipv4_values in C; WARDWATCH_DETECT_PYTHON=1 keeps the Python loop (imported by name: the
# built module is not in the source tree; this room comes first, so it does not use ingest.native)
_native: Any = None
if os.environ.get("WARDWATCH_DETECT_PYTHON") != "1":
    try:
        _native = importlib.import_module("wardwatch._addr")
    except ImportError:  # pragma: no cover - depends on the build
        _native = None

MAX_CACHE = 500_000  # addresses kept resolved; the cache starts over beyond
VECTOR_MIN = 64  # new addresses from which one group is looked up as arrays (numpy's call overhead)

# The default: the citizen/guest network reaches none of the internal zones. Traffic in or out
# of `airgap` is the airgap detector's (it ignores this matrix).
DEFAULT_DENY: dict[str, frozenset[str]] = {
    "guest": frozenset(("his", "emr", "pacs", "lis", "clinical", "server", "admin", "airgap")),
}

# Unspecified, private, shared (CGNAT), loopback and link-local IPv4 blocks: a site's own addresses,
# never an indicator (the feed index refuses them) and local to the detectors.
PRIVATE_V4 = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
)

V = TypeVar("V")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# a hospital's own ranges (the feed index's, which never lists them) plus what stays on the local link
LOCAL_NETS = tuple(
    ipaddress.ip_network(n)
    for n in (
        *PRIVATE_V4,
        "224.0.0.0/4",
        "255.255.255.255/32",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    name: str
    zone: str | None
    criticality: int


@dataclass(slots=True)
class IpInfo:
    """What the detectors need to know about one address; computed once and cached."""

    ip: str
    segment: SegmentInfo | None
    zone: str  # a ZONES entry, or INTERNET / LOCAL
    criticality: int
    external: bool  # outside every segment and every private range
    broadcast: bool = False  # multicast or broadcast: stays on the local link, crosses no boundary
    resolver: bool = False  # one of the hospital's configured resolvers
    feed: object = None  # threatfeeds Match, filled by the engine when a feed index is loaded
    ott: tuple[str, str] | None = None  # (app, listed CIDR) when the address is an OTT app's


def addr_value(text: str) -> tuple[int, int] | None:
    """``(version, int)`` of an address, IPv4-mapped IPv6 as IPv4; None when ``inet_pton`` refuses it
    (then ``parse_ip`` decides: scope ids, junk). Own code: ``ipaddress`` costs several µs per call."""
    try:
        if ":" in text:
            v = int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
            if v >> 32 == 0xFFFF:
                return 4, v & 0xFFFFFFFF
            return 6, v
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except (OSError, ValueError):
        return None


class PrefixTable(Generic[V]):
    """Networks → values, probed with one dict lookup per distinct prefix length (longest first).

    ``get`` gives the longest matching prefix (the first listed among equal networks); ``first`` gives
    the match listed earliest, whatever its length (for lists whose order decides)."""

    def __init__(self, items: Iterable[tuple[Network, V]]) -> None:
        tables: dict[tuple[int, int], dict[int, tuple[int, V]]] = {}
        for order, (net, value) in enumerate(items):
            shift = net.max_prefixlen - net.prefixlen
            key = int(net.network_address) >> shift
            tables.setdefault((net.version, shift), {}).setdefault(key, (order, value))
        self._by: dict[int, list[tuple[int, dict[int, tuple[int, V]]]]] = {4: [], 6: []}
        for (version, shift), table in sorted(tables.items(), key=lambda t: t[0][1]):
            self._by[version].append((shift, table))
        # the IPv4 networks as (start, end, order, value): flattened for the vectorised lookups
        self._v4 = [
            (key << shift, ((key + 1) << shift) - 1, order, value)
            for (version, shift), table in tables.items()
            if version == 4
            for key, (order, value) in table.items()
        ]
        self._flat: dict[bool, tuple[np.ndarray, list[V | None]]] = {}

    def __bool__(self) -> bool:
        return bool(self._by[4] or self._by[6])

    def get(self, version: int, value: int) -> V | None:
        for shift, table in self._by[version]:
            hit = table.get(value >> shift)
            if hit is not None:
                return hit[1]
        return None

    def first(self, version: int, value: int) -> V | None:
        best: tuple[int, V] | None = None
        for shift, table in self._by[version]:
            hit = table.get(value >> shift)
            if hit is not None and (best is None or hit[0] < best[0]):
                best = hit
        return None if best is None else best[1]

    def get_many4(self, values: np.ndarray) -> list[V | None]:
        """``get(4, v)`` for every IPv4 value of ``values`` (uint32) at once."""
        return self._many4(values, first=False)

    def first_many4(self, values: np.ndarray) -> list[V | None]:
        """``first(4, v)`` for every IPv4 value of ``values`` (uint32) at once."""
        return self._many4(values, first=True)

    def _many4(self, values: np.ndarray, first: bool) -> list[V | None]:
        flat = self._flat.get(first)
        if flat is None:
            flat = self._flat[first] = _flatten(self._v4, first)
        bounds, winners = flat
        at = np.searchsorted(bounds, values.astype(np.int64), side="right") - 1
        return [winners[i] for i in at.tolist()]


def _flatten(nets: list[tuple[int, int, int, V]], first: bool) -> tuple[np.ndarray, list[V | None]]:
    """Networks (start, end, listing order, value) as sorted interval starts and the value that wins
    on each interval: the longest prefix (the earliest listed among equal ones), or with ``first`` the
    earliest listed of those that hold it. Networks nest or are apart, never overlap partly, so the ones
    holding a point form a chain: a stack, innermost on top, swept over the points where it changes."""
    by_start = sorted(nets, key=lambda n: (n[0], n[0] - n[1], -n[2]))  # outer first; earliest on top
    points = sorted({0, *(n[0] for n in nets), *(n[1] + 1 for n in nets if n[1] < 0xFFFFFFFF)})
    bounds: list[int] = []
    winners: list[V | None] = []
    stack: list[tuple[int, int, int, V]] = []
    j = 0
    for p in points:
        while stack and stack[-1][1] < p:
            stack.pop()
        while j < len(by_start) and by_start[j][0] == p:
            stack.append(by_start[j])
            j += 1
        if not stack:
            win: V | None = None
        elif first:
            win = min(stack, key=lambda n: n[2])[3]
        else:
            win = stack[-1][3]
        if winners and winners[-1] is win:
            continue  # the same value as the interval before: one interval
        bounds.append(p)
        winners.append(win)
    return np.array(bounds, dtype=np.int64), winners


def ipv4_values(ips: Sequence[str]) -> tuple[list[int], np.ndarray]:
    """The positions in ``ips`` of the dotted-quad IPv4 addresses and their values (uint32), parsed
    as one buffer; everything else (IPv6, IPv4-mapped IPv6, junk) is left to ``addr_value``."""
    if _native is not None:
        at, raw = _native.ipv4_values(ips)
        return at, np.frombuffer(raw, dtype=np.uint32)
    return _ipv4_values(ips)


def _ipv4_values(ips: Sequence[str]) -> tuple[list[int], np.ndarray]:
    """``ipv4_values``'s fallback, the same in Python."""
    pton = socket.inet_pton
    af = socket.AF_INET
    at: list[int] = []
    raw: list[bytes] = []
    for i, ip in enumerate(ips):
        if ":" in ip:
            continue
        try:
            raw.append(pton(af, ip))
        except (OSError, ValueError):
            continue
        at.append(i)
    return at, np.frombuffer(b"".join(raw), dtype=">u4").astype(np.uint32)


_LOCAL_TABLE = PrefixTable((n, True) for n in LOCAL_NETS)


def _broadcast(version: int, value: int) -> bool:
    """Multicast (224.0.0.0/4, ff00::/8) or 255.255.255.255, as ``ipaddress`` has it."""
    if version == 4:
        return value >> 28 == 0xE or value == 0xFFFFFFFF
    return value >> 120 == 0xFF


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class SegmentMap:
    """Longest-prefix lookup of configured segments, cached per address string."""

    def __init__(
        self, segments: Iterable[tuple[str, Iterable[str | ipaddress._BaseNetwork], str | None, int]]
    ):
        nets: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, SegmentInfo]] = []
        self.segments: dict[str, SegmentInfo] = {}
        for name, cidrs, zone, crit in segments:
            info = SegmentInfo(name, zone, crit)
            self.segments[name] = info
            for c in cidrs:
                nets.append((ipaddress.ip_network(str(c), strict=False), info))
        nets.sort(key=lambda t: -t[0].prefixlen)
        self._nets = nets
        self._table = PrefixTable(nets)
        self._cache: dict[str, IpInfo] = {}
        # called once per new address (the engine adds feed and OTT lookups here)
        self.annotators: list[Callable[[IpInfo], None]] = []
        # called once per group of new addresses (lookups that are cheaper vectorised: feed ranges)
        self.bulk_annotators: list[Callable[[list[IpInfo]], None]] = []

    def __len__(self) -> int:
        return len(self.segments)

    @property
    def cache(self) -> dict[str, IpInfo]:
        """Address → info for the addresses seen so far (read-only for callers)."""
        return self._cache

    def segment_of(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> SegmentInfo | None:
        for net, info in self._nets:
            if net.version == ip.version and ip in net:
                return info
        return None

    def info(self, ip: str) -> IpInfo:
        hit = self._cache.get(ip)
        if hit is not None:
            return hit
        return self._fill(ip)

    def _fill(self, ip: str) -> IpInfo:
        if len(self._cache) > MAX_CACHE:
            self._cache.clear()  # bounded memory on a long run with many internet addresses
        out = self._make(ip)
        for hook in self.annotators:
            hook(out)
        for bulk in self.bulk_annotators:
            bulk([out])
        self._cache[ip] = out
        return out

    def resolve(self, ips: Iterable[str]) -> None:
        """Put every address of ``ips`` not seen yet in the cache, annotating them as one group."""
        cache = self._cache
        fresh = [ip for ip in dict.fromkeys(ips) if ip not in cache]
        if not fresh:
            return
        new = self._make_many(fresh) if len(fresh) >= VECTOR_MIN else [self._make(ip) for ip in fresh]
        for hook in self.annotators:
            for info in new:
                hook(info)
        for bulk in self.bulk_annotators:
            bulk(new)
        if len(cache) + len(new) > MAX_CACHE:
            cache.clear()
        for info in new:
            cache[info.ip] = info

    def _make_many(self, ips: list[str]) -> list[IpInfo]:
        """``_make`` for many addresses: the IPv4 ones parsed and looked up as arrays (a SYN flood
        from spoofed sources brings 50,000 new addresses a batch: 2.1 → 0.6 µs each)."""
        at, values = ipv4_values(ips)
        out: list[IpInfo | None] = [None] * len(ips)
        if at:
            segs = self._table.get_many4(values)
            local = _LOCAL_TABLE.get_many4(values)
            bcast = ((values >> 28) == 0xE) | (values == 0xFFFFFFFF)
            for i, seg, loc, bc in zip(at, segs, local, bcast.tolist(), strict=True):
                ip = ips[i]
                if seg is not None:
                    out[i] = IpInfo(ip, seg, seg.zone or LOCAL, seg.criticality, False, bc)
                elif loc is not None:
                    out[i] = IpInfo(ip, None, LOCAL, DEFAULT_CRITICALITY, False, bc)
                else:
                    out[i] = IpInfo(ip, None, INTERNET, DEFAULT_CRITICALITY, True, bc)
        return [o if o is not None else self._make(ip) for o, ip in zip(out, ips, strict=True)]

    def _make(self, ip: str) -> IpInfo:
        pv = addr_value(ip)
        if pv is None:
            return self._make_slow(ip)
        version, value = pv
        seg = self._table.get(version, value)
        if seg is not None:
            out = IpInfo(ip, seg, seg.zone or LOCAL, seg.criticality, external=False)
        else:
            local = _LOCAL_TABLE.get(version, value) is not None
            out = IpInfo(ip, None, LOCAL if local else INTERNET, DEFAULT_CRITICALITY, external=not local)
        out.broadcast = _broadcast(version, value)
        return out

    def _make_slow(self, ip: str) -> IpInfo:
        addr = parse_ip(ip)
        seg = self.segment_of(addr) if addr is not None else None
        if seg is not None:
            zone = seg.zone or LOCAL
            out = IpInfo(ip, seg, zone, seg.criticality, external=False)
        else:
            local = addr is None or any(addr.version == n.version and addr in n for n in LOCAL_NETS)
            out = IpInfo(ip, None, LOCAL if local else INTERNET, DEFAULT_CRITICALITY, external=not local)
        out.broadcast = addr is not None and (addr.is_multicast or str(addr) == "255.255.255.255")
        return out


class ZonePolicy:
    """Which zone may not reach which. ``deny[src_zone]`` is the set of zones it must not open
    connections to; ``allow`` holds (src, dst) exceptions by segment or zone name."""

    def __init__(
        self,
        deny: Mapping[str, Iterable[str]] | None = None,
        allow: Iterable[tuple[str, str]] = (),
    ) -> None:
        src = DEFAULT_DENY if deny is None else deny
        self.deny = {z: frozenset(v) for z, v in src.items()}
        self.allow = frozenset(allow)

    def denied(self, src: IpInfo, dst: IpInfo) -> bool:
        bad = self.deny.get(src.zone)
        if not bad or dst.zone not in bad:
            return False
        if self.allow:
            s = (src.segment.name if src.segment else "", src.zone)
            d = (dst.segment.name if dst.segment else "", dst.zone)
            if any((a, b) in self.allow for a in s for b in d):
                return False
        return True


def criticality_level(value: str | int | None) -> int | None:
    """``low|medium|high|critical`` or 1-4 → 1-4; None when the value is not one of those."""
    if value is None:
        return DEFAULT_CRITICALITY
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= 4 else None
    return CRITICALITY.get(str(value).strip().lower())


def segment_order(segments_of: Iterable[Any]) -> Callable[[str], tuple[int, int, int, str]]:
    """Sort key for segment names (``segments_of``: the config's ``segments``): HIS and EMR first, then the most critical, then by zone as the
    glossary lists them; names outside the config's segments (the internet) last."""
    segments = {s.name: s for s in segments_of}

    def key(name: str) -> tuple[int, int, int, str]:
        s = segments.get(name)
        if s is None:
            return (2, 0, len(ZONES), name)
        zone = s.zone or ""
        rank = ZONES.index(zone) if zone in ZONES else len(ZONES)
        return (0 if zone in ("his", "emr") else 1, -(criticality_level(s.criticality) or 0), rank, name)

    return key
