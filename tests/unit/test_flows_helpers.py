"""Helpers (no tests) for the flow meter tests: build TCP/UDP/ICMP exchanges as PacketBatch rows."""

from __future__ import annotations

import pytest
from wardwatch.ingest.decode.columns import PacketBatch
from wardwatch.ingest.flows import FlowConfig, FlowMeter
from wardwatch.ingest.flows import conn as conn_module
from wardwatch.ingest.flows import meter as meter_module

from wardwatch.counters import Counters

F, S, R, P, A = 0x01, 0x02, 0x04, 0x08, 0x10
CLIENT, SERVER = "10.0.0.1", "10.0.0.2"


class Tcp:
    """A TCP conversation between CLIENT:cport and SERVER:sport with tracked sequence numbers."""

    def __init__(
        self, cport: int = 40000, sport: int = 80, cisn: int = 1000, sisn: int = 5000, t0: float = 100.0
    ):
        self.cport, self.sport = cport, sport
        self.seq = {True: cisn, False: sisn}  # next seq per side (True = client)
        self.ack = {True: 0, False: 0}
        self.t = t0
        self.rows: list[dict] = []

    def send(
        self,
        client: bool,
        flags: int,
        data: int = 0,
        dt: float = 0.1,
        seq: int | None = None,
        win: int = 1024,
    ) -> Tcp:
        self.t += dt
        s = self.seq[client] if seq is None else seq
        src, dst = (CLIENT, SERVER) if client else (SERVER, CLIENT)
        sp, dp = (self.cport, self.sport) if client else (self.sport, self.cport)
        self.rows.append(
            dict(ts=round(self.t, 6), src=src, dst=dst, proto=6, sport=sp, dport=dp, flags=flags, seq=s & 0xFFFFFFFF,
                 ack=self.ack[client] & 0xFFFFFFFF if flags & A else 0, payload=b"x" * data, win=win)
        )  # fmt: skip
        end = s + data + (1 if flags & (S | F) else 0)
        if seq is None or end > self.seq[client]:
            self.seq[client] = max(self.seq[client], end)
        self.ack[not client] = max(self.ack[not client], self.seq[client])
        return self

    def c(self, flags: int, data: int = 0, **kw: object) -> Tcp:
        return self.send(True, flags, data, **kw)  # type: ignore[arg-type]

    def s(self, flags: int, data: int = 0, **kw: object) -> Tcp:
        return self.send(False, flags, data, **kw)  # type: ignore[arg-type]

    def handshake(self) -> Tcp:
        return self.c(S).s(S | A).c(A)


def udp(ts: float, src: str, dst: str, sport: int, dport: int, data: int = 10) -> dict:
    return dict(ts=ts, src=src, dst=dst, proto=17, sport=sport, dport=dport, payload=b"u" * data)


def icmp(ts: float, src: str, dst: str, type_: int, code: int = 0, data: int = 56, proto: int = 1) -> dict:
    return dict(ts=ts, src=src, dst=dst, proto=proto, sport=type_, dport=code, payload=b"i" * data)


def run(rows: list[dict], config: FlowConfig | None = None, splits: list[int] | None = None) -> list[dict]:
    """Feed rows (in batches cut at ``splits``), expiring after each batch, then flush."""
    meter = FlowMeter(Counters(), config or FlowConfig())
    out: list[dict] = []
    cuts = [0, *(splits or []), len(rows)]
    for a, b in zip(cuts, cuts[1:], strict=False):
        if b <= a:
            continue
        batch = PacketBatch.from_rows(rows[a:b])
        meter.process(batch)
        out += meter.expire(float(batch.ts.max()))
    return out + meter.flush()


def finals(records: list[dict]) -> list[dict]:
    return sorted((r for r in records if not r.get("interim")), key=lambda r: (r["ts"], r["uid"]))


def one(rows: list[dict], **kw: object) -> dict:
    recs = finals(run(rows, **kw))  # type: ignore[arg-type]
    assert len(recs) == 1, recs
    return recs[0]


def use_python_flows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Meters created after this run the pure-Python TCP code (the fallback without _tcprun.c)."""
    monkeypatch.setattr(meter_module, "USE_NATIVE", False)
    monkeypatch.setattr(conn_module, "new_endpoint", conn_module.Endpoint)
