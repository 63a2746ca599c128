"""Settings of the DNS analyser."""

from __future__ import annotations

from dataclasses import dataclass, field


def _default_ports() -> frozenset[int]:
    return frozenset({53, 5353, 5355})  # DNS, mDNS, LLMNR


def _default_udp_ports() -> frozenset[int]:
    # and NetBIOS name service, as Zeek's DNS::ports (base/protocols/dns/main.zeek): 137/udp only
    return _default_ports() | {137}


@dataclass
class DnsConfig:
    udp_ports: frozenset[int] = field(default_factory=_default_udp_ports)
    tcp_ports: frozenset[int] = field(default_factory=_default_ports)
    # Zeek's dns_session_timeout: a DNS exchange with no partner after this long is logged alone.
    timeout: float = 10.0
    # Zeek's DNS::max_pending_msgs and DNS::max_pending_query_ids, per connection: beyond them the
    # unmatched messages are logged at once on the assumption they will never be matched.
    max_pending_msgs: int = 50
    max_pending_query_ids: int = 50
    # Bound on transactions awaiting a partner across all connections; the oldest go first.
    max_pending: int = 500_000
    # Which sections to decode: 2 = header, questions, answers (Zeek's base dns.log); 3 = also
    # authority and additional: ``auth``/``auth_zone`` (the DGA detector's SOA evidence) come from
    # the authority section, and faults there are counted as malformed.dns too.
    decode_sections: int = 3
    # Zeek leaves query/qtype/qclass unset on a response whose query was never seen unless an
    # answer names it; we take them from the response's question section (documented deviation).
    fill_query_from_response: bool = True
    # DNS over TCP: idle streams are dropped after this long; early (out-of-order) segments held
    # per direction before the missing bytes are declared a gap.
    tcp_idle_timeout: float = 300.0
    max_tcp_streams: int = 65536
    max_early_segments: int = 64
    max_early_bytes: int = 1 << 18
