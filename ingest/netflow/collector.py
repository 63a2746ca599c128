"""The UDP flow collector: datagrams in, batches of ``conn`` records out.

    collector = Collector(("0.0.0.0", 2055), counters)
    for records in collector.batches(stop):     # a batch at least every ``every`` seconds, maybe empty
        flow.step(records)

One socket serves every exporter and version; the decoder keeps templates per exporter and domain.
The two directions of a connection that arrive within one batch become one record (``records.pair``).
A large receive buffer lets a burst wait in the kernel while a batch goes to the detectors.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any, Protocol

from wardwatch.counters import Counters

from .decode import Decoder
from .records import conn_records, pair


class StopFlag(Protocol):
    def is_set(self) -> bool: ...


class Collector:
    def __init__(
        self,
        listen: tuple[str, int],
        counters: Counters | None = None,
        sampling: int = 0,
        receive_buffer: int = 8 * 1024 * 1024,
    ) -> None:
        self.counters = counters if counters is not None else Counters()
        self.decoder = Decoder(self.counters, sampling or None)
        family = socket.AF_INET6 if ":" in listen[0] else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            self.sock.bind(listen)
        except OSError:
            self.sock.close()
            raise
        self.sock.settimeout(0.2)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return host, port

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Collector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def feed(self, data: bytes, sender: tuple[str, int]) -> list[dict[str, Any]]:
        """The records of one datagram (also the path tests and benchmarks take without a socket)."""
        out: list[dict[str, Any]] = []
        for batch in self.decoder.decode(data, sender):
            out += conn_records(batch)
        return out

    def batches(
        self, stop: StopFlag, every: float = 1.0, max_records: int = 20_000
    ) -> Iterator[list[dict[str, Any]]]:
        """Batches of records until ``stop`` is set; one at least every ``every`` seconds."""
        buf = bytearray(65535)
        view = memoryview(buf)
        pending: list[dict[str, Any]] = []
        due = time.monotonic() + every
        while not stop.is_set():
            try:
                n, sender = self.sock.recvfrom_into(buf)
            except TimeoutError:
                n = -1
            except OSError:
                if stop.is_set():
                    break
                raise
            if n >= 0:
                pending += self.feed(bytes(view[:n]), (sender[0], sender[1]))
            now = time.monotonic()
            if len(pending) >= max_records or now >= due:
                yield pair(pending)
                pending = []
                due = now + every
        # stopping: what the kernel still holds was sent before the stop, so it is read too
        self.sock.setblocking(False)
        while True:
            try:
                n, sender = self.sock.recvfrom_into(buf)
            except (BlockingIOError, OSError):
                break
            pending += self.feed(bytes(view[:n]), (sender[0], sender[1]))
        if pending:
            yield pair(pending)
