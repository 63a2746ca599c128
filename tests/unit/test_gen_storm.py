"""The storm captures (tools/gen_storm.py, bench/bench_storm.py): every shape decodes, and the sensor
finds exactly the connections the generator made, however dense (one per packet included)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import pytest
from wardwatch.ingest.sensor import SensorConfig, sense
from wardwatch.tools.gen_storm import SHAPES, generate

from wardwatch.counters import Counters


@pytest.mark.parametrize("shape", SHAPES)
def test_the_sensor_finds_every_generated_connection(shape: str, tmp_path: Path) -> None:
    pcap = tmp_path / f"{shape}.pcap"
    made = generate(shape, 2_000, pcap)
    counters = Counters()
    logs: Counter[str] = Counter()
    states: Counter[str] = Counter()
    for records in sense([pcap], counters, dataclasses.replace(SensorConfig(), workers=1)):
        for r in records:
            logs[r["_path"]] += 1
            if r["_path"] == "conn":
                states[(r["proto"], r["conn_state"])] += 1
    assert counters.get("packets.read") == 2_000
    assert counters.get("decode.malformed", 0) == 0
    icmp = sum(n for (proto, _), n in states.items() if proto == "icmp")
    assert logs["conn"] - icmp == made  # Zeek keys ICMP errors by (type, code): one more conn, not one per probe
    assert icmp == (1 if shape == "udpscan" else 0)
    if shape in ("pp1", "synflood"):
        assert states == {("tcp", "S0"): made}
    if shape == "pp2":
        assert states == {("tcp", "REJ"): made}
    if shape == "pp10":
        assert states[("tcp", "SF")] == made and logs["http"] == made
    if shape == "dnsflood":
        assert logs["dns"] == made
