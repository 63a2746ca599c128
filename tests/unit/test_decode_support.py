"""Helpers shared by the decoder tests (imported by the other test_decode_* files)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from wardwatch.ingest.capture.batch import RawBatch
from wardwatch.ingest.decode import DecodeConfig, Decoder
from wardwatch.ingest.decode.columns import PacketBatch, join_ip

from wardwatch.counters import Counters

FIELDS = (
    "ts", "source", "frame", "ip_version", "src_hi", "src_lo", "dst_hi", "dst_lo", "proto", "sport",
    "dport", "ip_len", "payload_off", "payload_len", "payload_cap", "tcp_flags", "tcp_seq", "tcp_ack",
    "tcp_win", "vlan", "tunnel", "encap",
)  # fmt: skip


def decode(
    frames: list, linktype: int = 1, fastpath: bool = True, **config: object
) -> tuple[PacketBatch, Counters]:
    """Decode scapy packets or bytes (timestamps 1.0, 2.0, …) in one batch, then flush."""
    raw = RawBatch.from_frames([(float(i + 1), bytes(f)) for i, f in enumerate(frames)], linktype)
    counters = Counters()
    decoder = Decoder(counters, DecodeConfig(fastpath=fastpath, **config))  # type: ignore[arg-type]
    batch = decoder.decode(raw)
    assert len(decoder.flush()) == 0
    return batch, counters


def row(batch: PacketBatch, i: int = 0) -> dict[str, object]:
    """Row i as a dict with readable addresses and its captured payload."""
    out: dict[str, object] = {name: getattr(batch, name)[i].item() for name in FIELDS}
    out["src"] = join_ip(batch.src_hi[i], batch.src_lo[i])
    out["dst"] = join_ip(batch.dst_hi[i], batch.dst_lo[i])
    out["payload"] = batch.payload(i)
    return out


def only_row(frames: list, linktype: int = 1, **config: object) -> dict[str, object]:
    """The single innermost row (``encap`` 0) the frames produce, checking fast and slow path agree
    on every row (a UDP tunnel's encapsulating row too: ``outer_rows``)."""
    fast, _ = decode(frames, linktype, fastpath=True, **config)
    slow, _ = decode(frames, linktype, fastpath=False, **config)
    assert_same(fast, slow)
    inner = np.flatnonzero(fast.encap == 0).tolist()
    assert len(inner) == 1, (len(fast), fast.encap.tolist())
    return row(fast, inner[0])


def outer_rows(frames: list, linktype: int = 1, **config: object) -> list[dict[str, object]]:
    """The encapsulating UDP rows (``encap`` set) the frames produce, fast and slow path agreeing."""
    fast, _ = decode(frames, linktype, fastpath=True, **config)
    slow, _ = decode(frames, linktype, fastpath=False, **config)
    assert_same(fast, slow)
    return [row(fast, i) for i in np.flatnonzero(fast.encap != 0).tolist()]


def assert_same(a: PacketBatch, b: PacketBatch) -> None:
    assert len(a) == len(b)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for i in range(len(a)):
        assert a.payload(i) == b.payload(i)


def tcp_packet(src: str = "10.0.0.1", dst: str = "10.0.0.2", sport: int = 1234, dport: int = 80) -> IP:
    return IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags="PA", seq=1000, ack=2000) / b"data"


def eth(payload: object, ethertype: int | None = None) -> Ether:
    e = Ether(src="00:00:00:00:00:01", dst="00:00:00:00:00:02")
    if ethertype is not None:
        e.type = ethertype
    return e / payload  # type: ignore[operator]


def read_pcap(path: Path) -> RawBatch:
    """All frames of one capture file, with the project's reader (scapy's if it is unavailable)."""
    try:
        from wardwatch.ingest.capture import read_captures

        batches = list(read_captures([path], Counters(), batch_frames=1 << 20))
    except ImportError:
        batches = []
        from scapy.utils import RawPcapReader

        frames, linktypes = [], []
        with RawPcapReader(str(path)) as reader:  # type: ignore[no-untyped-call]
            for data, meta in reader:
                lt = getattr(meta, "linktype", None) or reader.linktype
                ts = getattr(meta, "sec", 0) + getattr(meta, "usec", 0) / 1e6
                frames.append((float(ts), bytes(data)))
                linktypes.append(lt)
        raw = RawBatch.from_frames(frames)
        raw.linktype = np.array(linktypes, dtype=np.uint16)
        return raw
    if not batches:
        return RawBatch.from_frames([])
    assert len(batches) == 1
    return batches[0]


def ipv4_header(
    total: int, proto: int, src: bytes = b"\x0a\x00\x00\x01", dst: bytes = b"\x0a\x00\x00\x02"
) -> bytes:
    return struct.pack("!BBHHHBBH", 0x45, 0, total, 1, 0, 64, proto, 0) + src + dst


def test_helpers_roundtrip() -> None:
    r = only_row([eth(tcp_packet())])
    assert (r["src"], r["dst"], r["sport"], r["dport"], r["payload"]) == (
        "10.0.0.1",
        "10.0.0.2",
        1234,
        80,
        b"data",
    )
