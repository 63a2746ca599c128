"""Types of the optional C extension built from _tcprun.c (the flow meter's per-packet TCP path)."""

from collections.abc import Callable
from typing import Any

import numpy as np

class EndpointBase:
    """conn.Endpoint's fields in a C struct (conn.NativeEndpoint subclasses it)."""

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

def setup(conn_class: type, /) -> None: ...
def run(
    arrays: tuple[np.ndarray, ...],
    conns: list[Any],
    keys: list[Any],
    table: dict[Any, Any],
    packet: Callable[..., Any],
    schedule: Callable[..., Any],
    timers: tuple[float, float, float, float, float, float],
    /,
) -> None: ...
