#!/usr/bin/env python3
"""Deterministic generator of a mixed hospital-LAN capture (classic pcap) plus a JSON sidecar.

    python tools/gen_mixed.py --packets 300000 --seed 7 --out /tmp/mixed.pcap

The traffic looks like a hospital network on a weekday morning: mostly TCP (HTTPS downloads with
TLS ClientHellos and SNI, plain HTTP with Host/User-Agent, HL7 over MLLP, DICOM, SMB2 file reads),
DNS over UDP (A/AAAA/CNAME/PTR/TXT, NXDOMAIN, a few unanswered) and TCP, NTP, ICMP echo, some
IPv6, 802.1Q tags, GRE and VXLAN tunnels, a port scan and a ping sweep, and ARP. Every TCP
connection has a proper handshake, consistent sequence numbers and a FIN or RST teardown.

Frames are packed with ``struct`` rather than scapy, which builds ~8k packets/s; 300k packets
take a few seconds here. Checksums are left at zero (tshark does not verify them by default).

The sidecar (``OUT.json``) counts what was generated so tests can check the sensor against it.
Connections are counted as Zeek counts them on the *innermost* packets: one per TCP/UDP 5-tuple
and one per ICMP (src, dst) pair; every generated connection has a unique key, so the count does
not depend on timeouts. DNS transactions are query/response pairs (and unanswered queries).
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import random
import struct
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

BASE_TS_US = 1_710_205_200_000_000  # 2024-03-12 08:00:00 +07:00, a Tuesday morning shift change
MASK32 = 0xFFFFFFFF

ETH = struct.Struct("!6s6sH")
VLAN = struct.Struct("!HH")
IPV4 = struct.Struct("!BBHHHBBH4s4s")
IPV6 = struct.Struct("!IHBB16s16s")
TCP = struct.Struct("!HHIIBBHHH")
UDP = struct.Struct("!HHHH")
ICMP_ECHO = struct.Struct("!BBHHH")
DNS_HDR = struct.Struct("!HHHHHH")
REC_HDR = struct.Struct("<IIII")

Record = tuple[str, int, int, bytes]  # owner, type, TTL, rdata
Question = tuple[
    str, int, list[Record], int, list[Record]
]  # name, type, answers, rcode (-1: none), authority

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
SYN_OPTS = b"\x02\x04\x05\xb4\x01\x03\x03\x08\x01\x01\x04\x02"  # MSS 1460, NOP, WS 8, NOP, NOP, SACK-perm

# --------------------------------------------------------------------------------------------- names
INTERNAL_DOMAIN = "bvdk.internal"
SERVERS = {  # internal servers: name -> (IPv4, port of its main service)
    "dc01": ("10.20.1.10", 53),
    "his": ("10.20.1.20", 443),
    "emr": ("10.20.1.21", 443),
    "lis": ("10.20.1.22", 80),
    "pacs": ("10.20.1.30", 104),
    "hl7-engine": ("10.20.1.40", 2575),
    "fs01": ("10.20.1.50", 445),
    "ntp": ("10.20.1.123", 123),
    "wsus": ("10.20.1.60", 80),
    "printsrv": ("10.20.1.70", 445),
}
RESOLVER4 = "10.20.1.10"
RESOLVER6 = "fd00:20:0:1::10"
PUBLIC_RESOLVERS = ["8.8.8.8", "1.1.1.1", "203.113.131.1"]
EXTERNAL = [  # (name, provider prefix for its addresses)
    ("www.google.com", "142.250.0.0/16"),
    ("fonts.googleapis.com", "142.250.0.0/16"),
    ("update.googleapis.com", "142.251.0.0/16"),
    ("www.youtube.com", "142.250.0.0/16"),
    ("login.microsoftonline.com", "20.190.128.0/18"),
    ("outlook.office365.com", "52.96.0.0/14"),
    ("settings-win.data.microsoft.com", "20.42.0.0/15"),
    ("ctldl.windowsupdate.com", "13.107.4.0/24"),
    ("ocsp.digicert.com", "192.229.211.0/24"),
    ("api.github.com", "140.82.112.0/20"),
    ("cdn.jsdelivr.net", "104.16.0.0/13"),
    ("vnexpress.net", "111.65.248.0/22"),
    ("tuoitre.vn", "118.69.0.0/16"),
    ("zalo.me", "49.213.64.0/18"),
    ("chat.zalo.me", "49.213.64.0/18"),
    ("moh.gov.vn", "203.162.0.0/16"),
    ("kcb.vn", "203.162.0.0/16"),
    ("baohiemxahoi.gov.vn", "14.225.0.0/16"),
    ("gdbhyt.baohiemxahoi.gov.vn", "14.225.0.0/16"),
    ("dichvucong.gov.vn", "14.225.0.0/16"),
    ("vncdc.gov.vn", "203.162.0.0/16"),
    ("s3.ap-southeast-1.amazonaws.com", "52.219.0.0/16"),
    ("graph.facebook.com", "157.240.0.0/16"),
    ("teams.microsoft.com", "52.112.0.0/14"),
]
CNAMES = {  # name -> chain of canonical names before the addresses
    "www.youtube.com": ["youtube-ui.l.google.com"],
    "outlook.office365.com": ["outlook.ha.office365.com", "outlook.ms-acdc.office.com"],
    "ctldl.windowsupdate.com": [
        "ctldl.windowsupdate.com.delivery.microsoft.com",
        "wu-f-net.trafficmanager.net",
    ],
    "ocsp.digicert.com": ["ocsp.edge.digicert.com", "fp2e7a.wpc.phicdn.net"],
    "teams.microsoft.com": ["teams.office.com", "s-0005.s-msedge.net"],
    "s3.ap-southeast-1.amazonaws.com": ["s3-r-w.ap-southeast-1.amazonaws.com"],
}
V6_NAMES = {
    "www.google.com": "2404:6800:4005::/48",
    "www.youtube.com": "2404:6800:4005::/48",
    "graph.facebook.com": "2a03:2880:f000::/36",
    "cdn.jsdelivr.net": "2606:4700::/32",
}
TXT_NAMES = {
    "moh.gov.vn": "v=spf1 ip4:203.162.0.0/16 include:_spf.google.com ~all",
    "_dmarc.baohiemxahoi.gov.vn": "v=DMARC1; p=quarantine; rua=mailto:dmarc@baohiemxahoi.gov.vn",
    "google.com": "v=spf1 include:_spf.google.com ~all",
    "bvdk.internal": "MS=ms48291736",
}
NX_NAMES = [
    "wpad." + INTERNAL_DOMAIN,
    "isatap." + INTERNAL_DOMAIN,
    "pacs-old." + INTERNAL_DOMAIN,
    "vnexpres.net",
    "gooogle.com",
    "printer-k7." + INTERNAL_DOMAIN,
    "_ldap._tcp.dc02." + INTERNAL_DOMAIN,
    "update.his-vendor.vn",
    "x8kq2vd7pl.info",
    "qzmtrwpl3n.biz",
]
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Microsoft-Delivery-Optimization/10.0",
    "Windows-Update-Agent/10.0.10011.16384 Client-Protocol/2.50",
    "Java/1.8.0_301",
    "curl/7.68.0",
    "InfusionPumpAgent/2.3 (B.Braun SpaceCom)",
]
HTTP_PATHS = [
    "/",
    "/index.html",
    "/api/v1/patients?ward=K3",
    "/lis/results/2024031200417",
    "/static/app.js",
    "/images/logo.png",
    "/selfupdate/wuident.cab",
    "/msdownload/update/v3/static/trustedr/en/authrootstl.cab",
    "/ocsp/MFEwTzBNMEswSTAJBgUrDgMCGgUABBQ",
    "/reports/daily.pdf",
]


def _h(*parts: object) -> int:
    """Stable hash (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.blake2b(repr(parts).encode(), digest_size=8).digest(), "big")


