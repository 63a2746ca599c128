"""``dns_tunnel``: a client carrying data in DNS names under one registered domain.

Per name (``carries_data``): the part in front of the registered domain is long, or one of its labels
is long and high in entropy, or it holds what host names never do (``+ / =``, bytes outside ASCII,
upper and lower case mixed inside a label: iodine's base32/64/128 and dns2tcp's base64).

Per (client, registered domain) over ``window``: a tunnel needs many distinct subdomains, most of them
carrying data, and enough bytes in the names. TXT/NULL/CNAME/MX/ANY queries, which tunnels use for
their answers, lower the number of data-carrying names needed to a third. The share of data-carrying
names may be low when ``data_bytes`` (8 kB) or more travel in distinct data-carrying names: a tunnel
alternating each upload with a short polling name is still a tunnel. A CDN's or an anti-virus
service's hashed names pass the per-name test but come in far smaller numbers per client.
"""

from __future__ import annotations

import math
from collections import Counter, deque

from wardwatch.alerts import Alert

from ..base import Batch, record_id
from ..rules import make_alert
from .names import clean_query, split_name
from .options import TunnelOptions
from .persist import Persisting
from .state import Table

ODD_TYPES = frozenset(("TXT", "NULL", "CNAME", "MX", "ANY", "SRV", "PRIVATE", "KEY"))
_DIGITS = "0123456789"  # ASCII digits: the only ones a label that passed _HOSTCHARS can hold
_HOSTCHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
MAX_EVENTS = 4096  # per (client, domain): more is a tunnel already, or a loop we need not keep
MAX_CACHE = 50_000  # parsed query names kept (cleared when full)
_UNSEEN: tuple[str, str, str, bool] = ("", "", "", False)  # a query not parsed yet (identity only)
RECENT = 8  # a duplicated packet's record comes right after the original for the same pair


_ENTROPY: dict[tuple[int, ...], float] = {}  # memo: character counts (first-seen order) → entropy
_ENTROPY_MAX = 8192


def entropy(s: str) -> float:
    n = len(s)
    if n == 0:
        return 0.0
    # the sum depends only on the counts in first-seen order (n is their sum), so a memo keyed by
    # them returns the very same float; a flood's short random labels share few count shapes
    counts = tuple(Counter(s).values())
    e = _ENTROPY.get(counts)
    if e is None:
        e = -sum(c / n * math.log2(c / n) for c in counts)
        if len(_ENTROPY) < _ENTROPY_MAX:
            _ENTROPY[counts] = e
    return e


def carries_data(sub: str, o: TunnelOptions) -> bool:
    """Does the subdomain part ``sub`` (original case) look like encoded data?"""
    if len(sub) >= o.sub_len:
        return True
    for label in sub.split("."):
        n = len(label)
        if n < 6:
            continue
        # issuperset runs in C; a flood hands us a new name per record, so per-name cost counts
        if not _HOSTCHARS.issuperset(label):
            return True
        # past the test above the label is ASCII host characters only, where "has a letter" is
        # exactly "lower and upper differ" (one C call instead of a per-character generator)
        if n >= 8 and not label.islower() and not label.isupper() and label.lower() != label.upper():
            return True  # mixed case inside one label: base64-style encodings
        # digits counted first (ten C str.count calls): cheaper than the entropy, same boolean
        if n >= o.label_len or (
            n >= 12 and sum(map(label.count, _DIGITS)) >= 2 and entropy(label.lower()) >= o.entropy
        ):
            return True
    return False


