"""Capture readers: pcap / pcapng files (plain or gzip) into RawBatch columns, in time order.

Formats: classic pcap (µs and ns magics, either byte order, Kuznetsov's modified variant) and
pcapng (sections of either byte order; interfaces with their own link type, snaplen, ``if_tsresol``
and ``if_tsoffset``; enhanced, simple and obsolete packet blocks). gzip is recognised by its magic
and decompressed as a stream in bounded memory; plain files are memory-mapped.

Several files: each file is peeked for its first timestamp and the files are ranked by it (ties:
order given). Frames are then merged by timestamp like ``heapq.merge`` over the files: files that
do not overlap in time come out one after the other, whole; files that overlap are interleaved by
timestamp, with equal timestamps going to the earlier-ranked file. Frames of one file always keep
their file order, even where the file's own timestamps go backwards. ``source`` is the file's
index in ``paths`` and ``frame`` its 1-based frame number within that file (tshark's frame.number).

Bad input never raises: a missing, unreadable or non-capture file counts ``capture.unreadable``;
a file cut short in a record counts ``capture.truncated``; a malformed record (captured length over
256 KiB, bad block length, unknown interface) counts ``capture.corrupt`` and ends that file. Both
keep every complete frame before the damage. ``capture.caplen_exceeds_wirelen`` counts frames
whose captured length exceeds their wire length (kept as they are). Each problem is also logged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path

from wardwatch.counters import Counters

from .batch import RawBatch
from .filereader import UnreadableCapture, count_unreadable, first_timestamp, read_file
from .merge import Pending, merge_batches

__all__ = ["RawBatch", "read_captures"]


def read_captures(
    paths: Sequence[str | Path], counters: Counters, batch_frames: int = 131072
) -> Iterator[RawBatch]:
    """Yield the frames of all ``paths`` in time order, at most ``batch_frames`` per batch."""
    batch_frames = max(1, int(batch_frames))
    files: list[Pending] = []
    for index, path in enumerate(paths):
        try:
            first = first_timestamp(path)
        except UnreadableCapture as exc:
            count_unreadable(path, str(exc), counters)
            continue
        opener = partial(read_file, path, index, counters, batch_frames)
        if first is None:
            for _ in opener():  # no frame: read it only for its counters (truncated, corrupt)
                pass
            continue
        files.append(Pending(first, index, opener))
    yield from merge_batches(files, batch_frames)
