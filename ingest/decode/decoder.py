"""Decoder: RawBatch → PacketBatch, fast path for ordinary frames, slow path for the rest."""

from __future__ import annotations

from struct import error as struct_error

import numpy as np

from wardwatch.counters import Counters

from ..capture.batch import RawBatch
from .columns import PacketBatch
from .config import DecodeConfig
from .fastpath import fast_decode
from .slowpath import Row, SlowPath

# PacketBatch columns carried by a slow-path Row, in Row order, with their dtypes.
ROW_COLUMNS: tuple[tuple[str, type], ...] = (
    ("ip_version", np.uint8),
    ("src_hi", np.uint64),
    ("src_lo", np.uint64),
    ("dst_hi", np.uint64),
    ("dst_lo", np.uint64),
    ("proto", np.uint8),
    ("sport", np.uint16),
    ("dport", np.uint16),
    ("ip_len", np.int32),
    ("payload_off", np.int64),
    ("payload_len", np.int32),
    ("payload_cap", np.int32),
    ("tcp_flags", np.uint8),
    ("tcp_seq", np.uint32),
    ("tcp_ack", np.uint32),
    ("tcp_win", np.uint16),
    ("vlan", np.int32),
    ("tunnel", np.uint8),
)


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

    def decode(self, raw: RawBatch) -> PacketBatch:
        n = len(raw)
        if n == 0:
            return PacketBatch.empty()
        if self.config.fastpath:
            fast_idx, fast_cols, slow_idx = fast_decode(
                raw.buf, raw.offset, raw.caplen, raw.linktype, self._tunnel_ports
            )
        else:
            fast_idx, fast_cols, slow_idx = np.zeros(0, np.int64), {}, np.arange(n, dtype=np.int64)
        slow_rows, slow_rows_idx = self._run_slow(raw, slow_idx)
        self._slow.reassembler.expire(float(raw.ts.max()))
        buf = raw.buf
        if self._slow.extra:
            buf = b"".join([raw.buf, *self._slow.extra])
            self._slow.extra = []
        slow_cols = _rows_to_columns(slow_rows)
        if not fast_cols:
            idx, cols = slow_rows_idx, slow_cols
        elif not slow_rows:
            idx, cols = fast_idx, fast_cols
        else:
            idx = np.concatenate([fast_idx, slow_rows_idx])
            order = np.argsort(idx, kind="stable")
            idx = idx[order]
            cols = {
                name: np.concatenate([fast_cols[name], slow_cols[name]])[order] for name, _ in ROW_COLUMNS
            }
        return PacketBatch(buf=buf, ts=raw.ts[idx], source=raw.source[idx], frame=raw.frame[idx], **cols)

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


def _rows_to_columns(rows: list[Row]) -> dict[str, np.ndarray]:
    if not rows:
        return {name: np.zeros(0, dtype=dtype) for name, dtype in ROW_COLUMNS}
    return {
        name: np.array(values, dtype=dtype)
        for (name, dtype), values in zip(ROW_COLUMNS, zip(*rows, strict=True), strict=True)
    }
