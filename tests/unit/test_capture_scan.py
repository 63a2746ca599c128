"""The C record scan (``_scan``) agrees with the pure-Python fallback, and mapped batch buffers
behave like bytes."""

from __future__ import annotations

import mmap
import random
import struct
from pathlib import Path

import numpy as np
import pytest
from wardwatch.ingest.capture import pcap as pcap_mod
from wardwatch.ingest.capture import read_captures
from wardwatch.ingest.capture import window as window_mod
from wardwatch.ingest.capture.pcap import PcapParser
from wardwatch.ingest.capture.piece import Scan

from tests.conftest import TESTDATA
from tests.unit import capture_build as cb
from tests.unit.test_capture_fuzz import _mutate
from wardwatch.counters import Counters

needs_c = pytest.mark.skipif(pcap_mod._cscan is None, reason="C extension _scan not built")


def _scan_all(parser: PcapParser, buf: bytes, limit: int, use_c: bool) -> list[tuple]:
    """Every scan over ``buf`` until it stops, as comparable tuples."""
    scan_fn = parser._scan_c if use_c else parser._scan_py
    out: list[tuple] = []
    off = parser.start_offset
    for _ in range(len(buf) + 2):
        scan: Scan = scan_fn(buf, off, limit)
        p = scan.piece
        cols = (
            None
            if p is None
            else tuple((a.dtype.str, a.tolist()) for a in (p.data_off, p.ts, p.caplen, p.wirelen, p.linktype))
        )
        out.append((scan.next_off, scan.stop, scan.reason, cols))
        if scan.stop.value != "more" or scan.next_off == off:
            break
        off = scan.next_off
    return out


def _assert_same(data: bytes) -> int:
    parser = PcapParser.from_header(data[:64])
    if parser is None:
        return 0
    for limit in (1, 3, 131072):
        assert _scan_all(parser, data, limit, True) == _scan_all(parser, data, limit, False), limit
    return 1


def _real_pcaps() -> list[Path]:
    if not TESTDATA.exists():
        pytest.skip(f"test material not found: {TESTDATA}")
    return sorted(p for p in TESTDATA.rglob("*") if p.is_file() and p.suffix.startswith(".pcap"))


def _seeds() -> list[bytes]:
    frames = [cb.frame(i, 20 + 17 * i) for i in range(6)]
    recs = [(1_600_000_000 + i, 999_999 - i, f) for i, f in enumerate(frames)]
    return [
        cb.pcap(recs),
        cb.pcap(recs, order=">", nano=True),
        cb.pcap(recs, wirelen_extra=-5),  # caplen > wirelen
        cb.pcap([(1, 2, b"x" * 300)], wirelen_extra=0x7FFFFFFF),  # wirelen clipped
        _kuznetsov(recs),
    ]


def _kuznetsov(records: list[tuple[int, int, bytes]]) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2CD34, 2, 4, 0, 0, 65535, 1)]
    for sec, frac, data in records:
        out.append(struct.pack("<IIII", sec, frac, len(data), len(data)) + b"\1" * 8 + data)
    return b"".join(out)


@needs_c
def test_c_and_python_agree_on_testdata() -> None:
    checked = sum(_assert_same(p.read_bytes()) for p in _real_pcaps())
    assert checked >= 50  # most of the shared material is classic pcap


@needs_c
def test_c_and_python_agree_on_built_and_damaged_records() -> None:
    good = _seeds()[0]
    cases = [*_seeds(), good[:24], good[:30], good[:36], good[:-1]]
    huge = bytearray(good)
    struct.pack_into("<I", huge, 24 + 8, 262145)  # first caplen over the limit
    cases.append(bytes(huge))
    wrap = bytearray(good)
    struct.pack_into("<I", wrap, 24 + 8, 0xFFFFFFFF)
    cases.append(bytes(wrap))
    for data in cases:
        assert _assert_same(data)


@needs_c
@pytest.mark.slow
def test_c_and_python_agree_on_fuzz_corpus() -> None:
    rnd = random.Random(7)
    seeds = _seeds()
    if TESTDATA.exists():
        seeds += [p.read_bytes() for p in _real_pcaps() if p.stat().st_size < 20000][:20]
    checked = 0
    for _ in range(4000):
        checked += _assert_same(_mutate(rnd, rnd.choice(seeds)))
    assert checked > 1000


@needs_c
def test_c_scan_rejects_short_output_arrays() -> None:
    assert pcap_mod._cscan is not None
    small = np.empty(1, np.int64)
    with pytest.raises(ValueError):
        pcap_mod._cscan.scan_pcap(
            b"", 0, 0, 5, False, 16, 262144, 1e-6, small, np.empty(5), np.empty(5, np.int32), small
        )


