"""The sensor: capture files in, Zeek-compatible records out.

Stages run batch by batch (columns, not per-packet objects): read → decode → meter flows → DNS
and application analysers. Each stage keeps its own state across batches and emits records when
they complete (a DNS transaction answered or timed out, a connection closed or idle).

With ``workers > 1`` the work is split the way Zeek and Suricata clusters split it: every worker
reads and decodes the whole capture (cheap, vectorised) and keeps only the connections whose
direction-independent 5-tuple hash falls to it, so each connection's state lives in exactly one
process. The parent collects the workers' records batch by batch in a fixed order, so the output
does not depend on scheduling; reader and decoder counters come from worker 0 alone (every worker
sees the same frames), the analysers' counters are summed.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from wardwatch.config import Config, declare_section
from wardwatch.counters import Counters

from .app import AppConfig, AppTracker
from .capture import read_captures
from .decode import DecodeConfig, Decoder
from .decode.columns import PROTO_ICMP, PROTO_ICMP6, PacketBatch
from .dns import DnsConfig, DnsTracker
from .flows import FlowConfig, FlowMeter

Record = dict[str, object]

# Below this much input a second process costs more than it saves.
PARALLEL_MIN_BYTES = 32 << 20
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@dataclass
class SensorConfig:
    batch_frames: int = 131072
    # 0 = automatic: one per core (at most 4) for large inputs, 1 for small ones.
    workers: int = 0
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    flows: FlowConfig = field(default_factory=FlowConfig)
    dns: DnsConfig = field(default_factory=DnsConfig)
    app: AppConfig = field(default_factory=AppConfig)


def sensor_config(config: Config | None) -> SensorConfig:
    """The ``sensor:`` section of the config file (every key of ``SensorConfig``, defaults when absent)."""
    return SensorConfig() if config is None else config.section("sensor", SensorConfig)


declare_section("sensor", SensorConfig)


def sense(
    paths: Sequence[str | Path], counters: Counters, config: SensorConfig | None = None
) -> Iterator[list[Record]]:
    """Yield lists of finished records (each a dict with ``_path`` first) as the captures are read."""
    config = config or SensorConfig()
    workers = config.workers or _auto_workers(paths)
    if workers <= 1:
        yield from _sense_share(paths, counters, counters, config, 0, 1)
    else:
        yield from _sense_parallel(paths, counters, config, workers)


def _auto_workers(paths: Sequence[str | Path]) -> int:
    total = 0
    for p in paths:
        with contextlib.suppress(OSError):  # a missing file is reported by the reader
            total += os.path.getsize(p)
    if total < PARALLEL_MIN_BYTES:
        return 1
    return max(1, min(4, len(os.sched_getaffinity(0))))


def flow_share(batch: PacketBatch, workers: int) -> np.ndarray:
    """Worker index of each row: a hash of the connection that is the same in both directions.

    ICMP rows hash on addresses only, because the flow meter pairs an echo request (type 8) with its
    reply (type 0) into one connection and the type/code sit in the port columns.
    """
    return column_share(
        {
            name: getattr(batch, name)
            for name in ("proto", "src_hi", "src_lo", "dst_hi", "dst_lo", "sport", "dport")
        },
        workers,
    )


def column_share(cols: Mapping[str, np.ndarray], workers: int) -> np.ndarray:
    """``flow_share`` over decoded columns (the decoder's, before it builds the batch)."""
    proto = cols["proto"]
    icmp = (proto == PROTO_ICMP) | (proto == PROTO_ICMP6)
    sport = np.where(icmp, 0, cols["sport"]).astype(np.uint64)
    dport = np.where(icmp, 0, cols["dport"]).astype(np.uint64)
    with np.errstate(over="ignore"):
        a = (cols["src_hi"] * np.uint64(0x9E3779B97F4A7C15)) ^ cols["src_lo"] ^ (sport << np.uint64(48))
        b = (cols["dst_hi"] * np.uint64(0x9E3779B97F4A7C15)) ^ cols["dst_lo"] ^ (dport << np.uint64(48))
        h = (np.minimum(a, b) * np.uint64(0xC2B2AE3D27D4EB4F)) ^ np.maximum(a, b) ^ proto.astype(np.uint64)
        h ^= h >> np.uint64(29)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(32)
    return (h % np.uint64(workers)).astype(np.int64)


def _sense_share(
    paths: Sequence[str | Path],
    input_counters: Counters,
    counters: Counters,
    config: SensorConfig,
    share: int,
    workers: int,
) -> Iterator[list[Record]]:
    """The pipeline over the connections of one share (all of them when ``workers`` is 1).

    Yields one list per capture batch (possibly empty) and a last one for the end of input, so the
    parallel parent can line the workers' outputs up batch by batch.
    """
    decoder = Decoder(input_counters, config.decode)
    meter = FlowMeter(counters, config.flows)
    dns = DnsTracker(counters, config.dns)
    app = AppTracker(counters, config.app)

    def analyse(batch: PacketBatch) -> list[Record]:
        if not len(batch):
            return []
        assignment = meter.process(batch)
        out: list[Record] = []
        out += dns.process(batch, assignment, meter)
        out += app.process(batch, assignment, meter)
        return out

    def mine(cols: Mapping[str, np.ndarray]) -> np.ndarray:
        return column_share(cols, workers) == share

    for raw in read_captures(paths, input_counters, batch_frames=config.batch_frames):
        input_counters.add("packets.read", len(raw))
        if workers > 1:
            # this share's rows only; the clock still follows every decoded row
            batch, decoded, now = decoder.decode_selected(raw, mine)
        else:
            batch = decoder.decode(raw)
            decoded = len(batch)
            now = float(batch.ts.max()) if decoded else 0.0
        out = analyse(batch)
        if decoded:
            out += dns.expire(now)
            out += app.expire(now)
            out += meter.expire(now)
        yield out
    out = analyse(decoder.flush())
    out += dns.flush()
    out += app.flush()
    out += meter.flush()
    yield out


def _die_with_parent(parent: int, lifeline: int) -> None:
    """End this worker as soon as the process that forked it is gone, even by ``kill -9``.

    A worker outliving its parent holds a copy of everything the parent had open (the embedded
    store's lock among them) and gigabytes of memory, while its output has nowhere to go. Linux
    kills it outright (``PR_SET_PDEATHSIG``); elsewhere, or should that call fail, a thread waits on
    the read end of a pipe whose only write end is the parent's: the kernel closes it when the
    parent dies, however it dies, and the read returns.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the line above could take effect
        os._exit(1)

    def watch() -> None:
        with contextlib.suppress(OSError):
            while os.read(lifeline, 1):
                pass
        os._exit(1)

    threading.Thread(target=watch, name="wardwatch-sensor-lifeline", daemon=True).start()


def _worker_main(
    paths: list[str],
    config: SensorConfig,
    share: int,
    workers: int,
    conn: Connection,
    parent: int,
    lifeline: tuple[int, int],
    inherited: list[Connection],
) -> None:
    # what the fork copied of the parent's side: the lifeline's write end (the parent's alone, or
    # its EOF would never come) and the read ends of the pipes (so a dead parent means a broken pipe
    # here, not a send blocked for ever)
    os.close(lifeline[1])
    for c in inherited:
        with contextlib.suppress(OSError):
            c.close()
    _die_with_parent(parent, lifeline[0])
    input_counters, counters = Counters(), Counters()
    try:
        for records in _sense_share(paths, input_counters, counters, config, share, workers):
            conn.send(("records", records))
        conn.send(("done", (dict(input_counters), dict(counters))))
    except BaseException:  # the parent reports it; a worker must never die silently
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def _sense_parallel(
    paths: Sequence[str | Path], counters: Counters, config: SensorConfig, workers: int
) -> Iterator[list[Record]]:
    # fork: the workers inherit the imported modules, and the capture files are read by path.
    ctx = multiprocessing.get_context("fork")
    pipes: list[Connection] = []
    procs = []
    lifeline = os.pipe()  # the workers watch its read end; only this process keeps the write end
    try:
        for share in range(workers):
            recv, send = ctx.Pipe(duplex=False)
            args = (
                [str(p) for p in paths],
                config,
                share,
                workers,
                send,
                os.getpid(),
                lifeline,
                [*pipes, recv],
            )
            proc = ctx.Process(target=_worker_main, args=args, name=f"wardwatch-sensor-{share}", daemon=True)
            pipes.append(recv)
            proc.start()
            send.close()
            procs.append(proc)
        os.close(lifeline[0])
        lifeline = (-1, lifeline[1])
        live = list(range(workers))
        while live:
            merged: list[Record] = []
            for share in list(live):
                try:
                    kind, payload = pipes[share].recv()
                except EOFError:
                    raise RuntimeError(f"sensor worker {share} exited without finishing") from None
                if kind == "records":
                    merged += payload
                elif kind == "done":
                    input_counts, counts = payload
                    if share == 0:
                        counters.update(input_counts)
                    counters.update(counts)
                    live.remove(share)
                else:
                    raise RuntimeError(f"sensor worker {share} failed:\n{payload}")
            if merged:
                yield merged
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
            proc.join()
        for pipe in pipes:
            pipe.close()
        for fd in lifeline:
            if fd >= 0:
                os.close(fd)
