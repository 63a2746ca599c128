"""Capture readers on hand-built pcap / pcapng / gzip files, intact and damaged."""

from __future__ import annotations

import gzip
import logging
import mmap
import struct
from pathlib import Path

import numpy as np
import pytest
from wardwatch.ingest.capture import RawBatch, read_captures
from wardwatch.ingest.capture import window as window_mod

from tests.unit import capture_build as cb
from wardwatch.counters import Counters


def read_all(paths: list[Path], batch_frames: int = 131072) -> tuple[list[tuple], Counters]:
    """Every frame as (source, frame, ts, wirelen, linktype, bytes), plus the counters."""
    counters = Counters()
    rows = []
    for b in read_captures(paths, counters, batch_frames=batch_frames):
        assert isinstance(b, RawBatch) and 0 < len(b) <= batch_frames
        assert isinstance(b.buf, bytes | mmap.mmap)  # a big region is handed out as a mapping
        for i in range(len(b)):
            data = b.buf[b.offset[i] : b.offset[i] + b.caplen[i]]
            assert len(data) == b.caplen[i]
            rows.append(
                (
                    int(b.source[i]),
                    int(b.frame[i]),
                    float(b.ts[i]),
                    int(b.wirelen[i]),
                    int(b.linktype[i]),
                    data,
                )
            )
    return rows, counters


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


RECORDS = [(1_600_000_000 + i, 1000 * i + 7, cb.frame(i, 40 + 13 * i)) for i in range(5)]


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_pcap_both_byte_orders_and_resolutions(tmp_path: Path, order: str, nano: bool) -> None:
    path = write(tmp_path, "a.pcap", cb.pcap(RECORDS, order=order, nano=nano, linktype=101))
    rows, counters = read_all([path])
    assert [r[1] for r in rows] == [1, 2, 3, 4, 5]
    unit = 1e-9 if nano else 1e-6
    for (sec, frac, data), row in zip(RECORDS, rows, strict=True):
        assert row[2] == pytest.approx(sec + frac * unit, abs=1e-7)
        assert row[5] == data and row[3] == len(data) and row[4] == 101
    assert not counters


def test_pcap_linktype_fcs_bits_are_masked(tmp_path: Path) -> None:
    path = write(tmp_path, "fcs.pcap", cb.pcap(RECORDS, linktype=1 | 0x10000000 | 0x04000000 | (4 << 28)))
    rows, _ = read_all([path])
    assert {r[4] for r in rows} == {1}


def _pcapng() -> bytes:
    le, be = "<", ">"
    return b"".join(
        [
            cb.shb(le),
            cb.idb(le, 1),
            cb.idb(le, 101, tsresol=9),
            cb.epb(le, 0, 1_600_000_000_123456, cb.frame(1)),
            cb.spb(le, cb.frame(2, 80)),
            cb.epb(le, 1, 1_600_000_001_123456789, cb.frame(3)),
            cb.block(le, 5, struct.pack("<III", 0, 0, 0)),  # interface statistics: skipped
            cb.block(le, 0x40000BAD, b"custom"),  # custom: skipped but numbered, as tshark does
            cb.opb(le, 1, 1_600_000_002_000000001, cb.frame(4)),
            cb.block(le, 0x7777, b"unknown block"),
            cb.shb(be),
            cb.idb(be, 113, snaplen=64, tsresol=0x80 | 20, tsoffset=10),
            cb.spb(be, cb.frame(5, 64), wirelen=100),
            cb.epb(be, 0, (5 << 20) | (1 << 19), cb.frame(6, 100)),
        ]
    )