class _Pair:
    __slots__ = ("events", "subs", "suspect", "odd", "nbytes", "dbytes", "alerted", "recent")

    def __init__(self) -> None:
        self.recent: deque[str] = deque(maxlen=RECENT)  # ids of the last records: SPAN duplicates
        self.events: deque[tuple[float, str, bool, int, bool]] = deque()
        self.subs: Counter[str] = Counter()
        self.suspect = 0
        self.odd = 0
        self.nbytes = 0
        self.dbytes = 0  # bytes in the first sighting of each data-carrying name in the window
        self.alerted = float("-inf")

    def add(self, ev: tuple[float, str, bool, int, bool]) -> None:
        self.events.append(ev)
        c = self.subs[ev[1]]
        self.subs[ev[1]] = c + 1
        if ev[2] and not c:
            self.dbytes += ev[3]
        self.suspect += ev[2]
        self.nbytes += ev[3]
        self.odd += ev[4]

    def expire(self, before: float) -> None:
        ev = self.events
        while ev and (ev[0][0] < before or len(ev) > MAX_EVENTS):
            _, sub, sus, nb, odd = ev.popleft()
            c = self.subs[sub] - 1
            if c:
                self.subs[sub] = c
            else:
                del self.subs[sub]
                if sus:
                    self.dbytes -= nb
            self.suspect -= sus
            self.nbytes -= nb
            self.odd -= odd


class TunnelDetector(Persisting):
    name = "dns_tunnel"

    def __init__(self, opts: TunnelOptions | None = None, max_hosts: int = 200_000) -> None:
        self.o = opts or TunnelOptions()
        self.pairs: Table[tuple[str, str], _Pair] = Table(max_hosts)
        # query → (name, registered domain, subdomain part, carries data) or None: most names repeat
        self._parsed: dict[str, tuple[str, str, str, bool] | None] = {}

    def evicted(self) -> int:
        return self.pairs.evicted

    def detect(self, batch: Batch) -> list[Alert]:
        out: list[Alert] = []
        o = self.o
        cache = self._parsed
        for rec, src, dst in batch.each("dns"):
            if src.resolver or rec.get("id.resp_p") == 5353:
                continue
            raw = rec.get("query")
            if raw.__class__ is not str:
                continue
            got = cache.get(raw, _UNSEEN)
            if got is _UNSEEN:
                got = cache[raw] = self.parse(raw)
                if len(cache) > MAX_CACHE:
                    cache.clear()
            if got is None:
                continue
            q, reg, sub, data = got
            ts = float(rec.get("ts") or batch.ts_max)
            key = (src.ip, reg)
            # a pair is tracked from its first data-carrying name on: most clients never send one
            p = self.pairs.setdefault(key, _Pair) if data else self.pairs.get(key)
            if p is None:
                continue
            rid = record_id(rec)
            if rid in p.recent:
                continue
            p.recent.append(rid)
            p.expire(ts - o.window)
            p.add((ts, sub, data, len(sub), rec.get("qtype_name") in ODD_TYPES))
            if not self.tunnel_like(p) or ts - p.alerted < o.cooldown:
                continue
            p.alerted = ts
            n = len(p.events)
            ev = {
                "log": "dns",
                "uid": rec.get("uid"),
                "query": q,
                "queries": n,
                "distinct": len(p.subs),
                "data_names": p.suspect,
                "bytes": p.nbytes,
                "data_bytes": p.dbytes,
                "odd_type_ratio": round(p.odd / n, 3),
                "window": o.window,
                "resolver": dst.ip,
            }
            a = make_alert("behaviour.dns_tunnel", ts, src, None, reg, ev, names=len(p.subs), bytes=p.nbytes)
            a.seen.add(record_id(rec))
            out.append(a)
        return out

    def parse(self, raw: object) -> tuple[str, str, str, bool] | None:
        q = clean_query(raw)
        if q is None:
            return None
        parts = split_name(q.lower())
        if parts is None or not parts[0]:
            return None
        sub = q[: len(parts[0])]
        return q, parts[1], sub, carries_data(sub, self.o)

    def tunnel_like(self, p: _Pair) -> bool:
        o = self.o
        n = len(p.events)
        if len(p.subs) < o.min_names or p.nbytes < o.min_bytes:
            return False
        need = o.min_suspect if p.odd < o.odd_types_ratio * n else max(1, o.min_suspect // 3)
        if p.suspect < need:
            return False
        # kilobytes in distinct data-carrying names are evidence on their own: a tunnel's polling
        # names must not dilute them below the share
        return p.suspect >= o.min_suspect_ratio * n or p.dbytes >= o.data_bytes
