"""Capture handles on live interfaces, read in batches into the same RawBatch columns as capture files.

The sockets are AF_PACKET with a TPACKET_V3 ring, opened by libpcap through the well-kept binding
``pcapy-ng`` (it bundles libpcap and reads a whole batch of frames in one call, ``next_batch``). We take
the library rather than a hand-written ring: bench/bench_live.py measures it beside ``tcpdump -w
/dev/null`` on the same interface (docs/PERFORMANCE.md), and the Python pipeline behind the socket, not
the read, is what limits the rate.

With several workers, each interface is opened once per worker and the sockets of one interface join
one PACKET_FANOUT group in hash mode: the kernel hashes the connection symmetrically (both directions to
one socket) and, with the defrag flag, reassembles IP fragments before hashing so that a fragmented
datagram follows its connection. The group's id is chosen by the kernel (``UNIQUEID``), so two sensors
in one network namespace never join each other's group by accident. Sockets join their groups in worker
order on every interface, so the same connection seen on two interfaces (both sides of a SPAN) lands on
the same worker too.

Drops: libpcap's statistics (``ps_recv`` every frame the socket was offered, ``ps_drop`` those the ring
had no room for, ``ps_ifdrop`` the interface's own) are read every poll and added to the Counters as
deltas: ``capture.received``, ``capture.kernel_drops``, ``capture.interface_drops`` and the same
per interface (``capture.kernel_drops.eth1``).
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wardwatch.counters import Counters
from wardwatch.errors import UsageError, WardwatchError
from wardwatch.i18n import text

from ..capture import RawBatch

# <linux/if_packet.h>
SOL_PACKET = 263
PACKET_FANOUT = 18
PACKET_FANOUT_HASH = 0
PACKET_FANOUT_FLAG_DEFRAG = 0x8000
PACKET_FANOUT_FLAG_UNIQUEID = 0x2000
# DLT_* values libpcap reports that differ from the LINKTYPE_* numbers the decoder reads.
_DLT_TO_LINKTYPE = {12: 101, 14: 101}  # DLT_RAW (Linux: 12, some BSDs: 14) → LINKTYPE_RAW


# pcap_activate's errors (<pcap/pcap.h>); pcapy-ng returns them instead of raising
_ACTIVATE_ERRORS = {
    -1: "generic error",
    -5: "no such device",
    -6: "monitor mode not supported",
    -8: "permission denied (needs CAP_NET_RAW)",
    -9: "interface is not up",
    -11: "permission denied for promiscuous mode",
}


class CaptureError(WardwatchError):
    """An interface could not be opened for capture (missing, down, no permission)."""


def _pcapy() -> Any:
    try:
        import pcapy
    except ImportError as e:  # a dependency in pyproject.toml: only a broken install lacks it
        raise CaptureError("\n".join(text("live.no_pcapy", error=str(e)))) from e
    return pcapy


@dataclass
class Handle:
    """One capture socket: an interface, opened for one worker."""

    name: str
    index: int  # the interface's position in the configured list (RawBatch.source)
    pcap: Any
    linktype: int
    frames: int = 0  # frames read so far (RawBatch.frame continues from here)
    seen: tuple[int, int, int] = (0, 0, 0)  # pcap stats already added to the counters

    def fileno(self) -> int:
        return int(self.pcap.getfd())


@dataclass
class Options:
    """How to open the interfaces (from the ``sensor:`` section)."""

    interfaces: Sequence[str]
    bpf: str = ""
    snaplen: int = 262144
    promisc: bool = True
    buffer_size: int = 64 << 20
    timeout_ms: int = 100
    batch_frames: int = 131072
    extra: dict[str, Any] = field(default_factory=dict)


def open_handles(options: Options, copies: int = 1) -> list[list[Handle]]:
    """``copies`` sockets on every interface (``[copy][interface]``), fanned out when more than one.

    Raises ``CaptureError`` (an interface that cannot be opened) or ``UsageError`` (a BPF filter that
    does not compile); every socket opened so far is closed first.
    """
    pcapy = _pcapy()
    opened: list[list[Handle]] = [[] for _ in range(copies)]
    try:
        for index, name in enumerate(options.interfaces):
            group: int | None = None
            for copy in range(copies):
                handle = _open_one(pcapy, options, name, index)
                opened[copy].append(handle)
                if copies > 1:
                    group = _join_fanout(handle, group)
    except BaseException:
        for handles in opened:
            close_handles(handles)
        raise
    return opened


def _open_one(pcapy: Any, options: Options, name: str, index: int) -> Handle:
    try:
        p = pcapy.create(name)
        p.set_snaplen(int(options.snaplen))
        p.set_promisc(1 if options.promisc else 0)
        p.set_buffer_size(int(options.buffer_size))
        p.set_timeout(int(options.timeout_ms))
        status = p.activate()  # pcap_activate's status: below 0 an error, not an exception
    except pcapy.PcapError as e:
        raise CaptureError("\n".join(text("live.open_failed", name=name, error=str(e)))) from e
    if isinstance(status, int) and status < 0:
        why = _ACTIVATE_ERRORS.get(status, f"libpcap error {status}")
        raise CaptureError("\n".join(text("live.open_failed", name=name, error=why)))
    try:
        if options.bpf:
            p.setfilter(options.bpf)
        # select() tells when a ring block is ready; reads then never wait
        p.setnonblock(1)
    except pcapy.PcapError as e:
        with contextlib.suppress(Exception):
            p.close()
        raise UsageError("\n".join(text("live.bad_bpf", bpf=options.bpf, error=str(e)))) from e
    dlt = int(p.datalink())
    return Handle(name=name, index=index, pcap=p, linktype=_DLT_TO_LINKTYPE.get(dlt, dlt))


def _join_fanout(handle: Handle, group: int | None) -> int:
    """Join the interface's fanout group (the first socket creates it with a kernel-chosen id)."""
    mode = PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG
    sock = socket.socket(fileno=handle.fileno())  # the same socket: options set here are the handle's
    try:
        if group is None:
            sock.setsockopt(
                SOL_PACKET, PACKET_FANOUT, struct.pack("I", (mode | PACKET_FANOUT_FLAG_UNIQUEID) << 16)
            )
            group = struct.unpack("I", sock.getsockopt(SOL_PACKET, PACKET_FANOUT, 4))[0] & 0xFFFF
        else:
            sock.setsockopt(SOL_PACKET, PACKET_FANOUT, struct.pack("I", group | (mode << 16)))
    except OSError as e:
        raise CaptureError("\n".join(text("live.fanout_failed", name=handle.name, error=str(e)))) from e
    finally:
        sock.detach()  # the descriptor stays libpcap's
    return group


