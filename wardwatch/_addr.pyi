"""Types of the optional C extension built from _addr.c."""

from collections.abc import Sequence

def ipv4_values(ips: Sequence[str], /) -> tuple[list[int], bytes]:
    """Positions of the dotted-quad IPv4 addresses in ips and their values as host-order uint32 bytes."""
