"""Segmentation breaches: a connection from a zone to a zone the policy matrix forbids it (by default
the citizen/guest network reaching any internal zone; order SYT-BDI-2024). Traffic in or out of the
secret LAN is the airgap detector's.

The indicator is the segment reached, so a guest device sweeping a subnet gives one merged alert.
"""

from __future__ import annotations

from wardwatch.alerts import Alert
from wardwatch.segments import ZonePolicy

from ..base import Batch, record_id
from ..rules import make_alert

_NO_ANSWER = ("S0", "REJ", "OTH")


class SegmentationDetector:
    name = "segmentation"

    def __init__(self, policy: ZonePolicy) -> None:
        self.policy = policy

    def detect(self, batch: Batch) -> list[Alert]:
        out: list[Alert] = []
        deny = self.policy.deny
        denied = self.policy.denied
        for rec, o, d in batch.each("conn"):
            bad = deny.get(o.zone)
            if not bad or d.zone not in bad or o.zone == "airgap" or d.zone == "airgap" or not denied(o, d):
                continue
            answered = bool(rec.get("resp_pkts")) and rec.get("conn_state") not in _NO_ANSWER
            port = rec.get("id.resp_p")
            ev = {"log": "conn", "uid": rec.get("uid"), "from_zone": o.zone, "to_zone": d.zone, "port": port,
                  "proto": rec.get("proto"), "conn_state": rec.get("conn_state"), "answered": answered}  # fmt: skip
            indicator = d.segment.name if d.segment else d.ip
            a = make_alert(
                "policy.segmentation.zone", rec["ts"], o, d, indicator, ev, bump=int(answered), port=port
            )
            a.seen.add(record_id(rec))
            out.append(a)
        return out
