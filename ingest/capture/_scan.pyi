"""Types of the optional C extension built from _scan.c."""

import numpy as np
from _typeshed import ReadableBuffer

def scan_pcap(
    buf: ReadableBuffer,
    off: int,
    stop: int,
    limit: int,
    big_endian: bool,
    rec_len: int,
    max_caplen: int,
    frac_unit: float,
    offsets: np.ndarray,
    ts: np.ndarray,
    caplen: np.ndarray,
    wirelen: np.ndarray,
    /,
) -> tuple[int, int, int]: ...
