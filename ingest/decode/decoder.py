"""Decoder: RawBatch → PacketBatch, fast path for ordinary frames, slow path for the rest."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from struct import error as struct_error

import numpy as np

from wardwatch.counters import Counters

from ..capture.batch import RawBatch
from .columns import PacketBatch
from .config import DecodeConfig
from .fastpath import COLUMNS, Outer, empty_columns, fast_decode
from .slowpath import Row, SlowPath

# PacketBatch columns carried by a slow-path Row, in Row order, with their dtypes.
ROW_COLUMNS = COLUMNS


class Decoder:
    """Stateful across batches only for fragment reassembly.

    Rows come out in capture order; a reassembled datagram appears once, at the position of the
    fragment that completed it. A UDP tunnel (VXLAN, Geneve, Teredo) yields the row of its UDP
    packet (``encap`` set) just before the inner packet's, so that the outer connection is logged
    as Zeek logs it.
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
        (the sensor's workers each keep a share of the connections). Also returns how many frames
        gave a row before the selection and the latest of their timestamps (0.0 when none).
        """
        return self._decode(raw, select)

    def _decode(
        self, raw: RawBatch, select: Callable[[Mapping[str, np.ndarray]], np.ndarray] | None
    ) -> tuple[PacketBatch, int, float]:
        n = len(raw)
        if n == 0:
            return PacketBatch.empty(), 0, 0.0
        outer: Outer | None = None
        if self.config.fastpath:
            cols, keep, slow_idx, outer = fast_decode(
                raw.buf, raw.offset, raw.caplen, raw.linktype, self._tunnel_ports,
                self._vxlan_ports, self._fast_tunnels,
            )  # fmt: skip
        else:
            cols, keep, slow_idx = empty_columns(n), np.zeros(n, dtype=bool), np.arange(n, dtype=np.int64)
        slow_rows, slow_rows_idx, slow_outer = self._run_slow(raw, slow_idx)
        if slow_outer is not None:
            outer = Outer.join([outer, slow_outer] if outer is not None else [slow_outer])
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
        if outer is not None:
            return self._with_outer(raw, buf, cols, keep, outer, select)
        rows = int(np.count_nonzero(keep))
        latest = float(raw.ts[keep].max()) if rows else 0.0
        if select is not None and rows:
            keep &= select(cols)  # rows without output hold garbage: keep already drops them
        if keep.all():
            batch = PacketBatch(
                buf=buf, ts=raw.ts.copy(), source=raw.source.copy(), frame=raw.frame.copy(), **cols,
                encap=np.zeros(n, dtype=np.uint8),
            )  # fmt: skip
            return batch, rows, latest
        idx = np.flatnonzero(keep)
        cols = {name: col[idx] for name, col in cols.items()}
        batch = PacketBatch(
            buf=buf, ts=raw.ts[idx], source=raw.source[idx], frame=raw.frame[idx], **cols,
            encap=np.zeros(idx.shape[0], dtype=np.uint8),
        )  # fmt: skip
        return batch, rows, latest

    @staticmethod
    def _with_outer(
        raw: RawBatch,
        buf: bytes,
        cols: dict[str, np.ndarray],
        keep: np.ndarray,
        outer: Outer,
        select: Callable[[Mapping[str, np.ndarray]], np.ndarray] | None,
    ) -> tuple[PacketBatch, int, float]:
        """``_decode``'s end for a batch with tunnels: the encapsulating UDP rows go just before the
        rows of their frames (outermost first, as they were found).

        They are few: one gather of every column by frame index, as without them, with their frames'
        indexes inserted where their rows go, then a small scatter of their own values.
        """
        rows = int(np.count_nonzero(keep))
        latest = float(raw.ts[keep].max()) if rows else 0.0
        # a frame whose inner packet gave no row still has its UDP row
        alone = np.sort(outer.frames[~keep[outer.frames]])
        if alone.size:
            rows += 1 + int(np.count_nonzero(alone[1:] != alone[:-1]))
            latest = max(latest, float(raw.ts[alone].max()))
        if select is not None:
            keep &= select(cols)
            chosen = select(outer.cols)
            outer = Outer(
                outer.frames[chosen], {k: v[chosen] for k, v in outer.cols.items()}, outer.encap[chosen]
            )
        efr, ocols, oencap = outer.frames, outer.cols, outer.encap
        if efr.shape[0] > 1 and bool((efr[1:] < efr[:-1]).any()):  # fast and slow path's: merge them
            order = np.argsort(efr, kind="stable")  # stable: a frame's UDP rows stay outermost first
            efr, oencap = efr[order], oencap[order]
            ocols = {name: col[order] for name, col in ocols.items()}
        idx = np.flatnonzero(keep)
        # each UDP row goes before the rows of its frame and after those of earlier frames (np.insert
        # keeps the given order of values inserted at one position)
        at = np.searchsorted(idx, efr, side="left")
        take = np.insert(idx, at, efr)  # the frame of every output row
        pos = at + np.arange(efr.shape[0])  # where the UDP rows went
        out = {}
        for name, col in cols.items():
            o = np.take(col, take)
            o[pos] = ocols[name]
            out[name] = o
        encap = np.zeros(take.shape[0], dtype=np.uint8)
        encap[pos] = oencap
        batch = PacketBatch(
            buf=buf, ts=np.take(raw.ts, take), source=np.take(raw.source, take),
            frame=np.take(raw.frame, take), **out, encap=encap,
        )  # fmt: skip
        return batch, rows, latest

    def flush(self) -> PacketBatch:
        """End of input: incomplete datagrams are dropped and counted."""
        self._slow.reassembler.flush()
        return PacketBatch.empty()

    def _run_slow(self, raw: RawBatch, which: np.ndarray) -> tuple[list[Row], np.ndarray, Outer | None]:
        """Slow-path rows and their frame indexes, and the encapsulating UDP rows it found."""
        slow = self._slow
        slow.begin(len(raw.buf))
        if not which.size:
            return [], np.zeros(0, np.int64), None
        buf, size = raw.buf, len(raw.buf)
        offs = raw.offset[which].tolist()
        ends = (raw.offset[which] + raw.caplen[which]).tolist()
        lts = raw.linktype[which].tolist()
        tss = raw.ts[which].tolist()
        rows: list[Row] = []
        got: list[int] = []
        outer: list[tuple[int, int, Row]] = []
        for i, off, end, lt, ts in zip(which.tolist(), offs, ends, lts, tss, strict=True):
            try:
                row = slow.decode_frame(buf, off, min(end, size), lt, ts)
            except (IndexError, ValueError, struct_error):  # a missed bounds check must not kill the sensor
                self.counters.add("malformed.decoder_error")
                continue
            if slow.outer:
                outer += [(i, kind, udp) for kind, udp in slow.outer]
            if row is not None:
                rows.append(row)
                got.append(i)
        return rows, np.array(got, dtype=np.int64), _outer_rows(outer) if outer else None


def _outer_rows(found: list[tuple[int, int, Row]]) -> Outer:
    frames, kinds, rows = zip(*found, strict=True)
    return Outer(
        np.array(frames, dtype=np.int64),
        {
            name: np.array(values, dtype=dtype)
            for (name, dtype), values in zip(ROW_COLUMNS, zip(*rows, strict=True), strict=True)
        },
        np.array(kinds, dtype=np.uint8),
    )
