"""The configured inputs besides the sensor, running beside ``serve`` (or alone, ``wardwatch collect``):
the NetFlow/IPFIX collector (``inputs.netflow``), Zeek's logs (``inputs.zeek``) and Suricata's EVE
(``inputs.eve``). Each runs on its own thread and hands batches to the one thread that owns the
``Flow`` (records → detectors → store), which takes them with ``pump``:

    inputs = start_inputs(config, counters, stop)      # None when the config has no input
    ...
    inputs.pump(flow)        # in the loop that owns the flow: every waiting batch, stepped through
    inputs.close(flow)       # at the end: threads joined, what they still held stepped through

Log positions are committed only after ``flow.writer.flush()`` has returned, i.e. once the batch's
rows are in the store: a process killed at any moment re-reads at most the last batch, which the
store's dedup drops (the records carry Zeek's and Suricata's own ids), and skips nothing. NetFlow over
UDP has nothing to resume: what the kernel buffered when the process died is lost, as for any
collector.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from wardwatch.ingest.logs import EveInput, ZeekInput, eve_settings, zeek_settings
from wardwatch.ingest.netflow import Collector, netflow_settings
from wardwatch.ingest.netflow.config import parse_listen

from wardwatch.config import Config
from wardwatch.counters import Counters
from wardwatch.errors import UsageError
from wardwatch.i18n import os_error, say_log, text

log = logging.getLogger("wardwatch.inputs")


class _Stop(Protocol):
    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


@dataclass
class _Batch:
    records: list[dict[str, Any]]
    alerts: list[Any]
    commit: Callable[[], None] | None = None  # positions to save once the rows are stored
    done: threading.Event | None = None  # the producing thread waits on it before reading on


def configured(config: Config) -> bool:
    """Does the config name any input (so that ``serve`` may run without a capture interface)?"""
    return any(config.raw_section(f"inputs.{k}") is not None for k in ("netflow", "zeek", "eve"))


class Inputs:
    def __init__(self, config: Config, counters: Counters, stop: _Stop, netflow: bool = True) -> None:
        self.counters = counters
        self.stop = stop
        self.queue: queue.Queue[_Batch] = queue.Queue(maxsize=16)
        self.threads: list[threading.Thread] = []
        self.collector: Collector | None = None
        self.logs: list[ZeekInput | EveInput] = []
        self.polls: dict[str, float] = {}
        nf = netflow_settings(config)
        if nf is not None and netflow:  # (``collect --once`` imports logs only)
            address = parse_listen(nf.listen)
            try:
                self.collector = Collector(address, counters, nf.sampling, nf.receive_buffer)
            except OSError as e:
                raise UsageError(
                    "\n".join(text("ingest.collect_cannot_listen", address=nf.listen, reason=os_error(e)))
                ) from None
        where = Path(config.data_dir) / "inputs"
        zk = zeek_settings(config)
        if zk is not None:
            self.logs.append(ZeekInput(Path(zk.dir), where / "zeek-positions.json", counters))
            self.polls["zeek"] = zk.poll_seconds
        ev = eve_settings(config)
        if ev is not None:
            self.logs.append(EveInput(Path(ev.path), where / "eve-positions.json", counters))
            self.polls["eve"] = ev.poll_seconds

    # -- the producing threads -------------------------------------------------------------------
    def start(self) -> Inputs:
        if self.collector is not None:
            host, port = self.collector.address
            say_log(log, "ingest.collect_listening", address=f"{host}:{port}")
            self._thread("netflow", self._collect)
        for inp in self.logs:
            where = getattr(inp, "folder", None) or getattr(inp, "path", "")
            say_log(log, "ingest.collect_following", kind=inp.kind, path=str(where))
            self._thread(inp.kind, self._follow, inp)
        return self

    def _thread(self, name: str, target: Callable[..., None], *args: Any) -> None:
        t = threading.Thread(
            target=self._guard, args=(name, target, *args), name=f"wardwatch-{name}", daemon=True
        )
        t.start()
        self.threads.append(t)

    def _guard(self, name: str, target: Callable[..., None], *args: Any) -> None:
        try:
            target(*args)
        except Exception:  # noqa: BLE001 — an input must not take the service down: say it, count it
            log.exception("input %s stopped", name)
            self.counters.add(f"inputs.{name}.failed")

    def _put(self, batch: _Batch, last: bool = False) -> bool:
        if last:  # stopping: the final batch still goes to the flow (``close`` takes it)
            try:
                self.queue.put(batch, timeout=10.0)
                return True
            except queue.Full:
                self.counters.add("inputs.lost_at_stop", len(batch.records))
                return False
        while not self.stop.is_set():
            try:
                self.queue.put(batch, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _collect(self) -> None:
        assert self.collector is not None
        for records in self.collector.batches(self.stop, every=0.5):
            if records and not self._put(_Batch(records, []), last=self.stop.is_set()):
                break

    def _follow(self, inp: ZeekInput | EveInput) -> None:
        every = self.polls.get(inp.kind, 1.0)
        while not self.stop.is_set():
            records, alerts = inp.poll()
            if not records and not alerts:
                if inp.follower.pending:
                    inp.commit()  # lines that made no record (comments, skipped events)
                self.stop.wait(every)
                continue
            done = threading.Event()
            if not self._put(_Batch(records, alerts, inp.commit, done)):
                break
            # read on only once this batch is stored and its positions saved (by ``pump``)
            while not done.wait(0.2):
                if self.stop.is_set():
                    return

    # -- the flow's side -------------------------------------------------------------------------
    def pump(self, flow: Any, limit: int = 64) -> int:
        """Step every waiting batch through ``flow``; returns how many records it took."""
        n = 0
        commits: list[_Batch] = []
        for _ in range(limit):
            try:
                b = self.queue.get_nowait()
            except queue.Empty:
                break
            flow.step(b.records)
            if b.alerts:
                flow.store_alerts(b.alerts)
            n += len(b.records)
            if b.commit is not None:
                commits.append(b)
        if commits:
            flow.writer.flush()  # the rows are in the store: now the positions may move on
            for b in commits:
                assert b.commit is not None and b.done is not None
                b.commit()
                b.done.set()
        return n

    def close(self, flow: Any) -> None:
        """Stop reading (the ``stop`` flag must be set), then step through what was still queued."""
        deadline = time.monotonic() + 30.0
        while any(t.is_alive() for t in self.threads) and time.monotonic() < deadline:
            self.pump(flow)  # a thread may be waiting to hand over its last batch
            time.sleep(0.05)
        while self.pump(flow):
            pass
        if self.collector is not None:
            self.collector.close()


def start_inputs(config: Config, counters: Counters, stop: _Stop) -> Inputs | None:
    """The config's inputs, started; None when it has none."""
    if not configured(config):
        return None
    return Inputs(config, counters, stop).start()
