"""ClickHouse's Native format at a client's protocol revision, for the one query that needs it.

chdb writes Native as the HTTP interface does without ``client_protocol_version``: revision 0, no
block info, no per-column serialization flag. clickhouse-go v2 over HTTP asks its first question
("hello": ``SELECT displayName(), version(), revision(), timezone()``) with
``client_protocol_version`` set and decodes that answer at its own revision; every later answer
it decodes at the revision the hello reported (clickhouse-go v2.51.0 ``conn_http.go``,
``queryHello`` and ``readData``). So the endpoint reports revision 0 in the hello, which makes every
later answer plain chdb Native, and re-frames the hello's own block here: block info before each
block, and a "no custom serialization" flag after each column's type (``lib/proto/block.go``
``Block.Decode``: block info when revision > 0, the flag from revision 54454).

Only the hello's column types (strings and fixed-width numbers) are re-framed; anything else
raises ``ValueError`` (then the answer goes out as chdb wrote it).
"""

from __future__ import annotations

import re

WITH_CUSTOM_SERIALIZATION = 54454
_FIXED = {"UInt8": 1, "UInt16": 2, "UInt32": 4, "UInt64": 8, "Int8": 1, "Int16": 2, "Int32": 4, "Int64": 8}
HELLO = re.compile(r"\brevision\(\)")
# BlockInfo: field 1 is_overflows = false, field 2 bucket_num = -1, end of fields
_BLOCK_INFO = b"\x01\x00\x02\xff\xff\xff\xff\x00"


def is_hello(sql: str) -> bool:
    return bool(HELLO.search(sql))


def hello_sql(sql: str) -> str:
    """The hello with ``revision()`` answered as 0: "this endpoint writes Native at revision 0"."""
    return HELLO.sub("toUInt32(0)", sql)


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def _string(data: bytes, pos: int) -> tuple[bytes, int]:
    n, pos = _uvarint(data, pos)
    return data[pos : pos + n], pos + n


def at_revision(native: bytes, revision: int) -> bytes:
    """Revision-0 Native (strings and fixed-width integers only) re-framed for ``revision``."""
    if revision <= 0:
        return native
    out = bytearray()
    pos = 0
    while pos < len(native):
        start = pos
        cols, pos = _uvarint(native, pos)
        rows, pos = _uvarint(native, pos)
        out += _BLOCK_INFO + native[start:pos]
        for _ in range(cols):
            col_start = pos
            _name, pos = _string(native, pos)
            ctype, pos = _string(native, pos)
            out += native[col_start:pos]
            if revision >= WITH_CUSTOM_SERIALIZATION:
                out += b"\x00"
            kind = ctype.decode()
            data_start = pos
            if kind == "String":
                for _ in range(rows):
                    _value, pos = _string(native, pos)
            elif kind in _FIXED:
                pos += _FIXED[kind] * rows
            else:
                raise ValueError(f"cannot re-frame a {kind} column")
            out += native[data_start:pos]
    return bytes(out)
