"""The sensor: capture files in, Zeek-compatible records out.

Stages run batch by batch (columns, not per-packet objects): read → decode → meter flows → DNS
and application analysers. Each stage keeps its own state across batches and emits records when
they complete (a DNS transaction answered or timed out, a connection closed or idle).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wardwatch.counters import Counters

from .app import AppConfig, AppTracker
from .capture import read_captures
from .decode import Decoder, DecodeConfig
from .dns import DnsConfig, DnsTracker
from .flows import FlowConfig, FlowMeter

Record = dict[str, object]


@dataclass
class SensorConfig:
    batch_frames: int = 131072
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    flows: FlowConfig = field(default_factory=FlowConfig)
    dns: DnsConfig = field(default_factory=DnsConfig)
    app: AppConfig = field(default_factory=AppConfig)


def sense(
    paths: Sequence[str | Path], counters: Counters, config: SensorConfig | None = None
) -> Iterator[list[Record]]:
    """Yield lists of finished records (each a dict with ``_path`` first) as the captures are read."""
    config = config or SensorConfig()
    decoder = Decoder(counters, config.decode)
    meter = FlowMeter(counters, config.flows)
    dns = DnsTracker(counters, config.dns)
    app = AppTracker(counters, config.app)
    for raw in read_captures(paths, counters, batch_frames=config.batch_frames):
        counters.add("packets.read", len(raw))
        batch = decoder.decode(raw)
        if not len(batch):
            continue
        assignment = meter.process(batch)
        out: list[Record] = []
        out += dns.process(batch, assignment, meter)
        out += app.process(batch, assignment, meter)
        now = float(batch.ts.max())
        out += dns.expire(now)
        out += app.expire(now)
        out += meter.expire(now)
        if out:
            yield out
    tail = decoder.flush()
    out = []
    if len(tail):
        assignment = meter.process(tail)
        out += dns.process(tail, assignment, meter)
        out += app.process(tail, assignment, meter)
    out += dns.flush()
    out += app.flush()
    out += meter.flush()
    if out:
        yield out
