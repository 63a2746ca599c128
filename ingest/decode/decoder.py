"""Decoder: RawBatch → PacketBatch, fast path for ordinary frames, slow path for the rest."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from struct import error as struct_error

import numpy as np

from wardwatch.counters import Counters

from ..capture.batch import RawBatch
from .columns import PacketBatch
from .config import DecodeConfig
from .fastpath import COLUMNS, empty_columns, fast_decode
from .slowpath import Row, SlowPath

# PacketBatch columns carried by a slow-path Row, in Row order, with their dtypes.
ROW_COLUMNS = COLUMNS


class Decoder:
    """Stateful across batches only for fragment reassembly.

    Rows come out in capture order; a reassembled datagram appears once, at the position of the
    fragment that completed it. UDP tunnels (VXLAN, Geneve, Teredo) yield only the inner packet:
    unlike Zeek we do not also report the outer UDP connection.
    """

    def __init__(self, counters: Counters, config: DecodeConfig | None = None) -> None:
        self.counters = counters
        self.config = config or DecodeConfig()
        self._slow = SlowPath(counters, self.config)
        self._tunnel_ports = self.config.tunnel_ports()
        self._vxlan_ports = tuple(self.config.vxlan_ports)
        self._fast_tunnels = self.config.max_tunnel_depth >= 1

    def decode(self, raw: RawBatch) -> PacketBatch:
        return self._decode(raw, None)[0]

    def decode_selected(
        self, raw: RawBatch, select: Callable[[Mapping[str, np.ndarray]], np.ndarray]
    ) -> tuple[PacketBatch, int, float]:
        """Decode, keeping only the rows ``select`` picks from the decoded columns (a bool mask).

        The same as filtering ``decode(raw)``, but in the one compressing pass decoding makes anyway
        (the sensor's workers each keep a share of the connections). Also returns how many rows
        decoding gave before the selection and the latest of their timestamps (0.0 when none).
        """
        return self._decode(raw, select)

    def _decode(
        self, raw: RawBatch, select: Callable[[Mapping[str, np.ndarray]], np.ndarray] | None
    ) -> tuple[PacketBatch, int, float]:
        n = len(raw)
        if n == 0:
            return PacketBatch.empty(), 0, 0.0
        if self.config.fastpath:
            cols, keep, slow_idx = fast_decode(
                raw.buf, raw.offset, raw.caplen, raw.linktype, self._tunnel_ports,
                self._vxlan_ports, self._fast_tunnels,
            )  # fmt: skip
        else:
            cols, keep, slow_idx = empty_columns(n), np.zeros(n, dtype=bool), np.arange(n, dtype=np.int64)
        slow_rows, slow_rows_idx = self._run_slow(raw, slow_idx)
        self._slow.reassembler.expire(float(raw.ts.max()))
        buf = raw.buf
        if self._slow.extra:
            buf = b"".join([raw.buf, *self._slow.extra])
            self._slow.extra = []
        if slow_rows:
            # Rows come out in frame order: slow-path rows go to their frames' slots, and one
            # compressing pass drops the frames that gave no row.
            for (name, dtype), values in zip(ROW_COLUMNS, zip(*slow_rows, strict=True), strict=True):
                cols[name][slow_rows_idx] = np.array(values, dtype=dtype)
            keep[slow_rows_idx] = True
        rows = int(np.count_nonzero(keep))
        latest = float(raw.ts[keep].max()) if rows else 0.0
        if select is not None and rows:
            keep &= select(cols)  # rows without output hold garbage: keep already drops them
        if keep.all():
            batch = PacketBatch(
                buf=buf, ts=raw.ts.copy(), source=raw.source.copy(), frame=raw.frame.copy(), **cols
            )
            return batch, rows, latest
        idx = np.flatnonzero(keep)
        cols = {name: col[idx] for name, col in cols.items()}
        batch = PacketBatch(buf=buf, ts=raw.ts[idx], source=raw.source[idx], frame=raw.frame[idx], **cols)
        return batch, rows, latest

    def flush(self) -> PacketBatch:
        """End of input: incomplete datagrams are dropped and counted."""
        self._slow.reassembler.flush()
        return PacketBatch.empty()

    def _run_slow(self, raw: RawBatch, which: np.ndarray) -> tuple[list[Row], np.ndarray]:
        slow = self._slow
        slow.begin(len(raw.buf))
        if not which.size:
            return [], np.zeros(0, np.int64)
        buf, size = raw.buf, len(raw.buf)
        offs = raw.offset[which].tolist()
        ends = (raw.offset[which] + raw.caplen[which]).tolist()
        lts = raw.linktype[which].tolist()
        tss = raw.ts[which].tolist()
        rows: list[Row] = []
        got: list[int] = []
        for i, off, end, lt, ts in zip(which.tolist(), offs, ends, lts, tss, strict=True):
            try:
                row = slow.decode_frame(buf, off, min(end, size), lt, ts)
            except (IndexError, ValueError, struct_error):  # a missed bounds check must not kill the sensor
                self.counters.add("malformed.decoder_error")
                continue
            if row is not None:
                rows.append(row)
                got.append(i)
        return rows, np.array(got, dtype=np.int64)
