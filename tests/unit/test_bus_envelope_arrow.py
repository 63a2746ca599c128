"""Record messages parsed straight into Arrow: the same values as the per-message decode, and
anything off (counts, ``_path``, bad JSON) refused so the caller falls back to ``decode``."""

from __future__ import annotations

import orjson
import pyarrow as pa
import pytest
from wardwatch.bus.envelope import Poison, decode, decode_arrow, line_count
from wardwatch.store.writer import record_struct

DNS = {"_path": "dns", "ts": 1767254400, "uid": "C1", "id.orig_h": "10.0.0.1", "id.orig_p": 5353,
       "id.resp_h": "10.0.0.53", "id.resp_p": 53, "proto": "udp", "trans_id": 7, "query": "a.example.vn",
       "answers": ["1.2.3.4", "b.example.vn"], "TTLs": [60.0, 30.5], "RD": True, "extra_field": {"x": 1}}  # fmt: skip


def _msg(*recs: dict) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in recs)


def test_values_match_the_dict_decode() -> None:
    struct = record_struct("dns")
    assert struct is not None
    second = {**DNS, "uid": "C2", "answers": [], "RD": False}
    del second["TTLs"]
    values = [_msg(DNS), _msg(second)]
    st = decode_arrow(values, "dns", struct, 2)
    rows = st.to_pylist()
    hdrs = {"ww-schema": b"1", "ww-log": b"dns"}
    dicts = [r for v in values for r in decode(v, hdrs, "dns", 1 << 20)]
    for row, d in zip(rows, dicts, strict=True):
        for k, v in d.items():
            if k in row:
                assert row[k] == v, k
    assert rows[0]["ts"] == 1767254400.0  # an integer time read as the float column
    assert rows[1]["TTLs"] is None and rows[1]["answers"] == []
    assert "extra_field" not in struct.names  # unknown fields are ignored, not fatal


def test_counts_and_paths_are_checked() -> None:
    struct = record_struct("dns")
    assert struct is not None
    with pytest.raises(Poison, match="headers say 3"):
        decode_arrow([_msg(DNS, DNS)], "dns", struct, 3)
    with pytest.raises(Poison, match="_path"):
        decode_arrow([_msg(DNS, {**DNS, "_path": "conn"})], "dns", struct, 2)
    with pytest.raises(Poison, match="_path"):
        decode_arrow([_msg({k: v for k, v in DNS.items() if k != "_path"})], "dns", struct, 1)
    with pytest.raises(pa.ArrowInvalid):
        decode_arrow([b'{"_path": "dns", "ts": "yesterday"}\n'], "dns", struct, 1)
    with pytest.raises(pa.ArrowInvalid):
        decode_arrow([b"[1, 2]\n"], "dns", struct, 1)


def test_line_count() -> None:
    assert line_count(b"") == 0
    assert line_count(b"{}\n{}\n") == 2
    assert line_count(b"{}\n{}") == 2
