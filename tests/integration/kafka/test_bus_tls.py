"""TLS to a real broker: server verification against the configured CA, SCRAM over TLS with a
client certificate, and a broker whose certificate the CA did not sign is refused (the producer
spools; nothing is lost)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .helpers import bus_for, conn_records, kafka_config, store_summary, wardwatch

pytestmark = pytest.mark.integration
pytest.importorskip("chdb")
BASE = Path("/nonexistent")


def test_ssl_with_the_brokers_ca(kafka_broker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tls = kafka_broker.tls_bootstrap
    assert tls is not None
    security = {"protocol": "SSL", "cafile": str(kafka_broker.tls_dir / "ca.pem")}
    cfg, _ = kafka_config(BASE, tmp_path / "k.yaml", tls, tmp_path / "var", security=security)
    bus = bus_for(cfg)
    bus.add_records(conn_records(0, 700))
    assert bus.flush(timeout=60)
    bus.close()
    assert bus.counters.get("bus.records_sent") == 700
    res = wardwatch("writer", "--config", str(cfg), "--stop-when-idle", "3")
    assert res.returncode == 0, res.stderr[-2000:]
    assert store_summary(cfg)["conn"][0] == 700


def test_sasl_ssl_with_a_client_certificate(kafka_broker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    addr = kafka_broker.sasl_ssl_bootstrap
    assert addr is not None
    (tmp_path / "pw").write_text("test-secret\n")
    t = kafka_broker.tls_dir
    security = {
        "protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-256",
        "username": "wardwatch",
        "password_file": str(tmp_path / "pw"),
        "cafile": str(t / "ca.pem"),
        "certfile": str(t / "client.pem"),
        "keyfile": str(t / "client.key"),
    }
    cfg, _ = kafka_config(BASE, tmp_path / "k.yaml", addr, tmp_path / "var", security=security)
    bus = bus_for(cfg)
    bus.add_records(conn_records(0, 400))
    assert bus.flush(timeout=60)
    bus.close()
    res = wardwatch("-v", "writer", "--config", str(cfg), "--stop-when-idle", "3")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "test-secret" not in res.stderr
    assert store_summary(cfg)["conn"][0] == 400


def test_a_broker_the_ca_did_not_sign_is_refused(kafka_broker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tls = kafka_broker.tls_bootstrap
    assert tls is not None
    other = tmp_path / "other-ca.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "o.key"),
         "-out", str(other), "-days", "1", "-subj", "/CN=not the broker's CA"],
        check=True, capture_output=True,
    )  # fmt: skip
    cfg, _ = kafka_config(
        BASE, tmp_path / "k.yaml", tls, tmp_path / "var", security={"protocol": "SSL", "cafile": str(other)}
    )
    bus = bus_for(cfg)
    bus.add_records(conn_records(0, 50))
    assert not bus.flush(timeout=5)
    bus.close(timeout=1)
    # nothing reached the broker, and nothing was lost: the records wait in the spool
    assert not bus.counters.get("bus.records_sent")
    assert not bus.spool.empty
    assert bus.counters.get("bus.messages_spooled", 0) >= 1
