"""What Sigma rules can see of our records: the logs, the fields each log carries, which Sigma log
sources route to which log, and how Sigma's generic field names map to ours.

This is data, kept in one place: ``pipeline.py`` turns it into a pySigma processing pipeline and the
compiler uses ``FIELDS`` to reject a rule that names a field our records never carry (such a rule
would silently never match, or, under ``not``, always match).
"""

from __future__ import annotations

# Fields per log, as the sensor writes them (Zeek's names): one list, in ``ingest/fields.py``.
# ``ENRICHED`` fields are computed by the detector from the segment map and exist for every log whose
# record carries both addresses.
from wardwatch.ingest.fields import FIELDS as FIELDS  # re-exported: the compiler reads it from here

# Fields whose value is a list: a value matches when any element does.
LIST_FIELDS = frozenset(("answers", "TTLs"))

ENRICHED = ("src_zone", "dst_zone", "src_segment", "dst_segment", "dst_external", "src_external")

# (category, product, service) → logs. ``None`` in a rule's log source matches any entry value; the
# first entry whose every set key equals the rule's wins. Our own ``product: wardwatch`` names each log.
LOGSOURCES: tuple[tuple[str | None, str | None, str | None, tuple[str, ...]], ...] = (
    ("dns", None, None, ("dns",)),
    ("firewall", None, None, ("conn",)),
    ("network_connection", None, None, ("conn",)),
    ("proxy", None, None, ("http",)),
    (None, "zeek", "dns", ("dns",)),
    (None, "zeek", "conn", ("conn",)),
    (None, "zeek", "http", ("http",)),
    (None, "zeek", "ssl", ("tls",)),
    (None, "wardwatch", "dns", ("dns",)),
    (None, "wardwatch", "conn", ("conn",)),
    (None, "wardwatch", "tls", ("tls",)),
    (None, "wardwatch", "http", ("http",)),
    (None, "wardwatch", "login", ("login",)),
)

# Sigma's generic (taxonomy) field names per log source kind → our field names. A list means "any of".
_ADDR = {
    "src_ip": "id.orig_h",
    "src_port": "id.orig_p",
    "dst_ip": "id.resp_h",
    "dst_port": "id.resp_p",
    "SourceIp": "id.orig_h",
    "SourcePort": "id.orig_p",
    "DestinationIp": "id.resp_h",
    "DestinationPort": "id.resp_p",
    "c-ip": "id.orig_h",
    "s-ip": "id.resp_h",
}
FIELD_MAPS: dict[str, dict[str, str | list[str]]] = {
    "dns": {
        **_ADDR,
        "query": "query",
        "QueryName": "query",
        "record_type": "qtype_name",
        "QueryType": "qtype_name",
        "answer": "answers",
        "QueryResults": "answers",
        "response_code": "rcode_name",
        "QueryStatus": "rcode_name",
    },
    "conn": {
        **_ADDR,
        "protocol": "proto",
        "Protocol": "proto",
        "network_protocol": "service",
        "action": "conn_state",
        "src_bytes": "orig_bytes",
        "dst_bytes": "resp_bytes",
        "duration": "duration",
    },
    "http": {
        **_ADDR,
        "c-uri": "uri",
        "c-uri-query": "uri",
        "c-uri-stem": "uri",
        "cs-uri": "uri",
        "cs-uri-query": "uri",
        "cs-uri-stem": "uri",
        "cs-host": "host",
        "r-dns": "host",
        "cs-method": "method",
        "c-useragent": "user_agent",
        "cs-user-agent": "user_agent",
        "cs-referrer": "referrer",
        "cs-Referer": "referrer",
        "cs-version": "version",
        "sc-status": "status_code",
        "cs-username": "username",
    },
    "tls": {**_ADDR, "server_name": "server_name", "sni": "server_name", "ja3": "ja3"},
    "login": {**_ADDR, "user": "user", "TargetUserName": "user"},
}


def logs_for(category: str | None, product: str | None, service: str | None) -> tuple[str, ...] | None:
    """The logs a rule with this log source reads, or None when we have no such log."""
    for cat, prod, serv, logs in LOGSOURCES:
        if (cat, prod, serv) == (None, None, None):
            continue
        if cat is not None and cat != category:
            continue
        if prod is not None and prod != product:
            continue
        if serv is not None and serv != service:
            continue
        # a rule's own keys that the entry leaves open must not contradict it: category: dns with
        # product: windows is a Windows DNS client log, not ours
        if cat is not None and product not in (None, "zeek", "wardwatch"):
            continue
        if cat is None and category is not None:
            continue
        return logs
    return None
