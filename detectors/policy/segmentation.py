"""Segmentation breaches: a connection from a zone to a zone the policy matrix forbids it (by default
the citizen/guest network reaching any internal zone; order SYT-BDI-2024). Traffic in or out of the
secret LAN is the airgap detector's.

Allowed services: ``allow`` entries with ``ports`` (``{from: guest, to: server, ports: [53/udp,
53/tcp]}``) let only those services through; the rest of the pair stays forbidden.

Merging: one breach must not hide the next. Within a window, the first breach from a host into a
segment is named by the segment (``his``), and unanswered attempts (a sweep, a blocked SYN) join it,
so a scan stays one alert with its count. A connection that reaches a *different* host or service
(answered) is a new alert, named ``<host>:<port>/<proto>``; repeats of that service merge into it.
"""

from __future__ import annotations

from dataclasses import dataclass

from wardwatch.alerts import Alert
from wardwatch.segments import IpInfo, ZonePolicy

from ..base import Batch, record_id
from ..behaviour.state import Table
from ..hits import Hit, built
from ..rules import make_hit

_NO_ANSWER = ("S0", "REJ", "OTH")
WINDOW = 3600.0  # how long the services a host reached in a segment are remembered
MAX_SERVICES = 256  # per host and segment: past this, further services join the segment's alert


@dataclass(frozen=True)
class ServiceAllow:
    """An allowed service between two zones or segments: ports as (low, high, proto or None)."""

    src: str
    dst: str
    ports: tuple[tuple[int, int, str | None], ...]

    def matches(self, o: IpInfo, d: IpInfo, port: object, proto: object) -> bool:
        if not isinstance(port, int):
            return False
        if self.src not in (o.zone, o.segment.name if o.segment else None):
            return False
        if self.dst not in (d.zone, d.segment.name if d.segment else None):
            return False
        return any(lo <= port <= hi and (p is None or p == proto) for lo, hi, p in self.ports)


class _Seen:
    """What one host has reached in one segment: services → indicator, and when this began."""

    __slots__ = ("since", "services")

    def __init__(self) -> None:
        self.since = 0.0
        self.services: dict[tuple[str, object, object], str] = {}


class SegmentationDetector:
    name = "segmentation"

    def __init__(
        self, policy: ZonePolicy, services: tuple[ServiceAllow, ...] = (), max_hosts: int = 200_000
    ) -> None:
        self.policy = policy
        self.services = services
        self.seen: Table[tuple[str, str], _Seen] = Table(max_hosts)

    def indicator(self, base: str, o: IpInfo, d: IpInfo, port: object, proto: object, ts: float,
                  answered: bool) -> str:  # fmt: skip
        s = self.seen.setdefault((o.ip, base), _Seen)
        if not s.services or ts - s.since > WINDOW:
            s.since = ts
            s.services = {}
        if not s.services:
            s.services[(d.ip, port, proto)] = base
            return base
        if not answered or len(s.services) >= MAX_SERVICES:
            return base
        key = (d.ip, port, proto)
        got = s.services.get(key)
        if got is None:
            got = s.services[key] = f"{d.ip}:{port}/{proto}"
        return got

    def detect(self, batch: Batch) -> list[Alert]:
        return built(self.hits(batch))

    def hits(self, batch: Batch) -> list[Hit]:
        """The findings, built by the noise filter only if it keeps them (detectors/hits.py)."""
        out: list[Hit] = []
        deny = self.policy.deny
        denied = self.policy.denied
        services = self.services
        for rec, o, d in batch.each("conn"):
            bad = deny.get(o.zone)
            if not bad or d.zone not in bad or o.zone == "airgap" or d.zone == "airgap" or not denied(o, d):
                continue
            port = rec.get("id.resp_p")
            proto = rec.get("proto")
            if services and any(s.matches(o, d, port, proto) for s in services):
                continue
            answered = bool(rec.get("resp_pkts")) and rec.get("conn_state") not in _NO_ANSWER
            ev = {"log": "conn", "uid": rec.get("uid"), "from_zone": o.zone, "to_zone": d.zone, "port": port,
                  "proto": proto, "conn_state": rec.get("conn_state"), "answered": answered}  # fmt: skip
            base = d.segment.name if d.segment else d.ip
            ts = float(rec.get("ts") or batch.ts_max)
            indicator = self.indicator(base, o, d, port, proto, ts, answered)
            out.append(
                make_hit(
                    "policy.segmentation.zone",
                    rec["ts"],
                    o,
                    d,
                    indicator,
                    ev,
                    bump=int(answered),
                    port=port,
                    rid=record_id(rec),
                )
            )
        return out