def addr_in(prefix: str, key: object) -> str:
    net = ipaddress.ip_network(prefix)
    span = net.num_addresses - 2 if net.version == 4 else min(net.num_addresses - 2, 1 << 48)
    return str(net.network_address + 1 + _h(prefix, key) % span)


def dns_name(name: str) -> bytes:
    """A name in wire format, uncompressed (the root is the empty name)."""
    labels = [label.encode() for label in name.rstrip(".").split(".") if label]
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"


def ptr_name(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer


# ------------------------------------------------------------------------------------------ builders
def ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, ident: int = 0, ttl: int = 64) -> bytes:
    return IPV4.pack(0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, ttl, proto, 0, src, dst) + payload


def ipv6(src: bytes, dst: bytes, nh: int, payload: bytes, hlim: int = 64) -> bytes:
    return IPV6.pack(0x60000000, len(payload), nh, hlim, src, dst) + payload


def inet_checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071); a computed 0 is sent as 0xFFFF, its other form, which UDP
    needs (0 there means "no checksum") and every other protocol accepts."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF or 0xFFFF


def udp6_checksum(src: bytes, dst: bytes, segment: bytes) -> bytes:
    """UDP over IPv6 must carry a checksum (zero is illegal there, unlike IPv4)."""
    csum = inet_checksum(src + dst + struct.pack("!II", len(segment), 17) + segment)
    return segment[:6] + struct.pack("!H", csum) + segment[8:]


def tcp(
    sport: int,
    dport: int,
    seq: int,
    ack: int,
    flags: int,
    payload: bytes = b"",
    opts: bytes = b"",
    win: int = 502,
) -> bytes:
    return (
        TCP.pack(sport, dport, seq & MASK32, ack & MASK32, (20 + len(opts)) << 2, flags, win, 0, 0)
        + opts
        + payload
    )


def udp(sport: int, dport: int, payload: bytes) -> bytes:
    return UDP.pack(sport, dport, 8 + len(payload), 0) + payload


def dns_query(txid: int, name: str, qtype: int) -> bytes:
    return DNS_HDR.pack(txid, 0x0100, 1, 0, 0, 0) + dns_name(name) + struct.pack("!HH", qtype, 1)


def dns_response(
    txid: int,
    name: str,
    qtype: int,
    answers: list[Record],
    rcode: int = 0,
    authority: list[Record] | None = None,
) -> bytes:
    """Answers are (owner, type, ttl, rdata); owners equal to the query name use a pointer to it."""
    authority = authority or []
    qname = dns_name(name)
    out = [
        DNS_HDR.pack(txid, 0x8180 | rcode, 1, len(answers), len(authority), 0),
        qname,
        struct.pack("!HH", qtype, 1),
    ]
    for owner, rtype, ttl, rdata in answers + authority:
        out.append(b"\xc0\x0c" if owner == name else dns_name(owner))
        out.append(struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata)
    return b"".join(out)


def txt_rdata(text: str) -> bytes:
    """TXT character-strings of at most 255 bytes each; an empty text is one empty string."""
    raw = text.encode()
    return b"".join(bytes([len(raw[i : i + 255])]) + raw[i : i + 255] for i in range(0, len(raw), 255)) or b"\x00"


def soa_rdata(zone: str) -> bytes:
    return (
        dns_name("ns1." + zone)
        + dns_name("hostmaster." + zone)
        + struct.pack("!IIIII", 2024031201, 3600, 900, 604800, 300)
    )


