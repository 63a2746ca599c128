"""Poison messages go to the dead-letter topic with their reason and the writer keeps going; the bus
also works over SASL/SCRAM with the password from an environment variable, which is never logged."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from wardwatch.bus.envelope import headers

from .helpers import bus_for, conn_records, kafka_config, store_summary, wardwatch

pytestmark = pytest.mark.integration
pytest.importorskip("chdb")
BASE = Path("/nonexistent")


def _raw_send(bootstrap: str, topic: str, value: bytes, hdrs: list[tuple[str, bytes]]) -> None:
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=bootstrap.split(","), max_request_size=4 << 20)
    p.send(topic, value=value, headers=hdrs, partition=0).get(timeout=30)
    p.close()


def _dead_letters(bootstrap: str, topic: str) -> list[tuple[bytes, dict[str, bytes]]]:
    from kafka import KafkaConsumer

    c = KafkaConsumer(
        topic, bootstrap_servers=bootstrap.split(","), auto_offset_reset="earliest", consumer_timeout_ms=5000
    )
    out = [(m.value, dict(m.headers)) for m in c]
    c.close()
    return out


def test_poison_messages_are_dead_lettered(kafka_broker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg, prefix = kafka_config(
        BASE,
        tmp_path / "k.yaml",
        kafka_broker.bootstrap,
        tmp_path / "var",
        writer={"max_message_bytes": "256KiB"},
    )
    bus = bus_for(cfg)
    bus.add_records(conn_records(0, 1000))
    assert bus.flush(timeout=60)
    topic = f"{prefix}.conn"
    good = orjson.dumps(conn_records(5000, 1)[0]) + b"\n"
    _raw_send(
        kafka_broker.bootstrap, topic, b'{"_path": "conn", "ts": 1.0, "uid": ', headers("conn", "x:1", 1)
    )
    _raw_send(kafka_broker.bootstrap, topic, good, [("ww-schema", b"99"), ("ww-log", b"conn")])
    _raw_send(kafka_broker.bootstrap, topic, good * 3000, headers("conn", "x:2", 3000))  # ≈ 400 KB > 256 KiB
    _raw_send(kafka_broker.bootstrap, topic, good, [])  # no envelope at all
    bus.add_records(conn_records(1000, 1000))  # good records after the poison
    assert bus.flush(timeout=60)
    bus.close()

    res = wardwatch("writer", "--config", str(cfg), "--stop-when-idle", "3")
    assert res.returncode == 0, res.stderr
    assert "4 dead-lettered" in res.stderr
    conn = store_summary(cfg)["conn"]
    assert conn[0] == conn[1] == 2000
    dead = _dead_letters(kafka_broker.bootstrap, f"{prefix}.deadletter")
    reasons = sorted(h["ww-dlq-reason"].decode() for _, h in dead)
    assert len(reasons) == 4
    assert any(r.startswith("bad JSON") for r in reasons)
    assert any("unsupported schema version b'99'" in r for r in reasons)
    assert any(r.startswith("oversized") for r in reasons)
    assert any("no ww-schema header" in r for r in reasons)
    assert all(h["ww-dlq-source"].startswith(topic.encode() + b":0:") for _, h in dead)


def test_sasl_scram_with_password_from_env(
    kafka_broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    sasl = kafka_broker.sasl_bootstrap
    assert sasl is not None
    secret = "test-secret"
    security = {
        "protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "username": "wardwatch",
        "password_env": "WW_TEST_KAFKA_PASSWORD",
    }
    cfg, prefix = kafka_config(BASE, tmp_path / "k.yaml", sasl, tmp_path / "var", security=security)
    monkeypatch.setenv("WW_TEST_KAFKA_PASSWORD", secret)
    bus = bus_for(cfg)
    assert secret not in repr(bus.settings)
    bus.add_records(conn_records(0, 500))
    assert bus.flush(timeout=60)
    bus.close()
    res = wardwatch(
        "-v", "writer", "--config", str(cfg), "--stop-when-idle", "3", WW_TEST_KAFKA_PASSWORD=secret
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert secret not in res.stderr
    assert store_summary(cfg)["conn"][0] == 500

    # a wrong password is refused by the broker: nothing is consumed
    bad = wardwatch(
        "writer", "--config", str(cfg), "--stop-when-idle", "1", timeout=120, WW_TEST_KAFKA_PASSWORD="wrong"
    )
    assert bad.returncode == 2
    assert "authentication failed" in bad.stderr
    assert "wrong" not in bad.stderr.replace("wrong user", "")
