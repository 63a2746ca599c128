"""Batch's per-record loops in C (``detectors/_batch.c``) and the IPv4 parser in C (``wardwatch/_addr.c``)
give what their Python fallbacks give (issue 17): the records grouped by log with the latest
timestamp, each record's address pair from the cache, the records with an uncached address and those
addresses once each, the (record, orig, resp) list; and the same dotted quads accepted and refused."""

from __future__ import annotations

import math
import random
from collections import UserDict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wardwatch.detectors import base
from wardwatch.detectors.base import Batch
from wardwatch.detectors.engine import Engine

from wardwatch import segments
from wardwatch.config import parse_config
from wardwatch.segments import IpInfo, SegmentMap

native = base._native
addr_native = segments._native
needs_native = pytest.mark.skipif(
    native is None or addr_native is None, reason="the C extensions are not built (setup.py build_ext)"
)

ADDRS = ["10.10.0.5", "10.20.1.7", "8.8.8.8", "1.1.1.1", "::1", "2001:db8::1", "::ffff:10.10.0.5", "junk", "",
         "01.2.3.4", "1.2.3", "255.255.255.255", "224.0.0.1", " 1.2.3.4", "1.2.3.4\x00", "\udc80", "1.2.3.4.5",
         "256.1.1.1", "0.0.0.0", "fe80::1%eth0", "١.٢.٣.٤"]  # fmt: skip
VALUES: list[Any] = [None, 5, 1.5, b"10.10.0.5", ["10.10.0.5"]]
PATHS: list[Any] = ["conn", "dns", "http", "notice", None, 7]
TSES: list[Any] = [1.0, 2.5, 1e9, -3.0, math.nan, math.inf, 7, None, "5.0", True]


CONFIG = """
segments:
  - {name: his, cidrs: [10.10.0.0/24], zone: his}
  - {name: wards, cidrs: [10.0.0.0/22], zone: clinical}
detectors:
  dns_bypass: {resolvers: [10.1.1.1]}
"""


class _Record(UserDict):  # type: ignore[type-arg]
    """A record that is not a dict: the C loops fall back to its own ``get``."""


def _record(rng: random.Random) -> dict[str, Any]:
    r: dict[str, Any] = {}
    if rng.random() < 0.9:
        r["_path"] = rng.choice(PATHS)
    if rng.random() < 0.9:
        r["ts"] = rng.choice(TSES) if rng.random() < 0.3 else rng.uniform(0, 2e9)
    for k in ("id.orig_h", "id.resp_h"):
        x = rng.random()
        if x < 0.85:
            r[k] = (
                rng.choice(ADDRS)
                if rng.random() < 0.5
                else f"10.{rng.randrange(3)}.{rng.randrange(3)}.{rng.randrange(4)}"
            )
        elif x < 0.95:
            r[k] = rng.choice(VALUES)
    return r


def _records(seed: int) -> list[Any]:
    rng = random.Random(seed)
    out: list[Any] = [_record(rng) for _ in range(rng.randrange(0, 120))]
    for i in range(len(out)):
        if rng.random() < 0.05:
            out[i] = _Record(out[i])
    return out


def _cache(seed: int, records: list[Any]) -> dict[str, IpInfo]:
    rng = random.Random(seed ^ 0x5A5A)
    seen = [a for r in records for a in (r.get("id.orig_h"), r.get("id.resp_h")) if isinstance(a, str)]
    return {a: IpInfo(a, None, "internet", 1, True) for a in seen if rng.random() < 0.6}


def _same_floats(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@needs_native
@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32))
def test_group_pairs_each_fill_equal_the_python_loops(seed: int) -> None:
    records = _records(seed)
    by_c, ts_c = native.group(records)
    by_py, ts_py = base._group(records)
    assert _same_floats(ts_c, ts_py)
    assert list(by_c) == list(by_py)
    assert all(a is b for p in by_py for a, b in zip(by_c[p], by_py[p], strict=True))
    cache = _cache(seed, records)
    for recs in by_py.values():
        got_c, missing_c, fresh_c = native.pairs(recs, cache)
        got_py, missing_py, fresh_py = base._pairs(recs, cache)
        assert got_c == got_py and missing_c == missing_py and fresh_c == fresh_py
        assert all(isinstance(a, str) and a not in cache for a in fresh_c)
        assert len(set(fresh_c)) == len(fresh_c)
        # as Batch.pairs does: resolve some of the new addresses (a cache that started over keeps
        # some others out), then fill from the cache
        rng = random.Random(seed + len(recs))
        for a in fresh_c:
            if rng.random() < 0.7:
                cache[a] = IpInfo(a, None, "local", 2, False)
        before = list(got_c)
        left = native.fill(got_c, missing_c, cache)
        want = [m for m in missing_py if not (m[1] in cache and m[2] in cache)]
        assert left == want
        for i, o, d in missing_py:
            if o in cache and d in cache:
                assert got_c[i] == (cache[o], cache[d])
            else:
                assert got_c[i] is before[i] is None
        for i, o, d in left:
            got_c[i] = got_py[i] = (IpInfo(o, None, "x", 0, True), IpInfo(d, None, "x", 0, True))
        for i, o, d in missing_py:
            if got_py[i] is None:
                got_py[i] = (cache[o], cache[d])
        assert got_c == got_py
        each_py = [(r, p[0], p[1]) for r, p in zip(recs, got_py, strict=True) if p is not None]
        assert native.each(recs, got_c) == each_py


