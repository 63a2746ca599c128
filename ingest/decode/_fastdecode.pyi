"""Types of the optional C extension built from _fastdecode.c."""

import numpy as np
from _typeshed import ReadableBuffer

def decode_frames(
    buf: ReadableBuffer,
    offset: np.ndarray,
    caplen: np.ndarray,
    linktype: np.ndarray,
    reject_ports: bytes,
    columns: tuple[np.ndarray, ...],
    done: np.ndarray,
    /,
) -> int: ...
