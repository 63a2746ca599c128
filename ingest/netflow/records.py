"""Decoded flows → ``conn`` records, as the sensor writes them (Zeek's field names, ``_path`` first).

What a flow export cannot know stays unset: ``history``, ``conn_state``, ``service``, payload byte
counts (``orig_bytes``/``resp_bytes``: NetFlow counts IP bytes, which go to ``orig_ip_bytes``),
``missed_bytes``. A unidirectional flow has no reverse counts (``resp_pkts`` 0); an IPFIX biflow
(RFC 5103) fills them. ``source`` says ``netflow``; ``exporter`` names the device that sent it.
ICMP flows carry type and code as Zeek does, in ``id.orig_p`` and ``id.resp_p``.
"""

from __future__ import annotations

import ipaddress
import socket
import zlib
from typing import Any

import numpy as np

from .decode import FlowBatch

PROTO_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp"}
_V4: dict[int, str] = {}
_V6: dict[bytes, str] = {}
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _v4_text(values: list[int]) -> list[str]:
    cache = _V4
    if len(cache) > 500_000:
        cache.clear()
    out = []
    for v in values:
        t = cache.get(v)
        if t is None:
            t = cache[v] = socket.inet_ntoa(v.to_bytes(4, "big"))
        out.append(t)
    return out


def _v6_text(values: np.ndarray) -> list[str]:
    cache = _V6
    if len(cache) > 200_000:
        cache.clear()
    out = []
    for v in values.tolist():
        b = bytes(v)
        t = cache.get(b)
        if t is None:
            ip = ipaddress.IPv6Address(b)
            t = cache[b] = str(ip.ipv4_mapped) if ip.ipv4_mapped is not None else ip.compressed
        out.append(t)
    return out


def _uids(batch: FlowBatch, exporter: str) -> list[str]:
    """Deterministic uids (the same export decoded twice gives the same rows, which the store's
    dedup then drops): a 64-bit mix of the flow key, start time and exporter, as ``N`` + hex."""
    h = np.full(len(batch), np.uint64(zlib.crc32(exporter.encode())), dtype=np.uint64)
    if batch.v6:
        a = np.frombuffer(batch.src.tobytes(), dtype=np.uint64).reshape(-1, 2)
        b = np.frombuffer(batch.dst.tobytes(), dtype=np.uint64).reshape(-1, 2)
        parts = [a[:, 0], a[:, 1], b[:, 0], b[:, 1]]
    else:
        parts = [batch.src.astype(np.uint64), batch.dst.astype(np.uint64)]
    parts += [
        batch.sport.astype(np.uint64) << np.uint64(16) | batch.dport.astype(np.uint64),
        batch.proto.astype(np.uint64),
        _micros(batch.start),
        np.full(len(batch), batch.domain, dtype=np.uint64),
    ]
    with np.errstate(over="ignore"):
        for p in parts:
            h = (h ^ p) * _MIX
            h ^= h >> np.uint64(29)
    return [f"N{x:016x}" for x in h.tolist()]


def _micros(ts: np.ndarray) -> np.ndarray:
    """Microseconds as uint64 bits; a nonsense time from a broken exporter (inf, 1e30) hashes as 0."""
    with np.errstate(invalid="ignore", over="ignore"):
        us = np.round(ts * 1e6)
        us[~np.isfinite(us) | (np.abs(us) > 2**62)] = 0
        return us.astype(np.int64).view(np.uint64)


def conn_records(batch: FlowBatch, exporter: str | None = None) -> list[dict[str, Any]]:
    """The ``conn`` records of one decoded data set."""
    name = exporter or batch.exporter[0]
    if batch.v6:
        src, dst = _v6_text(batch.src), _v6_text(batch.dst)
    else:
        src, dst = _v4_text(batch.src.tolist()), _v4_text(batch.dst.tolist())
    proto = batch.proto
    icmp_mask = (proto == 1) | (proto == 58)
    icmp = batch.icmp if batch.icmp is not None else np.zeros(len(batch), dtype=np.uint16)
    sport = np.where(icmp_mask, icmp >> 8, batch.sport).tolist()
    dport = np.where(icmp_mask, icmp & 0xFF, batch.dport).tolist()
    names = [PROTO_NAMES.get(p, "unknown_transport") for p in proto.tolist()]
    start = batch.start.tolist()
    duration = np.maximum(batch.end - batch.start, 0.0).tolist()
    rb = batch.rbytes.tolist() if batch.rbytes is not None else None
    rp = batch.rpkts.tolist() if batch.rpkts is not None else None
    out = [
        {
            "_path": "conn",
            "ts": ts,
            "uid": uid,
            "id.orig_h": s,
            "id.orig_p": sp,
            "id.resp_h": d,
            "id.resp_p": dp,
            "proto": pn,
            "duration": du,
            "orig_pkts": pk,
            "orig_ip_bytes": by,
            "resp_pkts": 0,
            "resp_ip_bytes": 0,
            "source": "netflow",
            "exporter": name,
        }
        for ts, uid, s, sp, d, dp, pn, du, pk, by in zip(
            start,
            _uids(batch, name),
            src,
            sport,
            dst,
            dport,
            names,
            duration,
            batch.pkts.tolist(),
            batch.bytes.tolist(),
            strict=True,
        )
    ]
    if rb is not None and rp is not None:
        for rec, b, p in zip(out, rb, rp, strict=True):
            rec["resp_ip_bytes"] = b
            rec["resp_pkts"] = p
    return out


def pair(records: list[dict[str, Any]], window: float = 120.0) -> list[dict[str, Any]]:
    """Join the two directions of a connection, exported as two unidirectional flows, into one
    record as Zeek writes it: the side that started first (on a tie, the one from the higher,
    ephemeral port) is the originator, the other's counts become ``resp_pkts``/``resp_ip_bytes``.

    Why: the detectors read ``resp_pkts`` as "was it answered" (a scan's probes, an unanswered
    remote-access attempt); a lone direction would make every flow look unanswered. Only flows that
    arrive in the same batch are joined (exporters send both directions when the connection
    expires); ICMP is left alone (a request and its reply differ in type). ``flow_records: 2`` marks a
    joined record (absent: one export record), for comparing flow counts with other collectors.
    """
    out: list[dict[str, Any]] = []
    waiting: dict[tuple[Any, ...], int] = {}
    append = out.append
    for rec in records:
        proto = rec["proto"]
        if rec["resp_pkts"] or (proto != "tcp" and proto != "udp"):
            append(rec)
            continue
        a, ap, b, bp, exp = (
            rec["id.orig_h"],
            rec["id.orig_p"],
            rec["id.resp_h"],
            rec["id.resp_p"],
            rec["exporter"],
        )
        i = waiting.pop((b, bp, a, ap, proto, exp), None)
        if i is not None:
            other = out[i]
            if abs(other["ts"] - rec["ts"]) <= window:
                out[i] = _join(other, rec) if _first(other, rec) else _join(rec, other)
                continue
        waiting[(a, ap, b, bp, proto, exp)] = len(out)
        append(rec)
    return out


def _join(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    end = max(first["ts"] + first["duration"], second["ts"] + second["duration"])
    first["duration"] = end - first["ts"]
    first["resp_pkts"] = second["orig_pkts"]
    first["resp_ip_bytes"] = second["orig_ip_bytes"]
    first["flow_records"] = 2
    return first


def _first(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a["ts"] != b["ts"]:
        return bool(a["ts"] < b["ts"])
    return bool(a["id.orig_p"] >= b["id.orig_p"])
