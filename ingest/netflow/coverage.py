"""What each input can see, and so which detectors it leaves blind: ``wardwatch rules list`` prints it
beside the rules (docs/INPUTS.md explains it), so that a hospital feeding wardwatch NetFlow only knows
that DNS tunnels, DGA names or weak passwords cannot be found there — instead of silently missing.

The logs each detector reads mirror the detectors' own code (``batch.each("dns")``…);
tests/unit/test_netflow_coverage.py keeps this table in step with ``wardwatch.alerts.CATEGORIES``.
"""

from __future__ import annotations

from collections.abc import Iterable

# the logs each input produces
SOURCE_LOGS: dict[str, frozenset[str]] = {
    "sensor": frozenset({"conn", "dns", "tls", "http", "login"}),
    "netflow": frozenset({"conn"}),
    "zeek": frozenset({"conn", "dns", "tls", "http"}),
    "eve": frozenset({"conn", "dns", "tls", "http"}),
}
# alert category → the logs its detector reads (any one of them is enough)
NEEDS: dict[str, frozenset[str]] = {
    "threat_feed_domain": frozenset({"dns", "tls", "http"}),
    "threat_feed_ip": frozenset({"conn"}),
    "dga": frozenset({"dns"}),
    "dns_tunnel": frozenset({"dns"}),
    "nxdomain_burst": frozenset({"dns"}),
    "beacon": frozenset({"conn"}),
    "port_scan": frozenset({"conn"}),
    "exfiltration": frozenset({"conn"}),
    "policy_remote_access": frozenset({"conn"}),
    "policy_ott": frozenset({"conn"}),
    "policy_plaintext": frozenset({"login"}),
    "policy_weak_password": frozenset({"login"}),
    "policy_segmentation": frozenset({"conn"}),
    "policy_airgap": frozenset({"conn"}),
    "policy_dns_bypass": frozenset({"conn", "tls"}),
    "external_ids": frozenset({"alert"}),  # Suricata's own alerts: EVE only
}
# what a conn record from a flow export lacks, and what it means for the detectors that read conn
FLOW_GAPS = {
    "port_scan": "no TCP history: only unanswered flows (no reverse direction) count as probes",
    "policy_ott": "no DNS or TLS names: OTT apps are seen by their addresses only",
    "policy_dns_bypass": "no TLS names: DNS-over-HTTPS resolvers are seen by their addresses only",
}


def blind_on(logs: Iterable[str]) -> list[str]:
    """The inputs that produce none of ``logs`` (for a rule or a detector)."""
    want = set(logs)
    if not want:
        return []
    have = {**SOURCE_LOGS, "eve": SOURCE_LOGS["eve"] | {"alert"}}
    return [s for s, gives in have.items() if not want & gives]
