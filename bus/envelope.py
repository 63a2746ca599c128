"""The message format: NDJSON in the value, the envelope in the headers.

The value is plain newline-delimited JSON (one record a line, the sensor's own JSON, ``_path`` included),
so ClickHouse's Kafka engine can read the topics directly with ``FORMAT JSONEachRow``. The headers carry:

- ``ww-schema``: the message schema version (``SCHEMA_VERSION``); a writer refuses other versions;
- ``ww-log``: ``dns`` … ``login`` or ``alerts``;
- ``ww-id``: ``<sensor>:<producer run>:<sequence>``, unique per message, used by the writer to drop a
  message that a producer sent twice (a spool replay of a message whose acknowledgement was lost);
- ``ww-sensor``: the sensor name (stored in each row's ``sensor`` column);
- ``ww-count``: the number of records (checked on decode);
- ``content-type``: ``application/x-ndjson``.

Decoding is a pure function that either returns the records or raises ``Poison`` with the reason that
goes into the dead-letter topic.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from wardwatch.errors import WardwatchError

SCHEMA_VERSION = 1
CONTENT_TYPE = b"application/x-ndjson"
Headers = list[tuple[str, bytes]]


class Poison(WardwatchError, ValueError):
    """A message the writer cannot take; ``str(e)`` is the dead-letter reason."""


@dataclass(slots=True)
class Message:
    """One message to produce: where it goes and what it holds."""

    topic: str
    partition: int
    key: bytes
    value: bytes
    headers: Headers
    records: int
    first_ts: float  # the oldest record's time, for latency measurements


def headers(log: str, msg_id: str, count: int, sensor: str = "") -> Headers:
    return [
        ("ww-schema", str(SCHEMA_VERSION).encode()),
        ("ww-log", log.encode()),
        ("ww-sensor", sensor.encode()),
        ("ww-id", msg_id.encode()),
        ("ww-count", str(count).encode()),
        ("content-type", CONTENT_TYPE),
    ]


def encode_records(records: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def split_by_size(lines: Sequence[bytes], max_records: int, max_bytes: int) -> list[list[bytes]]:
    """Cut encoded lines into micro-batches of at most ``max_records`` lines and ``max_bytes`` bytes (a
    single line longer than ``max_bytes`` still gets its own batch: the writer dead-letters it)."""
    out: list[list[bytes]] = []
    cur: list[bytes] = []
    size = 0
    for line in lines:
        if cur and (len(cur) >= max_records or size + len(line) > max_bytes):
            out.append(cur)
            cur, size = [], 0
        cur.append(line)
        size += len(line)
    if cur:
        out.append(cur)
    return out


def header_map(raw: Sequence[tuple[str, bytes | None]] | None) -> dict[str, bytes]:
    return {k: (v or b"") for k, v in (raw or ())}


def check_envelope(value: bytes | None, hdrs: dict[str, bytes], log: str, max_bytes: int) -> bytes:
    """The value of a message whose envelope (size, schema version, log) is right, or ``Poison``."""
    if value is None:
        raise Poison("empty message (tombstone)")
    if len(value) > max_bytes:
        raise Poison(f"oversized: {len(value)} bytes > {max_bytes}")
    version = hdrs.get("ww-schema")
    if version is None:
        raise Poison("no ww-schema header")
    if version != str(SCHEMA_VERSION).encode():
        raise Poison(f"unsupported schema version {version[:20]!r} (this writer reads {SCHEMA_VERSION})")
    if hdrs.get("ww-log", log.encode()) != log.encode():
        raise Poison(f"ww-log header {hdrs['ww-log'][:20]!r} does not match the topic ({log})")
    return value


def line_count(value: bytes) -> int:
    """Records in an NDJSON value as the producer writes it (one line each, newline-terminated)."""
    return value.count(b"\n") + (0 if value.endswith(b"\n") or not value else 1)


def decode(value: bytes | None, hdrs: dict[str, bytes], log: str, max_bytes: int) -> list[dict[str, Any]]:
    """The records of one message on the topic of ``log``, or ``Poison`` with the reason."""
    value = check_envelope(value, hdrs, log, max_bytes)
    # one orjson call for the whole message (a JSON array) is several times faster than one per line
    try:
        records = orjson.loads(b"[" + b",".join(line for line in value.splitlines() if line.strip()) + b"]")
    except orjson.JSONDecodeError:
        records = _per_line(value)  # find the bad line for the dead-letter reason
    for n, rec in enumerate(records, 1):
        if not isinstance(rec, dict):
            raise Poison(f"line {n} is not a JSON object")
    if log != "alerts":
        bad = next((n for n, rec in enumerate(records, 1) if rec.get("_path") != log), None)
        if bad is not None:
            raise Poison(f"line {bad}: _path {str(records[bad - 1].get('_path'))[:20]!r} on the {log} topic")
    count = hdrs.get("ww-count")
    if count is not None and count != str(len(records)).encode():
        raise Poison(f"ww-count says {count[:20]!r} records, the value holds {len(records)}")
    if not records:
        raise Poison("no records in the message")
    return records


def decode_arrow(values: Sequence[bytes], log: str, struct: pa.StructType, expect: int) -> pa.StructArray:
    """The records of several messages of one log, parsed straight into Arrow (Arrow's JSON reader, in
    C++ and off the GIL: a third of the cost of ``orjson`` to dicts to Arrow). ``expect`` is the sum of
    their ``ww-count`` headers. Raises ``Poison`` (or ``pa.ArrowInvalid``) when anything is off; the
    caller then decodes the messages one by one with ``decode`` to find the bad one and its reason."""
    data = b"".join(v if v.endswith(b"\n") else v + b"\n" for v in values)
    schema = pa.schema([*struct, pa.field("_path", pa.string())])
    table = pa_json.read_json(
        io.BytesIO(data),
        read_options=pa_json.ReadOptions(block_size=max(4 << 20, max(len(v) for v in values) + 1)),
        parse_options=pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
    )
    if table.num_rows != expect:
        raise Poison(f"{table.num_rows} records where the headers say {expect}")
    path = table.column("_path")
    if path.null_count or not pc.all(pc.equal(path, log)).as_py():
        raise Poison(f"a record's _path is not {log}")
    return pa.StructArray.from_arrays(
        [table.column(f.name).combine_chunks() for f in struct], fields=list(struct)
    )


def _per_line(value: bytes) -> list[Any]:
    out = []
    for n, line in enumerate(value.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError as e:
            raise Poison(f"bad JSON on line {n}: {e}") from None
    # the lines parse one by one but not as a list (e.g. "1\n2" is fine, "]" is not): say so
    return out
