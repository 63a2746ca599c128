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

Live capture (``sense_live``) runs the same pipeline over batches read from interfaces
(``ingest.live``). There the kernel splits the connections (PACKET_FANOUT in hash mode), so each worker
reads only its own share and decodes it whole. The clock follows the packets' timestamps and, when
none arrive, the wall clock, so connections and DNS transactions are emitted on Zeek's timeouts while
the capture runs. On stop, every frame already in the rings is read, every open connection and
transaction flushed.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

from wardwatch.config import Config, declare_section, setting
from wardwatch.counters import Counters
from wardwatch.errors import UsageError
from wardwatch.i18n import say, text

from .app import AppConfig, AppTracker
from .capture import RawBatch, read_captures
from .decode import DecodeConfig, Decoder
from .decode.columns import PROTO_ICMP, PROTO_ICMP6, PacketBatch
from .decode.services import TunnelServices
from .dns import DnsConfig, DnsTracker
from .flows import FlowConfig, FlowMeter

if TYPE_CHECKING:
    from .live import Handle, LiveSource

Record = dict[str, object]

# Below this much input a second process costs more than it saves.
PARALLEL_MIN_BYTES = 32 << 20
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_log = logging.getLogger("wardwatch.sensor")


@dataclass
class SensorConfig:
    batch_frames: int = 131072
    # 0 = automatic: one per core (at most 4) for large inputs, 1 for small ones.
    workers: int = 0
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    flows: FlowConfig = field(default_factory=FlowConfig)
    dns: DnsConfig = field(default_factory=DnsConfig)
    app: AppConfig = field(default_factory=AppConfig)
    # live capture (ingest/live): interfaces to watch, a BPF filter on all of them, and the sockets
    interfaces: tuple[str, ...] = ()
    bpf: str = ""
    snaplen: int = setting(262144, lo=64, hi=262144)
    promisc: bool = True
    buffer_size: int = setting(64 << 20, kind="size", lo=1 << 16)  # each socket's ring
    # once the sockets are open, a root sensor becomes this user (unset: stays as it was started)
    user: str | None = None
    # the longest the live sensor goes without yielding (an empty list when idle)
    poll_interval: float = setting(0.5, kind="duration", lo=0.01, hi=60)


class StopFlag(Protocol):
    def is_set(self) -> bool: ...


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
    """The pipeline over the connections of one share of capture files (all when ``workers`` is 1).

    Yields one list per capture batch (possibly empty) and a last one for the end of input, so the
    parallel parent can line the workers' outputs up batch by batch.
    """

    def mine(cols: Mapping[str, np.ndarray]) -> np.ndarray:
        return column_share(cols, workers) == share

    batches = ((raw, None) for raw in read_captures(paths, input_counters, batch_frames=config.batch_frames))
    yield from _pipeline(batches, input_counters, counters, config, mine if workers > 1 else None)


def _pipeline(
    batches: Iterable[tuple[RawBatch | None, float | None]],
    input_counters: Counters,
    counters: Counters,
    config: SensorConfig,
    select: Callable[[Mapping[str, np.ndarray]], np.ndarray] | None = None,
) -> Iterator[list[Record]]:
    """read → decode → meter → DNS and applications, one list of finished records per batch.

    Each item of ``batches`` is a batch of frames (or None: nothing arrived) and a clock reading:
    None for capture files, where only the packets' timestamps move the clock; the wall clock for
    live capture, which moves it when no packet arrives so that timeouts fire while idle. ``select``
    keeps one worker's share of the decoded rows (capture files split in user space).
    """
    _calm_gc()
    decoder = Decoder(input_counters, config.decode)
    meter = FlowMeter(counters, config.flows)
    dns = DnsTracker(counters, config.dns)
    app = AppTracker(counters, config.app)
    tunnels = TunnelServices()  # vxlan/geneve/teredo on the UDP connections carrying them
    clock = 0.0

    def analyse(batch: PacketBatch) -> list[Record]:
        if not len(batch):
            return []
        assignment = meter.process(batch)
        tunnels.process(batch, assignment.flow, assignment.from_orig, meter)
        out: list[Record] = []
        out += dns.process(batch, assignment, meter)
        out += app.process(batch, assignment, meter)
        return out

    def expire(now: float) -> list[Record]:
        out = dns.expire(now) + app.expire(now) + meter.expire(now)
        tunnels.release(meter.retired)
        return out + app.release(meter.retired)

    for raw, wall in batches:
        out: list[Record] = []
        decoded, now = 0, 0.0
        if raw is not None:
            input_counters.add("packets.read", len(raw))
            if select is not None:
                # this share's rows only; the clock still follows every decoded row
                batch, decoded, now = decoder.decode_selected(raw, select)
            else:
                batch = decoder.decode(raw)
                decoded = len(batch)
                now = float(batch.ts.max()) if decoded else 0.0
            out = analyse(batch)
        if wall is None:
            if decoded:
                out += expire(now)
        else:
            # never backwards: a frame from a slower interface may carry an older timestamp
            clock = max(clock, now if decoded else 0.0, wall)
            if clock:
                out += expire(clock)
        yield out
    out = analyse(decoder.flush())
    out += dns.flush()
    out += app.flush()
    out += meter.flush()
    yield out


