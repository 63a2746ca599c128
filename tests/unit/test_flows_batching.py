"""Records must not depend on batch boundaries (vectorised path == per-packet path)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from wardwatch.ingest.flows import conn as conn_module

from tests.unit.test_flows_helpers import A, F, P, R, S, Tcp, finals, icmp, run, udp, use_python_flows


@pytest.fixture(autouse=True, params=["native", "python"])
def _flows_code(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test here runs with the C TCP code (_tcprun.c) and with its pure-Python fallback."""
    if request.param == "python":
        use_python_flows(monkeypatch)
    elif conn_module.native is None:
        pytest.skip("_tcprun not built")


def _traffic(seed: int) -> list[dict]:
    """Interleaved conversations: long established transfers with retransmissions, gaps, zero
    windows and wrap-around, short ones, resets, reuse, SYN-ACK-first, UDP and ICMP, idle gaps."""
    rng = random.Random(seed)
    convs: list[list[dict]] = []
    for k in range(14):
        t = Tcp(cport=30000 + k, sport=rng.choice([80, 443, 8080, 5555]), cisn=rng.randrange(2**32),
                sisn=rng.randrange(2**32), t0=rng.uniform(0, 5))  # fmt: skip
        if k % 5 == 4:
            t.s(S | A).c(A)
        else:
            t.handshake()
        for _ in range(rng.randrange(5, 60)):
            roll = rng.random()
            client = rng.random() < 0.6
            dt = rng.choice([0.001, 0.01, 0.2, 2.0])
            if roll < 0.6:
                t.send(client, A | P, rng.randrange(1, 1400), dt=dt)
            elif roll < 0.75:
                t.send(client, A, dt=dt, win=0 if rng.random() < 0.3 else 1024)
            elif roll < 0.85:  # retransmission of an earlier range
                back = rng.randrange(1, 3000)
                t.send(client, A | P, rng.randrange(1, 500), dt=dt, seq=t.seq[client] - back)
            elif roll < 0.93:  # jump ahead: bytes never seen
                t.send(client, A | P, 100, dt=dt, seq=t.seq[client] + rng.randrange(1, 5000))
            else:  # out of order: the later segment first
                s0 = t.seq[client]
                t.send(client, A | P, 100, dt=dt, seq=s0 + 100)
                t.send(client, A | P, 100, dt=0.001, seq=s0)
        end = rng.random()
        if end < 0.5:
            t.c(F | A).s(F | A).c(A)
        elif end < 0.7:
            t.send(rng.random() < 0.5, R | A)
        elif end < 0.8:
            t.c(F | A)
            t.s(A | P, 30, dt=5.0)  # after the partial-close delay
        if k % 7 == 3:  # reuse of the 5-tuple with a new ISN
            t.seq[True] += 10**6
            t.handshake().c(A | P, 10).c(R | A)
        convs.append(t.rows)
    for k in range(6):
        t0 = rng.uniform(0, 50)
        rows = [udp(t0 + i * rng.choice([0.01, 1.0, 70.0]), f"10.1.0.{k}", "10.1.1.1", 4000 + k,
                    rng.choice([53, 9999]), 20) for i in range(rng.randrange(1, 8))]  # fmt: skip
        rows += [
            udp(r["ts"] + 0.005, r["dst"], r["src"], r["dport"], r["sport"], 60)
            for r in rows
            if rng.random() < 0.7
        ]
        convs.append(rows)
    for k in range(3):
        t0 = rng.uniform(0, 50)
        convs.append([icmp(t0 + i, f"10.2.0.{k}", "10.2.1.1", 8) for i in range(3)]
                     + [icmp(t0 + i + 0.01, "10.2.1.1", f"10.2.0.{k}", 0) for i in range(2)])  # fmt: skip
    rows = [r for conv in convs for r in conv]
    rows.sort(key=lambda r: r["ts"])  # stable: each conversation keeps its order
    return rows