def test_pcapng_sections_interfaces_and_packet_blocks(tmp_path: Path) -> None:
    rows, counters = read_all([write(tmp_path, "a.pcapng", _pcapng())])
    # frame numbers, lengths and link types checked against tshark 4.0 on the same bytes
    assert [r[1] for r in rows] == [1, 2, 3, 5, 6, 7]
    assert [r[4] for r in rows] == [1, 1, 101, 101, 113, 113]
    assert [r[3] for r in rows] == [60, 80, 60, 60, 100, 100]
    assert [len(r[5]) for r in rows] == [60, 80, 60, 60, 64, 100]
    assert [r[5][:4] for r in rows] == [struct.pack(">I", i) for i in range(1, 7)]
    ts = [r[2] for r in rows]
    assert ts[0] == pytest.approx(1_600_000_000.123456, abs=1e-7)
    assert ts[1] == ts[0]  # simple packet block: previous timestamp
    assert ts[2] == pytest.approx(1_600_000_001.123456789, abs=1e-7)
    assert ts[3] == pytest.approx(1_600_000_002.0, abs=1e-7)
    assert ts[4] == ts[3]
    assert ts[5] == 15.5  # 2^-20 resolution, 5.5 s plus if_tsoffset 10 s
    assert not counters


@pytest.mark.parametrize(
    "resol, units, expected",
    [
        (3, 1_600_000_000_123, 1_600_000_000.123),  # ms
        (6, 1_600_000_000_123_456, 1_600_000_000.123456),
        (9, 1_600_000_000_123_456_789, 1_600_000_000.1234568),
        (0x80 | 10, 1_600_000_000 * 1024 + 512, 1_600_000_000.5),
        (0, 1_600_000_000, 1_600_000_000.0),
    ],
)
def test_pcapng_tsresol_variants(tmp_path: Path, resol: int, units: int, expected: float) -> None:
    data = cb.shb() + cb.idb("<", 1, tsresol=resol) + cb.epb("<", 0, units, cb.frame(1))
    rows, _ = read_all([write(tmp_path, "r.pcapng", data)])
    assert rows[0][2] == pytest.approx(expected, abs=1e-6)


def test_gzip_detected_by_magic_not_name(tmp_path: Path) -> None:
    plain_pcap, plain_ng = cb.pcap(RECORDS), _pcapng()
    want_pcap, _ = read_all([write(tmp_path, "p.pcap", plain_pcap)])
    want_ng, _ = read_all([write(tmp_path, "n.pcapng", plain_ng)])
    got_pcap, c1 = read_all([write(tmp_path, "p.dat", gzip.compress(plain_pcap))])
    # two gzip members, as `cat a.gz b.gz` makes
    half = len(plain_ng) // 2
    got_ng, c2 = read_all(
        [write(tmp_path, "n.bin", gzip.compress(plain_ng[:half]) + gzip.compress(plain_ng[half:]))]
    )
    assert got_pcap == want_pcap and got_ng == want_ng
    assert not c1 and not c2


