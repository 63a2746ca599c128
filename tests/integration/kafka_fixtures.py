"""Session-scoped fixtures for a real Kafka broker (deploy/kafka/broker.sh): one broker, and a
three-broker KRaft cluster for failover tests. Tests skip when Java 17+ or Maven is missing."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BROKER_SH = ROOT / "deploy" / "kafka" / "broker.sh"


@dataclass
class Broker:
    """A broker (or cluster) started by broker.sh in ``dir``."""

    dir: Path
    bootstrap: str

    def _sh(self, *args: str, timeout: float = 300) -> str:
        res = subprocess.run(
            ["bash", str(BROKER_SH), *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if res.returncode != 0:
            raise RuntimeError(f"broker.sh {' '.join(args)} failed:\n{res.stderr[-3000:]}")
        return res.stdout

    def start(self, node: int | None = None) -> None:
        self._sh("start", str(self.dir), *(["--node", str(node)] if node else []))

    def stop(self, node: int | None = None, kill: bool = False) -> None:
        self._sh(
            "stop", str(self.dir), *(["--node", str(node)] if node else []), *(["--kill"] if kill else [])
        )

    def nodes(self) -> dict[int, tuple[str, bool]]:
        """node id → (address, running)."""
        out = {}
        for line in self._sh("status", str(self.dir)).splitlines():
            parts = line.split()
            out[int(parts[0])] = (parts[1], parts[2] == "up")
        return out

    @property
    def sasl_bootstrap(self) -> str | None:
        p = self.dir / "sasl_bootstrap"
        return p.read_text().strip() if p.exists() else None

    @property
    def tls_bootstrap(self) -> str | None:
        """The SSL listeners (``--tls``); their CA and a client certificate are under ``tls_dir``."""
        p = self.dir / "tls_bootstrap"
        return p.read_text().strip() if p.exists() else None

    @property
    def sasl_ssl_bootstrap(self) -> str | None:
        p = self.dir / "sasl_ssl_bootstrap"
        return p.read_text().strip() if p.exists() else None

    @property
    def tls_dir(self) -> Path:
        return self.dir / "tls"


def _need_tools() -> None:
    if shutil.which("java") is None or shutil.which("mvn") is None:
        pytest.skip("Kafka tests need Java 17+ and Maven (deploy/kafka/broker.sh fetches the broker)")


def _start(directory: Path, *args: str) -> Broker:
    _need_tools()
    res = subprocess.run(
        ["bash", str(BROKER_SH), "start", str(directory), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if res.returncode != 0:
        raise RuntimeError(f"broker.sh start failed:\n{res.stderr[-3000:]}")
    return Broker(directory, res.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """One KRaft broker on loopback, with a SCRAM user ``wardwatch`` / ``test-secret`` on its SASL port,
    and SSL and SASL_SSL listeners (a throwaway CA)."""
    broker = _start(tmp_path_factory.mktemp("kafka1"), "--sasl", "wardwatch:test-secret", "--tls")
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """Three KRaft brokers (each also a controller); topics default to RF 3, min.insync.replicas 2."""
    broker = _start(tmp_path_factory.mktemp("kafka3"), "--brokers", "3")
    try:
        yield broker
    finally:
        broker.stop()
