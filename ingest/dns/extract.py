"""From packet rows to DNS wire messages: a vectorized port mask, then UDP payloads and TCP framing."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from wardwatch.counters import Counters

from ..decode.columns import FIN, PROTO_TCP, PROTO_UDP, RST, SYN, PacketBatch
from .config import DnsConfig
from .tcp import TcpReassembler
from .wire import Message, decode_message

if TYPE_CHECKING:  # the flows package imports the meter, which DNS does not need at run time
    from ..flows.assignment import FlowAssignment


def port_table(ports: frozenset[int]) -> np.ndarray:
    table = np.zeros(65536, dtype=bool)
    table[list(ports)] = True
    return table


class DnsSelector:
    """Rows of a batch that may carry DNS: UDP with payload, TCP with payload or SYN/FIN/RST."""

    def __init__(self, config: DnsConfig):
        self.udp = port_table(config.udp_ports)
        self.tcp = port_table(config.tcp_ports)

    def rows(self, batch: PacketBatch) -> np.ndarray:
        if not len(batch):
            return np.zeros(0, dtype=np.int64)
        sport, dport, proto = batch.sport, batch.dport, batch.proto
        udp = (proto == PROTO_UDP) & (batch.payload_cap > 0) & (self.udp[sport] | self.udp[dport])
        tcp = (
            (proto == PROTO_TCP)
            & ((batch.payload_cap > 0) | ((batch.tcp_flags & (SYN | FIN | RST)) != 0))
            & (self.tcp[sport] | self.tcp[dport])
        )
        return np.flatnonzero(udp | tcp)


class MessageExtractor:
    """Turns selected rows into (row position, wire message) pairs, keeping TCP streams across batches."""

    def __init__(self, config: DnsConfig, counters: Counters):
        self.config = config
        self.counters = counters
        self.tcp = TcpReassembler(counters, config.max_early_segments, config.max_early_bytes)

    def extract(
        self, batch: PacketBatch, idx: np.ndarray, keys: Sequence[Hashable]
    ) -> Iterator[tuple[int, bytes]]:
        """Yield (k, wire) where k indexes ``idx``; ``keys[k]`` names the TCP stream direction."""
        buf = batch.buf
        proto = batch.proto[idx].tolist()
        off = batch.payload_off[idx].tolist()
        cap = batch.payload_cap[idx].tolist()
        plen = batch.payload_len[idx].tolist()
        flags = batch.tcp_flags[idx].tolist()
        seq = batch.tcp_seq[idx].tolist()
        ts = batch.ts[idx].tolist()
        tcp = self.tcp
        for k in range(len(proto)):
            o = off[k]
            if proto[k] == PROTO_UDP:
                yield k, buf[o : o + cap[k]]
                continue
            key = keys[k]
            f = flags[k]
            if f & SYN:
                if len(tcp) >= self.config.max_tcp_streams and key not in tcp.streams:
                    self.counters.add("dns.tcp_streams_full")
                    continue
                tcp.syn(key, seq[k])
            if cap[k]:
                if len(tcp) >= self.config.max_tcp_streams and key not in tcp.streams:
                    self.counters.add("dns.tcp_streams_full")
                    continue
                data = buf[o : o + cap[k]]
                for wire in tcp.feed(key, seq[k], data, ts[k], plen[k]):
                    yield k, wire
            if f & (FIN | RST):
                tcp.close(key)


def iter_messages(
    batch: PacketBatch,
    flows: FlowAssignment | None = None,
    config: DnsConfig | None = None,
    counters: Counters | None = None,
    extractor: MessageExtractor | None = None,
) -> Iterator[tuple[int, int, Message | None]]:
    """Per-message decode of a batch: (source, frame, message or None when shorter than a header).

    For cross-checks against other decoders. TCP streams are keyed by the flow assignment when
    given, else by the directed 5-tuple; pass the same ``extractor`` to continue streams across batches.
    """
    config = config or DnsConfig()
    counters = counters if counters is not None else Counters()
    extractor = extractor or MessageExtractor(config, counters)
    idx = DnsSelector(config).rows(batch)
    keys: list[Hashable]
    if flows is not None:
        keys = list(zip(flows.flow[idx].tolist(), flows.from_orig[idx].tolist(), strict=True))
    else:
        keys = list(
            zip(
                batch.src_hi[idx].tolist(),
                batch.src_lo[idx].tolist(),
                batch.dst_hi[idx].tolist(),
                batch.dst_lo[idx].tolist(),
                batch.sport[idx].tolist(),
                batch.dport[idx].tolist(),
                strict=True,
            )
        )
    source = batch.source[idx].tolist()
    frame = batch.frame[idx].tolist()
    for k, wire in extractor.extract(batch, idx, keys):
        yield source[k], frame[k], decode_message(wire, config.decode_sections)
