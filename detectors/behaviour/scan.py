"""``port_scan``: one host probing many ports of one host (vertical) or one port on many hosts
(horizontal) within ``window``.

Only probes count: TCP attempts that carried no data and either opened with a SYN (unanswered, refused,
reset or half-open) or sent none of SYN/ACK at all (nmap's NULL, FIN and Xmas scans); UDP datagrams
that got no reply. A bare ACK (an ACK sweep, or the tail of a connection the sensor saw half of) is
not a probe, and a server's many clients are not either: their connections carry data, and they are
keyed by the client.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from wardwatch.alerts import Alert

from ..base import Batch, record_id
from ..rules import make_alert
from .options import ScanOptions
from .persist import Persisting
from .state import Table

MAX_ITEMS = 4096


def is_probe(rec: dict[str, Any]) -> bool:
    proto = rec.get("proto")
    if proto == "tcp":
        h = rec.get("history") or ""
        if "D" in h or "d" in h:
            return False
        if rec.get("orig_bytes") or rec.get("resp_bytes"):
            return False
        if "S" in h:
            return True
        return "A" not in h and "h" not in h and not rec.get("resp_pkts")
    if proto == "udp":
        return not rec.get("resp_pkts") and bool(rec.get("orig_pkts", 1))
    return False


class _Key:
    __slots__ = ("items", "alerted")

    def __init__(self) -> None:
        # (port, proto) or host → last probe time, oldest probe first (``move_to_end`` on a repeat),
        # so what left the window or exceeds MAX_ITEMS is taken from the front: O(1) per probe. (The
        # earlier sweep of the whole dict once it held MAX_ITEMS items cost 4,096 steps a probe: a
        # 65,000-port scan took 86 s of a 96 s `wardwatch detect`.)
        self.items: OrderedDict[Any, float] = OrderedDict()
        self.alerted = float("-inf")

    def add(self, item: object, ts: float, window: float) -> int:
        it = self.items
        it[item] = ts
        it.move_to_end(item)
        if len(it) > 1:
            cut = ts - window
            first = next(iter(it))
            # one lookup in the usual case (the oldest probe still counts): a flood calls this per record
            while it[first] < cut or len(it) > MAX_ITEMS:
                del it[first]
                first = next(iter(it))
        return len(it)

    def live(self, ts: float, window: float) -> int:
        cut = ts - window
        return sum(1 for t in self.items.values() if t >= cut)


def _grown(
    table: OrderedDict[Any, Any], key: Any, one: tuple[Any, float], item: Any, ts: float
) -> _Key | None:
    """The key's second probe: the same item again stays a tuple (None: nothing to count, as ``add``
    of a repeated single item gives 1); another item makes it a _Key holding the first one."""
    if one[0] == item:
        table[key] = (item, ts)
        return None
    k = table[key] = _Key()
    k.items[one[0]] = one[1]
    return k


class ScanDetector(Persisting):
    name = "port_scan"
    # a key's first probe as a tuple (``detect``); False: a _Key at once (the tests' reference)
    compact = True

    def __init__(self, opts: ScanOptions | None = None, max_hosts: int = 200_000) -> None:
        self.o = opts or ScanOptions()
        # values: a _Key, or (item, ts) while the key has seen one item (``detect``)
        self.vertical: Table[tuple[str, str], Any] = Table(max_hosts)
        self.horizontal: Table[tuple[str, int, str], Any] = Table(max_hosts)

    def evicted(self) -> int:
        return self.vertical.evicted + self.horizontal.evicted

    def detect(self, batch: Batch) -> list[Alert]:
        o = self.o
        out: list[Alert] = []
        window = o.window
        # Table.setdefault inlined (Table.raw): two per probe, a flood's every record
        vert, vget, vtouch = self.vertical.raw()
        hori, hget, htouch = self.horizontal.raw()
        vmax, hmax = self.vertical.max_keys, self.horizontal.max_keys
        # A key's first probe is kept as a bare (item, ts) tuple, a _Key (an OrderedDict) only from its
        # second distinct item on: a SYN flood from spoofed sources makes two keys per record that
        # never see another probe (0.8 KiB and 1.3 µs each as _Keys). One item never reaches a
        # threshold of 2 or more, so nothing else changes; with a threshold of 1, a _Key at once.
        vsmall, hsmall = self.compact and o.min_ports > 1, self.compact and o.min_hosts > 1
        for rec, src, dst in batch.each("conn"):
            if dst.broadcast or not is_probe(rec):
                continue
            ts = rec.get("ts")
            port = rec.get("id.resp_p")
            if not isinstance(ts, float) or not isinstance(port, int):
                continue
            proto = str(rec.get("proto"))
            vk = (src.ip, dst.ip)
            item: Any = (port, proto)
            v = vget(vk)
            if v is None:
                if vsmall:
                    vert[vk] = (item, ts)
                else:
                    v = vert[vk] = _Key()
                if len(vert) > vmax:
                    self.vertical.trim()
            else:
                vtouch(vk)
                if v.__class__ is tuple:
                    v = _grown(vert, vk, v, item, ts)
            if v is not None and v.add(item, ts, window) >= o.min_ports and ts - v.alerted >= o.cooldown:
                n = v.live(ts, o.window)
                if n >= o.min_ports:
                    v.alerted = ts
                    ports = sorted(p for p, t in v.items.items() if t >= ts - o.window)
                    ev = {"log": "conn", "uid": rec.get("uid"), "ports": n, "sample": [f"{p}/{q}" for p, q in ports[:30]],
                          "proto": proto, "conn_state": rec.get("conn_state"), "window": o.window}  # fmt: skip
                    a = make_alert(
                        "behaviour.port_scan.vertical",
                        ts,
                        src,
                        dst,
                        dst.ip,
                        ev,
                        ports=n,
                        window=int(o.window),
                    )
                    a.seen.add(record_id(rec))
                    out.append(a)
            hk = (src.ip, port, proto)
            h = hget(hk)
            if h is None:
                if hsmall:
                    hori[hk] = (dst.ip, ts)
                else:
                    h = hori[hk] = _Key()
                if len(hori) > hmax:
                    self.horizontal.trim()
            else:
                htouch(hk)
                if h.__class__ is tuple:
                    h = _grown(hori, hk, h, dst.ip, ts)
            if h is not None and h.add(dst.ip, ts, window) >= o.min_hosts and ts - h.alerted >= o.cooldown:
                n = h.live(ts, o.window)
                if n >= o.min_hosts:
                    h.alerted = ts
                    hosts = sorted(k for k, t in h.items.items() if t >= ts - o.window)
                    ev = {"log": "conn", "uid": rec.get("uid"), "hosts": n, "sample": [str(x) for x in hosts[:30]],
                          "port": port, "proto": proto, "window": o.window}  # fmt: skip
                    a = make_alert(
                        "behaviour.port_scan.horizontal",
                        ts,
                        src,
                        None,
                        f"{port}/{proto}",
                        ev,
                        hosts=n,
                        window=int(o.window),
                    )
                    a.seen.add(record_id(rec))
                    out.append(a)
        return out
