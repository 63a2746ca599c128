"""FlowConfig: the flow meter's timeouts and limits (defaults are Zeek's)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Zeek's likely_server_ports comes from the analyzers' registered ports; these are the common ones.
TCP_SERVER_PORTS = frozenset(
    {
        21, 22, 23, 25, 53, 80, 81, 88, 102, 110, 111, 135, 139, 143, 179, 389, 443, 445, 465, 502, 563,
        587, 593, 636, 989, 990, 992, 993, 995, 1080, 1433, 1521, 1883, 2049, 2404, 3128, 3306, 3389,
        5060, 5222, 5269, 5432, 5900, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8443, 8888, 20000,
    }
)  # fmt: skip
UDP_SERVER_PORTS = frozenset(
    {
        53, 67, 68, 69, 88, 123, 137, 138, 161, 162, 443, 500, 514, 546, 547, 1812, 1813, 2123, 2152,
        3478, 3544, 4500, 4789, 5060, 5072, 5353, 5355, 6081, 20000, 47808,
    }
)  # fmt: skip


@dataclass
class FlowConfig:
    tcp_inactivity: float = 300.0  # Zeek tcp_inactivity_timeout
    udp_inactivity: float = 60.0  # Zeek udp_inactivity_timeout (also TCP before the handshake completes)
    icmp_inactivity: float = 60.0  # Zeek icmp_inactivity_timeout
    unknown_inactivity: float = 60.0  # Zeek unknown_ip_inactivity_timeout
    tcp_attempt_delay: float = 5.0  # unanswered SYN → S0 record
    tcp_close_delay: float = 5.0  # after a complete close (both FINs, a RST, or FIN with silent peer)
    tcp_partial_close_delay: float = 3.0  # after one FIN while the peer stays open
    tcp_reset_delay: float = 5.0  # after a RST that follows a FIN
    interim_interval: float = 3600.0  # interim records for long connections (0 disables)
    max_flows: int = 1_000_000  # above this, the longest-idle connections are evicted
    evict_fraction: float = 0.05  # evict this share of max_flows at once, so eviction stays amortised
    tcp_server_ports: frozenset[int] = field(default_factory=lambda: TCP_SERVER_PORTS)
    udp_server_ports: frozenset[int] = field(default_factory=lambda: UDP_SERVER_PORTS)
