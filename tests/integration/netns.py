"""A network namespace and a veth pair for live-capture tests: only replayed frames cross the link.

The session fixture ``veth`` (tests/integration/conftest.py) yields (namespace, outer, inner):
``tcpreplay`` sends on ``outer`` in this namespace, the sensor or the service captures ``inner``
inside the namespace (``ip netns exec NS …``), whose loopback is up for the service's local API.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


def need(*tools: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("live capture tests need root (network namespaces, AF_PACKET)")
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (tests/run.sh installs it from Debian)")


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


@contextmanager
def veth_pair(tag: str) -> Iterator[tuple[str, str, str]]:
    ns, outer, inner = f"ww{tag}", f"ww{tag}o", f"ww{tag}i"
    try:
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
        sh("ip", "link", "set", inner, "netns", ns)
        # no IPv6 (router solicitations, MLD) and no addresses: only the replayed frames cross the link;
        # the largest MTU, because captures hold frames bigger than Ethernet's (offloaded segments)
        sh("sysctl", "-qw", f"net.ipv6.conf.{outer}.disable_ipv6=1")
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{inner}.disable_ipv6=1")
        sh("ip", "link", "set", outer, "mtu", "65535", "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", inner, "mtu", "65535", "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
    except subprocess.CalledProcessError as e:
        sh("ip", "link", "del", outer, check=False)
        sh("ip", "netns", "del", ns, check=False)
        pytest.skip(f"cannot make a network namespace and veth pair here: {e.stderr.strip()}")
    try:
        yield ns, outer, inner
    finally:
        sh("ip", "link", "del", outer, check=False)
        sh("ip", "netns", "del", ns, check=False)
