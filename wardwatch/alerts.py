"""The alert record: what every detector emits, one JSON object a line when written out.

Fields (the shared contract, see ARCHITECTURE.md): ``ts uid category severity src_ip dst_ip indicator
segment dst_segment rule summary evidence mitre directive``, plus ``count first_seen last_seen`` for
alerts merged within a window (``count`` is 1 for a single event; ``ts`` equals ``first_seen``).

``uid`` is stable for the same evidence: a hash of the category, rule, addresses, indicator and the
first event's time, so running the same capture twice (or a SPAN copy with every packet twice) gives
the same ids.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

CATEGORIES = (
    "threat_feed_domain",
    "threat_feed_ip",
    "sigma",
    "dga",
    "dns_tunnel",
    "beacon",
    "port_scan",
    "exfiltration",
    "nxdomain_burst",
    "policy_remote_access",
    "policy_ott",
    "policy_plaintext",
    "policy_weak_password",
    "policy_segmentation",
    "policy_airgap",
    "policy_dns_bypass",
    # an alert another engine raised (Suricata's EVE ``alert`` events, imported as they are)
    "external_ids",
    # sensor health (the shared contract): a dark sensor looks exactly like a quiet network
    "sensor_silent",
    "sensor_drops",
    "sensor_overload",
)
SEVERITIES = ("low", "medium", "high", "critical")
FIELDS = (
    "ts",
    "uid",
    "category",
    "severity",
    "src_ip",
    "dst_ip",
    "indicator",
    "segment",
    "dst_segment",
    "rule",
    "summary",
    "evidence",
    "mitre",
    "directive",
    "count",
    "first_seen",
    "last_seen",
)


def alert_uid(category: str, rule: str, src_ip: str, dst_ip: str | None, indicator: str, ts: float) -> str:
    """``A`` + 16 base32 characters of a hash over what identifies the evidence."""
    key = f"{category}|{rule}|{src_ip}|{dst_ip or ''}|{indicator}|{ts:.6f}".encode()
    digest = hashlib.blake2b(key, digest_size=10).digest()
    return "A" + base64.b32encode(digest).decode().rstrip("=").lower()


@dataclass(slots=True)
class Alert:
    ts: float
    category: str
    severity: str
    src_ip: str
    dst_ip: str | None
    indicator: str
    rule: str
    summary: dict[str, str]  # {"vi": ..., "en": ...}
    evidence: dict[str, Any]
    mitre: tuple[str, ...] = ()
    directive: str | None = None
    segment: str | None = None
    dst_segment: str | None = None
    count: int = 1
    first_seen: float = 0.0
    last_seen: float = 0.0
    uid: str = ""
    # ids of the records merged into this alert, so a duplicated record is not counted twice
    seen: set[str] = field(default_factory=set, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown alert category {self.category!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        if not self.first_seen:
            self.first_seen = self.ts
        if not self.last_seen:
            self.last_seen = self.ts
        if not self.uid:
            self.uid = alert_uid(self.category, self.rule, self.src_ip, self.dst_ip, self.indicator, self.ts)

    @property
    def key(self) -> tuple[str, str, str]:
        """What the noise filter merges on."""
        return (self.category, self.src_ip, self.indicator)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "uid": self.uid,
            "category": self.category,
            "severity": self.severity,
            "src_ip": self.src_ip,
            "dst_ip": self.dst_ip,
            "indicator": self.indicator,
            "segment": self.segment,
            "dst_segment": self.dst_segment,
            "rule": self.rule,
            "summary": self.summary,
            "evidence": self.evidence,
            "mitre": list(self.mitre),
            "directive": self.directive,
            "count": self.count,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Alert:
        return cls(
            ts=float(d["ts"]),
            category=d["category"],
            severity=d["severity"],
            src_ip=d["src_ip"],
            dst_ip=d.get("dst_ip"),
            indicator=d["indicator"],
            rule=d["rule"],
            summary=dict(d.get("summary") or {}),
            evidence=dict(d.get("evidence") or {}),
            mitre=tuple(d.get("mitre") or ()),
            directive=d.get("directive"),
            segment=d.get("segment"),
            dst_segment=d.get("dst_segment"),
            count=int(d.get("count", 1)),
            first_seen=float(d.get("first_seen") or d["ts"]),
            last_seen=float(d.get("last_seen") or d["ts"]),
            uid=d.get("uid", ""),
        )


def severity_level(name: str) -> int:
    """``low`` → 1 … ``critical`` → 4."""
    return SEVERITIES.index(name) + 1


def severity_name(level: int) -> str:
    return SEVERITIES[min(max(level, 1), 4) - 1]
