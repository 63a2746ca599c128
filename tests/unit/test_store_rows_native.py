"""Record dicts to Arrow in C (``store/_rows.c``, ``writer.rows_struct``) give what pyarrow's
``pa.array(rows, type=struct)`` gives (issue 17): the same array for the values the sensor writes, and
pyarrow's own answer (an array or its exception) for anything else, because the C code declines."""

from __future__ import annotations

import math
import random
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wardwatch.store import writer

native = writer._native
needs_native = pytest.mark.skipif(native is None, reason="store/_rows.c is not built (setup.py build_ext)")

ODD: list[Any] = [True, False, 2**53, 2**53 + 1, -(2**53) - 1, 2**63, -(2**63), 2**63 - 1, 1.5, math.nan, math.inf,
                  "x", "", "é漢", "\udc80", b"bytes", [], ["a"], [1.0], {"a": 1}, 7, -7, 0]  # fmt: skip


def _value(rng: random.Random, typ: pa.DataType) -> Any:
    r = rng.random()
    if r < 0.15:
        return None
    if r < 0.22:
        return rng.choice(ODD)
    if pa.types.is_floating(typ):
        return rng.choice(
            [rng.uniform(-1e12, 1e12), float(rng.randrange(10**6)), rng.randrange(-(10**9), 10**9)]
        )
    if pa.types.is_integer(typ):
        return rng.randrange(-(2**40), 2**40)
    if pa.types.is_string(typ):
        return "".join(rng.choice("ab.:-é漢 ") for _ in range(rng.randrange(0, 12)))
    if pa.types.is_boolean(typ):
        return rng.random() < 0.5
    if pa.types.is_list(typ):
        return [1.5, 2.0] if pa.types.is_floating(typ.value_type) else ["a", "b"]
    raise AssertionError(typ)


def _rows(seed: int, struct: pa.StructType) -> list[Any]:
    rng = random.Random(seed)
    odd_rate = rng.choice([0.0, 0.0, 0.02, 0.3])
    rows: list[Any] = []
    for _ in range(rng.randrange(0, 70)):
        row: dict[str, Any] = {"_path": "x", "not_a_column": rng.random()}
        for f in struct:
            if rng.random() < 0.8:
                v = _value(rng, f.type)
                if rng.random() >= odd_rate and (isinstance(v, (list, dict)) or v in ODD):
                    v = None  # most rows are clean (lists decline too): the fast path is taken and checked
                row[f.name] = v
        rows.append(row)
    return rows


def _same(rows: list[Any], spec: Any) -> None:
    try:
        want: pa.Array | None = pa.array(rows, type=spec.struct)
        err = None
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as e:
        want, err = None, type(e)
    try:
        got = writer.rows_struct(spec, rows)
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as e:
        assert err is not None and isinstance(e, err), (e, err)
        return
    assert want is not None, f"pyarrow raised {err}, the fast path gave an array"
    assert got.type == want.type
    assert got.to_pylist() == want.to_pylist() or _nan_equal(got.to_pylist(), want.to_pylist())
    got.validate(full=True)


def _nan_equal(a: list[Any], b: list[Any]) -> bool:
    def norm(x: Any) -> Any:
        if isinstance(x, float) and math.isnan(x):
            return "nan"
        if isinstance(x, dict):
            return {k: norm(v) for k, v in x.items()}
        return x

    return [norm(x) for x in a] == [norm(x) for x in b]


@needs_native
@settings(max_examples=400, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from(sorted(writer._FAST)))
def test_rows_struct_equals_pyarrow(seed: int, table: str) -> None:
    spec = writer._FAST[table]
    _same(_rows(seed, spec.struct), spec)


@needs_native
def test_fast_path_is_taken_for_clean_rows_and_declines_odd_values() -> None:
    spec = writer._FAST["conn"]
    clean = [
        {"ts": 1.5, "uid": "C1", "id.orig_h": "10.0.0.1", "id.orig_p": 5, "proto": "tcp", "interim": False}
    ]
    assert native.columns(clean, spec.keys, spec.kinds) is not None
    for odd in ({"id.orig_p": True}, {"ts": "1.5"}, {"uid": "\udc80"}, {"id.orig_p": 2**64}, {"ts": 2**60}):
        assert native.columns([{**clean[0], **odd}], spec.keys, spec.kinds) is None
    assert native.columns([pa], spec.keys, spec.kinds) is None  # not a dict
    with pytest.raises(ValueError):
        native.columns(clean, spec.keys, spec.kinds[:-1])
    assert writer.rows_struct(spec, []).equals(pa.array([], type=spec.struct))
