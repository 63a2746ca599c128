"""PacketBatch: decoded IP packets as columns (the decoder's output, every later stage's input).

One row per innermost IP packet: tunnels are removed (the row describes the inner packet, as Zeek
records it) and fragmented datagrams appear once, reassembled, at the time of their last fragment.
Frames that carry no IP (ARP, LLDP, STP…) produce no row and are counted instead.

A UDP tunnel (VXLAN, Geneve, Teredo) also gives a row for its encapsulating UDP packet, just before
the rows of the same frame it carries, so that the flow meter logs the outer connection as Zeek
does; ``encap`` marks such a row with the tunnel's kind. It is the same packet as the frame's
innermost row (the frame is counted once, in ``packets.read``), so whatever counts packets counts
frames or rows whose ``encap`` is 0. Its inner packet may have given no row (ARP inside, malformed).

Addresses are two uint64 halves of the 128-bit IPv6 address; IPv4 is stored IPv4-mapped
(``::ffff:a.b.c.d``) so that one comparison works for both families.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, fields

import numpy as np

V4_MAPPED_HI = 0
V4_MAPPED_LO_PREFIX = 0x0000FFFF00000000

# Tunnel kinds in PacketBatch.tunnel (the outermost encapsulation removed to reach the row).
TUNNEL_NONE = 0
TUNNEL_GRE = 1
TUNNEL_ERSPAN = 2
TUNNEL_VXLAN = 3
TUNNEL_GENEVE = 4
TUNNEL_TEREDO = 5
TUNNEL_IPIP = 6  # IPv4/IPv6 in IPv4/IPv6 (protocols 4 and 41)
TUNNEL_NAMES = {
    TUNNEL_NONE: "",
    TUNNEL_GRE: "Tunnel::GRE",
    TUNNEL_ERSPAN: "Tunnel::GRE",
    TUNNEL_VXLAN: "Tunnel::VXLAN",
    TUNNEL_GENEVE: "Tunnel::GENEVE",
    TUNNEL_TEREDO: "Tunnel::TEREDO",
    TUNNEL_IPIP: "Tunnel::IP",
}

PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_ICMP6 = 58

# TCP flag bits in PacketBatch.tcp_flags
FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20


@dataclass(slots=True)
class PacketBatch:
    buf: bytes  # raw capture buffer, plus reassembled/decapsulated copies appended after it
    ts: np.ndarray  # float64 seconds
    source: np.ndarray  # int16, input file index of the frame this row came from
    frame: np.ndarray  # int64, 1-based frame number within that file (last fragment for reassembled)
    ip_version: np.ndarray  # uint8, 4 or 6 (of the innermost header)
    src_hi: np.ndarray  # uint64
    src_lo: np.ndarray  # uint64
    dst_hi: np.ndarray  # uint64
    dst_lo: np.ndarray  # uint64
    proto: np.ndarray  # uint8, IP protocol (6, 17, 1, 58, or any other)
    sport: np.ndarray  # uint16; ICMP: type
    dport: np.ndarray  # uint16; ICMP: code
    ip_len: np.ndarray  # int32, IP datagram length from its header (header + payload): Zeek's ip bytes
    payload_off: np.ndarray  # int64, start of the L4 payload (after the TCP/UDP/ICMP header) in buf
    payload_len: np.ndarray  # int32, L4 payload length according to the headers
    payload_cap: np.ndarray  # int32, how much of that payload is present in buf (<= payload_len)
    tcp_flags: np.ndarray  # uint8 (0 for non-TCP)
    tcp_seq: np.ndarray  # uint32
    tcp_ack: np.ndarray  # uint32
    tcp_win: np.ndarray  # uint16
    vlan: np.ndarray  # int32, outermost 802.1Q VLAN id, -1 when untagged
    tunnel: np.ndarray  # uint8, TUNNEL_* of the outermost encapsulation removed
    encap: np.ndarray  # uint8, TUNNEL_VXLAN/GENEVE/TEREDO: this UDP packet carries that tunnel; else 0

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def payload(self, i: int) -> bytes:
        """Captured L4 payload of row i."""
        start = int(self.payload_off[i])
        return self.buf[start : start + int(self.payload_cap[i])]

    def take(self, index: np.ndarray) -> PacketBatch:
        """Rows selected by an index or mask array, sharing the buffer."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return PacketBatch(**{k: (v if k == "buf" else v[index]) for k, v in values.items()})

    @classmethod
    def empty(cls) -> PacketBatch:
        return cls.from_rows([])

    @classmethod
    def from_rows(cls, rows: list[dict]) -> PacketBatch:
        """Build a batch from simple per-packet dicts; for tests and synthetic input.

        Keys: ts, src, dst (address strings), proto, sport, dport, payload (bytes), and optionally
        flags (int), seq, ack, win, vlan, tunnel, encap, ip_len, payload_len, source, frame.
        """
        n = len(rows)
        payloads = [r.get("payload", b"") for r in rows]
        offs = np.zeros(n, dtype=np.int64)
        if n:
            offs[1:] = np.cumsum([len(p) for p in payloads[:-1]], dtype=np.int64)
        src = [split_ip(r["src"]) for r in rows]
        dst = [split_ip(r["dst"]) for r in rows]

        def col(key: str, dtype: type, default: int | float = 0) -> np.ndarray:
            return np.array([r.get(key, default) for r in rows], dtype=dtype)

        plen = np.array(
            [r.get("payload_len", len(p)) for r, p in zip(rows, payloads, strict=True)], dtype=np.int32
        )
        version = np.array([4 if ":" not in r["src"] else 6 for r in rows], dtype=np.uint8)
        header = np.where(version == 4, 20, 40) + np.array(
            [20 if r["proto"] == PROTO_TCP else 8 for r in rows], dtype=np.int32
        )
        return cls(
            buf=b"".join(payloads),
            ts=col("ts", np.float64),
            source=col("source", np.int16),
            frame=np.array([r.get("frame", i + 1) for i, r in enumerate(rows)], dtype=np.int64),
            ip_version=version,
            src_hi=np.array([s[0] for s in src], dtype=np.uint64),
            src_lo=np.array([s[1] for s in src], dtype=np.uint64),
            dst_hi=np.array([d[0] for d in dst], dtype=np.uint64),
            dst_lo=np.array([d[1] for d in dst], dtype=np.uint64),
            proto=col("proto", np.uint8),
            sport=col("sport", np.uint16),
            dport=col("dport", np.uint16),
            ip_len=np.array(
                [r.get("ip_len", int(h) + int(p)) for r, h, p in zip(rows, header, plen, strict=True)],
                dtype=np.int32,
            ),
            payload_off=offs,
            payload_len=plen,
            payload_cap=np.array([len(p) for p in payloads], dtype=np.int32),
            tcp_flags=col("flags", np.uint8),
            tcp_seq=col("seq", np.uint32),
            tcp_ack=col("ack", np.uint32),
            tcp_win=col("win", np.uint16, 65535),
            vlan=col("vlan", np.int32, -1),
            tunnel=col("tunnel", np.uint8),
            encap=col("encap", np.uint8),
        )


