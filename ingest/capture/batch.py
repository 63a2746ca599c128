"""RawBatch: captured frames as columns over one shared buffer (the readers' output)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(slots=True)
class RawBatch:
    """Up to a few hundred thousand captured frames, in capture order.

    Frame ``i`` is ``buf[offset[i] : offset[i] + caplen[i]]``; its link layer is ``linktype[i]``
    (a LINKTYPE_* number; pcapng may mix interfaces of different link types in one file).
    """

    buf: bytes  # every offset points into this buffer
    ts: np.ndarray  # float64, seconds since the epoch
    offset: np.ndarray  # int64, start of the frame in buf
    caplen: np.ndarray  # int32, bytes captured (present in buf)
    wirelen: np.ndarray  # int32, bytes on the wire
    linktype: np.ndarray  # uint16, LINKTYPE_* of the frame's interface
    source: np.ndarray  # int16, index of the input file in the list given to the reader
    frame: np.ndarray  # int64, 1-based frame number within its file (tshark's frame.number)

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @classmethod
    def from_frames(cls, frames: list[tuple[float, bytes]], linktype: int = 1, source: int = 0) -> RawBatch:
        """Build a batch from (timestamp, frame bytes) pairs; for tests and synthetic input."""
        n = len(frames)
        lengths = np.fromiter((len(f) for _, f in frames), dtype=np.int32, count=n)
        offsets = np.zeros(n, dtype=np.int64)
        if n:
            offsets[1:] = np.cumsum(lengths[:-1], dtype=np.int64)
        return cls(
            buf=b"".join(f for _, f in frames),
            ts=np.fromiter((t for t, _ in frames), dtype=np.float64, count=n),
            offset=offsets,
            caplen=lengths,
            wirelen=lengths.copy(),
            linktype=np.full(n, linktype, dtype=np.uint16),
            source=np.full(n, source, dtype=np.int16),
            frame=np.arange(1, n + 1, dtype=np.int64),
        )
