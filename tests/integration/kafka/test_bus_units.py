"""The bus's pure parts, without a broker: message envelope, spool, settings and partitioning."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from wardwatch.bus.envelope import Message, Poison, decode, header_map, headers, split_by_size
from wardwatch.bus.settings import parse_bus_settings
from wardwatch.bus.spool import Spool
from wardwatch.bus.topics import partition_for

from wardwatch.config import ConfigError


def _msg(i: int, size: int = 10) -> Message:
    return Message(
        "t.conn", i % 3, f"h{i}".encode(), b"x" * size, headers("conn", f"s:1:{i}", 1), 1, float(i)
    )


def test_decode_accepts_a_good_message_and_names_each_poison() -> None:
    rec = {"_path": "dns", "ts": 1.0, "uid": "C1"}
    value = orjson.dumps(rec) + b"\n" + orjson.dumps(rec) + b"\n"
    assert decode(value, header_map(headers("dns", "a:1", 2)), "dns", 1 << 20) == [rec, rec]
    cases = {
        "bad JSON on line 2": (value[:-5], headers("dns", "a", 2)),
        "unsupported schema version b'2'": (value, [("ww-schema", b"2")]),
        "no ww-schema header": (value, []),
        "oversized": (value * 100, headers("dns", "a", 200)),
        "_path 'dns' on the conn topic": (value, headers("conn", "a", 2)),
        "ww-count says b'3'": (value, headers("dns", "a", 3)),
    }
    for reason, (v, h) in cases.items():
        log = "conn" if "conn topic" in reason else "dns"
        with pytest.raises(Poison, match=reason.replace("(", r"\(")):
            decode(v, header_map(h), log, 1000)


def test_split_by_size_bounds_records_and_bytes() -> None:
    lines = [b"a" * 10] * 25
    assert [len(b) for b in split_by_size(lines, 10, 1000)] == [10, 10, 5]
    assert [len(b) for b in split_by_size(lines, 100, 35)] == [3] * 8 + [1]
    assert [len(b) for b in split_by_size([b"x" * 50], 10, 20)] == [1]  # too big alone: still sent


def test_spool_is_fifo_bounded_and_survives_a_torn_tail(tmp_path: Path) -> None:
    sp = Spool(tmp_path, max_bytes=4000, segment_bytes=600)
    assert sp.append([_msg(i) for i in range(5)]) == 5
    taken = sp.append([_msg(i, 300) for i in range(5, 100)])
    assert 0 < taken < 95  # full: the rest is refused for the caller to count
    msgs, cur = sp.read(3)
    assert [m.value for m in msgs] == [b"x" * 10] * 3 and msgs[0].key == b"h0"
    sp.ack(cur)
    sp.prepend([_msg(1000)])  # a failed send goes before everything still spooled
    sp2 = Spool(tmp_path, max_bytes=4000, segment_bytes=600)  # reopened: the cursor persisted
    msgs, cur = sp2.read(10_000)
    assert [m.key for m in msgs[:3]] == [b"h1000", b"h3", b"h4"]
    assert len(msgs) == 1 + 2 + taken
    sp2.ack(cur)
    assert sp2.empty
    sp2.append([_msg(7)])
    last = sorted(tmp_path.glob("*.seg"))[-1]
    with open(last, "ab") as f:
        f.write(b"\x05\x00\x00\x00\xff")  # a crash mid-frame
    msgs, _ = Spool(tmp_path, max_bytes=4000).read(10)
    assert [m.key for m in msgs] == [b"h7"]


def test_settings_take_secrets_only_from_env_or_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = {"bootstrap": "k1:9093,k2:9093", "replication": 3}
    s = parse_bus_settings(base, tmp_path, tmp_path / "var")
    assert s.min_insync_replicas == 2 and s.spool_dir == tmp_path / "var" / "spool"
    with pytest.raises(ConfigError, match="not accepted inline"):
        parse_bus_settings(
            {**base, "security": {"protocol": "SASL_SSL", "username": "u", "password": "p"}},
            tmp_path,
            tmp_path,
        )
    (tmp_path / "pw").write_text("s3cret\n")
    s = parse_bus_settings(
        {**base, "security": {"protocol": "SASL_SSL", "username": "u", "password_file": "pw"}},
        tmp_path,
        tmp_path,
    )
    assert s.security.client_options()["sasl_plain_password"] == "s3cret"
    assert "s3cret" not in repr(s)
    with pytest.raises(ConfigError, match="WW_NOT_SET is not set"):
        parse_bus_settings(
            {**base, "security": {"protocol": "SASL_SSL", "username": "u", "password_env": "WW_NOT_SET"}},
            tmp_path,
            tmp_path,
        )
    with pytest.raises(ConfigError, match="compression"):
        parse_bus_settings({**base, "compression": "brotli"}, tmp_path, tmp_path)


def test_compression_defaults_to_lz4_and_needs_its_codec(tmp_path, monkeypatch) -> None:
    from wardwatch.bus import settings as bus_settings_mod

    base = {"bootstrap": "127.0.0.1:9092"}
    assert parse_bus_settings(base, tmp_path, tmp_path).compression == "lz4"
    monkeypatch.setitem(bus_settings_mod._CODEC_MODULES, "zstd", ("ww_no_such_codec", "zstandard"))
    with pytest.raises(ConfigError, match="needs the Python package 'zstandard'"):
        parse_bus_settings({**base, "compression": "zstd"}, tmp_path, tmp_path)
    assert parse_bus_settings({**base, "compression": "gzip"}, tmp_path, tmp_path).compression == "gzip"


def test_partition_matches_kafkas_default_partitioner() -> None:
    # murmur2 values from Kafka's own UtilsTest.testMurmur2 (the Java client's partitioner)
    java = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"abc": 479470107,
    }
    for key, h in java.items():
        assert partition_for(key, 1000) == (h & 0x7FFFFFFF) % 1000
