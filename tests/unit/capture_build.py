"""Hand-built pcap and pcapng bytes for the capture reader tests."""

from __future__ import annotations

import struct


def pcap(
    records: list[tuple[int, int, bytes]],
    order: str = "<",
    nano: bool = False,
    linktype: int = 1,
    wirelen_extra: int = 0,
) -> bytes:
    """Classic pcap: records are (seconds, fraction in µs or ns, frame bytes)."""
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)]
    for sec, frac, data in records:
        out.append(struct.pack(order + "IIII", sec, frac, len(data), len(data) + wirelen_extra))
        out.append(data)
    return b"".join(out)


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def block(order: str, btype: int, body: bytes) -> bytes:
    body = _pad(body)
    n = len(body) + 12
    return struct.pack(order + "II", btype, n) + body + struct.pack(order + "I", n)


def option(order: str, code: int, value: bytes) -> bytes:
    return struct.pack(order + "HH", code, len(value)) + _pad(value)


def shb(order: str = "<") -> bytes:
    return block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(order: str, linktype: int, snaplen: int = 0, tsresol: int | None = None, tsoffset: int = 0) -> bytes:
    opts = b""
    if tsresol is not None:
        opts += option(order, 9, bytes([tsresol]))
    if tsoffset:
        opts += option(order, 14, struct.pack(order + "q", tsoffset))
    if opts:
        opts += option(order, 0, b"")
    return block(order, 1, struct.pack(order + "HHI", linktype, 0, snaplen) + opts)


def epb(order: str, iface: int, units: int, data: bytes, wirelen: int | None = None) -> bytes:
    head = struct.pack(
        order + "IIIII", iface, units >> 32, units & 0xFFFFFFFF, len(data), wirelen or len(data)
    )
    return block(order, 6, head + data)


def opb(order: str, iface: int, units: int, data: bytes) -> bytes:
    head = struct.pack(order + "HHIIII", iface, 0, units >> 32, units & 0xFFFFFFFF, len(data), len(data))
    return block(order, 2, head + data)


def spb(order: str, data: bytes, wirelen: int | None = None) -> bytes:
    return block(order, 3, struct.pack(order + "I", wirelen or len(data)) + data)


def frame(i: int, size: int = 60) -> bytes:
    """Distinct frame bytes so a test can tell frames apart."""
    return (struct.pack(">I", i) * (size // 4 + 1))[:size]
