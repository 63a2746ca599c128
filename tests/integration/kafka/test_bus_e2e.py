"""Capture → Kafka → ``wardwatch writer`` → chdb stores exactly what the embedded path stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from wardwatch.bus.remote import BusStore
from wardwatch.cli.pipeline import run_pipeline
from wardwatch.tools.synth import generate

from wardwatch.config import load_config
from wardwatch.counters import Counters

from .helpers import embedded_config, kafka_config, store_summary, wardwatch

pytestmark = pytest.mark.integration
pytest.importorskip("chdb")


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return generate(tmp_path_factory.mktemp("bus-synth"), seed=11)


@pytest.fixture(scope="module")
def embedded(synth, tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[no-untyped-def,type-arg]
    d = tmp_path_factory.mktemp("embedded")
    cfg = embedded_config(Path(synth.config), d / "embedded.yaml", d / "var")
    res = wardwatch("run", "--quiet", "--pcap", str(synth.pcap), "--config", str(cfg))
    assert res.returncode == 0, res.stderr
    return store_summary(cfg)


def produce(pcap: Path, config: Path) -> Counters:
    """``wardwatch run`` with the Kafka bus: the same pipeline, its output sent to the topics."""
    cfg = load_config(config)
    counters = Counters()
    store = BusStore(cfg)
    try:
        run_pipeline([pcap], cfg, store, counters)  # type: ignore[arg-type]
    finally:
        store.close()
    return counters


def test_kafka_path_equals_embedded_path(synth, embedded, kafka_broker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg, _ = kafka_config(
        Path(synth.config), tmp_path / "kafka.yaml", kafka_broker.bootstrap, tmp_path / "var"
    )
    counters = produce(Path(synth.pcap), cfg)
    assert counters.get("bus.records_sent", 0) > 0
    assert counters.get("bus.messages_spooled", 0) == 0
    res = wardwatch("writer", "--config", str(cfg), "--stop-when-idle", "3")
    assert res.returncode == 0, res.stderr
    got = store_summary(cfg)
    assert got == embedded
    assert embedded["dns"][0] > 0 and embedded["alerts"][0] > 0

    # running the writer again over the same (already committed) topics changes nothing
    res = wardwatch("writer", "--config", str(cfg), "--stop-when-idle", "2")
    assert res.returncode == 0, res.stderr
    assert store_summary(cfg) == embedded
