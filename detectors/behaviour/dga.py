"""``dga``: hosts looking up algorithmically generated names.

Only NXDOMAIN answers are scored (a DGA bot tries many names, of which the few its master registered
resolve), by the label of the registered domain (``dgamodel.score``). A host is reported when it has
looked up ``min_names`` distinct DGA-like nonexistent registered domains within ``window``
(``behaviour.dga.host``); one name whose score clears the bar by ``single_offset`` more is reported on
its own at low severity (``behaviour.dga.name``) until the host alert takes over. Lookups by a configured
resolver on its clients' behalf, mDNS and names without a public suffix are skipped.
"""

from __future__ import annotations

from collections import deque

from wardwatch.alerts import Alert

from ..base import Batch, record_id
from ..rules import make_alert
from . import dgamodel
from .names import nxdomain_lookups, split_name
from .options import DgaOptions
from .persist import HostTable


class _Host:
    __slots__ = ("seen", "names", "alerted")

    def __init__(self) -> None:
        self.seen: deque[tuple[float, str]] = deque()  # (ts, registered domain) of DGA-like NX names
        self.names: set[str] = set()
        self.alerted = float("-inf")


class DgaDetector(HostTable[DgaOptions, _Host]):
    name = "dga"

    def __init__(self, opts: DgaOptions | None = None, max_hosts: int = 200_000) -> None:
        super().__init__(opts or DgaOptions(), max_hosts)
        self._scores: dict[str, float] = {}  # per registered domain: DGA bots repeat names

    def score(self, reg: str) -> float:
        s = self._scores.get(reg)
        if s is None:
            if len(self._scores) > 100_000:
                self._scores.clear()
            s = self._scores[reg] = dgamodel.score(reg.split(".", 1)[0], self.o.min_letters) - self.o.offset
        return s

    def detect(self, batch: Batch) -> list[Alert]:
        out: list[Alert] = []
        o = self.o
        for rec, src, dst, q in nxdomain_lookups(batch):
            parts = split_name(q.lower())
            if parts is None:
                continue
            reg = parts[1]
            s = self.score(reg)
            if s <= 0:
                continue
            ts = float(rec.get("ts") or batch.ts_max)
            h = self.hosts.setdefault(src.ip, _Host)
            while h.seen and h.seen[0][0] < ts - o.window:
                h.names.discard(h.seen.popleft()[1])
            if reg not in h.names:
                h.seen.append((ts, reg))
                h.names.add(reg)
            if ts - h.alerted < o.cooldown:
                continue
            ev = {"log": "dns", "uid": rec.get("uid"), "query": q, "score": round(s, 2), "resolver": dst.ip}
            if len(h.names) >= o.min_names:
                h.alerted = ts
                sample = sorted(h.names)[:20]
                ev.update(names=len(h.names), sample=sample, window=o.window)
                a = make_alert("behaviour.dga.host", ts, src, None, reg, ev, count=len(h.names))
            elif s > o.single_offset:
                a = make_alert("behaviour.dga.name", ts, src, None, reg, ev)
            else:
                continue
            a.seen.add(record_id(rec))
            out.append(a)
        return out
