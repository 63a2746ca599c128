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
import struct
from typing import Any

from wardwatch.alerts import Alert
from wardwatch.segments import IpInfo

from ..base import Batch, record_id
from ..rules import make_alert
from .baseline import Baseline
from .options import ExfilOptions
from .persist import HostTable

MAX_DESTS = 64


def sent_bytes(rec: dict[str, Any]) -> int:
    b = rec.get("orig_bytes")
    if not isinstance(b, int):
        b = rec.get("orig_ip_bytes")
    return b if isinstance(b, int) and b > 0 else 0


# Per host, the running window and the baseline as packed doubles: bucket, total, mean, var, n,
# alerted (bucket), limit (< 0: to compute). A bytearray is not tracked by the garbage collector; an
# object per host is, and with 100k hosts every full collection walked them all.
HOST = struct.Struct("7d")
_TOTAL = struct.Struct("d")  # the total alone, at offset 8: the one field most records change


def _view(v: bytearray, top: dict[str, float] | None) -> Baseline:
    b = Baseline()
    bucket, b.total, b.mean, b.var, n, alerted, b.lim = HOST.unpack_from(v)
    b.bucket, b.n, b.alerted = int(bucket), int(n), int(alerted)
    b.top = top if top is not None else {}
    return b


def _pack(b: Baseline) -> bytearray:
    return bytearray(HOST.pack(b.bucket, b.total, b.mean, b.var, b.n, b.alerted, b.lim))


class ExfilDetector(HostTable[ExfilOptions, bytearray]):
    name = "exfiltration"

    def __init__(self, opts: ExfilOptions | None = None, max_hosts: int = 200_000) -> None:
        super().__init__(opts or ExfilOptions(), max_hosts)
        self.tops: dict[str, dict[str, float]] = {}  # host → destination → bytes in its running window
        self.segments: dict[str, Baseline] = {}

    def floor(self, src: IpInfo) -> int:
        return self.o.zone_floors.get(src.zone, self.o.floor)

    def baseline(self, ip: str) -> Baseline | None:
        """The host's window and baseline (a copy), or None when it is not tracked."""
        v = self.hosts.get(ip)
        return _view(v, dict(self.tops.get(ip) or {})) if v is not None else None

    def detect(self, batch: Batch) -> list[Alert]:
        o = self.o
        out: list[Alert] = []
        window, alpha = o.window, o.alpha
        sigmas, factor, min_history = o.sigmas, o.factor, o.min_history
        floors, floor = o.zone_floors, o.floor
        # the LRU table inline (Table.setdefault's logic): this loop runs for every connection
        table = self.hosts
        d, get, touch = table.raw()
        max_keys = table.max_keys
        tops = self.tops
        segments = self.segments
        unpack, pack_total = HOST.unpack_from, _TOTAL.pack_into
        for rec, src, dst in batch.each("conn"):
            if src.external or not dst.external or dst.broadcast:
                continue
            n = rec.get("orig_bytes")
            if n.__class__ is not int:
                n = rec.get("orig_ip_bytes")
                if not isinstance(n, int):
                    continue
            ts = rec.get("ts")
            if n <= 0 or ts.__class__ is not float:
                continue
            bucket = int(ts // window)
            ip = src.ip
            dip = dst.ip
            v = get(ip)
            if v is None:
                # a new host: what Baseline.roll() and limit() would give (most hosts are new in a window)
                lim = float(floors.get(src.zone, floor))
                v = d[ip] = bytearray(HOST.pack(bucket, n, 0.0, 0.0, 0, -1, lim))
                tops[ip] = {dip: n}
                if len(d) > max_keys:
                    tops.pop(table.trim(), None)
                total, hb, alerted = float(n), float(bucket), -1.0
            else:
                touch(ip)
                hb, total, _, _, _, alerted, lim = unpack(v)
                if bucket > hb or lim < 0:  # a window ended (or a restored host): the slow path
                    b = _view(v, tops.get(ip))
                    b.roll(bucket, alpha)
                    b.lim = b.limit(floors.get(src.zone, floor), sigmas, factor, min_history)
                    v[:] = _pack(b)
                    tops[ip] = b.top
                    hb, total, alerted, lim = float(b.bucket), b.total, float(b.alerted), b.lim
                total += n
                pack_total(v, 8, total)
                top = tops.setdefault(ip, {})
                if dip in top:
                    top[dip] += n
                elif len(top) < MAX_DESTS:
                    top[dip] = n
            if total >= lim and alerted != hb:
                HOST.pack_into(v, 0, *unpack(v)[:5], hb, lim)
                out.append(self._alert(rec, src, _view(v, tops.get(ip)), "behaviour.exfiltration.host"))
            seg = src.segment
            if seg is not None:
                sb = segments.get(seg.name)
                if sb is None:
                    sb = segments[seg.name] = Baseline()
                if bucket > sb.bucket:
                    sb.roll(bucket, alpha)
                sb.total += n
                stop = sb.top
                stop[ip] = stop.get(ip, 0) + n
                if sb.lim < 0:
                    sb.lim = sb.limit(o.segment_floor, sigmas, factor, min_history)
                if sb.total >= sb.lim and sb.alerted != sb.bucket:
                    sb.alerted = sb.bucket
                    out.append(self._alert(rec, src, sb, "behaviour.exfiltration.segment"))
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
            "hosts": {k: list(HOST.unpack_from(v)[:5]) for k, v in self.hosts.items()},
            "segments": {k: v.dump() for k, v in self.segments.items()},
        }

    def restore(self, state: Any) -> None:
        if state.get("window") != self.o.window:
            return  # baselines of another window length mean nothing here
        for k, row in state["hosts"].items():
            b = Baseline.load(row)  # its limit is computed at its next record (lim < 0)
            self.hosts.setdefault(k, functools.partial(_pack, b))
        for k, row in state["segments"].items():
            self.segments[k] = Baseline.load(row)

    def flush(self) -> list[Alert]:
        self.save()
        return []
