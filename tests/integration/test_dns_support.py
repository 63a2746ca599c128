"""Helpers for the DNS integration tests: run captures through the real capture → decode chain.

``dns_records`` uses the whole sensor (``sense``) when it is importable; while the flow meter is
still being written it falls back to read_captures + Decoder + a minimal 5-tuple flow keying,
which is enough for DNS pairing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from wardwatch.ingest.capture import read_captures
from wardwatch.ingest.decode import DecodeConfig, Decoder
from wardwatch.ingest.decode.columns import PacketBatch, join_ip
from wardwatch.ingest.dns import DnsConfig, DnsTracker, Message, iter_messages
from wardwatch.ingest.dns.extract import MessageExtractor
from wardwatch.ingest.flows.assignment import FlowAssignment

from wardwatch.counters import Counters


class SimpleFlows:
    """Connections by unordered 5-tuple; the first sender is the originator. Also a FlowView."""

    def __init__(self) -> None:
        self.ids: dict[tuple, int] = {}
        self.ends: dict[int, tuple[str, int, str, int, str]] = {}
        self.services: dict[int, set[str]] = {}

    def assign(self, batch: PacketBatch) -> FlowAssignment:
        flow = np.zeros(len(batch), dtype=np.int64)
        orig = np.zeros(len(batch), dtype=bool)
        cols = zip(batch.src_hi.tolist(), batch.src_lo.tolist(), batch.dst_hi.tolist(), batch.dst_lo.tolist(),
                   batch.sport.tolist(), batch.dport.tolist(), batch.proto.tolist(), strict=True)  # fmt: skip
        for i, (sh, sl, dh, dl, sp, dp, pr) in enumerate(cols):
            a, b = (sh, sl, sp), (dh, dl, dp)
            key = (min(a, b), max(a, b), pr)
            fid = self.ids.get(key)
            if fid is None:
                fid = self.ids[key] = len(self.ids) + 1
                proto = {6: "tcp", 17: "udp"}.get(pr, "unknown_transport")
                self.ends[fid] = (join_ip(sh, sl), sp, join_ip(dh, dl), dp, proto)
                self._first = a
            flow[i] = fid
            orig[i] = join_ip(sh, sl) == self.ends[fid][0] and sp == self.ends[fid][1]
        return FlowAssignment(flow=flow, from_orig=orig)

    def uid(self, flow: int) -> str:
        return f"C{flow}"

    def endpoints(self, flow: int) -> tuple[str, int, str, int, str]:
        return self.ends[flow]

    def add_service(self, flow: int, service: str) -> None:
        self.services.setdefault(flow, set()).add(service)


def _sense_available() -> bool:
    try:
        import wardwatch.ingest.sensor  # noqa: F401
    except ImportError:
        return False
    return True


def dns_records(paths: list[Path], counters: Counters | None = None) -> list[dict]:
    counters = counters if counters is not None else Counters()
    if _sense_available():
        from wardwatch.ingest.sensor import sense

        return [r for recs in sense([str(p) for p in paths], counters) for r in recs if r["_path"] == "dns"]
    decoder = Decoder(counters, DecodeConfig())
    flows = SimpleFlows()
    tracker = DnsTracker(counters, DnsConfig())
    out: list[dict] = []
    for raw in read_captures([str(p) for p in paths], counters):
        batch = decoder.decode(raw)
        if len(batch):
            out += tracker.process(batch, flows.assign(batch), flows)
            out += tracker.expire(float(batch.ts.max()))
    tail = decoder.flush()
    if len(tail):
        out += tracker.process(tail, flows.assign(tail), flows)
    return out + tracker.flush()


def decoded_messages(
    path: Path, counters: Counters | None = None
) -> Iterator[tuple[int, int, Message | None]]:
    """(source, frame, message) for every DNS message of one capture, through the real chain."""
    counters = counters if counters is not None else Counters()
    decoder = Decoder(counters, DecodeConfig())
    extractor = MessageExtractor(DnsConfig(), counters)
    for raw in read_captures([str(path)], counters):
        yield from iter_messages(decoder.decode(raw), counters=counters, extractor=extractor)
    tail = decoder.flush()
    if len(tail):
        yield from iter_messages(tail, counters=counters, extractor=extractor)
