"""Mutated captures never raise or hang, and what is read always lies inside the batch buffer."""

from __future__ import annotations

import gzip
import random
import signal
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wardwatch.ingest.capture import read_captures

from tests.conftest import TESTDATA
from tests.unit import capture_build as cb
from wardwatch.counters import Counters

CASES = 20_000
MAX_CAPLEN = 262144


def _seeds() -> list[bytes]:
    le, be = "<", ">"
    frames = [cb.frame(i, 20 + 17 * i) for i in range(6)]
    seeds = [
        cb.pcap([(1_600_000_000 + i, i, f) for i, f in enumerate(frames)]),
        cb.pcap([(1_600_000_000 + i, i, f) for i, f in enumerate(frames)], order=be, nano=True),
        cb.shb(le)
        + cb.idb(le, 1)
        + cb.idb(le, 101, snaplen=40, tsresol=9)
        + b"".join(cb.epb(le, i % 2, 10**15 + i, f) for i, f in enumerate(frames))
        + cb.spb(le, frames[0])
        + cb.opb(le, 1, 5, frames[1])
        + cb.block(le, 0x40000BAD, b"x")
        + cb.shb(be)
        + cb.idb(be, 113, tsresol=0x80 | 20, tsoffset=7)
        + cb.epb(be, 0, 1 << 40, frames[2]),
    ]
    # real captures from the shared test material, when present (small ones keep the loop fast)
    if TESTDATA.exists():
        real = sorted(
            p for p in (TESTDATA / "maltrail" / "sensor-tests").glob("*.pcap") if p.stat().st_size < 4000
        )
        seeds += [p.read_bytes() for p in real[:8]]
        dpkt = TESTDATA / "dpkt" / "truncated_dns.pcap"
        if dpkt.exists():
            seeds.append(dpkt.read_bytes())
    seeds.append(gzip.compress(seeds[0]))
    seeds.append(gzip.compress(seeds[2]))
    return seeds


def _mutate(rnd: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    kind = rnd.randrange(6)
    if kind == 0 or not buf:  # random byte flips
        for _ in range(rnd.randint(1, 8)):
            if buf:
                buf[rnd.randrange(len(buf))] = rnd.randrange(256)
    elif kind == 1:  # truncation
        del buf[rnd.randrange(len(buf) + 1) :]
    elif kind == 2:  # a length field (aligned u32) set to something odd
        if len(buf) >= 8:
            pos = rnd.randrange(0, len(buf) - 3) & ~3
            value = rnd.choice([0, 1, 3, 12, 0xFFFFFFFF, 0x7FFFFFFF, MAX_CAPLEN + 1, rnd.randrange(1 << 32)])
            struct.pack_into(rnd.choice("<>") + "I", buf, pos, value)
    elif kind == 3:  # fragment: a slice from the middle
        a = rnd.randrange(len(buf) + 1)
        buf = buf[a : a + rnd.randrange(1, 200)]
    elif kind == 4:  # duplicate or drop a span
        a = rnd.randrange(len(buf) + 1)
        b = min(len(buf), a + rnd.randrange(1, 64))
        buf[a:b] = buf[a:b] * rnd.randrange(0, 3)
    else:  # combination: flips then truncation
        return _mutate(rnd, _mutate(rnd, bytes(buf)))
    return bytes(buf)


def _check(batches: Iterator, batch_frames: int) -> int:
    n = 0
    for b in batches:
        assert 0 < len(b) <= batch_frames
        assert np.all(b.offset >= 0) and np.all(b.caplen >= 0) and np.all(b.caplen <= MAX_CAPLEN)
        assert np.all(b.offset + b.caplen <= len(b.buf))
        n += len(b)
    return n


class _Timeout(Exception):
    pass


def _alarm(_signum: int, _frame: object) -> None:
    raise _Timeout("read_captures hung")


@pytest.mark.slow
def test_fuzz_mutated_captures(tmp_path: Path) -> None:
    rnd = random.Random(20240611)
    seeds = _seeds()
    paths = [tmp_path / f"f{i}" for i in range(4)]
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(240)  # a hang fails the test instead of stalling the run
    cases = 0
    try:
        while cases < CASES:
            k = 1 if rnd.random() < 0.9 else rnd.randint(2, 4)
            for p in paths[:k]:
                p.unlink(missing_ok=True)  # rewriting in place a file just mapped is slow
                p.write_bytes(_mutate(rnd, rnd.choice(seeds)))
            counters = Counters()
            batch_frames = rnd.choice([1, 3, 131072])
            _check(read_captures(paths[:k], counters, batch_frames=batch_frames), batch_frames)
            assert all(v > 0 for v in counters.values())
            cases += 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert cases == CASES


_HEADS = [cb.pcap([]), cb.pcap([], order=">", nano=True), cb.shb() + cb.idb("<", 1), cb.shb(">")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(head=st.sampled_from(_HEADS), body=st.binary(max_size=600), batch_frames=st.integers(1, 5))
def test_hypothesis_random_bodies(tmp_path: Path, head: bytes, body: bytes, batch_frames: int) -> None:
    path = tmp_path / "h.cap"
    path.write_bytes(head + body)
    _check(read_captures([path], Counters(), batch_frames=batch_frames), batch_frames)
