"""``nxdomain_burst``: a host suddenly getting many NXDOMAIN answers.

Within a sliding ``window``: at least ``min_count`` NXDOMAIN answers for at least ``min_names``
distinct names (a device retrying one stale name is a misconfiguration, not a burst), and, once the
host has a history, ``factor`` times its usual count per window (a mail server checking blocklists
has a high normal level).

The indicator names what failed: the registered domain when most of the failed names fall under it
(a subdomain enumeration of ``benhvien.vn``), else the failed name seen most often (random names under
many domains share no parent worth naming). Only NXDOMAIN names count: a domain the host resolved
successfully, however often, never becomes the indicator.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

from wardwatch.alerts import Alert

from ..base import Batch, record_id
from ..rules import make_alert
from .baseline import Baseline
from .names import nxdomain_lookups, registered
from .options import NxOptions
from .persist import HostTable

MAX_EVENTS = 8192
RECENT = 8  # a duplicated packet's record comes right after the original for the same host


def burst_indicator(names: Counter[str]) -> str:
    """The indicator of a burst over the failed ``names`` (name → NXDOMAIN answers)."""
    regs = Counter(registered(x) or x for x in names)
    reg, n = regs.most_common(1)[0]
    if 2 * n > len(names):
        return reg
    # ties go to the name that failed first (Counter keeps insertion order)
    return names.most_common(1)[0][0]


class _Host:
    __slots__ = ("events", "names", "base", "alerted", "recent")

    def __init__(self) -> None:
        self.recent: deque[str] = deque(maxlen=RECENT)  # ids of the last records: SPAN duplicates
        self.events: deque[tuple[float, str]] = deque()
        self.names: Counter[str] = Counter()
        self.base = Baseline()
        self.alerted = float("-inf")


class NxdomainDetector(HostTable[NxOptions, _Host]):
    name = "nxdomain_burst"

    def __init__(self, opts: NxOptions | None = None, max_hosts: int = 200_000) -> None:
        super().__init__(opts or NxOptions(), max_hosts)

    def detect(self, batch: Batch) -> list[Alert]:
        o = self.o
        out: list[Alert] = []
        for rec, src, dst, q in nxdomain_lookups(batch):
            q = q.lower()
            ts = float(rec.get("ts") or batch.ts_max)
            h = self.hosts.setdefault(src.ip, _Host)
            rid = record_id(rec)
            if rid in h.recent:
                continue
            h.recent.append(rid)
            ev = h.events
            while ev and (ev[0][0] < ts - o.window or len(ev) > MAX_EVENTS):
                old = ev.popleft()[1]
                c = h.names[old] - 1
                if c:
                    h.names[old] = c
                else:
                    del h.names[old]
            ev.append((ts, q))
            h.names[q] += 1
            h.base.roll(int(ts // o.window), o.alpha)
            h.base.total += 1
            n = len(ev)
            if n < o.min_count or len(h.names) < o.min_names or ts - h.alerted < o.cooldown:
                continue
            if h.base.n >= 3 and n < o.factor * h.base.mean:
                continue
            h.alerted = ts
            top = burst_indicator(h.names)
            evd: dict[str, Any] = {"log": "dns", "uid": rec.get("uid"), "count": n, "names": len(h.names),
                                   "sample": sorted(h.names)[:20], "usual": round(h.base.mean, 1),
                                   "window": o.window, "resolver": dst.ip}  # fmt: skip
            a = make_alert(
                "behaviour.nxdomain_burst",
                ts,
                src,
                None,
                top,
                evd,
                count=n,
                names=len(h.names),
                window=int(o.window),
            )
            a.seen.add(record_id(rec))
            out.append(a)
        return out

    def snapshot(self) -> Any:
        return {
            "window": self.o.window,
            "hosts": {k: h.base.dump() for k, h in self.hosts.items() if h.base.n},
        }

    def restore(self, state: Any) -> None:
        if state.get("window") != self.o.window:
            return
        for k, row in state["hosts"].items():
            h = self.hosts.setdefault(k, _Host)
            h.base = Baseline.load(row)

    def flush(self) -> list[Alert]:
        self.save()
        return []
