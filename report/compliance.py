"""The compliance table: one row per requirement of the five orders (``wardwatch/data/
directives.yaml``) that a network sensor can check, what was observed over the period and a status:
met, violated, or not observable (no records of the logs it needs, a zone the config does not
declare, or nothing a network can see). Pure: reads ``data.gather``'s output and the config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .data import RECORD_TABLES

HEALTH = ("sensor_silent", "sensor_drops", "sensor_overload")


@dataclass(frozen=True)
class Requirement:
    directive: str  # an id of wardwatch/data/directives.yaml
    key: str  # report.req.<key> in the catalogue
    kind: str  # alerts | feeds | coverage | handling | beyond
    categories: tuple[str, ...] = ()
    logs: tuple[str, ...] = ()  # records that must exist for the check to mean anything
    zones: tuple[str, ...] = ()  # zones the config must declare
    sigma: bool = False  # Sigma alerts citing this order count here


REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("BYT-CNTT-2021", "passwords", "alerts", ("policy_weak_password",), ("login",)),
    Requirement("BYT-CNTT-2021", "encryption", "alerts", ("policy_plaintext",), ("conn",)),
    Requirement("BYT-CNTT-2021", "monitoring", "coverage", HEALTH),
    Requirement("BYT-CNTT-2021", "dns", "alerts", ("policy_dns_bypass",), ("dns",)),
    Requirement(
        "BYT-CNTT-2021",
        "malicious",
        "feeds",
        ("threat_feed_domain", "threat_feed_ip"),
        ("dns", "conn"),
        sigma=True,
    ),
    Requirement(
        "BYT-K2DT-2024",
        "malware",
        "alerts",
        ("dga", "dns_tunnel", "beacon", "nxdomain_burst"),
        ("dns", "conn"),
        sigma=True,
    ),
    Requirement("BYT-K2DT-2024", "response", "handling"),
    Requirement("SYT-TTH-2021", "airgap", "alerts", ("policy_airgap",), ("conn",), ("airgap",)),
    Requirement("SYT-BDI-2024", "ott", "alerts", ("policy_ott",), ("dns", "tls")),
    Requirement("SYT-BDI-2024", "remote", "alerts", ("policy_remote_access",), ("dns", "conn"), sigma=True),
    Requirement("SYT-BDI-2024", "segmentation", "alerts", ("policy_segmentation",), ("conn",), ("guest",)),
    Requirement("SYT-DBI-2026", "leak", "alerts", ("exfiltration", "port_scan"), ("conn",), sigma=True),
    Requirement("SYT-DBI-2026", "sharing", "beyond"),
)


def matched(req: Requirement, category_hosts: list[dict[str, Any]]) -> tuple[int, set[str]]:
    """(alerts, hosts) over the period that violate ``req``."""
    alerts, hosts = 0, set()
    for r in category_hosts:
        if r["category"] in req.categories or (
            req.sigma and r["category"] == "sigma" and r["directive"] == req.directive
        ):
            alerts += int(r["alerts"])
            hosts.update(r["hosts"])
    return alerts, hosts


def assess(
    req: Requirement, data: dict[str, Any], config: Any, coverage: dict[str, Any], w: Any
) -> tuple[str, str]:
    """(status, what was observed) of one requirement."""
    records = data["records"]
    if req.kind == "beyond":
        return "not_observable", w("report.obs.sensor")
    if req.kind == "handling":
        totals = {r["severity"]: 0 for r in data["alert_counts"]}
        for r in data["alert_counts"]:
            totals[r["severity"]] += int(r["alerts"])
        urgent = totals.get("critical", 0) + totals.get("high", 0)
        open_ = int(data["handling"].get("open_urgent") or 0)
        text = w("report.obs.handling", open=w.number(open_), urgent=w.number(urgent))
        return ("violated" if open_ else "met"), text
    if req.kind == "coverage":
        alerts, _hosts = matched(req, data["category_hosts"])
        text = w(
            "report.obs.coverage", watched=w.number(coverage["watched"]), hours=w.number(coverage["hours"])
        )
        if alerts:
            text += "; " + w("report.obs.alerts", alerts=w.number(alerts), hosts=w.number(len(_hosts)))
        ok = coverage["watched"] >= 0.95 * coverage["hours"] and not alerts
        return ("met" if ok else "violated"), text
    declared = {s.zone for s in config.segments}
    missing = [z for z in req.zones if z not in declared]
    if missing:
        return "not_observable", w("report.obs.no_zone", zones=", ".join(missing))
    if req.kind == "feeds" and not any(f.enabled and f.kind == "block" for f in config.all_feeds):
        return "not_observable", w("report.obs.no_feeds")
    seen = sum(records.get(log, 0) for log in req.logs or RECORD_TABLES)
    logs = "/".join(req.logs or RECORD_TABLES)
    if seen == 0:
        return "not_observable", w("report.obs.no_logs", logs=logs)
    alerts, hosts = matched(req, data["category_hosts"])
    if alerts:
        return "violated", w("report.obs.alerts", alerts=w.number(alerts), hosts=w.number(len(hosts)))
    return "met", w("report.obs.clean", records=w.number(seen), logs=logs)


def compliance_rows(
    data: dict[str, Any], config: Any, coverage: dict[str, Any], w: Any
) -> list[dict[str, str]]:
    from .content import citation_parts

    out = []
    for req in REQUIREMENTS:
        status, observed = assess(req, data, config, coverage, w)
        out.append(
            {
                "directive": req.directive,
                "order": citation_parts(req.directive, w),
                "requirement": w(f"report.req.{req.key}"),
                "observed": observed,
                "status": status,
                "status_label": w(f"report.ok.{status}"),
            }
        )
    return out