@needs_native
def test_c_loops_refuse_bad_arguments_cleanly() -> None:
    with pytest.raises(TypeError):
        native.group(5)
    with pytest.raises(AttributeError):  # as r.get(...) on an int in Python
        native.group([5])
    with pytest.raises(TypeError):
        native.pairs([{}], "not a dict")
    with pytest.raises(ValueError):
        native.each([{}], [])
    with pytest.raises(TypeError):
        native.each([{}], [("a", "b", "c")])
    with pytest.raises(ValueError):
        native.fill([None], [(5, "a", "b")], {})
    with pytest.raises(TypeError):
        addr_native.ipv4_values(["1.2.3.4", 5])


def _batch_run(records: list[dict[str, Any]], python: bool, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    monkeypatch.setattr(base, "_native", None if python else native)
    monkeypatch.setattr(segments, "_native", None if python else addr_native)
    cfg = parse_config(CONFIG, Path("test.yaml"))
    engine = Engine.from_config(cfg)
    smap: SegmentMap = engine.segments
    out = []
    for i in range(0, len(records), 97):
        b = Batch(records[i : i + 97], smap.info, smap.cache, smap.resolve)
        out.append((b.ts_max, {p: [(r, o, d) for r, o, d in b.each(p)] for p in b.by_path}))
    return out


@needs_native
@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32))
def test_batch_end_to_end_equal_with_and_without_c(seed: int) -> None:
    rng = random.Random(seed)
    records = [_record(rng) for _ in range(rng.randrange(0, 400))]
    with pytest.MonkeyPatch.context() as mp:
        a = _batch_run(records, False, mp)
    with pytest.MonkeyPatch.context() as mp:
        b = _batch_run(records, True, mp)
    assert len(a) == len(b)
    for (ta, ea), (tb, eb) in zip(a, b, strict=True):
        assert _same_floats(ta, tb)
        assert ea == eb  # IpInfo compares by value: segment, zone, resolver, feed, OTT


@needs_native
@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(ADDRS), st.text(alphabet="0123456789.: x", max_size=18),
                          st.builds(lambda v: ".".join(str(b) for b in v.to_bytes(4, "big")), st.integers(0, 2**32 - 1))),
                max_size=40))  # fmt: skip
def test_ipv4_values_in_c_accept_and_refuse_what_inet_pton_does(ips: list[str]) -> None:
    at_c, v_c = addr_native.ipv4_values(ips)
    at_py, v_py = segments._ipv4_values(ips)
    assert at_c == at_py
    import numpy as np

    assert np.array_equal(np.frombuffer(v_c, dtype=np.uint32), v_py)


def test_detect_output_is_the_same_with_the_python_loops(tmp_path: Path, testdata: Path) -> None:
    """End to end: `wardwatch detect` over every test capture and a spoofed SYN flood, a port scan and
    a DNS flood writes the same alerts with the C loops (Batch, the IPv4 parse) as with
    WARDWATCH_DETECT_PYTHON=1."""
    import os
    import subprocess
    import sys

    from wardwatch.tools.gen_storm import generate

    paths = sorted(p for p in testdata.rglob("*") if p.suffix in (".pcap", ".pcapng") and p.is_file())
    for shape in ("synflood", "pp1", "dnsflood"):
        paths.append(tmp_path / f"{shape}.pcap")
        generate(shape, 6000, paths[-1])
    cfg = tmp_path / "lab.yaml"
    cfg.write_text(f"data_dir: {tmp_path / 'var'}\n" + CONFIG.replace("10.0.0.0/22", "10.20.0.0/22"))
    outputs = []
    for python in ("0", "1"):
        out = tmp_path / f"alerts-{python}.json"
        env = dict(os.environ, WARDWATCH_DETECT_PYTHON=python)
        cmd = [sys.executable, "-m", "wardwatch.cli", "detect", "--config", str(cfg), "--alerts-out", str(out)]
        done = subprocess.run([*cmd, "--pcap", *map(str, paths)], env=env, capture_output=True, timeout=600)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"\n") > 20  # the captures and storms raise alerts of several kinds
    assert b"port_scan" in outputs[0]
