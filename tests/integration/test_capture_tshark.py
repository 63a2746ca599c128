"""Every capture under ../shared/testdata read by us and by tshark: same frames, times and lengths."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from wardwatch.ingest.capture import read_captures

from tests.conftest import testdata_path as _testdata_path
from wardwatch.counters import Counters

pytestmark = pytest.mark.integration

_MAGICS = {
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
}
_FOLDERS = ("suricata-verify", "maltrail/sensor-tests", "dpkt")


def _captures() -> list[Path]:
    root = _testdata_path()
    found = []
    for folder in _FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file():
                with path.open("rb") as f:
                    head = f.read(4)
                if head in _MAGICS or head[:2] == b"\x1f\x8b":
                    found.append(path)
    return found


def _tshark(path: Path) -> tuple[np.ndarray, bool]:
    """(rows of number, time, len, cap_len) and whether tshark said the file was cut short."""
    proc = subprocess.run(
        [
            "tshark",
            "-n",
            "-r",
            str(path),
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "frame.time_epoch",
            "-e",
            "frame.len",
            "-e",
            "frame.cap_len",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    rows = [line.split("\t") for line in proc.stdout.splitlines() if line]
    table = np.array([[float(x) for x in r] for r in rows], dtype=np.float64).reshape(-1, 4)
    return table, "cut short" in proc.stderr


def _ours(path: Path) -> tuple[np.ndarray, Counters]:
    counters = Counters()
    cols = [[], [], [], []]  # type: list[list[np.ndarray]]
    for b in read_captures([path], counters, batch_frames=4096):
        for col, arr in zip(cols, (b.frame, b.ts, b.wirelen, b.caplen), strict=True):
            col.append(arr.astype(np.float64))
    if not cols[0]:
        return np.zeros((0, 4)), counters
    return np.column_stack([np.concatenate(c) for c in cols]), counters


def _compare(path: Path) -> None:
    (theirs, cut_short), (ours, counters) = _tshark(path), _ours(path)
    assert ours.shape == theirs.shape, f"{path}: {len(ours)} frames, tshark {len(theirs)}"
    if len(ours):
        assert np.array_equal(ours[:, 0], theirs[:, 0]), path
        assert np.abs(ours[:, 1] - theirs[:, 1]).max() < 1e-6, path
        assert np.array_equal(ours[:, 2:], theirs[:, 2:]), path
    if cut_short:
        assert counters["capture.truncated"] + counters["capture.corrupt"] >= 1, path
    else:
        assert counters["capture.truncated"] == 0, path


def test_every_testdata_capture_matches_tshark() -> None:
    paths = _captures()
    assert len(paths) >= 130  # the material holds 136 captures; fewer means the search broke
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(_compare, paths))


def test_pcapng_and_gzip_conversions_match_tshark(tmp_path: Path) -> None:
    """Converted copies (pcapng via editcap, ns pcap, gzip) of a spread of files read the same."""
    if shutil.which("editcap") is None:
        pytest.skip("editcap not installed")
    paths = _captures()[::7]
    jobs = []
    for i, src in enumerate(paths):
        ng = tmp_path / f"{i}.pcapng"
        ns = tmp_path / f"{i}.ns.pcap"
        subprocess.run(["editcap", "-F", "pcapng", str(src), str(ng)], capture_output=True, check=False)
        subprocess.run(["editcap", "-F", "nsecpcap", str(src), str(ns)], capture_output=True, check=False)
        gz = tmp_path / f"{i}.pcapng.bin"
        if ng.exists():
            gz.write_bytes(gzip.compress(ng.read_bytes()))
            jobs += [ng, gz]
        if ns.exists():
            jobs.append(ns)
    assert len(jobs) >= 30
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(_compare, jobs))