def tls_client_hello(rnd: random.Random, sni: str, tls13: bool) -> bytes:
    def ext(kind: int, body: bytes) -> bytes:
        return struct.pack("!HH", kind, len(body)) + body

    host = sni.encode()
    sni_list = struct.pack("!BH", 0, len(host)) + host
    alpn = b"".join(bytes([len(p)]) + p for p in (b"h2", b"http/1.1"))
    exts = [
        ext(0, struct.pack("!H", len(sni_list)) + sni_list),
        ext(10, b"\x00\x06\x00\x1d\x00\x17\x00\x18"),
        ext(11, b"\x01\x00"),
        ext(13, b"\x00\x08\x04\x03\x08\x04\x04\x01\x05\x01"),
        ext(16, struct.pack("!H", len(alpn)) + alpn),
    ]
    if tls13:
        exts.append(ext(43, b"\x04\x03\x04\x03\x03"))
        exts.append(ext(51, struct.pack("!HHH", 36, 0x1D, 32) + rnd.randbytes(32)))
    suites = b"\x13\x01\x13\x02\xc0\x2b\xc0\x2f\xc0\x2c\xc0\x30\xcc\xa9\xcc\xa8\x00\x9c\x00\x9d"
    ext_bytes = b"".join(exts)
    body = (
        b"\x03\x03"
        + rnd.randbytes(32)
        + b"\x20"
        + rnd.randbytes(32)
        + struct.pack("!H", len(suites))
        + suites
        + b"\x01\x00"
        + struct.pack("!H", len(ext_bytes))
        + ext_bytes
    )
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def tls_server_hello(rnd: random.Random, tls13: bool) -> bytes:
    exts = b""
    if tls13:
        exts = struct.pack("!HHH", 43, 2, 0x0304) + struct.pack("!HHHH", 51, 36, 0x1D, 32) + rnd.randbytes(32)
    body = (
        b"\x03\x03"
        + rnd.randbytes(32)
        + b"\x20"
        + rnd.randbytes(32)
        + (b"\x13\x01" if tls13 else b"\xc0\x2f")
        + b"\x00"
        + struct.pack("!H", len(exts))
        + exts
    )
    hs = b"\x02" + len(body).to_bytes(3, "big") + body
    out = b"\x16\x03\x03" + struct.pack("!H", len(hs)) + hs
    if tls13:
        out += b"\x14\x03\x03\x00\x01\x01"  # ChangeCipherSpec (middlebox compatibility)
    return out


def tls_records(pool: bytes, rnd: random.Random, size: int) -> bytes:
    """Application-data records of about ``size`` bytes in total, each at most 16 KiB + overhead."""
    out = []
    while size > 5:
        n = min(size - 5, 16401)
        off = rnd.randrange(len(pool) - n)
        out.append(b"\x17\x03\x03" + struct.pack("!H", n) + pool[off : off + n])
        size -= n + 5
    return b"".join(out)


# ------------------------------------------------------------------------------------------ capture
class Capture:
    """Frames with integer microsecond timestamps, sorted into capture order at the end."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.pool = np.random.default_rng(seed).bytes(1 << 20)  # payload bytes are slices of this pool
        self.ts: list[int] = []
        self.frames: list[bytes] = []
        self.kinds: Counter[str] = Counter()
        self.stats: Counter[str] = Counter()
        self.used: set[tuple] = set()  # connection keys handed out, so that none is reused
        self.ident = 0
        self.vxlan_ts: dict[tuple, list[int]] = {}  # outer UDP 5-tuple of VXLAN packets → their times

    def emit(self, t: int, frame: bytes, kind: str) -> None:
        self.ts.append(t)
        self.frames.append(frame)
        self.kinds[kind] += 1

    def payload(self, n: int) -> bytes:
        off = self.rnd.randrange(len(self.pool) - n)
        return self.pool[off : off + n]

    def fresh_port(self, proto: str, client: str, server: str, dport: int, low: int = 49152) -> int:
        while True:
            port = self.rnd.randrange(low, 65535)
            key = (proto, client, port, server, dport)
            if key not in self.used:
                self.used.add(key)
                return port

    def write(self, path: Path) -> None:
        order = np.argsort(np.asarray(self.ts, dtype=np.int64), kind="stable")
        ts = np.asarray(self.ts, dtype=np.int64)[order]
        parts = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
        for i, t in zip(order.tolist(), ts.tolist(), strict=True):
            frame = self.frames[i]
            parts.append(REC_HDR.pack(t // 1_000_000, t % 1_000_000, len(frame), len(frame)))
            parts.append(frame)
        path.write_bytes(b"".join(parts))


def mac_of(ip: str) -> bytes:
    return b"\x02\x1a" + _h("mac", ip).to_bytes(8, "big")[:4]


GATEWAY_MAC = bytes.fromhex("00005e000101")


class Link:
    """How a session's IP packets are framed: plain Ethernet, 802.1Q, or inside GRE/VXLAN."""

    def __init__(self, cap: Capture, client: str, server: str, vlan: int = -1, tunnel: str = "") -> None:
        self.cap = cap
        self.v6 = ":" in client
        self.client, self.server = client, server
        self.c_ip = ipaddress.ip_address(client).packed
        self.s_ip = ipaddress.ip_address(server).packed
        self.tunnel = tunnel
        ethertype = 0x86DD if self.v6 else 0x0800
        internal = server.startswith(("10.", "fd00:"))
        c_mac, s_mac = mac_of(client), (mac_of(server) if internal else GATEWAY_MAC)
        if tunnel:  # the tunnel endpoints are two site routers; the session rides between them
            self.outer = (
                ipaddress.ip_address("10.255.0.1").packed,
                ipaddress.ip_address("10.255.1.1").packed,
            )
            self.inner_eth = (ETH.pack(s_mac, c_mac, ethertype), ETH.pack(c_mac, s_mac, ethertype))
            c_mac, s_mac, ethertype = bytes.fromhex("021a0aff0001"), bytes.fromhex("021a0aff0101"), 0x0800
            self.vx_port = 49152 + _h("vxlan", client, server) % 16000
        if vlan >= 0:
            tag = lambda et: b"\x81\x00" + struct.pack("!HH", vlan, et)  # noqa: E731
            self.eth = (s_mac + c_mac + tag(ethertype), c_mac + s_mac + tag(ethertype))
        else:
            self.eth = (ETH.pack(s_mac, c_mac, ethertype), ETH.pack(c_mac, s_mac, ethertype))
        self.kind = "ipv6" if self.v6 else "ipv4"
        self.count_as = ("vlan_" if vlan >= 0 else "") + (tunnel + "_" if tunnel else "")

    def send(self, t: int, from_client: bool, proto: int, l4: bytes, kind: str) -> None:
        cap = self.cap
        cap.ident += 1
        src, dst = (self.c_ip, self.s_ip) if from_client else (self.s_ip, self.c_ip)
        ttl = 128 if from_client else 60
        if self.v6 and proto == 17:
            l4 = udp6_checksum(src, dst, l4)
        elif proto in (1, 58):  # tshark verifies ICMP checksums, and they are cheap on these few packets
            pseudo = src + dst + struct.pack("!II", len(l4), 58) if proto == 58 else b""
            l4 = l4[:2] + struct.pack("!H", inet_checksum(pseudo + l4[:2] + b"\x00\x00" + l4[4:])) + l4[4:]
        ip = ipv6(src, dst, proto, l4, ttl) if self.v6 else ipv4(src, dst, proto, l4, cap.ident, ttl)
        d = 0 if from_client else 1
        if self.tunnel == "gre":
            inner = struct.pack("!HH", 0, 0x86DD if self.v6 else 0x0800) + ip
            o_src, o_dst = self.outer if from_client else self.outer[::-1]
            ip = ipv4(o_src, o_dst, 47, inner, cap.ident, 254)
        elif self.tunnel == "vxlan":
            inner = b"\x08\x00\x00\x00" + (5010).to_bytes(3, "big") + b"\x00" + self.inner_eth[d] + ip
            o_src, o_dst = self.outer if from_client else self.outer[::-1]
            ip = ipv4(o_src, o_dst, 17, udp(self.vx_port, 4789, inner), cap.ident, 254)
            cap.vxlan_ts.setdefault((o_src, o_dst, self.vx_port), []).append(t)
        cap.emit(t, self.eth[d] + ip, kind)
        cap.stats["packets." + self.kind] += 1
        if self.count_as:
            cap.stats["packets." + self.count_as.rstrip("_")] += 1


