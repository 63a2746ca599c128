"""Remote-access tools (TeamViewer, UltraViewer, AnyDesk…): their domains in DNS, SNI or Host, and
their well-known ports on connections that cross the hospital edge (order SYT-BDI-2024)."""

from __future__ import annotations

from wardwatch.alerts import Alert

from .. import lists
from ..base import Batch, record_id
from ..hits import Hit, built
from ..rules import make_hit
from .names import named_records

# outbound attempts count (the tool is installed); inbound ones only when the inside host answered
_NO_ANSWER = ("S0", "REJ", "OTH")


class RemoteAccessDetector:
    name = "remote_access"

    def __init__(self, apps: tuple[lists.App, ...] | None = None) -> None:
        apps = apps if apps is not None else lists.remote_access_apps()
        self.domains = lists.domain_table(apps)
        self.ports = lists.port_table(apps)

    def detect(self, batch: Batch) -> list[Alert]:
        return built(self.hits(batch))

    def hits(self, batch: Batch) -> list[Hit]:
        """The findings, built by the noise filter only if it keeps them (detectors/hits.py)."""
        out: list[Hit] = []
        lookup = self.domains.lookup
        for rec, o, d, path, name in named_records(batch):
            hit = lookup(name)
            if hit is None:
                continue
            listed, app = hit
            ev = {"observed": name, "log": path, "uid": rec.get("uid"), "app": app.name, "source": app.source}
            out.append(
                make_hit(
                    "policy.remote_access.domain",
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
        ports = self.ports
        for rec, o, d in batch.each("conn"):
            port = rec.get("id.resp_p")
            proto = rec.get("proto")
            app = ports.get((port, proto))  # type: ignore[arg-type]
            if app is None or not (o.external or d.external):
                continue
            if o.external and (rec.get("conn_state") in _NO_ANSWER or not rec.get("resp_pkts")):
                continue
            ev = {
                "log": "conn", "uid": rec.get("uid"), "app": app.name, "source": app.source, "port": port,
                "proto": proto, "conn_state": rec.get("conn_state"), "direction": "inbound" if o.external else "outbound",
            }  # fmt: skip
            out.append(
                make_hit(
                    "policy.remote_access.port",
                    rec["ts"],
                    o,
                    d,
                    f"{port}/{proto}",
                    ev,
                    app=app.name,
                    port=port,
                    rid=record_id(rec),
                )
            )
        return out
