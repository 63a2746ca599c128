"""Fixtures shared by the integration tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from wardwatch.ingest.capture import read_captures

from tests.conftest import TESTDATA
from tests.integration.netns import need, sh, veth_pair
from wardwatch.counters import Counters


@pytest.fixture(scope="session")
def veth() -> Iterator[tuple[str, str, str]]:
    """(namespace, outer interface here, inner interface in the namespace): one pair per session."""
    need("ip", "tcpreplay", "tcpdump", "mergecap")
    with veth_pair(f"live{os.getpid() % 100000}") as pair:
        yield pair


def _ipsec(batches: list[object]) -> bool:
    """Whether a capture carries ESP or AH. The kernel's fanout hash takes their SPI in (the flow
    dissector's IPsec key), while a connection of an unknown transport is its addresses and protocol
    (Zeek's key): two SPIs between the same hosts may go to two live workers or one, as the boot's hash
    seed falls, and the test would depend on that luck. (A known limit of live capture with several
    workers: docs/SERVICE.md.)"""
    from wardwatch.ingest.decode import Decoder
    from wardwatch.ingest.sensor import SensorConfig

    decoder = Decoder(Counters(), SensorConfig().decode)
    return any(bool(np.isin(decoder.decode(b).proto, (50, 51)).any()) for b in batches)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def shared_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared Ethernet captures (a veth carries Ethernet only), merged in time order into one file.

    In time order, not end to end: the replay gives frames rising timestamps, and a file whose clock
    jumped back would split connections the live sensor sees as one."""
    if not TESTDATA.exists():
        pytest.skip(f"test material not found: {TESTDATA} (expected ../shared/testdata beside the project)")
    candidates = sorted(
        [
            *TESTDATA.glob("dpkt/*.pcap"),
            *TESTDATA.glob("suricata-verify/pcaps/*.pcap"),
            *TESTDATA.glob("suricata-verify/tests/*/*.pcap"),
        ]
    )
    chosen = []
    for path in candidates:
        problems = Counters()
        batches = list(read_captures([path], problems))
        if (
            problems
            or not batches
            or not all(
                (b.linktype == 1).all() and (b.caplen >= 14).all() and (b.caplen <= 65535).all()
                for b in batches
            )
            or _ipsec(batches)
        ):
            continue
        chosen.append(path)
    if not chosen:
        pytest.skip(f"no Ethernet capture under {TESTDATA}")
    out = tmp_path_factory.mktemp("live-shared") / "shared.pcap"
    sh("mergecap", "-F", "pcap", "-w", str(out), *map(str, chosen[:40]))
    return out
