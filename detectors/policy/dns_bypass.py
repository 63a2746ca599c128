"""DNS that bypasses the hospital resolver (order BYT-CNTT-2021: monitoring needs every lookup):

- plain DNS (port 53) from an inside host straight to the internet, unless it comes from or goes to
  a configured resolver; only when the hospital is described (segments or resolvers configured),
  since otherwise nothing says which resolver is the hospital's;
- DNS over TLS: TCP 853 from an inside host to the internet;
- DNS over HTTPS: TLS with the SNI of a public DoH resolver (our list, plus ``doh_lists``).

Zones in ``exempt_zones`` (by default the guest network, whose devices the hospital does not manage)
are not checked.
"""

from __future__ import annotations

from wardwatch.alerts import Alert

from .. import lists
from ..base import Batch, record_id
from ..hits import Hit, built
from ..rules import make_hit


class DnsBypassDetector:
    name = "dns_bypass"

    def __init__(
        self,
        resolvers: frozenset[str],
        exempt_zones: frozenset[str],
        extra_doh: frozenset[str] = frozenset(),
        direct: bool = True,
    ) -> None:
        self.resolvers = resolvers
        self.exempt = exempt_zones
        self.direct = direct
        self.doh = lists.SuffixTable(dict(lists.doh_names()), dict.fromkeys(extra_doh, "doh_lists"))

    def detect(self, batch: Batch) -> list[Alert]:
        return built(self.hits(batch))

    def hits(self, batch: Batch) -> list[Hit]:
        """The findings, built by the noise filter only if it keeps them (detectors/hits.py)."""
        out: list[Hit] = []
        exempt = self.exempt
        resolvers = self.resolvers
        for rec, o, d in batch.each("conn"):
            port = rec.get("id.resp_p")
            if port != 53 and port != 853:
                continue
            if not d.external or o.external or o.zone in exempt:
                continue
            proto = rec.get("proto")
            if port == 53 and proto in ("udp", "tcp"):
                if not self.direct or o.ip in resolvers or d.ip in resolvers:
                    continue
                rule = "policy.dns_bypass.direct"
            elif port == 853 and proto == "tcp":
                rule = "policy.dns_bypass.dot"
            else:
                continue
            ev = {
                "log": "conn",
                "uid": rec.get("uid"),
                "port": port,
                "proto": proto,
                "conn_state": rec.get("conn_state"),
            }
            out.append(make_hit(rule, rec["ts"], o, d, d.ip, ev, rid=record_id(rec)))
        lookup = self.doh.lookup
        for rec, o, d, name in batch.names("tls", "server_name"):
            if o.external or o.zone in exempt:
                continue
            hit = lookup(name)
            if hit is None:
                continue
            ev = {
                "log": "tls",
                "uid": rec.get("uid"),
                "observed": name,
                "source": hit[1],
                "port": rec.get("id.resp_p"),
            }
            out.append(
                make_hit(
                    "policy.dns_bypass.doh", rec["ts"], o, d, hit[0], ev, observed=name, rid=record_id(rec)
                )
            )
        return out
