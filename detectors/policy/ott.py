"""OTT messaging (Zalo, Viber, Messenger, Telegram…) from clinical zones: their domains in DNS, SNI
or Host, and their published address ranges (orders SYT-BDI-2024, SYT-TTH-2021)."""

from __future__ import annotations

import ipaddress

from wardwatch.alerts import Alert
from wardwatch.segments import VECTOR_MIN, IpInfo, PrefixTable, addr_value, ipv4_values, parse_ip

from .. import lists
from ..base import Batch, record_id
from ..hits import Hit, built
from ..rules import make_hit
from .names import named_records


class OttDetector:
    name = "ott"

    def __init__(self, zones: frozenset[str], apps: tuple[lists.App, ...] | None = None) -> None:
        apps = apps if apps is not None else lists.ott_apps()
        self.zones = zones
        self.domains = lists.domain_table(apps)
        self.nets = [(ipaddress.ip_network(c), app) for app in apps for c in app.cidrs]
        # the first listed range that holds the address names its app, as the list scan below does
        self._table = PrefixTable((net, (app.name, str(net))) for net, app in self.nets)

    def annotate(self, info: IpInfo) -> None:
        if not info.external or not self.nets:
            return
        pv = addr_value(info.ip)
        if pv is not None:
            info.ott = self._table.first(*pv)
            return
        addr = parse_ip(info.ip)
        if addr is None:
            return
        for net, app in self.nets:
            if net.version == addr.version and addr in net:
                info.ott = (app.name, str(net))
                return

    def annotate_many(self, infos: list[IpInfo]) -> None:
        """``annotate`` for a group of new addresses, the IPv4 ones looked up as one array."""
        ext = [i for i in infos if i.external] if self.nets else []
        if len(ext) < VECTOR_MIN:
            for info in ext:
                self.annotate(info)
            return
        at, values = ipv4_values([i.ip for i in ext])
        for k, hit in zip(at, self._table.first_many4(values), strict=True):
            ext[k].ott = hit
        done = set(at)
        for k, info in enumerate(ext):
            if k not in done:
                self.annotate(info)

    def detect(self, batch: Batch) -> list[Alert]:
        return built(self.hits(batch))

    def hits(self, batch: Batch) -> list[Hit]:
        """The findings, built by the noise filter only if it keeps them (detectors/hits.py)."""
        out: list[Hit] = []
        zones = self.zones
        lookup = self.domains.lookup
        for rec, o, d, path, name in named_records(batch):
            if o.zone not in zones:
                continue
            hit = lookup(name)
            if hit is None:
                continue
            listed, app = hit
            ev = {"observed": name, "log": path, "uid": rec.get("uid"), "app": app.name, "source": app.source}
            out.append(
                make_hit(
                    "policy.ott.domain",
                    rec["ts"],
                    o,
                    d,
                    listed,
                    ev,
                    app=app.name,
                    observed=name,
                    rid=record_id(rec),
                )
            )
        for rec, o, d in batch.each("conn"):
            if d.ott is None or o.zone not in zones:
                continue
            app_name, cidr = d.ott
            ev = {"observed": d.ip, "log": "conn", "uid": rec.get("uid"), "app": app_name, "cidr": cidr,
                  "port": rec.get("id.resp_p"), "proto": rec.get("proto")}  # fmt: skip
            out.append(make_hit("policy.ott.ip", rec["ts"], o, d, cidr, ev, app=app_name, rid=record_id(rec)))
        return out
