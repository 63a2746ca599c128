"""Live-capture test helpers. The session fixture ``veth`` (tests/integration/conftest.py) yields
(namespace, outer, inner) from ``wardwatch.tools.netns.veth_pair``: ``tcpreplay`` sends on ``outer``,
the sensor or the service captures ``inner`` inside the namespace."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from wardwatch.tools.netns import NetnsError
from wardwatch.tools.netns import veth_pair as _tools_veth_pair


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
    """wardwatch.tools.netns.veth_pair, skipping the test where a namespace cannot be made."""
    try:
        pair = _tools_veth_pair(tag)
        names = pair.__enter__()
    except NetnsError as e:
        pytest.skip(str(e))
    try:
        yield names
    finally:
        pair.__exit__(None, None, None)
