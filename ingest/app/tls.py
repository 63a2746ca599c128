"""TLS ClientHello: SNI, offered version, ALPN and JA3 from the raw handshake bytes.

Own parser (a few dozen lines of offset arithmetic) because scapy's TLS layer costs ~1 ms a message and
we only need five fields. Pure functions: bytes in, dict (or None) out; never raises on bad input.
"""

from __future__ import annotations

import hashlib
import sys
from array import array

from wardwatch.errors import WardwatchError

HANDSHAKE = 0x16
CLIENT_HELLO = 0x01

EXT_SERVER_NAME = 0
EXT_SUPPORTED_GROUPS = 10
EXT_EC_POINT_FORMATS = 11
EXT_ALPN = 16
EXT_SUPPORTED_VERSIONS = 43

# Zeek's names for the protocol versions (ssl.log ``version``).
VERSION_NAMES = {
    0x0300: "SSLv3",
    0x0301: "TLSv10",
    0x0302: "TLSv11",
    0x0303: "TLSv12",
    0x0304: "TLSv13",
    0xFEFF: "DTLSv10",
    0xFEFD: "DTLSv12",
    0xFEFC: "DTLSv13",
}


class Truncated(WardwatchError):
    """The bytes end before the structure they announce."""


GREASE = frozenset(0x0A0A + 0x1010 * k for k in range(16))


def is_grease(value: int) -> bool:
    """RFC 8701 GREASE values (0x0a0a, 0x1a1a, … 0xfafa): left out of JA3 and version choice."""
    return value in GREASE


def _u16s(data: bytes) -> list[int]:
    """Big-endian 16-bit values (array + byteswap: ~20x faster than a from_bytes loop)."""
    values = array("H", data[: len(data) & ~1])
    if sys.byteorder == "little":
        values.byteswap()
    return values.tolist()


def record_payload_needed(stream: bytes) -> int:
    """Bytes of TLS record stream needed to hold the whole first handshake message (0 if not TLS).

    A ClientHello may span several records (rare) and several TCP segments (common with post-quantum
    key shares); callers keep reading until ``len(stream) >= needed``.
    """
    if len(stream) < 9 or stream[0] != HANDSHAKE or stream[1] != 3 or stream[5] != CLIENT_HELLO:
        return 0
    body = int.from_bytes(stream[6:9], "big")
    # Each record adds a 5-byte header; count them for messages longer than one record (2^14).
    records = body // 16384 + 1
    return 4 + body + 5 * records


def handshake_from_records(stream: bytes) -> bytes:
    """Concatenate the payloads of consecutive handshake records at the start of a TLS stream."""
    out = bytearray()
    pos = 0
    while pos + 5 <= len(stream) and stream[pos] == HANDSHAKE:
        length = int.from_bytes(stream[pos + 3 : pos + 5], "big")
        out += stream[pos + 5 : pos + 5 + length]
        pos += 5 + length
        if len(out) >= 4 and len(out) >= 4 + int.from_bytes(out[1:4], "big"):
            break
    return bytes(out)


def parse_client_hello(msg: bytes) -> dict[str, object] | None:
    """Parse a handshake message (type byte first, no record header); None if it is not a ClientHello."""
    try:
        return _parse(msg)
    except (Truncated, IndexError, UnicodeDecodeError, ValueError):
        return None