def close_handles(handles: Sequence[Handle]) -> None:
    for h in handles:
        with contextlib.suppress(Exception):
            h.pcap.close()


class LiveSource:
    """Reads frames from a set of handles (one worker's) into RawBatch columns."""

    def __init__(self, handles: Sequence[Handle], counters: Counters, batch_frames: int = 131072) -> None:
        self.handles = list(handles)
        self.counters = counters
        self.batch_frames = max(1, int(batch_frames))

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a ring block to be ready on any handle."""
        try:
            ready, _, _ = select.select(self.handles, [], [], max(0.0, timeout))
        except InterruptedError:
            return False
        return bool(ready)

    def read(self) -> list[RawBatch]:
        """Every frame ready now on every handle (never waits); one batch per read, handle order."""
        out: list[RawBatch] = []
        for h in self.handles:
            while True:
                batch = self._read_one(h)
                if batch is None:
                    break
                out.append(batch)
                if len(batch) < self.batch_frames:
                    break
        return out

    def _read_one(self, h: Handle) -> RawBatch | None:
        data, meta = h.pcap.next_batch(self.batch_frames)
        if not meta:
            return None
        m = np.frombuffer(meta, dtype=np.uint32).reshape(-1, 4)  # sec, usec, offset, caplen
        n = m.shape[0]
        caplen = m[:, 3].astype(np.int32)
        batch = RawBatch(
            buf=data,
            ts=m[:, 0].astype(np.float64) + m[:, 1].astype(np.float64) * 1e-6,
            offset=m[:, 2].astype(np.int64),
            caplen=caplen,
            # next_batch does not report the length on the wire; the decoder reads lengths from the
            # headers, and the default snap length keeps whole frames
            wirelen=caplen.copy(),
            linktype=np.full(n, h.linktype, dtype=np.uint16),
            source=np.full(n, h.index, dtype=np.int16),
            frame=np.arange(h.frames + 1, h.frames + n + 1, dtype=np.int64),
        )
        h.frames += n
        return batch

    def stats(self) -> None:
        """Add what the kernel counted since the last call (received, ring drops, interface drops)."""
        for h in self.handles:
            try:
                now = tuple(int(x) for x in h.pcap.stats())
            except Exception:  # a handle whose interface vanished: nothing more to count
                continue
            recv, drop, ifdrop = (max(0, a - b) for a, b in zip(now, h.seen, strict=True))
            h.seen = now  # type: ignore[assignment]
            for name, n in (
                ("capture.received", recv),
                ("capture.kernel_drops", drop),
                ("capture.interface_drops", ifdrop),
            ):
                self.counters.add(name, n)
                self.counters.add(f"{name}.{h.name}", n)

    def delivered(self) -> int:
        """Frames the kernel put in the rings so far (received minus ring drops), per the last stats."""
        return sum(h.seen[0] - h.seen[1] for h in self.handles)

    def frames(self) -> int:
        return sum(h.frames for h in self.handles)

    def drain(self, block_timeout: float, deadline: float) -> list[RawBatch]:
        """At stop: read until every frame the kernel had delivered when we stopped has been read.

        A TPACKET_V3 block is handed to user space only when full or when its timeout expires, so the
        last frames may need up to one block timeout to appear. Frames delivered after the stop are
        not waited for; they are counted as ``capture.after_stop``.
        """
        out = self.read()
        self.stats()
        target = self.delivered()
        end = time.monotonic() + deadline
        while self.frames() < target and time.monotonic() < end:
            self.wait(block_timeout)
            out += self.read()
        self.stats()
        self.counters.add("capture.after_stop", max(0, self.delivered() - self.frames()))
        return out

    def close(self) -> None:
        close_handles(self.handles)