GC_THRESHOLD = (20_000, 10, 10)


def _calm_gc() -> None:
    """Fewer collections while connection tables hold hundreds of thousands of objects: with Python's
    default thresholds (700, 10, 10) every collection of the older generations walks them all, about a
    third of the sensor's CPU on a capture of one connection per packet (bench/bench_storm.py:
    11.4 → 7.8 CPU s over 300,000 SYNs). The objects are freed by reference counting (connections,
    records and batches hold no cycles); what was imported before the capture is frozen out of
    every collection."""
    gc.freeze()
    if gc.get_threshold()[0] < GC_THRESHOLD[0]:
        gc.set_threshold(*GC_THRESHOLD)


def _spawn(
    ctx: Any,
    target: Callable[..., None],
    name: str,
    count: int,
    pipes: list[Connection],
    procs: list[multiprocessing.process.BaseProcess],
    lifeline: tuple[int, int],
    args_of: Callable[[int, Connection, list[Connection]], tuple[Any, ...]],
) -> None:
    """Fork ``count`` workers, each with a pipe back; ``args_of(share, send end, parent ends the worker
    must close)`` makes a worker's arguments. The lifeline's read end then belongs to the workers alone."""
    for share in range(count):
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=target, args=args_of(share, send, [*pipes, recv]), name=f"{name}-{share}", daemon=True
        )
        pipes.append(recv)
        proc.start()
        send.close()
        procs.append(proc)
    os.close(lifeline[0])


def _reap(
    procs: Sequence[multiprocessing.process.BaseProcess],
    pipes: Sequence[Connection],
    lifeline: tuple[int, int],
    grace: float | None,
) -> None:
    """End the workers and close the parent's ends. ``grace``: seconds a worker gets to finish on its own
    (live workers flush when told to stop) before it is killed; None: terminate it at once."""
    for proc in procs:
        if grace is None:
            if proc.is_alive():
                proc.terminate()
            proc.join()
            continue
        proc.join(timeout=grace)
        if proc.is_alive():
            proc.kill()
            proc.join()
    for pipe in pipes:
        pipe.close()
    for fd in lifeline:
        if fd >= 0:
            os.close(fd)


def _worker_start(parent: int, lifeline: tuple[int, int], inherited: list[Connection]) -> None:
    """A forked worker's first step. What the fork copied of the parent's side goes: the lifeline's
    write end (the parent's alone, or its EOF would never come) and the read ends of the pipes (so a
    dead parent means a broken pipe here, not a send blocked for ever); then it dies with its parent."""
    os.close(lifeline[1])
    for c in inherited:
        with contextlib.suppress(OSError):
            c.close()
    _die_with_parent(parent, lifeline[0])


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
    _worker_start(parent, lifeline, inherited)
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
    # the records arriving from the workers, and what the caller keeps of them, live here too
    _calm_gc()
    # fork: the workers inherit the imported modules, and the capture files are read by path.
    ctx = multiprocessing.get_context("fork")
    pipes: list[Connection] = []
    procs: list[multiprocessing.process.BaseProcess] = []
    lifeline = os.pipe()  # the workers watch its read end; only this process keeps the write end
    try:
        files = [str(p) for p in paths]
        _spawn(
            ctx, _worker_main, "wardwatch-sensor", workers, pipes, procs, lifeline,
            lambda share, send, inherited: (
                files, config, share, workers, send, os.getpid(), lifeline, inherited
            ),
        )  # fmt: skip
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
        _reap(procs, pipes, lifeline, grace=None)


# Counters of work the sensor saw but stopped tracking because a state table was full: connections
# evicted from the flow table, connections the application table had no room for, DNS transactions and
# TCP DNS streams beyond their caps, fragments beyond the reassembly memory. Their records are missing
# or incomplete, so the service raises ``sensor_overload`` when they grow (detectors/coverage.py).
SHED_COUNTERS = (
    "flows.evicted",
    "dropped.app_table_full",
    "dns.pending_overflow",
    "dns.tcp_streams_full",
    "dropped.fragment_memory",
)


