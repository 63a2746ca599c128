"""Fixtures shared by the integration tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.integration.netns import need, veth_pair


@pytest.fixture(scope="session")
def veth() -> Iterator[tuple[str, str, str]]:
    """(namespace, outer interface here, inner interface in the namespace): one pair per session."""
    need("ip", "tcpreplay", "tcpdump", "mergecap")
    with veth_pair(f"live{os.getpid() % 100000}") as pair:
        yield pair
