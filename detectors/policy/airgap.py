"""The secret LAN: any traffic between a host in an ``airgap`` zone and anything outside it (order
SYT-TTH-2021: never connect the state-secret network to the internet, or anything else). Multicast and
broadcast stay on the link and are left alone.

The indicator is the far side's segment, or its address when it is outside every segment.
"""

from __future__ import annotations

from wardwatch.alerts import Alert

from ..base import Batch, record_id
from ..hits import Hit, built
from ..rules import make_hit

AIRGAP = "airgap"


class AirgapDetector:
    name = "airgap"

    def detect(self, batch: Batch) -> list[Alert]:
        return built(self.hits(batch))

    def hits(self, batch: Batch) -> list[Hit]:
        """The findings, built by the noise filter only if it keeps them (detectors/hits.py)."""
        out: list[Hit] = []
        for rec, o, d in batch.each("conn"):
            if (o.zone == AIRGAP) == (d.zone == AIRGAP) or d.broadcast:
                continue
            port = rec.get("id.resp_p")
            ev = {"log": "conn", "uid": rec.get("uid"), "from_zone": o.zone, "to_zone": d.zone, "port": port,
                  "proto": rec.get("proto"), "conn_state": rec.get("conn_state"),
                  "direction": "outbound" if o.zone == AIRGAP else "inbound"}  # fmt: skip
            indicator = d.segment.name if d.segment else d.ip
            out.append(
                make_hit(
                    "policy.airgap.crossing", rec["ts"], o, d, indicator, ev, port=port, rid=record_id(rec)
                )
            )
        return out
