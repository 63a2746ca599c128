"""Splitting connections across worker processes must not change a single record or counter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest
from wardwatch.ingest.decode.columns import PacketBatch
from wardwatch.ingest.sensor import SensorConfig, flow_share, sense

from tests.conftest import ROOT
from tests.conftest import testdata_path as shared_data
from wardwatch.counters import Counters


def _run(paths: list[Path], workers: int) -> tuple[list[bytes], Counters]:
    counters = Counters()
    lines = [
        orjson.dumps(r, option=orjson.OPT_SORT_KEYS)
        for batch in sense(paths, counters, SensorConfig(workers=workers, batch_frames=4096))
        for r in batch
    ]
    return sorted(lines), counters


def test_share_is_the_same_in_both_directions() -> None:
    rows = []
    for i in range(200):
        a, b = (
            f"10.0.{i % 7}.{i % 250 + 1}",
            f"2001:db8::{i + 1:x}" if i % 3 == 0 else f"192.0.2.{i % 200 + 1}",
        )
        if ":" in b:
            a = f"2001:db8:1::{i + 1:x}"
        proto = (6, 17, 1)[i % 3]
        rows.append({"ts": float(i), "src": a, "dst": b, "proto": proto, "sport": 1000 + i, "dport": 53 + i})
        rows.append({"ts": float(i), "src": b, "dst": a, "proto": proto, "sport": 53 + i, "dport": 1000 + i})
    batch = PacketBatch.from_rows(rows)
    for workers in (2, 3, 4):
        share = flow_share(batch, workers)
        assert np.array_equal(share[0::2], share[1::2])
        assert set(share.tolist()) == set(range(workers))  # every worker gets some connections


def test_icmp_request_and_reply_go_to_one_worker() -> None:
    rows = [
        {"ts": 1.0, "src": "10.1.1.1", "dst": "10.2.2.2", "proto": 1, "sport": 8, "dport": 0},
        {"ts": 1.1, "src": "10.2.2.2", "dst": "10.1.1.1", "proto": 1, "sport": 0, "dport": 0},
    ]
    share = flow_share(PacketBatch.from_rows(rows), 7)
    assert share[0] == share[1]


@pytest.fixture(scope="module")
def mixed_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mixed") / "mixed.pcap"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "gen_mixed.py"),
            "--packets",
            "40000",
            "--seed",
            "7",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out


@pytest.mark.integration
def test_two_workers_give_the_same_records_on_a_mixed_capture(mixed_capture: Path) -> None:
    one, c1 = _run([mixed_capture], 1)
    two, c2 = _run([mixed_capture], 2)
    assert len(one) > 1000
    assert one == two
    assert c1 == c2


@pytest.mark.integration
def test_workers_on_real_captures() -> None:
    base = shared_data("maltrail", "sensor-tests")
    paths = sorted(base.glob("*.pcap"))
    for path in paths:
        one, c1 = _run([path], 1)
        three, c3 = _run([path], 3)
        assert one == three, path.name
        assert c1 == c3, path.name


@pytest.mark.parametrize("shape", ["pp1", "pp2", "pp10", "udpscan", "dnsflood"])
def test_two_workers_give_the_same_records_in_a_storm(shape: str, tmp_path: Path) -> None:
    """Connection-dense traffic (tools/gen_storm.py) below the caps: the records and counters do not
    depend on how many workers share the connections."""
    from wardwatch.tools.gen_storm import generate

    pcap = tmp_path / f"{shape}.pcap"
    generate(shape, 20_000, pcap)
    one, c1 = _run([pcap], 1)
    two, c2 = _run([pcap], 2)
    assert len(one) >= 4_000
    assert one == two
    assert c1 == c2


def test_beyond_the_caps_the_loss_is_counted_not_silent(tmp_path: Path) -> None:
    """Above ``sensor.flows.max_flows`` and ``sensor.app.max_conns`` connections are finished early or
    left unanalysed, and each one is counted (the counters serve's ``sensor_overload`` alert reads)."""
    import dataclasses

    from wardwatch.ingest.app.tracker import AppConfig
    from wardwatch.ingest.flows import FlowConfig
    from wardwatch.ingest.sensor import SHED_COUNTERS
    from wardwatch.tools.gen_storm import generate

    pcap = tmp_path / "storm.pcap"
    generate("pp1", 5_000, pcap)
    http = tmp_path / "http.pcap"
    generate("pp40", 8_000, http)  # ~210 HTTP connections, open together for a few ms each
    config = SensorConfig(workers=1, batch_frames=4096)
    config = dataclasses.replace(config, flows=FlowConfig(max_flows=1_000), app=AppConfig(max_conns=2))
    counters = Counters()
    records = [r for batch in sense([pcap, http], counters, config) for r in batch]
    conns = [r for r in records if r["_path"] == "conn"]
    assert len(conns) == 5_000 + 211  # evicted connections are still logged, earlier
    assert counters.get("flows.evicted") >= 4_000 and counters.get("flows.evicted_unanswered") >= 4_000
    analysed = {r["uid"] for r in records if r["_path"] == "http"}
    assert 0 < len(analysed) < 211
    assert counters.get("dropped.app_table_full") == 211 - len(analysed)  # each one left unanalysed, counted
    assert {"flows.evicted", "dropped.app_table_full"} <= set(SHED_COUNTERS)
