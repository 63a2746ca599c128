"""A network namespace and a veth pair to replay captures into (tests and benchmarks): ``tcpreplay``
sends on the outer end in this namespace; a sensor or the service captures the inner end inside the
namespace (``ip netns exec NS …``), whose loopback is up for the service's local API. IPv6 is off and
no address is set, so only the replayed frames cross the link. Needs root."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from wardwatch.errors import WardwatchError


class NetnsError(WardwatchError):
    """The namespace or the veth pair could not be made (no root, no iproute2, a kernel without veth)."""


def _sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


@contextmanager
def veth_pair(tag: str) -> Iterator[tuple[str, str, str]]:
    """(namespace, outer interface, inner interface), removed on exit; ``tag`` keeps names unique
    (at most 10 characters: interface names are limited to 15)."""
    ns, outer, inner = f"ww{tag}", f"ww{tag}o", f"ww{tag}i"
    try:
        _sh("ip", "netns", "add", ns)
        _sh("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
        _sh("ip", "link", "set", inner, "netns", ns)
        _sh("sysctl", "-qw", f"net.ipv6.conf.{outer}.disable_ipv6=1")
        _sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{inner}.disable_ipv6=1")
        # the largest MTU: captures hold frames bigger than Ethernet's (offloaded segments)
        _sh("ip", "link", "set", outer, "mtu", "65535", "up")
        _sh("ip", "netns", "exec", ns, "ip", "link", "set", inner, "mtu", "65535", "up")
        _sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
    except (OSError, subprocess.CalledProcessError) as e:
        _sh("ip", "link", "del", outer, check=False)
        _sh("ip", "netns", "del", ns, check=False)
        why = e.stderr.strip() if isinstance(e, subprocess.CalledProcessError) else str(e)
        raise NetnsError(f"cannot make a network namespace and veth pair: {why}") from None
    try:
        yield ns, outer, inner
    finally:
        _sh("ip", "link", "del", outer, check=False)
        _sh("ip", "netns", "del", ns, check=False)