def _parse(msg: bytes) -> dict[str, object] | None:
    if len(msg) < 4 or msg[0] != CLIENT_HELLO:
        return None
    end = 4 + int.from_bytes(msg[1:4], "big")
    if end > len(msg):
        raise Truncated
    pos = 4
    legacy_version = int.from_bytes(msg[pos : pos + 2], "big")
    pos += 2 + 32  # version, random
    pos += 1 + msg[pos]  # session id
    n = int.from_bytes(msg[pos : pos + 2], "big")
    ciphers = _u16s(msg[pos + 2 : pos + 2 + n])
    pos += 2 + n
    pos += 1 + msg[pos]  # compression methods
    if pos > end:
        raise Truncated
    ext_types: list[int] = []
    groups: list[int] = []
    point_formats: list[int] = []
    versions: list[int] = []
    alpn: list[str] = []
    server_name: str | None = None
    if pos + 2 <= end:
        ext_end = min(end, pos + 2 + int.from_bytes(msg[pos : pos + 2], "big"))
        pos += 2
        while pos + 4 <= ext_end:
            etype = int.from_bytes(msg[pos : pos + 2], "big")
            elen = int.from_bytes(msg[pos + 2 : pos + 4], "big")
            data = msg[pos + 4 : pos + 4 + elen]
            if len(data) != elen:
                raise Truncated
            pos += 4 + elen
            ext_types.append(etype)
            if etype == EXT_SERVER_NAME:
                server_name = _server_name(data)
            elif etype == EXT_ALPN:
                alpn = _alpn(data)
            elif etype == EXT_SUPPORTED_VERSIONS and data:
                versions = _u16s(data[1 : 1 + data[0]])
            elif etype == EXT_SUPPORTED_GROUPS and len(data) >= 2:
                n = int.from_bytes(data[:2], "big")
                groups = _u16s(data[2 : 2 + n])
            elif etype == EXT_EC_POINT_FORMATS and data:
                point_formats = list(data[1 : 1 + data[0]])
    offered = [v for v in versions if v not in GREASE] or [legacy_version]
    best = max(offered)
    out: dict[str, object] = {"version": VERSION_NAMES.get(best, f"unknown-{best}")}
    if server_name:
        out["server_name"] = server_name
    if alpn:
        out["alpn"] = alpn
    out["ja3"] = ja3(legacy_version, ciphers, ext_types, groups, point_formats)
    return out


def _server_name(data: bytes) -> str | None:
    # server_name_list: u16 length, then (u8 type, u16 length, name)*; type 0 is host_name.
    pos = 2
    while pos + 3 <= len(data):
        kind = data[pos]
        n = int.from_bytes(data[pos + 1 : pos + 3], "big")
        name = data[pos + 3 : pos + 3 + n]
        if kind == 0:
            return name.decode("ascii", "backslashreplace")
        pos += 3 + n
    return None


def _alpn(data: bytes) -> list[str]:
    out = []
    pos = 2
    while pos < len(data):
        n = data[pos]
        out.append(data[pos + 1 : pos + 1 + n].decode("ascii", "backslashreplace"))
        pos += 1 + n
    return out


def ja3(version: int, ciphers: list[int], exts: list[int], groups: list[int], formats: list[int]) -> str:
    """Salesforce JA3: md5 of ``version,ciphers,extensions,groups,point_formats`` without GREASE."""

    def join(values: list[int]) -> str:
        return "-".join([str(v) for v in values if v not in GREASE])

    text = f"{version},{join(ciphers)},{join(exts)},{join(groups)},{join(formats)}"
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class TlsAnalyser:
    """One TCP connection's client stream, read until its ClientHello is complete."""

    service = "ssl"

    def __init__(self, limit: int = 16384) -> None:
        self.buf = bytearray()
        self.limit = limit
        self.ts: float | None = None
        self.recognised = False
        self.done = False
        self.malformed = False

    def wants(self, from_client: bool) -> bool:
        return from_client and not self.done

    def on_data(self, from_client: bool, data: bytes, ts: float) -> list[dict[str, object]]:
        if not from_client or self.done:
            return []
        if self.ts is None:
            self.ts = ts
        self.buf += data
        if len(self.buf) < 9:
            return []
        needed = record_payload_needed(bytes(self.buf[:9]))
        if not needed:
            self.done = True  # not TLS (or not from its start)
            return []
        if len(self.buf) < min(needed, self.limit):
            return []
        self.done = True
        hello = parse_client_hello(handshake_from_records(bytes(self.buf)))
        self.buf = bytearray()
        if hello is None:
            self.malformed = True
            return []
        self.recognised = True
        return [hello_record(self.ts, hello)]

    def finish(self) -> list[dict[str, object]]:
        return []


def hello_record(ts: float | None, hello: dict[str, object], **extra: object) -> dict[str, object]:
    """The ``tls`` record of a parsed ClientHello (over TCP, or QUIC with ``quic=True``)."""
    rec: dict[str, object] = {"_path": "tls", "ts": ts}
    rec.update(hello)
    rec.update(extra)
    return rec
