"""NetFlow v5, v9 and IPFIX export packets → flow columns (numpy arrays), one data set at a time.

    decoder = Decoder(counters)
    for batch in decoder.decode(datagram, ("192.0.2.1", 2055)):
        ...  # batch.src, batch.dst, batch.sport, batch.bytes … one entry per flow

Why our own decoder and not the ``netflow`` package (PyPI, 0.12.2): that package builds one Python
object per field of every record, which measured about 40k v5 flows/s on one core here (see
``bench/bench_collect.py`` and docs/PERFORMANCE.md, measured side by side in the same run). A data set
of a template is an array of fixed-size records, so it is decoded here as one numpy structured array
(``np.frombuffer`` with a dtype built once per template): the per-flow cost is only the conn record's
dict, and the collector keeps well above 200k flows/s.

Templates are kept per exporter (address and port: RFC 7011's transport session) and observation
domain (v9: source id); a template arriving again replaces the old one (refresh); IPFIX withdrawals
(field count 0) remove one template or, with the set's own id, all of them. Sequence numbers are
checked per exporter and domain: a forward gap is counted as lost flows (v5, IPFIX: the counter counts
records) or lost packets (v9: it counts export packets). Sampling rates come from the v5 header, from
options data (samplingInterval 34, samplerRandomInterval 50, samplingPacketInterval 305) or from the
data record itself, and multiply bytes and packets. Malformed input is counted and skipped, never
raised.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field

import numpy as np

from wardwatch.counters import Counters

# Information elements used (IANA IPFIX numbering; v9 shares 1-127).
OCTETS, PACKETS, PROTO, TCP_FLAGS, SRC_PORT, SRC_V4, DST_PORT, DST_V4 = 1, 2, 4, 6, 7, 8, 11, 12
LAST_UPTIME, FIRST_UPTIME, SRC_V6, DST_V6, ICMP_V4 = 21, 22, 27, 28, 32
SAMPLING_INTERVAL, SAMPLER_RANDOM_INTERVAL, OCTETS_TOTAL, PACKETS_TOTAL, ICMP_V6 = 34, 50, 85, 86, 139
START_S, END_S, START_MS, END_MS, START_US, END_US, START_NS, END_NS = 150, 151, 152, 153, 154, 155, 156, 157
SYS_INIT_MS, SAMPLING_PACKET_INTERVAL = 160, 305
REVERSE_PEN = 29305  # RFC 5103 reverse information elements (biflows, softflowd -b)
VARIABLE = 65535
M32 = 1 << 32
_LATEST = 4_102_444_800.0  # 2100-01-01

_V5_HEADER = struct.Struct("!HHIIIIBBH")
_V5_RECORD = np.dtype(
    [
        ("src", ">u4"), ("dst", ">u4"), ("nexthop", ">u4"), ("input", ">u2"), ("output", ">u2"),
        ("pkts", ">u4"), ("bytes", ">u4"), ("first", ">u4"), ("last", ">u4"), ("sport", ">u2"),
        ("dport", ">u2"), ("pad1", "u1"), ("flags", "u1"), ("proto", "u1"), ("tos", "u1"),
        ("src_as", ">u2"), ("dst_as", ">u2"), ("src_mask", "u1"), ("dst_mask", "u1"), ("pad2", ">u2"),
    ]
)  # fmt: skip
_V9_HEADER = struct.Struct("!HHIIII")
_IPFIX_HEADER = struct.Struct("!HHIII")
_SET = struct.Struct("!HH")
_U16 = struct.Struct("!H")


@dataclass
class FlowBatch:
    """One decoded data set: parallel arrays, one entry per flow. ``src``/``dst`` are uint32 (IPv4)
    or 16-byte ``V16`` values (IPv6); times are seconds since the epoch."""

    version: int
    exporter: tuple[str, int]
    domain: int
    start: np.ndarray
    end: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    sport: np.ndarray
    dport: np.ndarray
    proto: np.ndarray
    bytes: np.ndarray
    pkts: np.ndarray
    rbytes: np.ndarray | None = None  # biflow reverse counts (RFC 5103), None when not exported
    rpkts: np.ndarray | None = None
    flags: np.ndarray | None = None
    icmp: np.ndarray | None = None  # type << 8 | code

    def __len__(self) -> int:
        return len(self.bytes)

    @property
    def v6(self) -> bool:
        return self.src.dtype.kind == "V"


@dataclass(frozen=True)
class Template:
    id: int
    fields: tuple[tuple[int, int, int], ...]  # (enterprise, element, length)
    options: bool = False
    scope: int = 0  # options: how many of the fields are scope fields

    @property
    def fixed(self) -> bool:
        return all(length != VARIABLE for _, _, length in self.fields)

    @property
    def size(self) -> int:
        return sum(length for _, _, length in self.fields if length != VARIABLE)


@dataclass
class _Layout:
    """A template compiled: the numpy dtype of one record (fixed-length fields only) and where each
    element of interest sits in it."""

    dtype: np.dtype
    where: dict[tuple[int, int], tuple[str, int]]  # (enterprise, element) → (column, length)


def _layout(t: Template) -> _Layout:
    names, formats, offsets = [], [], []
    where: dict[tuple[int, int], tuple[str, int]] = {}
    off = 0
    for i, (ent, ie, length) in enumerate(f for f in t.fields if f[2] != VARIABLE):
        name = f"f{i}"
        fmt = f">u{length}" if length in (1, 2, 4, 8) else f"V{length}"
        names.append(name)
        formats.append(fmt)
        offsets.append(off)
        off += length
        where.setdefault((ent, ie), (name, length))  # the first occurrence wins (as nfdump)
    return _Layout(np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": off}), where)


def _uint(col: np.ndarray, length: int) -> np.ndarray:
    """Any big-endian unsigned column as uint64 (reduced-size encodings: 3, 5, 6, 7 bytes)."""
    if length in (1, 2, 4, 8):
        return col.astype(np.uint64)
    raw = np.frombuffer(col.tobytes(), dtype=np.uint8).reshape(-1, length).astype(np.uint64)
    out = np.zeros(len(col), dtype=np.uint64)
    for k in range(min(length, 8)):
        out = (out << np.uint64(8)) | raw[:, length - min(length, 8) + k]
    return out


@dataclass
class _Domain:
    templates: dict[int, tuple[Template, _Layout]] = field(default_factory=dict)
    prev: tuple[int, tuple[int, int]] | None = None  # the last sequence number and record counts
    inclusive: bool | None = None  # does the number count this message's records (learned)
    sampling: int = 1
    sys_init_ms: int | None = None


class Decoder:
    """Decoding state of every exporter: templates, sequence numbers and sampling rates."""

    def __init__(self, counters: Counters | None = None, sampling: int | None = None) -> None:
        self.counters = counters if counters is not None else Counters()
        self.sampling = sampling  # configured rate overriding what exporters say (None: theirs)
        self.domains: dict[tuple[tuple[str, int], int], _Domain] = {}

    def _domain(self, exporter: tuple[str, int], domain: int) -> _Domain:
        key = (exporter, domain)
        d = self.domains.get(key)
        if d is None:
            d = self.domains[key] = _Domain()
        return d

    def decode(self, data: bytes, exporter: tuple[str, int], now: float | None = None) -> list[FlowBatch]:
        """The flows of one export datagram (an empty list for templates only or malformed input)."""
        c = self.counters
        c.add("netflow.datagrams")
        if len(data) < 4:
            c.add("netflow.malformed")
            return []
        version = _U16.unpack_from(data)[0]
        try:
            if version == 5:
                out = self._v5(data, exporter)
            elif version == 9:
                out = self._v9(data, exporter)
            elif version == 10:
                out = self._ipfix(data, exporter)
            else:
                c.add("netflow.unsupported_version")
                return []
        except (struct.error, ValueError, IndexError, TypeError):
            c.add("netflow.malformed")
            return []
        for b in out:
            # a time before 1970 or after 2100 is an exporter's bug: the flow keeps the arrival time
            bad = ~((b.start > 0) & (b.start < _LATEST) & (b.end > 0) & (b.end < _LATEST))
            if bad.any():
                c.add("netflow.bad_times", int(bad.sum()))
                arrival = time.time() if now is None else now
                b.start = np.where(bad, arrival, b.start)
                b.end = np.where(bad, arrival, b.end)
        c.add("netflow.flows", sum(len(b) for b in out))
        return out

    # -- sequence numbers --------------------------------------------------------------------------
    def _sequence(self, d: _Domain, seq: int, counts: tuple[int, int], unit: str) -> None:
        """Count a forward sequence gap as loss. ``counts``: this message's records without and with
        options records. Exporters differ on what the number means (RFC 7011: records sent before
        this message; softflowd: including this message's, options records left out), so the first
        consistent reading is learned per domain and kept."""
        prev = d.prev
        d.prev = (seq, counts)
        if prev is None:
            return
        pseq, pcounts = prev
        # options records counted or not: either reading that explains the number is taken
        gaps = {
            inc: min((seq - pseq - (counts if inc else pcounts)[o]) % M32 for o in (0, 1))
            for inc in (False, True)
        }
        if d.inclusive is None:
            learned = next((inc for inc, g in gaps.items() if g == 0), None)
            d.inclusive = learned
            gap = gaps[False] if learned is None else 0
        else:
            gap = gaps[d.inclusive]
        if gap == 0:
            return
        if gap < 1 << 20:  # forward: lost on the way; otherwise a restart or a late datagram
            self.counters.add(f"netflow.lost_{unit}", gap)
        else:
            self.counters.add("netflow.sequence_resets")

    def _rate(self, d: _Domain, own: int = 0) -> int:
        if self.sampling:
            return self.sampling
        return own or d.sampling or 1

    # -- v5 ------------------------------------------------------------------------------------------
    def _v5(self, data: bytes, exporter: tuple[str, int]) -> list[FlowBatch]:
        _, count, uptime, secs, nsecs, seq, _etype, engine, sampling = _V5_HEADER.unpack_from(data)
        if count == 0 or count > 30 or len(data) < 24 + count * 48:
            self.counters.add("netflow.malformed")
            return []
        d = self._domain(exporter, engine)
        self._sequence(d, seq, (count, count), "flows")
        d.sampling = sampling & 0x3FFF
        r = np.frombuffer(data, dtype=_V5_RECORD, count=count, offset=24)
        base = secs + nsecs / 1e9
        rate = np.uint64(self._rate(d))
        # uptime offsets are 32-bit milliseconds that wrap after 49.7 days: take the signed difference
        start = base - ((uptime - r["first"].astype(np.int64)) % M32).astype(np.float64) / 1000.0
        end = base - ((uptime - r["last"].astype(np.int64)) % M32).astype(np.float64) / 1000.0
        proto = r["proto"].astype(np.uint8)
        dport = r["dport"].astype(np.uint16)
        return [
            FlowBatch(
                5, exporter, engine, start, end, r["src"].astype(np.uint32), r["dst"].astype(np.uint32),
                r["sport"].astype(np.uint16), dport, proto,
                r["bytes"].astype(np.uint64) * rate, r["pkts"].astype(np.uint64) * rate,
                flags=r["flags"].astype(np.uint8),
                icmp=np.where((proto == 1) | (proto == 58), dport, 0).astype(np.uint16),
            )
        ]  # fmt: skip

    # -- v9 ------------------------------------------------------------------------------------------
    def _v9(self, data: bytes, exporter: tuple[str, int]) -> list[FlowBatch]:
        _, _count, uptime, secs, seq, source = _V9_HEADER.unpack_from(data)
        d = self._domain(exporter, source)
        self._sequence(d, seq, (1, 1), "packets")
        out: list[FlowBatch] = []
        for set_id, body in _sets(data, 20, self.counters):
            if set_id == 0:
                self._templates(d, body, ipfix=False)
            elif set_id == 1:
                self._v9_options_templates(d, body)
            elif set_id >= 256:
                b = self._data(d, set_id, body, 9, exporter, source, uptime_ms=uptime, export_s=secs)
                if b is not None:
                    out.append(b)
        return out

    def _v9_options_templates(self, d: _Domain, body: memoryview) -> None:
        pos = 0
        while pos + 6 <= len(body):
            tid, scope_len, opt_len = struct.unpack_from("!HHH", body, pos)
            pos += 6
            if tid < 256 or scope_len % 4 or opt_len % 4 or pos + scope_len + opt_len > len(body):
                break  # the rest is padding (or garbage)
            fields = []
            for off in range(pos, pos + scope_len + opt_len, 4):
                ie, length = struct.unpack_from("!HH", body, off)
                # v9 scope types (1 system … 5 template) share numbers with IEs: keep them apart
                fields.append((-1 if off < pos + scope_len else 0, ie, length))
            pos += scope_len + opt_len
            self._set_template(d, Template(tid, tuple(fields), options=True, scope=scope_len // 4))

    # -- IPFIX ---------------------------------------------------------------------------------------
    def _ipfix(self, data: bytes, exporter: tuple[str, int]) -> list[FlowBatch]:
        _, length, export_time, seq, domain = _IPFIX_HEADER.unpack_from(data)
        if length > len(data) or length < 16:
            self.counters.add("netflow.malformed")
            return []
        d = self._domain(exporter, domain)
        out: list[FlowBatch] = []
        records = options = 0
        for set_id, body in _sets(memoryview(data)[:length], 16, self.counters):
            if set_id == 2:
                self._templates(d, body, ipfix=True, withdraw_id=2)
            elif set_id == 3:
                self._templates(d, body, ipfix=True, options=True, withdraw_id=3)
            elif set_id >= 256:
                before = d.templates.get(set_id)
                b = self._data(d, set_id, body, 10, exporter, domain, export_s=export_time)
                if b is not None:
                    out.append(b)
                    records += len(b)
                elif before is not None and before[0].options and before[0].fixed and before[0].size:
                    options += len(body) // before[0].size
        self._sequence(d, seq, (records, records + options), "flows")
        return out

    # -- templates -----------------------------------------------------------------------------------
    def _set_template(self, d: _Domain, t: Template) -> None:
        old = d.templates.get(t.id)
        if old is not None and old[0] == t:
            self.counters.add("netflow.templates_refreshed")
            return
        d.templates[t.id] = (t, _layout(t))
        self.counters.add("netflow.templates")

    def _templates(
        self, d: _Domain, body: memoryview, ipfix: bool, options: bool = False, withdraw_id: int = 0
    ) -> None:
        pos = 0
        while pos + 4 <= len(body):
            tid, count = struct.unpack_from("!HH", body, pos)
            pos += 4
            if ipfix and count == 0:  # withdrawal (RFC 7011 8.1)
                if tid == withdraw_id:
                    n = sum(1 for t, _ in d.templates.values() if t.options == options)
                    d.templates = {k: v for k, v in d.templates.items() if v[0].options != options}
                    self.counters.add("netflow.templates_withdrawn", n)
                elif d.templates.pop(tid, None) is not None:
                    self.counters.add("netflow.templates_withdrawn")
                continue
            if tid < 256:
                break  # padding
            scope = 0
            if options:
                if pos + 2 > len(body):
                    raise ValueError("short options template")
                scope = _U16.unpack_from(body, pos)[0]
                pos += 2
            fields = []
            for _ in range(count):
                ie, length = struct.unpack_from("!HH", body, pos)
                pos += 4
                ent = 0
                if ipfix and ie & 0x8000:
                    ent = struct.unpack_from("!I", body, pos)[0]
                    pos += 4
                    ie &= 0x7FFF
                fields.append((ent, ie, length))
            self._set_template(d, Template(tid, tuple(fields), options=options, scope=scope))

    # -- data ----------------------------------------------------------------------------------------
    def _data(
        self,
        d: _Domain,
        set_id: int,
        body: memoryview,
        version: int,
        exporter: tuple[str, int],
        domain: int,
        uptime_ms: int | None = None,
        export_s: int = 0,
    ) -> FlowBatch | None:
        have = d.templates.get(set_id)
        if have is None:
            self.counters.add("netflow.no_template")
            return None
        t, lay = have
        if t.fixed:
            if t.size == 0:
                return None
            n = len(body) // t.size  # what is left over is padding
            if n == 0:
                return None
            arr = np.frombuffer(body, dtype=lay.dtype, count=n)
        else:
            walked = _variable_records(t, lay, body)
            if walked is None or len(walked) == 0:
                self.counters.add("netflow.malformed")
                return None
            arr = walked
        if t.options:
            self._options(d, lay, arr)
            return None
        return self._flows(d, lay, arr, version, exporter, domain, uptime_ms, export_s)

    def _options(self, d: _Domain, lay: _Layout, arr: np.ndarray) -> None:
        for key in ((0, SAMPLING_INTERVAL), (0, SAMPLER_RANDOM_INTERVAL), (0, SAMPLING_PACKET_INTERVAL)):
            if key in lay.where:
                name, length = lay.where[key]
                rate = int(_uint(arr[name], length)[-1])
                if rate > 0:
                    d.sampling = rate
                    self.counters.add("netflow.sampling_options")
                break
        if (0, SYS_INIT_MS) in lay.where:
            name, length = lay.where[(0, SYS_INIT_MS)]
            d.sys_init_ms = int(_uint(arr[name], length)[-1])

    def _flows(
        self,
        d: _Domain,
        lay: _Layout,
        arr: np.ndarray,
        version: int,
        exporter: tuple[str, int],
        domain: int,
        uptime_ms: int | None,
        export_s: int,
    ) -> FlowBatch | None:
        w = lay.where
        n = len(arr)

        def col(ie: int, ent: int = 0) -> np.ndarray | None:
            hit = w.get((ent, ie))
            return None if hit is None else _uint(arr[hit[0]], hit[1])

        if (0, SRC_V4) in w and (0, DST_V4) in w and w[(0, SRC_V4)][1] == 4 and w[(0, DST_V4)][1] == 4:
            src = arr[w[(0, SRC_V4)][0]].astype(np.uint32)
            dst = arr[w[(0, DST_V4)][0]].astype(np.uint32)
        elif (0, SRC_V6) in w and (0, DST_V6) in w and w[(0, SRC_V6)][1] == 16 and w[(0, DST_V6)][1] == 16:
            src = np.ascontiguousarray(arr[w[(0, SRC_V6)][0]])
            dst = np.ascontiguousarray(arr[w[(0, DST_V6)][0]])
        else:
            self.counters.add("netflow.no_addresses", n)
            return None
        zero = np.zeros(n, dtype=np.uint64)
        octets = col(OCTETS)
        octets = octets if octets is not None else col(OCTETS_TOTAL)
        pkts = col(PACKETS)
        pkts = pkts if pkts is not None else col(PACKETS_TOTAL)
        own = col(SAMPLING_INTERVAL)
        own = own if own is not None else col(SAMPLER_RANDOM_INTERVAL)
        rate = np.full(n, self._rate(d), dtype=np.uint64)
        if own is not None and not self.sampling:
            rate = np.where(own > 0, own, rate)
        start, end = self._times(d, col, n, uptime_ms, export_s)
        proto = col(PROTO)
        sport, dport = col(SRC_PORT), col(DST_PORT)
        icmp = col(ICMP_V4)
        icmp6 = col(ICMP_V6)
        if icmp6 is not None:
            icmp = icmp6 if icmp is None else np.where(icmp > 0, icmp, icmp6)
        rb, rp = col(OCTETS, REVERSE_PEN), col(PACKETS, REVERSE_PEN)
        dport16 = (dport if dport is not None else zero).astype(np.uint16)
        p8 = (proto if proto is not None else zero).astype(np.uint8)
        if icmp is None:  # as v5: the ICMP type and code travel in the destination port
            icmp = np.where((p8 == 1) | (p8 == 58), dport16, 0)
        flags = col(TCP_FLAGS)
        return FlowBatch(
            version, exporter, domain, start, end, src, dst,
            (sport if sport is not None else zero).astype(np.uint16), dport16, p8,
            (octets if octets is not None else zero) * rate, (pkts if pkts is not None else zero) * rate,
            rbytes=None if rb is None else rb * rate, rpkts=None if rp is None else rp * rate,
            flags=None if flags is None else flags.astype(np.uint8), icmp=icmp.astype(np.uint16),
        )  # fmt: skip

    def _times(
        self, d: _Domain, col: object, n: int, uptime_ms: int | None, export_s: int
    ) -> tuple[np.ndarray, np.ndarray]:
        get = col  # type: ignore[assignment]
        for s_ie, e_ie, scale in ((START_MS, END_MS, 1e-3), (START_S, END_S, 1.0)):
            s = get(s_ie)  # type: ignore[operator]
            if s is not None:
                e = get(e_ie)  # type: ignore[operator]
                start = s.astype(np.float64) * scale
                return start, (e.astype(np.float64) * scale if e is not None else start)
        for s_ie, e_ie in ((START_US, END_US), (START_NS, END_NS)):
            s = get(s_ie)  # type: ignore[operator]
            if s is not None:  # NTP format: seconds since 1900 . fraction
                e = get(e_ie)  # type: ignore[operator]
                e = s if e is None else e
                return _ntp(s), _ntp(e)
        first, last = get(FIRST_UPTIME), get(LAST_UPTIME)  # type: ignore[operator]
        if first is not None:
            last = first if last is None else last
            if uptime_ms is not None:  # v9: relative to the header's uptime at export
                base = float(export_s)
                start = base - ((uptime_ms - first.astype(np.int64)) % M32).astype(np.float64) / 1000.0
                end = base - ((uptime_ms - last.astype(np.int64)) % M32).astype(np.float64) / 1000.0
                return start, end
            if d.sys_init_ms is not None:  # IPFIX: relative to systemInitTimeMilliseconds
                return (d.sys_init_ms + first.astype(np.float64)) / 1000.0, (
                    d.sys_init_ms + last.astype(np.float64)
                ) / 1000.0
        self.counters.add("netflow.no_times", n)
        t = np.full(n, float(export_s), dtype=np.float64)
        return t, t


def _ntp(v: np.ndarray) -> np.ndarray:
    return (
        (v >> np.uint64(32)).astype(np.float64)
        - 2208988800.0
        + (v & np.uint64(0xFFFFFFFF)).astype(np.float64) / 2**32
    )


def _sets(data: bytes | memoryview, pos: int, counters: Counters) -> list[tuple[int, memoryview]]:
    """The (set id, body) pairs of a v9/IPFIX message; a set that runs past the end stops the walk."""
    mv = memoryview(data)
    out = []
    while pos + 4 <= len(mv):
        set_id, length = _SET.unpack_from(mv, pos)
        if length < 4 or pos + length > len(mv):
            counters.add("netflow.malformed")
            break
        out.append((set_id, mv[pos + 4 : pos + length]))
        pos += length
    return out


def _variable_records(t: Template, lay: _Layout, body: memoryview) -> np.ndarray | None:
    """Records of a template with variable-length fields, their fixed-length fields packed into the
    template's layout (the slow path: walked record by record)."""
    chunks: list[bytes] = []
    pos = 0
    end = len(body)
    while pos < end:
        rec = bytearray()
        for _, _, length in t.fields:
            if length == VARIABLE:
                if pos + 1 > end:
                    return None
                ln = body[pos]
                pos += 1
                if ln == 255:
                    if pos + 2 > end:
                        return None
                    ln = _U16.unpack_from(body, pos)[0]
                    pos += 2
                pos += ln
            else:
                rec += body[pos : pos + length]
                pos += length
            if pos > end:
                if not chunks:
                    return None
                pos = end
                rec = bytearray()
                break
        if len(rec) == lay.dtype.itemsize:
            chunks.append(bytes(rec))
        if end - pos < 4:  # padding
            break
    return np.frombuffer(b"".join(chunks), dtype=lay.dtype) if chunks else None
