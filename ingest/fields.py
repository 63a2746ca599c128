"""The fields each record log carries, as the sensor writes them (Zeek's names): one list that the
Sigma room checks rules against (``sigmarules/schema.py``) and the log import keeps of Zeek's logs
(``ingest/logs/zeek.py``)."""

from __future__ import annotations

_ID = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p")
FIELDS: dict[str, frozenset[str]] = {
    "dns": frozenset(
        (
            *_ID,
            "proto",
            "trans_id",
            "rtt",
            "query",
            "qclass",
            "qclass_name",
            "qtype",
            "qtype_name",
            "rcode",
            "rcode_name",
            "AA",
            "TC",
            "RD",
            "RA",
            "Z",
            "answers",
            "TTLs",
            "rejected",
            "auth",  # Zeek's policy/protocols/dns/auth-addl.zeek: authority records' reply strings
            "auth_zone",  # ours: the owner of the authority section's SOA (ingest/dns/answers.py)
        )
    ),
    "conn": frozenset(
        (
            *_ID,
            "proto",
            "service",
            "duration",
            "orig_bytes",
            "resp_bytes",
            "conn_state",
            "missed_bytes",
            "history",
            "orig_pkts",
            "orig_ip_bytes",
            "resp_pkts",
            "resp_ip_bytes",
            "interim",
        )
    ),
    "tls": frozenset((*_ID, "version", "server_name", "ja3", "next_protocol", "cipher", "quic")),
    "http": frozenset(
        (
            *_ID,
            "trans_depth",
            "method",
            "host",
            "uri",
            "referrer",
            "version",
            "user_agent",
            "username",
            "status_code",
            "status_msg",
        )
    ),
    "login": frozenset((*_ID, "service", "user", "success", "weak_password")),
}
