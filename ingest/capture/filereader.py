"""One capture file (pcap or pcapng, plain or gzip) into RawBatch pieces, counting what is wrong with it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import numpy as np

from wardwatch.counters import Counters
from wardwatch.errors import WardwatchError

from .batch import RawBatch
from .pcap import PcapParser
from .pcapng import PcapngParser
from .piece import MAX_PIECE_BYTES, Piece, Stop
from .window import Window, open_window

log = logging.getLogger(__name__)

Parser = PcapParser | PcapngParser


class UnreadableCapture(WardwatchError):
    """The file cannot be opened, or it is not a pcap/pcapng capture (possibly gzip-compressed)."""


def open_capture(path: str | Path) -> tuple[Window, Parser]:
    try:
        window = open_window(path)
    except OSError as exc:
        raise UnreadableCapture(exc.strerror or str(exc)) from exc
    head = bytes(window.buf[:64])
    parser: Parser | None = PcapParser.from_header(head) or PcapngParser.from_header(head)
    if parser is None:
        window.close()
        raise UnreadableCapture("not a pcap/pcapng file (or its header is cut short)")
    return window, parser


def first_timestamp(path: str | Path) -> float | None:
    """Timestamp of the file's first frame, None when it has none; raises UnreadableCapture."""
    window, parser = open_capture(path)
    try:
        off = parser.start_offset
        while True:
            scan = parser.scan(window.buf, off, 1)
            if scan.piece is not None:
                return float(scan.piece.ts[0])
            off = scan.next_off
            if scan.stop is Stop.MORE:
                continue
            if scan.stop is Stop.CORRUPT or not window.advance(off):
                return None
            off = 0
    finally:
        window.close()


def read_file(path: str | Path, source: int, counters: Counters, batch_frames: int) -> Iterator[RawBatch]:
    """Yield the file's frames in file order, at most ``batch_frames`` a batch.

    A damaged file stops at the damage: the complete frames before it are kept, and the damage
    is counted (``capture.truncated`` / ``capture.corrupt``) and logged once.
    """
    try:
        window, parser = open_capture(path)
    except UnreadableCapture as exc:
        count_unreadable(path, str(exc), counters)
        return
    frame = 1
    off = parser.start_offset
    try:
        while True:
            window.prefetch(off, MAX_PIECE_BYTES)
            scan = parser.scan(window.buf, off, batch_frames)
            frame += parser.take_skipped()
            if scan.piece is not None:
                batch = _to_batch(window, scan.piece, source, frame)
                frame += len(batch)
                counters.add(
                    "capture.caplen_exceeds_wirelen", int(np.count_nonzero(batch.caplen > batch.wirelen))
                )
                yield batch
            off = scan.next_off
            if scan.stop is Stop.MORE:
                continue
            if scan.stop is Stop.CORRUPT:
                counters.add("capture.corrupt")
                log.warning(
                    "Tệp capture %s bị hỏng sau khung %d (%s); bỏ phần còn lại / "
                    "capture file %s is corrupt after frame %d (%s); rest skipped",
                    path,
                    frame - 1,
                    scan.reason,
                    path,
                    frame - 1,
                    scan.reason,
                )
                break
            if window.advance(off):
                off = 0
                continue
            if scan.stop is Stop.PARTIAL or window.problem == "truncated":
                counters.add("capture.truncated")
                log.warning(
                    "Tệp capture %s bị cắt ngắn sau khung %d / capture file %s is cut short after frame %d",
                    path,
                    frame - 1,
                    path,
                    frame - 1,
                )
            elif window.problem == "corrupt":
                counters.add("capture.corrupt")
                log.warning(
                    "Dữ liệu gzip của %s bị hỏng sau khung %d / gzip data of %s is corrupt after frame %d",
                    path,
                    frame - 1,
                    path,
                    frame - 1,
                )
            break
    finally:
        window.close()


def count_unreadable(path: str | Path, why: str, counters: Counters) -> None:
    counters.add("capture.unreadable")
    log.warning("Không đọc được tệp capture %s: %s / cannot read capture file %s: %s", path, why, path, why)


def _to_batch(window: Window, piece: Piece, source: int, first_frame: int) -> RawBatch:
    """Give the batch its own buffer over the piece's byte region (a mapping of it, or a copy)."""
    n = len(piece)
    start = int(piece.data_off[0])
    end = int(piece.data_off[-1]) + int(piece.caplen[-1])
    buf, base = window.region(start, end)
    return RawBatch(
        # a mapped region is bytes-like: slicing gives bytes, np.frombuffer and bytes.join take it
        buf=cast(bytes, buf),
        ts=piece.ts,
        offset=piece.data_off - (start - base),
        caplen=piece.caplen,
        wirelen=piece.wirelen,
        linktype=piece.linktype,
        source=np.full(n, source, dtype=np.int16),
        frame=np.arange(first_frame, first_frame + n, dtype=np.int64),
    )
