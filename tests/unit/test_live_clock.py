"""The live pipeline's clock: with no packet arriving, wall time alone must fire Zeek's timeouts, so a
connection or an unanswered DNS query comes out while the capture runs, not only when it stops."""

from __future__ import annotations

import dataclasses

from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from wardwatch.ingest.capture import RawBatch
from wardwatch.ingest.sensor import SensorConfig, _pipeline

from wardwatch.config import load_config
from wardwatch.counters import Counters

T0 = 1_700_000_000.0


def _query() -> RawBatch:
    frame = bytes(
        Ether()
        / IP(src="10.1.0.5", dst="10.9.0.53")
        / UDP(sport=40000, dport=53)
        / DNS(id=7, rd=1, qd=DNSQR(qname="pacs.benhvien.vn"))
    )
    return RawBatch.from_frames([(T0, frame)])


def test_wall_time_fires_timeouts_while_idle() -> None:
    config = SensorConfig()
    ticks = [(_query(), T0), (None, T0 + 5), (None, T0 + config.dns.timeout + 1)]
    ticks += [(None, T0 + config.flows.udp_inactivity + 1)]
    counters = Counters()
    out = list(_pipeline(iter(ticks), counters, counters, config))
    assert len(out) == len(ticks) + 1  # one list per tick, and the flush
    assert out[0] == [] and out[1] == []  # nothing has timed out yet
    assert [r["_path"] for r in out[2]] == ["dns"]  # the unanswered query, on dns.timeout
    assert out[2][0]["query"] == "pacs.benhvien.vn"
    assert [r["_path"] for r in out[3]] == ["conn"]  # the connection, on udp_inactivity
    assert out[4] == []  # nothing was left for the stop
    assert counters["packets.read"] == 1


def test_the_clock_never_goes_back() -> None:
    config = SensorConfig()
    ticks = [(_query(), T0 - 100), (None, T0 - 200)]  # a wall clock behind the packets changes nothing
    counters = Counters()
    out = list(_pipeline(iter(ticks), counters, counters, config))
    assert out[0] == [] and out[1] == []
    assert sorted(r["_path"] for r in out[2]) == ["conn", "dns"]  # flushed at the end


def test_files_still_move_the_clock_by_packets_only() -> None:
    config = dataclasses.replace(SensorConfig(), batch_frames=1)
    counters = Counters()
    out = list(_pipeline(iter([(_query(), None), (None, None)]), counters, counters, config))
    assert out[:2] == [[], []]
    assert sorted(r["_path"] for r in out[2]) == ["conn", "dns"]


def test_the_sensor_section_reads_the_live_keys(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "sensor:\n  interfaces: [eth1, eth2]\n  bpf: not port 22\n  snaplen: 1600\n  promisc: false\n"
        "  buffer_size: 256MiB\n  user: wardwatch\n  poll_interval: 250ms\n  workers: 2\n"
    )
    config = load_config(path).section("sensor", SensorConfig)
    assert config.interfaces == ("eth1", "eth2")
    assert (config.bpf, config.snaplen, config.promisc, config.user) == (
        "not port 22",
        1600,
        False,
        "wardwatch",
    )
    assert config.buffer_size == 256 << 20 and config.poll_interval == 0.25 and config.workers == 2
