"""``exfiltration``: unusual volume sent from inside hosts (and segments) to the internet.

Bytes sent by the originator of each connection from an inside host to an external address add up per
fixed ``window``. A host is reported when its window's total passes its floor (``floor``, or the
stricter ``zone_floors`` entry of its zone: EMR, HIS, LIS and servers by default) and, once it has
``min_history`` past windows, also ``mean + sigmas·std`` and ``factor·mean`` of its own baseline
(a backup server that sends 5 GB every night is not news). Segments are watched the same way with
``segment_floor``. The baselines are saved in the state file, so they survive a restart.
"""

from __future__ import annotations

import functools
from typing import Any

from wardwatch.alerts import Alert

from ..base import Batch, record_id
from ..segments import IpInfo
from .alerting import make_alert
from .baseline import Baseline
from .options import ExfilOptions
from .persist import Persisting
from .state import Table

MAX_DESTS = 64


def sent_bytes(rec: dict[str, Any]) -> int:
    b = rec.get("orig_bytes")
    if not isinstance(b, int):
        b = rec.get("orig_ip_bytes")
    return b if isinstance(b, int) and b > 0 else 0


class ExfilDetector(Persisting):
    name = "exfiltration"

    def __init__(self, opts: ExfilOptions | None = None, max_hosts: int = 200_000) -> None:
        self.o = opts or ExfilOptions()
        self.hosts: Table[str, Baseline] = Table(max_hosts)
        self.segments: dict[str, Baseline] = {}

    def evicted(self) -> int:
        return self.hosts.evicted

    def floor(self, src: IpInfo) -> int:
        return self.o.zone_floors.get(src.zone, self.o.floor)

    def detect(self, batch: Batch) -> list[Alert]:
        o = self.o
        out: list[Alert] = []
        for rec, src, dst in batch.each("conn"):
            if src.external or not dst.external or dst.broadcast:
                continue
            n = sent_bytes(rec)
            ts = rec.get("ts")
            if n == 0 or not isinstance(ts, float):
                continue
            bucket = int(ts // o.window)
            h = self.hosts.setdefault(src.ip, Baseline)
            h.roll(bucket, o.alpha)
            h.total += n
            if dst.ip in h.top or len(h.top) < MAX_DESTS:
                h.top[dst.ip] = h.top.get(dst.ip, 0.0) + n
            if h.alerted != h.bucket and h.total >= h.limit(
                self.floor(src), o.sigmas, o.factor, o.min_history
            ):
                h.alerted = h.bucket
                out.append(self._alert(rec, src, h, "behaviour.exfiltration.host"))
            if src.segment is not None:
                s = self.segments.setdefault(src.segment.name, Baseline())
                s.roll(bucket, o.alpha)
                s.total += n
                s.top[src.ip] = s.top.get(src.ip, 0.0) + n
                if s.alerted != s.bucket and s.total >= s.limit(
                    o.segment_floor, o.sigmas, o.factor, o.min_history
                ):
                    s.alerted = s.bucket
                    out.append(self._alert(rec, src, s, "behaviour.exfiltration.segment"))
        return out

    def _alert(self, rec: dict[str, Any], src: IpInfo, b: Baseline, rule: str) -> Alert:
        o = self.o
        top = sorted(b.top.items(), key=lambda kv: -kv[1])[:10]
        seg = src.segment.name if src.segment else "-"
        ev = {
            "log": "conn",
            "uid": rec.get("uid"),
            "bytes": int(b.total),
            "window": o.window,
            "window_start": b.bucket * o.window,
            "baseline_mean": int(b.mean),
            "history": b.n,
            "top": [[k, int(v)] for k, v in top],
        }
        if rule.endswith("segment"):
            indicator = f"segment:{seg}"
        else:
            indicator = top[0][0] if top else str(rec.get("id.resp_h"))
        a = make_alert(
            rule, float(rec["ts"]), src, None, indicator, ev,
            mb=round(b.total / 1e6, 1), baseline=round(b.mean / 1e6, 1), window=int(o.window), segment=seg,
        )  # fmt: skip
        a.seen.add(record_id(rec))
        return a

    def snapshot(self) -> Any:
        return {
            "window": self.o.window,
            "hosts": {k: v.dump() for k, v in self.hosts.items()},
            "segments": {k: v.dump() for k, v in self.segments.items()},
        }

    def restore(self, state: Any) -> None:
        if state.get("window") != self.o.window:
            return  # baselines of another window length mean nothing here
        for k, row in state["hosts"].items():
            self.hosts.setdefault(k, functools.partial(Baseline.load, row))
        for k, row in state["segments"].items():
            self.segments[k] = Baseline.load(row)

    def flush(self) -> list[Alert]:
        self.save()
        return []
