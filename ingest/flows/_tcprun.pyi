"""Types of the optional C extension built from _tcprun.c (the flow meter's per-packet TCP path, and its
per-connection work: creation, uids, timers and expiry, records)."""

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

class EndpointBase:
    """conn.Endpoint's fields and methods in a C struct (conn.new_endpoint when the extension is built)."""

    state: int
    prev_state: int
    start: float
    last: float
    ack: int
    sref: int
    sabs: int
    aref: int
    aabs: int
    pkts: int
    ip_bytes: int
    size: int
    fin_cnt: int
    rx_cnt: int
    rx_thr: int
    w0_cnt: int
    w0_thr: int
    gap_cnt: int
    gap_thr: int
    missed: int
    did_close: bool
    h_syn: int | None
    h_fin: int | None
    h_rst: int | None
    def set_state(self, new: int, /) -> None: ...
    def init_seq(self, raw_start: int, last: int, /) -> None: ...
    def tcp_size(self, peer: EndpointBase, /) -> int: ...

class Heap:
    """The flow meter's timers: (due, fid), earliest due first, then push order."""

    def push(self, due: float, fid: int, /) -> None: ...
    def pop(self) -> tuple[float, int]: ...
    def peek(self) -> tuple[float, int] | None: ...
    def clear(self) -> None: ...
    def __len__(self) -> int: ...

class Table:
    """Connections in fixed-size C slots (SYN-only TCP, UDP/ICMP/other), by key and by id (_slots.h)."""

    def __init__(self, seed: int = 0, /) -> None: ...
    def __len__(self) -> int: ...
    def uid(self, fid: int, /) -> str | None: ...
    def endpoints(self, fid: int, /) -> tuple[tuple[int, int], int, tuple[int, int], int, int] | None: ...
    def add_service(self, fid: int, name: str, /) -> bool: ...
    def finish(self, fid: int, finished: list[Any], /) -> None: ...
    def evict(
        self,
        k: int,
        conn_victims: list[tuple[tuple[bool, float, int], Any]],
        table: dict[Any, Any],
        finished: list[Any],
        /,
    ) -> tuple[int, int]: ...
    def live_fids(self) -> list[int]: ...
    def forget(self, fids: list[int], /) -> None: ...
    def sort_key(self, fid: int, /) -> tuple[float, int, tuple[int, int], int, tuple[int, int], int]: ...
    def nbytes(self) -> int: ...

# (by_id, ids, tcp server port bitmap, interim_interval, heap): see meter.FlowMeter._create
Create = tuple[dict[int, Any], Iterator[int], bytes, float, Heap]

def setup(
    conn_class: type, endpoint_class: type | None = None, counts_class: type | None = None, /
) -> None: ...
def run(
    arrays: tuple[np.ndarray, ...],
    conns: list[Any],
    keys: list[Any],
    table: dict[Any, Any],
    packet: Callable[..., Any],
    schedule: Callable[..., Any],
    timers: tuple[float, float, float, float, float, float],
    create: Create | None = None,
    slots: Table | None = None,
    key_columns: tuple[np.ndarray, ...] | None = None,
    group_counts: np.ndarray | None = None,
    /,
) -> int | None: ...
def expire(
    heap: Heap,
    by_id: dict[int, Any],
    table: dict[Any, Any],
    finished: list[Any],
    now: float,
    timers: tuple[float, float, float, float, float, float],
    create: Create,
    slow: Callable[[Any, float | None], object],
    simple_timeouts: tuple[float, float, float] | None = None,
    slots: Table | None = None,
    /,
) -> None: ...
def simple(
    arrays: tuple[np.ndarray, ...],
    keys: list[Any],
    table: dict[Any, Any],
    finished: list[Any],
    timeouts: tuple[float, float, float],
    create: Create,
    udp_ports: bytes,
    slots: Table | None = None,
    key_columns: tuple[np.ndarray, ...] | None = None,
    /,
) -> int: ...
def records(
    conns: list[Any], interim: bool, ip_text: Callable[[tuple[int, int]], str], slots: Table | None = None, /
) -> list[dict[str, Any]]: ...
def ids(finished: list[Any], /) -> list[int]: ...
def forget(by_id: dict[int, Any], fids: list[int], /) -> None: ...
def sort_finished(conns: list[Any], slots: Table | None = None, /) -> bool: ...
def uid(
    proto: int, orig_hi: int, orig_lo: int, orig_p: int, resp_hi: int, resp_lo: int, resp_p: int, ts: float, /
) -> str: ...
def blake2b(data: bytes, digest_size: int, /) -> bytes: ...