def sense_live(config: SensorConfig, counters: Counters, stop: StopFlag) -> Iterator[list[Record]]:
    """Yield lists of finished records from ``config.interfaces`` until ``stop.is_set()``.

    The first (empty) list comes as soon as the sockets are open and privileges dropped; then one at
    least every ``poll_interval``, empty while the network is idle, so the caller can run its timers.
    Connections and DNS transactions come out on their timeouts while the capture runs. Once ``stop``
    is set: every frame the kernel had put in the rings is read, every open connection and transaction
    flushed and yielded, and the generator returns. Counters: ``packets.read``, ``capture.received``,
    ``capture.kernel_drops`` and ``capture.interface_drops`` (also per interface), and
    ``capture.after_stop`` (frames that arrived after the stop and were not read).
    """
    from .live import LiveSource, Options, close_handles, drop_privileges, open_handles

    if not config.interfaces:
        raise UsageError("\n".join(text("live.no_interfaces")))
    workers = config.workers or max(1, min(4, len(os.sched_getaffinity(0))))
    poll = float(config.poll_interval)
    # a TPACKET_V3 block reaches user space when full or after this timeout: it bounds the latency
    block_timeout = min(poll, 0.1)
    options = Options(
        interfaces=tuple(config.interfaces),
        bpf=config.bpf,
        snaplen=config.snaplen,
        promisc=config.promisc,
        buffer_size=config.buffer_size,
        timeout_ms=max(1, int(block_timeout * 1000)),
        batch_frames=config.batch_frames,
    )
    handles = open_handles(options, copies=workers)  # with CAP_NET_RAW, before giving it up
    try:
        user = drop_privileges(config.user)
        _log.info(say("live.listening", names=", ".join(config.interfaces), workers=workers, user=user))
        yield []
        if workers == 1:
            source = LiveSource(handles[0], counters, config.batch_frames)
            batches = _live_batches(source, stop, poll, block_timeout)
            yield from _pipeline(batches, counters, counters, config)
        else:
            yield from _sense_live_parallel(handles, config, counters, stop, poll, block_timeout)
    finally:
        for per_worker in handles:
            close_handles(per_worker)


def _live_batches(
    source: LiveSource, stop: StopFlag, poll: float, block_timeout: float
) -> Iterator[tuple[RawBatch | None, float]]:
    # Frames can wait in a ring block up to its timeout before we see them, and a read takes a
    # moment: the wall clock runs this far behind so that no connection times out while its next
    # frame is still in the ring.
    lag = poll + block_timeout
    next_stats = 0.0
    while not stop.is_set():
        source.wait(poll)
        batches = source.read()
        if time.monotonic() >= next_stats:
            source.stats()
            next_stats = time.monotonic() + poll
        wall = time.time() - lag
        if not batches:
            yield None, wall
        for raw in batches:
            yield raw, wall
    for raw in source.drain(block_timeout, deadline=max(1.0, 10 * block_timeout)):
        yield raw, time.time() - lag


def _live_worker_main(
    handles: list[Handle],
    config: SensorConfig,
    conn: Connection,
    parent: int,
    lifeline: tuple[int, int],
    inherited: list[Connection],
    stop: StopFlag,
    poll: float,
    block_timeout: float,
) -> None:
    _worker_start(parent, lifeline, inherited)
    # Ctrl-C reaches the whole process group and systemd may signal the whole cgroup: the parent
    # alone decides when to stop (``stop``), so that every worker flushes instead of dying mid-way.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Other workers' sockets (copied by the fork) stay open but untouched: closing one here would
    # take it out of its fanout group for a moment and reshuffle the connections.
    from .live import LiveSource

    counters = Counters()
    try:
        source = LiveSource(handles, counters, config.batch_frames)
        for records in _pipeline(
            _live_batches(source, stop, poll, block_timeout), counters, counters, config
        ):
            conn.send(("records", records, dict(counters)))
            counters.clear()  # the parent adds them up: only what is new goes over the pipe
        conn.send(("done", [], dict(counters)))
    except BaseException:  # the parent reports it; a worker must never die silently
        conn.send(("error", traceback.format_exc(), {}))
    finally:
        conn.close()


def _sense_live_parallel(
    handles: list[list[Handle]],
    config: SensorConfig,
    counters: Counters,
    stop: StopFlag,
    poll: float,
    block_timeout: float,
) -> Iterator[list[Record]]:
    from .live import CaptureError

    # fork: the workers inherit the open sockets (opened with the privileges this process has
    # already given up) and the imported modules
    ctx = multiprocessing.get_context("fork")
    stop_workers = ctx.Event()
    pipes: list[Connection] = []
    procs: list[multiprocessing.process.BaseProcess] = []
    lifeline = os.pipe()
    try:
        _spawn(
            ctx, _live_worker_main, "wardwatch-capture", len(handles), pipes, procs, lifeline,
            lambda share, send, inherited: (
                handles[share], config, send, os.getpid(), lifeline, inherited, stop_workers, poll,
                block_timeout,
            ),
        )  # fmt: skip
        lifeline = (-1, lifeline[1])
        live = dict(enumerate(pipes))
        while live:
            if stop.is_set():
                stop_workers.set()
            merged: list[Record] = []
            for ready in wait(list(live.values()), timeout=poll):
                pipe = cast(Connection, ready)
                share = pipes.index(pipe)
                try:
                    kind, payload, counts = pipe.recv()
                except EOFError:
                    raise CaptureError(f"capture worker {share} exited without finishing") from None
                if kind == "error":
                    raise CaptureError(f"capture worker {share} failed:\n{payload}")
                merged += payload
                counters.update(counts)
                if kind == "done":
                    del live[share]
            yield merged
    finally:
        stop_workers.set()
        _reap(procs, pipes, lifeline, grace=5.0)