def _scan_outputs(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return np.empty(n, np.int64), np.empty(n, np.float64), np.empty(n, np.int32), np.empty(n, np.int32)


@needs_c
def test_c_scan_huge_limit_is_refused_not_an_overflow() -> None:
    """limit * 8 wrapped to 0 for limit 2**61, so empty arrays passed the size check and the scan
    wrote past them (a heap overflow under AddressSanitizer)."""
    assert pcap_mod._cscan is not None
    buf = bytes(24) + bytes(16) * 4  # four empty records
    with pytest.raises(ValueError):
        pcap_mod._cscan.scan_pcap(buf, 24, len(buf), 2**61, False, 16, 262144, 1e-6, *_scan_outputs(0))


@needs_c
@pytest.mark.parametrize("column", [0, 1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.uint32, np.float64, np.int64, ">i4", ">f8", ">i8"])
def test_c_scan_wrong_output_dtype_is_a_type_error(column: int, dtype: object) -> None:
    assert pcap_mod._cscan is not None
    outs = list(_scan_outputs(4))
    if np.dtype(dtype) == outs[column].dtype:  # type: ignore[call-overload]
        return
    outs[column] = np.zeros(8, dtype)  # type: ignore[call-overload]  # long enough either way
    buf = bytes(24) + bytes(16) * 4
    with pytest.raises(TypeError):
        pcap_mod._cscan.scan_pcap(buf, 24, len(buf), 4, False, 16, 262144, 1e-6, *outs)


@needs_c
def test_c_scan_refuses_misaligned_outputs_and_absurd_record_lengths() -> None:
    assert pcap_mod._cscan is not None
    buf = bytes(24) + bytes(16) * 4
    offs, ts, cap, wire = _scan_outputs(4)
    misaligned = np.frombuffer(bytearray(8 * 4 + 1), np.int64, 4, offset=1)
    with pytest.raises(ValueError):
        pcap_mod._cscan.scan_pcap(buf, 24, len(buf), 4, False, 16, 262144, 1e-6, misaligned, ts, cap, wire)
    with pytest.raises(ValueError):  # pos + rec_len + caplen must not overflow
        pcap_mod._cscan.scan_pcap(buf, 24, len(buf), 4, False, 2**62, 262144, 1e-6, offs, ts, cap, wire)
    assert pcap_mod._cscan.scan_pcap(buf, 24, len(buf), 4, False, 16, 262144, 1e-6, offs, ts, cap, wire) == (
        4,
        len(buf),
        0,
    )


def _rows(paths: list[Path], batch_frames: int) -> tuple[list[tuple], dict[str, dict[str, int]]]:
    counters = Counters()
    rows = []
    for b in read_captures(paths, counters, batch_frames=batch_frames):
        for i in range(len(b)):
            o, c = int(b.offset[i]), int(b.caplen[i])
            rows.append((int(b.frame[i]), float(b.ts[i]), int(b.wirelen[i]), bytes(b.buf[o : o + c])))
    return rows, counters.summary()


def _big_pcap(path: Path, n: int = 3000) -> None:
    recs = [(1_700_000_000 + i // 10, i * 7 % 1_000_000, cb.frame(i, 60 + i % 1400)) for i in range(n)]
    path.write_bytes(cb.pcap(recs))


def test_read_captures_same_with_and_without_c(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.pcap"
    _big_pcap(path)
    damaged = tmp_path / "cut.pcap"
    damaged.write_bytes(path.read_bytes()[:-100])
    want = {(p, bf): _rows([p], bf) for p in (path, damaged) for bf in (1000, 131072)}
    monkeypatch.setattr(pcap_mod, "_cscan", None)
    for (p, bf), got in want.items():
        assert _rows([p], bf) == got


def test_mapped_batch_buffers_behave_like_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.pcap"
    _big_pcap(path)
    copied = _rows([path], 1000)
    monkeypatch.setattr(window_mod, "MIN_MAPPED_REGION", 0)  # map every batch's region
    batches = list(read_captures([path], Counters(), batch_frames=1000))
    assert any(isinstance(b.buf, mmap.mmap) for b in batches) == window_mod._CAN_MAP_REGIONS
    rows = []
    for b in batches:  # the reader (and its file map) is done: each buffer must still be valid
        arr = np.frombuffer(b.buf, dtype=np.uint8)
        assert arr.shape[0] == len(b.buf)
        joined = b"".join([b.buf, b"tail"])
        assert joined[-4:] == b"tail" and len(joined) == len(b.buf) + 4
        for i in range(len(b)):
            o, c = int(b.offset[i]), int(b.caplen[i])
            piece = b.buf[o : o + c]
            assert isinstance(piece, bytes) and arr[o : o + c].tobytes() == piece
            rows.append((int(b.frame[i]), float(b.ts[i]), int(b.wirelen[i]), piece))
    assert rows == copied[0]
    # batches never share a buffer, so nothing one consumer holds is overwritten by the next read
    assert len({id(b.buf) for b in batches}) == len(batches)
