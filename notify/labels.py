"""An alert as the notifier sees it: the stored row's labels (what routes, silences and inhibit rules
match on) and the few fields a message may show.

The row comes from the store's ``alerts`` table, so its addresses are what the store keeps: with
``store.pseudonymise`` the internal hosts are pseudonyms already, and no message can carry more.
Evidence (payloads, URIs, user names) is never read here at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wardwatch.config import Config

LABELS = (
    "category",
    "severity",
    "segment",
    "dst_segment",
    "zone",
    "site",
    "sensor",
    "directive",
    "rule",
    "src_ip",
)
# categories whose indicator is a network fact (a domain, an address, an app, a segment) an engineer
# acts on; for the others (logins: the indicator names an account) the message leaves it out
SHOW_INDICATOR = frozenset(
    {
        "threat_feed_domain",
        "threat_feed_ip",
        "dga",
        "dns_tunnel",
        "beacon",
        "exfiltration",
        "nxdomain_burst",
        "policy_remote_access",
        "policy_ott",
        "policy_segmentation",
        "policy_airgap",
        "policy_dns_bypass",
        "port_scan",
    }
)


@dataclass(frozen=True, slots=True)
class Item:
    """One stored alert, reduced to what notification needs."""

    uid: str
    ts: float
    seen: float  # when the store took it in (group_wait counts from here)
    count: int
    labels: Mapping[str, str]
    indicator: str = ""

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")

    @property
    def category(self) -> str:
        return self.labels.get("category", "")

    @property
    def host(self) -> str:
        return self.labels.get("src_ip", "")


def unmap(ip: str) -> str:
    """``::ffff:10.0.0.1`` (how the store keeps IPv4) → ``10.0.0.1``."""
    return ip[7:] if ip.startswith("::ffff:") and "." in ip else ip


def zones(config: Config | None) -> dict[str, str]:
    """Segment name → zone, from the config's segments."""
    if config is None:
        return {}
    return {s.name: s.zone or "" for s in config.segments}


def item_of(row: Mapping[str, Any], zone_of: Mapping[str, str]) -> Item:
    """A row of ``alerts`` (``ts``/``seen`` as epoch seconds) → an ``Item``."""
    segment = str(row.get("segment") or "")
    labels = {
        "category": str(row.get("category") or ""),
        "severity": str(row.get("severity") or ""),
        "segment": segment,
        "dst_segment": str(row.get("dst_segment") or ""),
        "zone": zone_of.get(segment, ""),
        "site": str(row.get("site") or ""),
        "sensor": str(row.get("sensor") or ""),
        "directive": str(row.get("directive") or ""),
        "rule": str(row.get("rule") or ""),
        "src_ip": unmap(str(row.get("src_ip") or "")),
    }
    cat = labels["category"]
    indicator = str(row.get("indicator") or "") if cat in SHOW_INDICATOR else ""
    return Item(
        uid=str(row["uid"]),
        ts=float(row["ts"]),
        seen=float(row.get("seen") or row["ts"]),
        count=int(row.get("count") or 1),
        labels=labels,
        indicator=indicator,
    )
