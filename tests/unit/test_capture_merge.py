"""Several capture files: time order, merging of overlapping files, and batch splitting."""

from __future__ import annotations

import heapq
import random
from pathlib import Path

import numpy as np
import pytest
from wardwatch.ingest.capture import piece as piece_mod
from wardwatch.ingest.capture import read_captures

from tests.unit import capture_build as cb
from tests.unit.test_capture_formats import read_all, write
from wardwatch.counters import Counters


def _file(tmp_path: Path, name: str, stamps: list[float], tag: int) -> Path:
    """A pcap whose frame bytes start with (tag, index) so the output can be traced back."""
    records = [
        (int(t), round((t - int(t)) * 1e6), bytes([tag, i % 256]) + cb.frame(i, 30))
        for i, t in enumerate(stamps)
    ]
    return write(tmp_path, name, cb.pcap(records))


def test_files_sorted_by_first_timestamp(tmp_path: Path) -> None:
    late = _file(tmp_path, "late.pcap", [200.0, 201.0, 202.0], 1)
    early = _file(tmp_path, "early.pcap", [100.0, 101.0], 2)
    rows, _ = read_all([late, early])
    assert [(r[0], r[1]) for r in rows] == [(1, 1), (1, 2), (0, 1), (0, 2), (0, 3)]
    assert [r[2] for r in rows] == [100.0, 101.0, 200.0, 201.0, 202.0]


def test_overlapping_files_are_merged_by_timestamp(tmp_path: Path) -> None:
    a = _file(tmp_path, "a.pcap", [10.0, 12.0, 14.0, 16.0], 1)
    b = _file(tmp_path, "b.pcap", [11.0, 12.0, 13.0, 20.0], 2)
    rows, _ = read_all([b, a])
    # a is ranked first (earlier first frame), so it wins the tie at 12.0
    assert [(r[0], r[1]) for r in rows] == [(1, 1), (0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (1, 4), (0, 4)]


def test_file_order_kept_when_a_file_goes_back_in_time(tmp_path: Path) -> None:
    a = _file(tmp_path, "a.pcap", [10.0, 30.0, 5.0, 31.0], 1)
    b = _file(tmp_path, "b.pcap", [20.0, 40.0], 2)
    rows, _ = read_all([a, b])
    assert [(r[0], r[1]) for r in rows] == [(0, 1), (1, 1), (0, 2), (0, 3), (0, 4), (1, 2)]


def _reference(files: list[list[float]]) -> list[tuple[int, int]]:
    """heapq.merge over (ts, rank) with files ranked by (first ts, index): the documented order."""
    ranked = sorted((s[0], i) for i, s in enumerate(files) if s)
    rank = {i: r for r, (_, i) in enumerate(ranked)}
    streams = [[(t, rank[i], i, n + 1) for n, t in enumerate(s)] for i, s in enumerate(files)]
    return [(i, n) for _, _, i, n in heapq.merge(*streams, key=lambda x: (x[0], x[1]))]


@pytest.mark.parametrize("seed", range(6))
def test_merge_matches_reference_for_any_batch_size(tmp_path: Path, seed: int) -> None:
    rnd = random.Random(seed)
    files = []
    for _ in range(rnd.randint(1, 5)):
        start = rnd.uniform(0, 50)
        stamps = sorted(start + rnd.uniform(0, 40) for _ in range(rnd.randint(0, 300)))
        if rnd.random() < 0.3 and stamps:  # some files with time going backwards or ties
            stamps[rnd.randrange(len(stamps))] = round(start)
        files.append([round(t, 3) for t in stamps])
    paths = [_file(tmp_path, f"{seed}-{i}.pcap", s, i) for i, s in enumerate(files)]
    expected = _reference(files)
    first = None
    for batch_frames in (1, 2, 7, 64, 100_000):
        rows, counters = read_all(paths, batch_frames=batch_frames)
        assert [(r[0], r[1]) for r in rows] == expected
        assert not counters
        if first is None:
            first = rows
        assert rows == first  # same frames, same bytes, whatever the batch size


def test_batches_bounded_for_big_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scan never covers more than MAX_PIECE_BYTES, so batches stay small even with a huge limit."""
    monkeypatch.setattr(piece_mod, "MAX_PIECE_BYTES", 10_000)
    monkeypatch.setattr("wardwatch.ingest.capture.pcap.MAX_PIECE_BYTES", 10_000)
    monkeypatch.setattr("wardwatch.ingest.capture.pcapng.MAX_PIECE_BYTES", 10_000)
    path = write(tmp_path, "big.pcap", cb.pcap([(1, i, cb.frame(i, 500)) for i in range(1000)]))
    ng = cb.shb() + cb.idb("<", 1) + b"".join(cb.epb("<", 0, i, cb.frame(i, 500)) for i in range(1000))
    for p in (path, write(tmp_path, "big.pcapng", ng)):
        batches = list(read_captures([p], Counters(), batch_frames=1_000_000))
        assert sum(len(b) for b in batches) == 1000
        assert max(len(b.buf) for b in batches) < 12_000
        assert np.array_equal(np.concatenate([b.frame for b in batches]), np.arange(1, 1001))


def test_missing_file_among_good_ones(tmp_path: Path) -> None:
    a = _file(tmp_path, "a.pcap", [1.0, 2.0], 1)
    rows, counters = read_all([tmp_path / "nope.pcap", a])
    assert [(r[0], r[1]) for r in rows] == [(1, 1), (1, 2)]
    assert counters["capture.unreadable"] == 1


def test_file_with_no_complete_frame_still_counts(tmp_path: Path) -> None:
    a = _file(tmp_path, "a.pcap", [1.0], 1)
    cut = write(tmp_path, "cut.pcap", cb.pcap([(5, 0, cb.frame(1, 100))])[:-20])
    rows, counters = read_all([cut, a])
    assert len(rows) == 1 and counters["capture.truncated"] == 1
