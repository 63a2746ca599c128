"""Helpers for the application-analyser tests: scapy sessions → PacketBatch, and a small fake FlowView.

The real flow meter is not needed here: connections are keyed by their 5-tuple and the first packet
seen decides the originator, which is all AppTracker asks of the flow stage.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.packet import Packet
from wardwatch.ingest.app import AppConfig, AppTracker
from wardwatch.ingest.decode.columns import PacketBatch
from wardwatch.ingest.flows.assignment import FlowAssignment

from wardwatch.counters import Counters


class FakeView:
    def __init__(self) -> None:
        self.keys: dict[tuple, int] = {}
        self.ends: dict[int, tuple[str, int, str, int, str]] = {}
        self.services: dict[int, set[str]] = defaultdict(set)

    def assign(self, rows: list[dict]) -> FlowAssignment:
        flow, orig = [], []
        for r in rows:
            a, b = (r["src"], r["sport"]), (r["dst"], r["dport"])
            key = (r["proto"], *sorted([a, b]))
            if key not in self.keys:
                fid = self.keys[key] = len(self.keys) + 1
                proto = {6: "tcp", 17: "udp"}.get(r["proto"], "unknown")
                self.ends[fid] = (r["src"], r["sport"], r["dst"], r["dport"], proto)
            fid = self.keys[key]
            flow.append(fid)
            orig.append(self.ends[fid][0] == r["src"] and self.ends[fid][1] == r["sport"])
        return FlowAssignment(np.array(flow, dtype=np.int64), np.array(orig, dtype=bool))

    def uid(self, flow: int) -> str:
        return f"C{flow}"

    def endpoints(self, flow: int) -> tuple[str, int, str, int, str]:
        return self.ends[flow]

    def add_service(self, flow: int, service: str) -> None:
        self.services[flow].add(service)


def rows_from_packets(packets: list[Packet]) -> list[dict]:
    rows = []
    for p in packets:
        ip = p[IP] if IP in p else p[IPv6]
        l4 = p[TCP] if TCP in p else p[UDP]
        row = {
            "ts": float(p.time),
            "src": ip.src,
            "dst": ip.dst,
            "proto": 6 if TCP in p else 17,
            "sport": l4.sport,
            "dport": l4.dport,
            "payload": bytes(l4.payload),
        }
        if TCP in p:
            row.update(flags=int(l4.flags), seq=l4.seq, ack=l4.ack)
        rows.append(row)
    return rows


class TcpSession:
    """Builds a TCP conversation packet by packet with consistent sequence numbers."""

    def __init__(self, client: str, server: str, cport: int, sport: int, ts: float = 1_700_000_000.0):
        self.c, self.s, self.cp, self.sp = client, server, cport, sport
        self.seq = {True: 1000, False: 50000}
        self.ts = ts
        self.packets: list[Packet] = []
        self._add(True, b"", "S")
        self.seq[True] += 1
        self._add(False, b"", "SA")
        self.seq[False] += 1
        self._add(True, b"", "A")

    def _add(self, from_client: bool, data: bytes, flags: str = "PA", seq: int | None = None) -> Packet:
        src, dst, sp, dp = (
            (self.c, self.s, self.cp, self.sp) if from_client else (self.s, self.c, self.sp, self.cp)
        )
        ipl = IPv6 if ":" in src else IP
        pkt = ipl(src=src, dst=dst) / TCP(sport=sp, dport=dp, flags=flags, seq=seq or self.seq[from_client])
        if data:
            pkt = pkt / data
        self.ts += 0.001
        pkt.time = self.ts
        self.packets.append(pkt)
        return pkt

    def client(self, data: bytes, segment: int = 0) -> TcpSession:
        return self._send(True, data, segment)

    def server(self, data: bytes, segment: int = 0) -> TcpSession:
        return self._send(False, data, segment)

    def _send(self, from_client: bool, data: bytes, segment: int) -> TcpSession:
        size = segment or len(data)
        for k in range(0, len(data), size):
            self._add(from_client, data[k : k + size])
            self.seq[from_client] += len(data[k : k + size])
        return self

    def keystrokes(self, text: bytes, echo: bool = True) -> TcpSession:
        """Telnet character mode: one byte a packet, each echoed by the server (passwords are not)."""
        for ch in text:
            self.client(bytes([ch]))
            if echo and ch not in b"\r\n\x00":
                self.server(bytes([ch]))
        return self


def run(packets: list[Packet], config: AppConfig | None = None, batch_size: int = 0):
    """Feed packets through AppTracker (in one or several batches); return records, view, counters."""
    counters = Counters()
    tracker = AppTracker(counters, config)
    view = FakeView()
    rows = rows_from_packets(packets)
    size = batch_size or max(len(rows), 1)
    out: list[dict] = []
    for k in range(0, len(rows), size):
        chunk = rows[k : k + size]
        batch = PacketBatch.from_rows(chunk)
        out += tracker.process(batch, view.assign(chunk), view)
        out += tracker.expire(float(batch.ts.max()))
    out += tracker.flush()
    return out, view, counters
