"""Frames for the synthetic capture: Ethernet/IPv4 with TCP sessions (handshake, data, FIN), UDP
datagrams and DNS messages, written to a classic pcap.

One traffic generator: the wire-format primitives (checksum, DNS names, TXT data) are
``tools/gen_mixed.py``'s, and everything is packed with ``struct`` as it does. ``wardwatch synth`` is part
of the main job (the demo runs it), so it must not need a test tool such as scapy, which is also ~20x
slower.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from wardwatch.tools.gen_mixed import dns_name, inet_checksum, txt_rdata

Frame = tuple[float, bytes]


def _mac(ip: str) -> bytes:
    return b"\x02\x00" + ipaddress.IPv4Address(ip).packed


def ipv4_frame(src: str, dst: str, proto: int, l4: bytes, ident: int = 0) -> bytes:
    s = ipaddress.IPv4Address(src).packed
    d = ipaddress.IPv4Address(dst).packed
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident & 0xFFFF, 0x4000, 64, proto, 0, s, d)
    hdr = hdr[:10] + struct.pack("!H", inet_checksum(hdr)) + hdr[12:]
    return _mac(dst) + _mac(src) + b"\x08\x00" + hdr + l4


def _l4inet_checksum(src: str, dst: str, proto: int, seg: bytes) -> int:
    pseudo = (
        ipaddress.IPv4Address(src).packed
        + ipaddress.IPv4Address(dst).packed
        + struct.pack("!BBH", 0, proto, len(seg))
    )
    return inet_checksum(pseudo + seg)


def tcp_segment(
    src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int, data: bytes = b""
) -> bytes:
    seg = (
        struct.pack(
            "!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 64240, 0, 0
        )
        + data
    )
    c = _l4inet_checksum(src, dst, 6, seg)
    return ipv4_frame(src, dst, 6, seg[:16] + struct.pack("!H", c) + seg[18:])


def udp_datagram(src: str, dst: str, sport: int, dport: int, data: bytes) -> bytes:
    seg = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = _l4inet_checksum(src, dst, 17, seg) or 0xFFFF
    return ipv4_frame(src, dst, 17, seg[:6] + struct.pack("!H", c) + seg[8:])


DNS_TYPES = {"A": 1, "NS": 2, "CNAME": 5, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}


def _rdata(rtype: int, value: str) -> bytes:
    if rtype == 1:
        return ipaddress.IPv4Address(value).packed
    if rtype == 28:
        return ipaddress.IPv6Address(value).packed
    if rtype == 16:
        return txt_rdata(value)
    return dns_name(value)


def dns_message(
    name: str,
    qtype: str = "A",
    answers: Iterable[tuple[str, str, str, int]] = (),
    response: bool = False,
    rcode: int = 0,
    txid: int = 0,
) -> bytes:
    """A DNS query (recursion desired) or its response (recursion available); ``answers`` are
    (owner, type, value, ttl) with the value as text: an address, a name or the TXT string."""
    rrs = [
        dns_name(owner)
        + struct.pack("!HHI", DNS_TYPES[rtype], 1, ttl)
        + _with_len(_rdata(DNS_TYPES[rtype], value))
        for owner, rtype, value, ttl in answers
    ]
    flags = (0x8180 | (rcode & 0xF)) if response else 0x0100
    return (
        struct.pack("!HHHHHH", txid & 0xFFFF, flags, 1, len(rrs), 0, 0)
        + dns_name(name)
        + struct.pack("!HH", DNS_TYPES[qtype], 1)
        + b"".join(rrs)
    )


def _with_len(rdata: bytes) -> bytes:
    return struct.pack("!H", len(rdata)) + rdata


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


@dataclass
class TcpSession:
    """One TCP connection; ``exchange`` appends client and server data in order."""

    client: str
    server: str
    sport: int
    dport: int
    ts: float
    frames: list[Frame] = field(default_factory=list)
    cseq: int = 1000
    sseq: int = 5000

    def _add(self, from_client: bool, flags: int, data: bytes = b"") -> None:
        self.ts += 0.0004
        if from_client:
            f = tcp_segment(
                self.client, self.server, self.sport, self.dport, self.cseq, self.sseq, flags, data
            )
            self.cseq += len(data) + (1 if flags & (SYN | FIN) else 0)
        else:
            f = tcp_segment(
                self.server, self.client, self.dport, self.sport, self.sseq, self.cseq, flags, data
            )
            self.sseq += len(data) + (1 if flags & (SYN | FIN) else 0)
        self.frames.append((round(self.ts, 6), f))

    def open(self, answered: bool = True) -> TcpSession:
        self._add(True, SYN)
        if answered:
            self._add(False, SYN | ACK)
            self._add(True, ACK)
        return self

    def send(self, from_client: bool, data: bytes) -> TcpSession:
        for i in range(0, len(data), 1400):
            self._add(from_client, PSH | ACK, data[i : i + 1400])
        return self

    def close(self) -> TcpSession:
        self._add(True, FIN | ACK)
        self._add(False, FIN | ACK)
        self._add(True, ACK)
        return self


def tcp_exchange(
    client: str,
    server: str,
    sport: int,
    dport: int,
    ts: float,
    turns: Iterable[tuple[bool, bytes]] = (),
    answered: bool = True,
) -> list[Frame]:
    s = TcpSession(client, server, sport, dport, ts).open(answered)
    if not answered:
        return s.frames
    for from_client, data in turns:
        s.send(from_client, data)
    return s.close().frames


def client_hello(sni: str, rnd: bytes) -> bytes:
    """A minimal TLS 1.2 ClientHello record carrying ``sni`` (packed by hand: scapy's TLS layer is slow)."""
    name = sni.encode()
    sni_ext = struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    groups = struct.pack("!HHH", 10, 4, 2) + b"\x00\x1d"
    exts = sni_ext + groups
    body = b"\x03\x03" + rnd[:32].ljust(32, b"\0") + b"\x00" + b"\x00\x04\x13\x01\xc0\x2f" + b"\x01\x00"
    body += struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def server_hello_stub(rnd: bytes) -> bytes:
    body = b"\x03\x03" + rnd[:32].ljust(32, b"\0") + b"\x00" + b"\x13\x01" + b"\x00" + b"\x00\x00"
    hs = b"\x02" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x03" + struct.pack("!H", len(hs)) + hs


def write_pcap(path: Path, frames: Iterable[Frame], duplicate: bool = False) -> int:
    """Classic pcap, Ethernet, microsecond stamps. ``duplicate`` writes every frame twice (a SPAN port's
    habit), the copy one microsecond later."""
    n = 0
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, data in frames:
            copies = (ts, ts + 1e-6) if duplicate else (ts,)
            for t in copies:
                sec = int(t)
                usec = int(round((t - sec) * 1e6))
                if usec >= 1_000_000:
                    sec, usec = sec + 1, usec - 1_000_000
                f.write(struct.pack("<IIII", sec, usec, len(data), len(data)))
                f.write(data)
                n += 1
    return n
