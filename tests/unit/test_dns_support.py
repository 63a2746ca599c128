"""Shared helpers for the DNS unit tests: packet rows, a fake flow view, dnspython messages."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.rrset
import numpy as np
from wardwatch.ingest.decode.columns import PacketBatch
from wardwatch.ingest.flows.assignment import FlowAssignment

CLIENT, SERVER = "10.0.0.5", "10.0.0.53"


class FakeView:
    """A FlowView over a fixed table of flows: flow id → (orig_h, orig_p, resp_h, resp_p, proto)."""

    def __init__(self, ends: dict[int, tuple[str, int, str, int, str]] | None = None):
        self.ends = ends or {}
        self.services: dict[int, set[str]] = {}

    def uid(self, flow: int) -> str:
        return f"C{flow}"

    def endpoints(self, flow: int) -> tuple[str, int, str, int, str]:
        return self.ends.get(flow, (CLIENT, 40000 + flow, SERVER, 53, "udp"))

    def add_service(self, flow: int, service: str) -> None:
        self.services.setdefault(flow, set()).add(service)


def udp_row(ts: float, payload: bytes, flow: int = 1, from_orig: bool = True, port: int = 53) -> dict:
    src, dst = (CLIENT, SERVER) if from_orig else (SERVER, CLIENT)
    sport, dport = (40000 + flow, port) if from_orig else (port, 40000 + flow)
    return {"ts": ts, "src": src, "dst": dst, "proto": 17, "sport": sport, "dport": dport,
            "payload": payload, "_flow": flow, "_orig": from_orig}  # fmt: skip


def tcp_row(
    ts: float, seq: int, payload: bytes, flow: int = 1, from_orig: bool = True, flags: int = 0x18
) -> dict:
    src, dst = (CLIENT, SERVER) if from_orig else (SERVER, CLIENT)
    sport, dport = (40000 + flow, 53) if from_orig else (53, 40000 + flow)
    return {"ts": ts, "src": src, "dst": dst, "proto": 6, "sport": sport, "dport": dport, "seq": seq,
            "flags": flags, "payload": payload, "_flow": flow, "_orig": from_orig}  # fmt: skip


def batch_of(rows: list[dict]) -> tuple[PacketBatch, FlowAssignment]:
    batch = PacketBatch.from_rows(rows)
    flows = FlowAssignment(
        flow=np.array([r["_flow"] for r in rows], dtype=np.int64),
        from_orig=np.array([r["_orig"] for r in rows], dtype=bool),
    )
    return batch, flows


def query(name: str = "www.example.com", rdtype: str = "A", ident: int = 0x1234, **kw) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype, **kw)
    q.id = ident
    return q


def response(q: dns.message.Message, *rrsets: tuple[str, int, str, str], rcode: int = 0) -> bytes:
    """Wire response to ``q`` with answer rrsets given as (name, ttl, type, rdata text…)."""
    r = dns.message.make_response(q)
    r.flags |= dns.flags.RA
    for name, ttl, rdtype, *texts in rrsets:
        r.answer.append(dns.rrset.from_text(name, ttl, "IN", rdtype, *texts))
    r.set_rcode(rcode)
    return r.to_wire()
