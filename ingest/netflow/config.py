"""The ``inputs.netflow`` config section: where the flow collector listens.

inputs:
  netflow:
    listen: 0.0.0.0:2055      # UDP host:port (IPv6: [::]:2055); NetFlow v5, v9 and IPFIX alike
    sampling: 0               # 0: the rate each exporter announces; N: force 1-in-N
    receive_buffer: 8388608   # SO_RCVBUF bytes: bursts wait in the kernel, not lost
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from wardwatch.config import Config, declare_section
from wardwatch.errors import UsageError


@dataclass(frozen=True)
class NetflowSection:
    listen: str = "0.0.0.0:2055"
    sampling: int = 0
    receive_buffer: int = 8 * 1024 * 1024


def parse_listen(text: str) -> tuple[str, int]:
    """(host, port) of ``0.0.0.0:2055`` or ``[::]:2055``; UsageError otherwise."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        raise UsageError(f"inputs.netflow.listen: expected host:port, got {text!r}") from None
    if not sep or not 0 <= number <= 65535:
        raise UsageError(f"inputs.netflow.listen: expected host:port, got {text!r}")
    return host, number


def netflow_settings(config: Config) -> NetflowSection | None:
    """The section, or None when the config has no ``inputs.netflow``."""
    if config.raw_section("inputs.netflow") is None:
        return None
    sec: NetflowSection = config.section("inputs.netflow", NetflowSection)
    try:
        parse_listen(sec.listen)
    except UsageError as e:
        raise config.error(("inputs", "netflow", "listen"), str(e)) from None
    if sec.sampling < 0:
        raise config.error(("inputs", "netflow", "sampling"), "must be 0 or more")
    return sec


declare_section("inputs.netflow", NetflowSection, netflow_settings)