def _key(records: list[dict]) -> list[dict]:
    return finals(records)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_records_for_any_batching(seed: int) -> None:
    rows = _traffic(seed)
    whole = _key(run(rows))
    assert sum(r["orig_pkts"] + r["resp_pkts"] for r in whole) == len(rows)
    singles = _key(run(rows, splits=list(range(1, len(rows)))))
    assert singles == whole
    rng = random.Random(seed * 7)
    for _ in range(3):
        cuts = sorted(rng.sample(range(1, len(rows)), rng.randrange(1, 40)))
        assert _key(run(rows, splits=cuts)) == whole


def test_traffic_exercises_all_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    import wardwatch.ingest.flows.meter as meter_mod

    use_python_flows(monkeypatch)  # the vectorised TCP path exists only in the Python code
    seen = {"middle": 0, "exact": 0}
    split, exact = meter_mod._split_runs, meter_mod.TcpSegments.exact

    def counting_split(*args: object) -> tuple:
        head, middle, tail = split(*args)  # type: ignore[arg-type]
        seen["middle"] += len(middle)
        return head, middle, tail

    def counting_exact(self: object, i: int, off: int) -> None:
        seen["exact"] += 1
        exact(self, i, off)  # type: ignore[arg-type]

    monkeypatch.setattr(meter_mod, "_split_runs", counting_split)
    monkeypatch.setattr(meter_mod.TcpSegments, "exact", counting_exact)
    rows = _traffic(1)
    recs = _key(run(rows))
    run(rows, splits=list(range(0, len(rows), 25)))
    assert seen["middle"] > 100 and seen["exact"] > 0
    states = {r["conn_state"] for r in recs}
    history = "".join(r.get("history", "") for r in recs)
    assert {"SF", "RSTO", "OTH"} <= states or {"SF", "RSTR"} <= states
    for letter in "TGWw^":
        assert letter in history


def _per_packet(rows: list[dict]) -> list[dict]:
    """Reference: every row through the per-packet path (``FlowMeter._packet``), in capture order."""
    from wardwatch.ingest.decode.columns import PacketBatch
    from wardwatch.ingest.flows import FlowConfig, FlowMeter
    from wardwatch.ingest.flows.keys import canonical_keys, key_tuples

    from wardwatch.counters import Counters

    batch = PacketBatch.from_rows(rows)
    keys = canonical_keys(batch)
    key_list = key_tuples(batch, keys, np.arange(len(batch)))
    meter = FlowMeter(Counters(), FlowConfig())
    for i, key in enumerate(key_list):
        meter._packet(key, bool(keys.from_a[i]), float(batch.ts[i]), int(batch.tcp_flags[i]),
                      int(batch.tcp_seq[i]), int(batch.tcp_ack[i]), int(batch.payload_len[i]),
                      int(batch.tcp_win[i]), int(batch.ip_len[i]))  # fmt: skip
    return meter.flush()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vectorised_udp_icmp_equal_per_packet(seed: int) -> None:
    """UDP/ICMP/other connections are aggregated without the per-packet path: same records."""
    rng = random.Random(seed)
    rows = []
    for k in range(40):
        t = rng.uniform(0, 300)
        src, dst = f"10.3.{k % 3}.{k}", f"10.4.0.{k % 5}"
        sport, dport = rng.choice([(5000 + k, 53), (53, 5000 + k), (7000, 7001), (123, 123)])
        for _ in range(rng.randrange(1, 9)):
            t += rng.choice([0.001, 0.5, 59.0, 61.0, 200.0])  # some gaps beyond the idle timeout
            if rng.random() < 0.5:
                rows.append(udp(t, src, dst, sport, dport, rng.randrange(0, 300)))
            else:
                rows.append(udp(t, dst, src, dport, sport, rng.randrange(0, 300)))
        rows += [icmp(t + i * rng.choice([1.0, 70.0]), src, dst, rng.choice([8, 0, 3])) for i in range(3)]
        rows.append(icmp(t + 0.5, src, dst, 0, proto=47))  # another transport: ports 0/0
    rows.sort(key=lambda r: r["ts"])
    whole = _key(run(rows))
    assert _key(_per_packet(rows)) == whole
    assert _key(run(rows, splits=sorted(rng.sample(range(1, len(rows)), 20)))) == whole
    assert any("^" in r.get("history", "") for r in whole) and {r["proto"] for r in whole} >= {"udp", "icmp"}