class TcpSession:
    """One TCP connection with consistent sequence numbers and delayed ACKs."""

    MSS = 1448

    def __init__(
        self, cap: Capture, t: int, link: Link, cport: int, sport: int, rtt_us: int, kind: str
    ) -> None:
        self.cap, self.t, self.link, self.kind = cap, t, link, kind
        self.cport, self.sport, self.rtt = cport, sport, rtt_us
        self.seq = [cap.rnd.getrandbits(32), cap.rnd.getrandbits(32)]  # next seq: client, server
        cap.stats["conn.tcp"] += 1

    def _pkt(self, from_client: bool, flags: int, payload: bytes = b"", opts: bytes = b"") -> None:
        d = 0 if from_client else 1
        ports = (self.cport, self.sport) if from_client else (self.sport, self.cport)
        ack = self.seq[1 - d] if flags & ACK else 0
        self.link.send(self.t, from_client, 6, tcp(*ports, self.seq[d], ack, flags, payload, opts), self.kind)
        self.seq[d] += len(payload) + (1 if flags & (SYN | FIN) else 0)

    def tick(self, us: int) -> None:
        self.t += max(1, us)

    def handshake(self) -> None:
        self._pkt(True, SYN, opts=SYN_OPTS)
        self.tick(self.rtt // 2)
        self._pkt(False, SYN | ACK, opts=SYN_OPTS)
        self.tick(self.rtt // 2)
        self._pkt(True, ACK)

    def send(self, from_client: bool, data: bytes) -> None:
        """Data in MSS segments, the receiver ACKing every second one and the last."""
        segs = [data[i : i + self.MSS] for i in range(0, len(data), self.MSS)]
        for i, seg in enumerate(segs):
            self.tick(self.cap.rnd.randrange(20, 400))
            last = i == len(segs) - 1
            self._pkt(from_client, ACK | (PSH if last else 0), seg)
            if i % 2 == 1 or last:
                self.tick(self.cap.rnd.randrange(10, 200))
                self._pkt(not from_client, ACK)
        self.tick(self.rtt // 2)

    def close(self, rst: bool = False, by_client: bool = True) -> None:
        self.tick(self.cap.rnd.randrange(1000, 50_000))
        if rst:
            self._pkt(by_client, RST | ACK)
            return
        self._pkt(by_client, FIN | ACK)
        self.tick(self.rtt // 2)
        self._pkt(not by_client, FIN | ACK)
        self.tick(self.rtt // 2)
        self._pkt(by_client, ACK)


# ------------------------------------------------------------------------------------------ sessions
class Mix:
    """Session generators; each adds its packets to the capture and its counts to ``cap.stats``."""

    def __init__(self, cap: Capture, span_us: int) -> None:
        self.cap, self.rnd, self.span = cap, cap.rnd, span_us
        self.icmp_pairs: set[tuple[str, str]] = set()
        self.budget = 0  # packets still to generate; bulk sessions shrink to fit
        self.ext_v4 = {name: addr_in(prefix, name) for name, prefix in EXTERNAL}
        self.ext_v6 = {name: addr_in(prefix, name) for name, prefix in V6_NAMES.items()}

    # --- hosts
    def workstation(self, v6: bool = False) -> str:
        n = self.rnd.randrange(1, 400)
        if v6:
            return f"fd00:20:0:{10 + n % 8:x}::{n:x}"
        return f"10.20.{10 + n % 8}.{1 + n // 8 * 5 % 250}"

    def device(self) -> str:
        return f"10.20.30.{self.rnd.randrange(2, 200)}"

    def start(self) -> int:
        return BASE_TS_US + self.rnd.randrange(self.span)

    def link(self, client: str, server: str, allow_tunnel: bool = True) -> Link:
        r = self.rnd.random()
        if allow_tunnel and r < 0.01 and ":" not in client:
            return Link(self.cap, client, server, tunnel="gre")
        if allow_tunnel and r < 0.02 and ":" not in client:
            return Link(self.cap, client, server, tunnel="vxlan")
        if r < 0.17:
            return Link(self.cap, client, server, vlan=self.rnd.choice([10, 20, 30, 110]))
        return Link(self.cap, client, server)

    def tcp_session(
        self, client: str, server: str, dport: int, kind: str, rtt: int, t: int | None = None
    ) -> TcpSession:
        cport = self.cap.fresh_port("tcp", client, server, dport)
        s = TcpSession(
            self.cap, self.start() if t is None else t, self.link(client, server), cport, dport, rtt, kind
        )
        s.handshake()
        return s

    # --- TCP applications
    def https(self) -> None:
        v6 = self.rnd.random() < 0.12
        if v6:
            name = self.rnd.choice(list(self.ext_v6))
            client, server, rtt = (
                self.workstation(True),
                self.ext_v6[name],
                self.rnd.randrange(20_000, 60_000),
            )
        elif self.rnd.random() < 0.3:
            name = self.rnd.choice(["his", "emr"])
            client, server, rtt = self.workstation(), SERVERS[name][0], self.rnd.randrange(200, 2_000)
            name += "." + INTERNAL_DOMAIN
        else:
            name = self.rnd.choice(list(self.ext_v4))
            client, server, rtt = self.workstation(), self.ext_v4[name], self.rnd.randrange(5_000, 80_000)
        s = self.tcp_session(client, server, 443, "https", rtt)
        tls13 = self.rnd.random() < 0.7
        s.send(True, tls_client_hello(self.rnd, name, tls13))
        self.cap.stats["tls.client_hello"] += 1
        s.send(
            False,
            tls_server_hello(self.rnd, tls13)
            + tls_records(self.cap.pool, self.rnd, self.rnd.randrange(2500, 4500)),
        )
        s.send(True, tls_records(self.cap.pool, self.rnd, 80))
        r = self.rnd.random()
        segs = (
            self.rnd.randrange(1, 12)
            if r < 0.7
            else self.rnd.randrange(12, 150)
            if r < 0.95
            else self.rnd.randrange(150, 1500)
        )
        segs = max(1, min(segs, (self.budget - 40) // 2))
        s.send(True, tls_records(self.cap.pool, self.rnd, self.rnd.randrange(200, 900)))
        s.send(
            False, tls_records(self.cap.pool, self.rnd, segs * TcpSession.MSS - self.rnd.randrange(0, 1000))
        )
        s.close(rst=self.rnd.random() < 0.1, by_client=self.rnd.random() < 0.8)

    def http(self) -> None:
        if self.rnd.random() < 0.5:
            host, server = self.rnd.choice(
                [
                    ("lis." + INTERNAL_DOMAIN, SERVERS["lis"][0]),
                    ("wsus." + INTERNAL_DOMAIN, SERVERS["wsus"][0]),
                ]
            )
            rtt = self.rnd.randrange(200, 2_000)
        else:
            host = self.rnd.choice(
                ["ctldl.windowsupdate.com", "ocsp.digicert.com", "vnexpress.net", "moh.gov.vn"]
            )
            server, rtt = self.ext_v4[host], self.rnd.randrange(5_000, 60_000)
        client = self.device() if self.rnd.random() < 0.2 else self.workstation()
        s = self.tcp_session(client, server, 80, "http", rtt)
        agent = self.rnd.choice(USER_AGENTS)
        for _ in range(self.rnd.choice([1, 1, 1, 2, 3])):
            path = self.rnd.choice(HTTP_PATHS)
            post = path.startswith("/api") and self.rnd.random() < 0.5
            body = b'{"ward":"K3","bed":12,"status":"ok"}' if post else b""
            req = (
                f"{'POST' if post else 'GET'} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {agent}\r\n"
                f"Accept: */*\r\nConnection: keep-alive\r\n"
                + (f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if post else "")
                + "\r\n"
            ).encode() + body
            s.send(True, req)
            self.cap.stats["http.requests"] += 1
            size = self.rnd.choice([0, 120, 900, 4000, 15000, 60000])
            status = "200 OK" if size or self.rnd.random() < 0.5 else "304 Not Modified"
            resp = (
                f"HTTP/1.1 {status}\r\nServer: nginx\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {size}\r\n\r\n"
            ).encode() + self.cap.payload(size)
            s.send(False, resp)
        s.close(by_client=self.rnd.random() < 0.7)

    def hl7(self) -> None:
        client = self.device() if self.rnd.random() < 0.5 else f"10.20.1.{self.rnd.randrange(80, 90)}"
        s = self.tcp_session(client, SERVERS["hl7-engine"][0], 2575, "hl7", self.rnd.randrange(200, 1500))
        for _ in range(self.rnd.randrange(1, 6)):
            ctrl = f"MSG{self.rnd.randrange(10**8):08d}"
            msg = (
                f"MSH|^~\\&|LIS|BVDK|HIS|BVDK|20240312{self.rnd.randrange(80000, 115959):06d}||ORU^R01|{ctrl}|P|2.5\r"
                f"PID|1||{self.rnd.randrange(10**7)}^^^BVDK^MR||NGUYEN^VAN A||19700101|M\r"
                f"OBR|1||{self.rnd.randrange(10**6)}|GLU^Glucose\r"
                f"OBX|1|NM|GLU^Glucose||{self.rnd.randrange(40, 200) / 10}|mmol/L|3.9-6.4|N|||F\r"
            )
            s.send(True, b"\x0b" + msg.encode() + b"\x1c\x0d")
            ack = f"MSH|^~\\&|HIS|BVDK|LIS|BVDK|20240312||ACK^R01|A{ctrl}|P|2.5\rMSA|AA|{ctrl}\r"
            s.send(False, b"\x0b" + ack.encode() + b"\x1c\x0d")
        s.close()

    def dicom(self) -> None:
        client = self.rnd.choice(["10.20.40.11", "10.20.40.12", "10.20.40.21", "10.20.40.31"])  # modalities
        s = self.tcp_session(client, SERVERS["pacs"][0], 104, "dicom", self.rnd.randrange(200, 1000))

        def item(kind: int, body: bytes) -> bytes:
            return struct.pack("!BBH", kind, 0, len(body)) + body

        def pdu(kind: int, body: bytes) -> bytes:
            return struct.pack("!BBI", kind, 0, len(body)) + body

        ctx = item(0x10, b"1.2.840.10008.3.1.1.1")
        pres = item(
            0x20,
            b"\x01\x00\x00\x00"
            + item(0x30, b"1.2.840.10008.5.1.4.1.1.2")
            + item(0x40, b"1.2.840.10008.1.2.1"),
        )
        user = item(
            0x50,
            item(0x51, struct.pack("!I", 16384)) + item(0x52, b"1.2.826.0.1.3680043.2.1143.107.104.103.115"),
        )
        called, calling = b"PACS            ", b"CT_SCANNER_01   "
        s.send(True, pdu(0x01, b"\x00\x01\x00\x00" + called + calling + bytes(32) + ctx + pres + user))
        pres_ac = item(0x21, b"\x01\x00\x00\x00" + item(0x40, b"1.2.840.10008.1.2.1"))
        s.send(False, pdu(0x02, b"\x00\x01\x00\x00" + called + calling + bytes(32) + ctx + pres_ac + user))

        def elem(group: int, element: int, value: bytes) -> bytes:  # implicit VR little endian
            value += b"\x00" * (len(value) % 2)
            return struct.pack("<HHI", group, element, len(value)) + value

        def command(*elems: bytes) -> bytes:
            body = b"".join(elems)
            return elem(0, 0, struct.pack("<I", len(body))) + body

        sop_class = b"1.2.840.10008.5.1.4.1.1.2"
        for msg_id in range(1, min(4, 1 + max(1, self.budget // 600))):  # C-STORE of a few CT images
            uid = f"1.2.826.0.1.3680043.8.498.{self.rnd.getrandbits(40)}".encode()
            rq = command(
                elem(0, 2, sop_class),
                elem(0, 0x100, b"\x01\x00"),
                elem(0, 0x110, struct.pack("<H", msg_id)),
                elem(0, 0x700, b"\x00\x00"),
                elem(0, 0x800, b"\x00\x00"),
                elem(0, 0x1000, uid),
            )
            s.send(True, pdu(0x04, struct.pack("!IBB", len(rq) + 2, 1, 0x03) + rq))
            pixels = self.cap.payload(
                16378 * self.rnd.randrange(2, min(40, 2 + max(1, self.budget // 100))) - 12
            )
            ds = (
                struct.pack("<HH", 0x10, 0x10)
                + b"PN"
                + struct.pack("<H", 12)
                + b"NGUYEN^VAN A"
                + struct.pack("<HH", 0x7FE0, 0x10)
                + b"OB\x00\x00"
                + struct.pack("<I", len(pixels))
                + pixels
            )
            frags = [ds[i : i + 16378] for i in range(0, len(ds), 16378)]
            for i, frag in enumerate(frags):
                s.send(
                    True,
                    pdu(
                        0x04, struct.pack("!IBB", len(frag) + 2, 1, 0x02 if i == len(frags) - 1 else 0) + frag
                    ),
                )
            rsp = command(
                elem(0, 2, sop_class),
                elem(0, 0x100, b"\x01\x80"),
                elem(0, 0x120, struct.pack("<H", msg_id)),
                elem(0, 0x800, b"\x01\x01"),
                elem(0, 0x900, b"\x00\x00"),
                elem(0, 0x1000, uid),
            )
            s.send(False, pdu(0x04, struct.pack("!IBB", len(rsp) + 2, 1, 0x03) + rsp))
        s.send(True, pdu(0x05, bytes(4)))
        s.send(False, pdu(0x06, bytes(4)))
        s.close()

    def smb(self) -> None:
        client = self.workstation()
        server = SERVERS[self.rnd.choice(["fs01", "printsrv"])][0]
        s = self.tcp_session(client, server, 445, "smb", self.rnd.randrange(200, 1500))
        mid = 0
        session_id = self.rnd.getrandbits(64)

        def smb2(cmd: int, response: bool, body: bytes) -> bytes:
            hdr = (
                b"\xfeSMB"
                + struct.pack("<HHIHHII", 64, 1, 0, cmd, 1 if response else 31, 1 if response else 0, 0)
                + struct.pack("<QIIQ", mid, 0xFEFF, 1 if cmd == 8 else 0, session_id if cmd else 0)
                + bytes(16)
            )
            msg = hdr + body
            return struct.pack("!I", len(msg)) + msg  # NetBIOS session message

        dialects = struct.pack("<HHHHHH", 0x0202, 0x0210, 0x0300, 0x0302, 0, 0)[:8]
        s.send(
            True,
            smb2(
                0,
                False,
                struct.pack("<HHHHI", 36, 4, 1, 0, 0x7F) + self.rnd.randbytes(16) + bytes(8) + dialects,
            ),
        )
        neg = (
            struct.pack("<HHHH", 65, 1, 0x0302, 0)
            + self.rnd.randbytes(16)
            + struct.pack("<IIII", 0x2F, 8388608, 8388608, 8388608)
            + bytes(16)
            + struct.pack("<HHI", 128, 0, 0)
            + b"\x00"
        )
        s.send(False, smb2(0, True, neg))
        file_id = self.rnd.randbytes(16)
        for _ in range(self.rnd.randrange(1, 6 if self.budget > 1000 else 2)):
            mid += 1
            size = self.rnd.choice([4096, 32768, 65536])
            s.send(
                True,
                smb2(
                    8,
                    False,
                    struct.pack("<HBBIQ", 49, 0x50, 0, size, mid * 65536)
                    + file_id
                    + struct.pack("<IIIHH", 1, 0, 0, 0, 0)
                    + b"\x00",
                ),
            )
            s.send(
                False, smb2(8, True, struct.pack("<HBBIII", 17, 0x50, 0, size, 0, 0) + self.cap.payload(size))
            )
        s.close()

    def dns_tcp(self) -> None:
        client = self.workstation()
        s = self.tcp_session(client, RESOLVER4, 53, "dns_tcp", self.rnd.randrange(200, 1500))
        name, text = self.rnd.choice(list(TXT_NAMES.items()))
        txid = self.rnd.getrandbits(16)
        q = dns_query(txid, name, 16)
        s.send(True, struct.pack("!H", len(q)) + q)
        long_text = (text + " ") * 6
        r = dns_response(txid, name, 16, [(name, 16, 3600, txt_rdata(long_text[:900]))])
        s.send(False, struct.pack("!H", len(r)) + r)
        self.cap.stats["dns.transactions"] += 1
        self.cap.stats["dns.tcp"] += 1
        s.close()

    # --- UDP and ICMP
    def dns_udp(self) -> None:
        """A lookup from one socket: one query, or A and AAAA together as glibc does."""
        cap, rnd = self.cap, self.rnd
        v6 = rnd.random() < 0.1
        client = self.workstation(v6)
        if v6:
            server = RESOLVER6
        elif rnd.random() < 0.05:
            server = rnd.choice(PUBLIC_RESOLVERS)
        else:
            server = RESOLVER4
        link = self.link(client, server)
        cport = cap.fresh_port("udp", client, server, 53, low=1024)
        cap.stats["conn.udp"] += 1
        t = self.start()
        rtt = (
            rnd.randrange(300, 3_000) if server.startswith(("10.", "fd00")) else rnd.randrange(20_000, 90_000)
        )
        for qname, qtype, answers, rcode, auth in self._dns_questions():
            txid = rnd.getrandbits(16)
            link.send(t, True, 17, udp(cport, 53, dns_query(txid, qname, qtype)), "dns_udp")
            cap.stats["dns.transactions"] += 1
            cap.stats[f"dns.qtype.{qtype}"] += 1
            if rcode < 0:  # unanswered
                cap.stats["dns.unanswered"] += 1
                t += 200
                continue
            cap.stats["dns.nxdomain" if rcode == 3 else "dns.noerror"] += 1
            link.send(
                t + rtt,
                False,
                17,
                udp(53, cport, dns_response(txid, qname, qtype, answers, rcode, auth)),
                "dns_udp",
            )
            t += rnd.randrange(50, 500)

    def _dns_questions(self) -> list[Question]:
        rnd = self.rnd
        r = rnd.random()
        if r < 0.08:
            name = rnd.choice(NX_NAMES)
            zone = ".".join(name.split(".")[-2:])
            auth = [(zone, 6, 300, soa_rdata(zone))]
            return [(name, rnd.choice([1, 1, 28, 33]), [], 3, auth)]
        if r < 0.10:
            return [(rnd.choice(NX_NAMES[:3]), 1, [], -1, [])]
        if r < 0.18:
            host, (ip, _) = rnd.choice(list(SERVERS.items()))
            return [
                (ptr_name(ip), 12, [(ptr_name(ip), 12, 1200, dns_name(f"{host}.{INTERNAL_DOMAIN}"))], 0, [])
            ]
        if r < 0.21:
            name, text = rnd.choice(list(TXT_NAMES.items()))
            return [(name, 16, [(name, 16, 3600, txt_rdata(text))], 0, [])]
        if r < 0.45:
            host, (ip, _) = rnd.choice(list(SERVERS.items()))
            name = f"{host}.{INTERNAL_DOMAIN}"
            out: list[Question] = [(name, 1, [(name, 1, 1200, ipaddress.ip_address(ip).packed)], 0, [])]
            if rnd.random() < 0.5:
                out.append((name, 28, [], 0, [(INTERNAL_DOMAIN, 6, 300, soa_rdata(INTERNAL_DOMAIN))]))
            return out
        name = rnd.choice(list(self.ext_v4))
        chain = CNAMES.get(name, [])
        owners = [name, *chain]
        cnames = [(owners[i], 5, 300, dns_name(owners[i + 1])) for i in range(len(chain))]
        ttl = rnd.choice([60, 120, 300, 3600])
        first = self.ext_v4[name]
        a = [(owners[-1], 1, ttl, ipaddress.ip_address(first).packed)]
        if rnd.random() < 0.4:
            a.append((owners[-1], 1, ttl, (ipaddress.ip_address(first) + 1).packed))
        out2: list[Question] = [(name, 1, cnames + a, 0, [])]
        if rnd.random() < 0.5:
            six = self.ext_v6.get(name)
            zone = ".".join(name.split(".")[-2:])
            if six:
                out2.append(
                    (name, 28, [*cnames, (owners[-1], 28, ttl, ipaddress.ip_address(six).packed)], 0, [])
                )
            else:  # no IPv6 address: NOERROR with no data, the zone's SOA in the authority section
                out2.append((name, 28, cnames, 0, [(zone, 6, 300, soa_rdata(zone))]))
        return out2

    def ntp(self) -> None:
        client = self.device() if self.rnd.random() < 0.5 else self.workstation()
        server = SERVERS["ntp"][0]
        link = self.link(client, server)
        cport = self.cap.fresh_port("udp", client, server, 123, low=1024) if self.rnd.random() < 0.7 else None
        if cport is None:  # classic ntpd talks from port 123; keep its 5-tuple unique as well
            cport = 123
            if ("udp", client, 123, server, 123) in self.cap.used:
                return
            self.cap.used.add(("udp", client, 123, server, 123))
        self.cap.stats["conn.udp"] += 1
        t = self.start()
        req = (
            b"\xe3\x00\x06\xec" + bytes(36) + struct.pack("!II", (2_208_988_800 + t // 1_000_000) & MASK32, 0)
        )
        link.send(t, True, 17, udp(cport, 123, req), "ntp")
        resp = (
            b"\x24\x02\x06\xe9" + struct.pack("!II", 0, 0x20) + b"GPS\x00" + bytes(8) + req[40:48] + bytes(16)
        )
        link.send(t + 400, False, 17, udp(123, cport, resp), "ntp")

    def icmp_echo(
        self, client: str | None = None, server: str | None = None, replies: bool = True, count: int = 0
    ) -> None:
        v6 = client is None and self.rnd.random() < 0.2
        client = client or self.workstation(v6)
        if server is None:
            server = (
                self.rnd.choice([RESOLVER6, "fd00:20:0:1::20"])
                if v6
                else self.rnd.choice(
                    [s[0] for s in SERVERS.values()] + ["8.8.8.8", self.ext_v4["www.google.com"]]
                )
            )
        if (client, server) in self.icmp_pairs or (server, client) in self.icmp_pairs:
            return
        self.icmp_pairs.add((client, server))
        self.cap.stats["conn.icmp"] += 1
        link = self.link(client, server, allow_tunnel=False)
        t, ident = self.start(), self.rnd.getrandbits(16)
        proto, req_type, rep_type = (58, 128, 129) if ":" in client else (1, 8, 0)
        data = bytes(range(48))
        for seq in range(count or self.rnd.randrange(1, 5)):
            link.send(t, True, proto, ICMP_ECHO.pack(req_type, 0, 0, ident, seq) + data, "icmp")
            if replies:
                link.send(t + 600, False, proto, ICMP_ECHO.pack(rep_type, 0, 0, ident, seq) + data, "icmp")
            t += 1_000_000

    def port_scan(self) -> None:
        """A compromised workstation SYN-scans a few servers: RST for closed ports, SYN/ACK + RST for open."""
        scanner = "10.20.12.77"
        ports = [21, 22, 23, 25, 53, 80, 110, 135, 139, 143, 443, 445, 1433, 3306, 3389, 5900, 8080, 8443]
        t = self.start()
        for target in ("10.20.1.20", "10.20.1.50", "10.20.1.60"):
            link = Link(self.cap, scanner, target)
            for port in ports:
                cport = self.cap.fresh_port("tcp", scanner, target, port, low=40000)
                s = TcpSession(self.cap, t, link, cport, port, 300, "scan")
                s._pkt(True, SYN, opts=b"\x02\x04\x05\xb4")
                s.tick(300)
                if port in (80, 443, 445, 3389):
                    s._pkt(False, SYN | ACK, opts=b"\x02\x04\x05\xb4")
                    s.tick(100)
                    s._pkt(True, RST)
                elif port not in (23, 1433):  # 23 and 1433 are filtered: no answer
                    s._pkt(False, RST | ACK)
                t += 2000
                self.cap.stats["scan.probes"] += 1

    def ping_sweep(self) -> None:
        sweeper = "10.20.12.77"
        for host in range(1, 60):
            target = f"10.20.30.{host}"
            self.icmp_echo(sweeper, target, replies=host % 3 == 0, count=1)

    def arp(self) -> None:
        who, target = self.workstation(), f"10.20.{self.rnd.randrange(10, 18)}.{self.rnd.randrange(1, 255)}"
        body = struct.pack(
            "!HHBBH6s4s6s4s",
            1,
            0x0800,
            6,
            4,
            1,
            mac_of(who),
            ipaddress.ip_address(who).packed,
            bytes(6),
            ipaddress.ip_address(target).packed,
        )
        self.cap.emit(self.start(), b"\xff" * 6 + mac_of(who) + b"\x08\x06" + body + bytes(18), "arp")


KINDS: list[tuple[str, float]] = [  # session kind and how often it is picked
    ("https", 0.20),
    ("http", 0.06),
    ("hl7", 0.02),
    ("dicom", 0.003),
    ("smb", 0.02),
    ("dns_tcp", 0.004),
    ("dns_udp", 0.40),
    ("ntp", 0.05),
    ("icmp_echo", 0.03),
    ("arp", 0.05),
]


def generate(packets: int, seed: int) -> tuple[Capture, dict]:
    cap = Capture(seed)
    mix = Mix(cap, span_us=max(10, packets // 5000) * 1_000_000)
    names = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]
    calls: dict[str, Callable[[], None]] = {k: getattr(mix, k) for k in names}
    if packets >= 2000:  # the scans are a few hundred packets: only in captures big enough to hide them
        mix.port_scan()
        mix.ping_sweep()
    while len(cap.frames) < packets - 300:
        mix.budget = packets - len(cap.frames)
        calls[cap.rnd.choices(names, weights)[0]]()
    # Short kinds fill up to the exact count; ARP (one frame, no connection) closes the gap.
    while len(cap.frames) < packets - 8:
        mix.dns_udp()
    while len(cap.frames) < packets:
        mix.arp()
    over = len(cap.frames) - packets
    assert over <= 0, over
    s = cap.stats
    # The UDP connections carrying VXLAN are logged too, as Zeek logs them: one per direction (each
    # VTEP sends to 4789), a new one after Zeek's udp_inactivity_timeout (60 s) of silence.
    for times in cap.vxlan_ts.values():
        times.sort()
        s["conn.udp"] += 1 + sum(1 for a, b in zip(times, times[1:], strict=False) if b - a > 60_000_000)
    sidecar = {
        "seed": seed,
        "packets": len(cap.frames),
        "packets_by_kind": dict(sorted(cap.kinds.items())),
        "packets_by_link": {k.split(".", 1)[1]: v for k, v in sorted(s.items()) if k.startswith("packets.")},
        "connections": {
            "tcp": s["conn.tcp"],
            "udp": s["conn.udp"],
            "icmp": s["conn.icmp"],
            "total": s["conn.tcp"] + s["conn.udp"] + s["conn.icmp"],
        },
        "dns": {
            "transactions": s["dns.transactions"],
            "tcp": s["dns.tcp"],
            "nxdomain": s["dns.nxdomain"],
            "unanswered": s["dns.unanswered"],
            "qtypes": {k.rsplit(".", 1)[1]: v for k, v in sorted(s.items()) if k.startswith("dns.qtype.")},
        },
        "http_requests": s["http.requests"],
        "tls_client_hellos": s["tls.client_hello"],
        "scan_probes": s["scan.probes"],
        "first_ts": min(cap.ts) / 1e6 if cap.ts else None,
        "last_ts": max(cap.ts) / 1e6 if cap.ts else None,
    }
    return cap, sidecar


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--packets", type=int, default=300_000, help="exact number of frames (default 300000)")
    p.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same bytes")
    p.add_argument(
        "--out", type=Path, default=Path("mixed.pcap"), help="output pcap; the sidecar is OUT.json"
    )
    args = p.parse_args(argv)
    if args.packets < 50:
        p.error("--packets must be at least 50")
    cap, sidecar = generate(args.packets, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cap.write(args.out)
    sidecar_path = args.out.with_name(args.out.name + ".json")
    sidecar_path.write_text(json.dumps(sidecar, indent=1) + "\n")
    sys.stderr.write(
        f"gen_mixed: {sidecar['packets']} packets, {sidecar['connections']['total']} connections, "
        f"{sidecar['dns']['transactions']} DNS transactions -> {args.out}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
