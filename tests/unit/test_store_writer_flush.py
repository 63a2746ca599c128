"""Issue 11, point 5: the writer inserts what is pending every ``flush_seconds`` (not only every
``batch_rows`` rows or at the end), so a killed run keeps what it had decoded. The clock is a fake
one: the test moves it, nothing sleeps."""

from __future__ import annotations

from typing import Any

import pytest
from wardwatch.store import writer as writer_mod
from wardwatch.store.backend import Batch
from wardwatch.store.writer import Writer


class _Backend:
    kind = "fake"

    def __init__(self) -> None:
        self.batches: list[Batch] = []

    def insert(self, batch: Batch) -> None:
        self.batches.append(batch)

    def rows(self, sql: str, params: Any = None, readonly: bool = False) -> list[dict[str, Any]]:
        return []

    @property
    def stored(self) -> int:
        return sum(b.rows for b in self.batches)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _dns(i: int) -> dict[str, Any]:
    return {
        "_path": "dns",
        "ts": 1_710_205_200.0 + i,
        "uid": f"C{i}",
        "id.orig_h": "10.0.0.1",
        "query": "a.vn",
    }


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    c = _Clock()
    monkeypatch.setattr(writer_mod.time, "monotonic", c)
    return c


@pytest.mark.parametrize("background", [False, True])
def test_pending_rows_are_inserted_once_flush_seconds_pass(clock: _Clock, background: bool) -> None:
    backend = _Backend()
    w = Writer(backend, lambda ip: "his", batch_rows=1000, flush_seconds=5.0, background=background)
    try:
        w.add_records([_dns(0), _dns(1)])
        clock.now += 4.9
        w.add_records([_dns(2)])
        if w._jobs is not None:
            w._jobs.join()
        assert backend.stored == 0  # under both bounds: still pending
        clock.now += 0.2
        w.add_records([_dns(3)])
        if w._jobs is not None:
            w._jobs.join()  # (waits for the handed-over insert, as the progress line would see it)
        assert backend.stored == 4
        assert w.committed == 4
        clock.now += 5.1
        w.add_records([_dns(4)])
        if w._jobs is not None:
            w._jobs.join()
        assert backend.stored == 5
    finally:
        w.close()


def test_without_flush_seconds_rows_wait_for_the_batch(clock: _Clock) -> None:
    # the bus writer batches by itself (offsets are committed after its own flush)
    backend = _Backend()
    w = Writer(backend, lambda ip: "his", batch_rows=1000)
    w.add_records([_dns(0)])
    clock.now += 3600
    w.add_records([_dns(1)])
    assert backend.stored == 0
    w.flush()
    assert backend.stored == 2 and w.committed == 2


def test_flush_seconds_is_read_from_the_config(tmp_path: Any) -> None:
    from wardwatch.store import load_store_settings

    from wardwatch.config import ConfigError, load_config

    cfg = tmp_path / "c.yaml"
    cfg.write_text("data_dir: var\nstore: {flush_seconds: 0.5}\n")
    assert load_store_settings(load_config(cfg)).flush_seconds == 0.5
    cfg.write_text("data_dir: var\n")
    assert load_store_settings(load_config(cfg)).flush_seconds == 5.0
    cfg.write_text("data_dir: var\nstore: {flush_seconds: 0}\n")
    with pytest.raises(ConfigError, match="flush_seconds"):
        load_store_settings(load_config(cfg))