def concat(batches: list[PacketBatch]) -> PacketBatch:
    """Concatenate batches (offsets are rebased onto the joined buffer)."""
    if not batches:
        return PacketBatch.empty()
    if len(batches) == 1:
        return batches[0]
    base = 0
    offs = []
    for b in batches:
        offs.append(b.payload_off + base)
        base += len(b.buf)
    values: dict[str, object] = {"buf": b"".join(b.buf for b in batches)}
    for f in fields(PacketBatch):
        if f.name == "buf":
            continue
        if f.name == "payload_off":
            values[f.name] = np.concatenate(offs)
        else:
            values[f.name] = np.concatenate([getattr(b, f.name) for b in batches])
    return PacketBatch(**values)  # type: ignore[arg-type]


def split_ip(text: str) -> tuple[int, int]:
    """Address string to (hi, lo) uint64 halves, IPv4 mapped into IPv6."""
    addr = ipaddress.ip_address(text)
    value = int(addr) | (0xFFFF << 32) if addr.version == 4 else int(addr)
    return value >> 64, value & 0xFFFFFFFFFFFFFFFF


def join_ip(hi: int, lo: int) -> str:
    """(hi, lo) halves to the address string Zeek prints (IPv4 dotted quad for mapped addresses)."""
    hi, lo = int(hi), int(lo)
    if hi == 0 and (lo >> 32) == 0xFFFF:
        v = lo & 0xFFFFFFFF
        return f"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}"
    return str(ipaddress.IPv6Address((hi << 64) | lo))