def test_gzip_stream_with_small_chunks_splits_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records straddling decompressed chunks are reassembled; memory stays at a few chunks."""
    records = [(1_600_000_000 + i, i, cb.frame(i, 50 + i % 200)) for i in range(3000)]
    plain = cb.pcap(records)
    want, _ = read_all([write(tmp_path, "p.pcap", plain)], batch_frames=128)
    monkeypatch.setattr(window_mod, "OUT_CHUNK", 997)
    monkeypatch.setattr(window_mod, "RAW_CHUNK", 113)
    got, counters = read_all([write(tmp_path, "p.gz", gzip.compress(plain))], batch_frames=128)
    assert got == want and not counters


def test_gzip_cut_short_keeps_frames_and_counts(tmp_path: Path) -> None:
    packed = gzip.compress(cb.pcap([(1, 0, cb.frame(i, 1000)) for i in range(200)]))
    rows, counters = read_all([write(tmp_path, "cut.gz", packed[: len(packed) // 2])])
    assert 0 < len(rows) < 200
    assert counters["capture.truncated"] == 1


@pytest.mark.parametrize("cut", [1, 5, 16, 30])
def test_pcap_truncated_last_record(tmp_path: Path, cut: int) -> None:
    data = cb.pcap(RECORDS)
    rows, counters = read_all([write(tmp_path, "t.pcap", data[:-cut])])
    assert len(rows) == 4
    assert counters["capture.truncated"] == 1


def test_pcap_cut_at_record_boundary_is_clean(tmp_path: Path) -> None:
    data = cb.pcap(RECORDS[:3])
    rows, counters = read_all([write(tmp_path, "t.pcap", data)])
    assert len(rows) == 3 and not counters


def test_pcap_corrupt_caplen_stops_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = bytearray(cb.pcap(RECORDS))
    third = 24 + sum(16 + len(r[2]) for r in RECORDS[:2])
    struct.pack_into("<I", data, third + 8, 300_000)
    with caplog.at_level(logging.WARNING):
        rows, counters = read_all([write(tmp_path, "c.pcap", bytes(data))])
    assert len(rows) == 2
    assert counters["capture.corrupt"] == 1
    assert "bị hỏng" in caplog.text and "corrupt" in caplog.text


def test_caplen_over_wirelen_is_counted(tmp_path: Path) -> None:
    rows, counters = read_all([write(tmp_path, "w.pcap", cb.pcap(RECORDS, wirelen_extra=-3))])
    assert len(rows) == 5
    assert counters["capture.caplen_exceeds_wirelen"] == 5


@pytest.mark.parametrize(
    "damage", ["trailer", "length_not_multiple_of_4", "unknown_interface", "caplen_over_block"]
)
def test_pcapng_corrupt_blocks(tmp_path: Path, damage: str) -> None:
    good = [cb.epb("<", 0, 1_600_000_000_000_000 + i, cb.frame(i)) for i in range(3)]
    bad = bytearray(cb.epb("<", 0, 1_600_000_000_000_100, cb.frame(9)))
    if damage == "trailer":
        struct.pack_into("<I", bad, len(bad) - 4, 12)
    elif damage == "length_not_multiple_of_4":
        struct.pack_into("<I", bad, 4, len(bad) - 2)
    elif damage == "unknown_interface":
        struct.pack_into("<I", bad, 8, 5)
    else:
        struct.pack_into("<I", bad, 20, 5000)
    data = cb.shb() + cb.idb("<", 1) + b"".join(good) + bytes(bad) + good[0]
    rows, counters = read_all([write(tmp_path, "c.pcapng", data)])
    assert len(rows) == 3
    assert counters["capture.corrupt"] == 1


def test_pcapng_truncated_block(tmp_path: Path) -> None:
    data = cb.shb() + cb.idb("<", 1) + b"".join(cb.epb("<", 0, i, cb.frame(i)) for i in range(4))
    rows, counters = read_all([write(tmp_path, "t.pcapng", data[:-10])])
    assert len(rows) == 3 and counters["capture.truncated"] == 1


def test_unreadable_files_are_counted_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = write(tmp_path, "good.pcap", cb.pcap(RECORDS))
    paths = [
        tmp_path / "missing.pcap",
        write(tmp_path, "text.pcap", b"hello, this is not a capture file\n"),
        write(tmp_path, "empty.pcap", b""),
        write(tmp_path, "short.pcap", cb.pcap([])[:10]),
        write(tmp_path, "bad.gz", b"\x1f\x8b" + b"\x00" * 40),
        tmp_path,  # a directory
        good,
    ]
    with caplog.at_level(logging.WARNING):
        rows, counters = read_all(paths)
    assert len(rows) == 5 and {r[0] for r in rows} == {6}
    assert counters["capture.unreadable"] == 6
    assert "Không đọc được" in caplog.text and "cannot read" in caplog.text


def test_empty_capture_yields_nothing(tmp_path: Path) -> None:
    rows, counters = read_all([write(tmp_path, "e.pcap", cb.pcap([])), write(tmp_path, "e.pcapng", cb.shb())])
    assert rows == [] and not counters


def test_batch_columns_dtypes(tmp_path: Path) -> None:
    (b,) = list(read_captures([write(tmp_path, "a.pcap", cb.pcap(RECORDS))], Counters()))
    assert (b.ts.dtype, b.offset.dtype, b.caplen.dtype, b.wirelen.dtype) == (
        np.float64,
        np.int64,
        np.int32,
        np.int32,
    )
    assert (b.linktype.dtype, b.source.dtype, b.frame.dtype) == (np.uint16, np.int16, np.int64)
