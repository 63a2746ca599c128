"""Faults against the real broker: every record stored once, whatever breaks in between."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .helpers import (
    bus_for,
    conn_records,
    kafka_config,
    start_writer,
    stop_writer,
    store_summary,
    wait_caught_up,
    wardwatch,
)

pytestmark = pytest.mark.integration
pytest.importorskip("chdb")
BASE = Path("/nonexistent")  # no segments needed: a bare config


def _wait_for_log(log: Path, text: str, times: int = 1, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and log.read_text(errors="replace").count(text) >= times:
            return
        time.sleep(0.2)
    raise AssertionError(
        f"{text!r} not {times}x in {log} within {timeout}s:\n{log.read_text(errors='replace')}"
    )


def _assert_exactly(cfg: Path, n: int) -> None:
    conn = store_summary(cfg)["conn"]
    assert conn[0] == n, f"{conn[0]} rows stored for {n} records"  # none lost, none doubled
    assert conn[1] == n


def test_broker_restarted_mid_stream(kafka_broker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg, prefix = kafka_config(
        BASE, tmp_path / "k.yaml", kafka_broker.bootstrap, tmp_path / "var", spool_after="500ms"
    )
    writer = start_writer(cfg, tmp_path / "writer.log")
    bus = bus_for(cfg)
    try:
        bus.add_records(conn_records(0, 2000))
        assert bus.flush(timeout=60)
        wait_caught_up(kafka_broker.bootstrap, f"{prefix}-writer", prefix)  # the writer is up
        total = 2000
        for step in range(12):
            if step == 4:
                kafka_broker.stop()  # graceful stop while records keep coming
            if step == 8:
                kafka_broker.start()
            bus.add_records(conn_records(total, 2000))
            total += 2000
            time.sleep(0.3)
        assert bus.counters.get("bus.messages_spooled", 0) > 0  # the outage was noticed
        assert bus.flush(timeout=120), "the spool did not drain after the broker returned"
        wait_caught_up(kafka_broker.bootstrap, f"{prefix}-writer", prefix)
    finally:
        bus.close(timeout=5)
        kafka_broker.start()
        stop_writer(writer)
    assert bus.spool.empty
    _assert_exactly(cfg, total)


def test_writer_killed_between_insert_and_commit(kafka_broker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg, prefix = kafka_config(
        BASE, tmp_path / "k.yaml", kafka_broker.bootstrap, tmp_path / "var", writer={"max_records": 3000}
    )
    bus = bus_for(cfg)
    bus.add_records(conn_records(0, 20000))
    assert bus.flush(timeout=60)
    bus.close()
    # SIGKILL after the second insert, before its offsets are committed: those messages come again
    killed = start_writer(cfg, tmp_path / "w1.log", WARDWATCH_FAULT_KILL_AFTER_INSERTS="2")
    try:
        assert killed.wait(timeout=120) == -9
    finally:
        killed.kill()
    # and a plain SIGKILL at an arbitrary point of the next run
    w2 = start_writer(cfg, tmp_path / "w2.log", "--stop-when-idle", "30")
    time.sleep(4)
    w2.kill()
    w2.wait(timeout=30)
    res = wardwatch("writer", "--config", str(cfg), "--stop-when-idle", "3")
    assert res.returncode == 0, res.stderr
    wait_caught_up(kafka_broker.bootstrap, f"{prefix}-writer", prefix, timeout=10)
    _assert_exactly(cfg, 20000)


def test_store_unavailable_for_a_while(kafka_broker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg, prefix = kafka_config(BASE, tmp_path / "k.yaml", kafka_broker.bootstrap, tmp_path / "var")
    down = tmp_path / "store-down"
    down.touch()
    writer = start_writer(cfg, tmp_path / "writer.log", WARDWATCH_FAULT_STORE_DOWN_FILE=str(down))
    bus = bus_for(cfg)
    try:
        bus.add_records(conn_records(0, 5000))
        assert bus.flush(timeout=60)
        # the state, not the clock: the writer has failed, paused and retried after a back-off (a
        # second failure), however long a loaded machine takes to get there
        _wait_for_log(tmp_path / "writer.log", "insert failed", times=2, timeout=120)
        bus.add_records(conn_records(5000, 5000))
        assert bus.flush(timeout=60)
        down.unlink()
        wait_caught_up(kafka_broker.bootstrap, f"{prefix}-writer", prefix)
    finally:
        bus.close(timeout=5)
        assert stop_writer(writer) == 0  # SIGTERM: a clean exit
    log = (tmp_path / "writer.log").read_text()
    assert "insert failed" in log and '"insert_failures"' in log
    _assert_exactly(cfg, 10000)


def test_leader_killed_in_three_broker_cluster(kafka_cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from kafka import KafkaAdminClient

    cfg, prefix = kafka_config(
        BASE,
        tmp_path / "k.yaml",
        kafka_cluster.bootstrap,
        tmp_path / "var",
        replication=3,
        min_insync_replicas=2,
    )
    writer = start_writer(cfg, tmp_path / "writer.log")
    bus = bus_for(cfg)
    killed = None
    try:
        bus.add_records(conn_records(0, 2000))
        assert bus.flush(timeout=60)
        wait_caught_up(kafka_cluster.bootstrap, f"{prefix}-writer", prefix)
        total = 2000
        for step in range(10):
            if step == 3:
                admin = KafkaAdminClient(bootstrap_servers=kafka_cluster.bootstrap.split(","))
                meta = admin.describe_topics([f"{prefix}.conn"])[0]
                admin.close()
                assert all(len(p["replica_nodes"]) == 3 for p in meta["partitions"])
                killed = meta["partitions"][0]["leader_id"]
                kafka_cluster.stop(node=killed, kill=True)  # SIGKILL the leader mid-stream
            bus.add_records(conn_records(total, 2000))
            total += 2000
            time.sleep(0.3)
        assert bus.flush(timeout=120)
        wait_caught_up(kafka_cluster.bootstrap, f"{prefix}-writer", prefix)
    finally:
        bus.close(timeout=5)
        if killed is not None:
            kafka_cluster.start(node=killed)
        stop_writer(writer)
    _assert_exactly(cfg, total)
