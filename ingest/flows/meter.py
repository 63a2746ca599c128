"""FlowMeter: assigns packets to connections and emits Zeek conn.log records.

Per batch: canonical keys → stable sort/group (``keys.py``) → one dictionary lookup per connection.
Connections whose packets in the batch cannot change their state (plain TCP data/ACKs of
established endpoints, further UDP/ICMP packets) are merged from vectorised per-segment aggregates
(``fast.py``); the others — new connections, SYN/FIN/RST, pending timers — are processed packet by
packet (``tcp.py``), in capture order. Both paths give the same result, so records do not depend
on where batches start or end. When the C extension ``_tcprun`` is built, every TCP packet takes
the per-packet path instead, in C (``_run_native``), and the per-connection work is C too: new TCP
connections and their uids (``run``'s ``create``), the UDP/ICMP/other loop (``simple``), expiry
(``expire``), the order and building of records (``sort_finished``, ``records``). Connections it
creates are left out of the garbage collector's lists (they can hold no reference cycle). A TCP
connection that is only a SYN so far and every UDP/ICMP/other connection is not even a ``Conn``
but a fixed-size C slot (``_slots.h``, ``self._slots``; ≈ 260 bytes with its indexes and timer,
against ≈ 1.1 KiB), made a ``Conn`` with the same id on any rarer event (a second TCP packet, an
interim record); ``_finished`` then holds the slot's id where it would hold the ``Conn``. The Python
code is its fallback (also with ``WARDWATCH_FLOWS_PYTHON=1``); tests/unit/test_flows_native.py
compares the two.

Timers run on capture time: ``expire(now)`` fires Zeek's inactivity, attempt, close and partial
close timers that fell due before ``now``. A packet arriving after such a deadline starts a new
connection, as in Zeek, whether or not ``expire`` ran in between.

Interim records: a connection alive longer than ``interim_interval`` gets, at each interval, a
record with the counts so far, its final uid, and ``"interim": true``. The final record (without
``interim``) carries the totals and replaces the interim ones downstream (same uid). Interim
records are emitted by ``expire`` and so depend on when it is called; final records do not.

Memory: above ``max_flows`` live connections, the unanswered ones and then the longest-idle ones are
finished early (their records emitted) and counted as ``flows.evicted`` (checked once per batch, so the table may
exceed the limit by one batch's new connections).

Where this differs from Zeek:
- ``missed_bytes`` / ``G``: Zeek learns gaps from its reassembler when ACKs pass unseen data; here
  a data packet that starts beyond everything seen counts its skipped bytes (reordered packets
  that later fill the hole are not subtracted), plus data the peer acknowledged beyond the last
  byte seen.
- no ``C`` (checksums are not verified), no ``local_orig``/``local_resp``, ``vlan``,
  ``tunnel_parents`` or ``ip_proto``; ICMP connections carry no history.
- Zeek's likely-server-port flip uses the ports of its loaded analyzers; here a fixed list
  (``FlowConfig.tcp_server_ports`` / ``udp_server_ports``). A first packet that is a SYN-ACK
  always flips.
- Zeek's TCP ExpireTimer/``tcp_connection_linger`` is not modelled (the close, reset, partial
  close and attempt timers cover the same connections).
"""

from __future__ import annotations

import heapq
import itertools
import os
from typing import cast

import numpy as np

from wardwatch.counters import Counters

from ..decode.columns import (
    PROTO_ICMP,
    PROTO_ICMP6,
    PROTO_TCP,
    PROTO_UDP,
    PacketBatch,
)
from . import conn as conn_module
from .assignment import FlowAssignment
from .config import FlowConfig
from .conn import (
    ESTABLISHED,
    INACTIVE,
    INF,
    KIND_ICMP,
    KIND_NAMES,
    KIND_OTHER,
    KIND_TCP,
    KIND_UDP,
    PARTIAL,
    Conn,
    Endpoint,
    ip_text,
)
from .fast import TcpSegments, nth_row, segment_positions, tcp_segments
from .keys import Keys, canonical_keys, group_rows, key_columns, key_tuples
from .tcp import ACK, FIN, RST, SYN, is_reuse, tcp_packet, timer_due

Record = dict[str, object]
_STEADY: tuple[int, int] = (ESTABLISHED, PARTIAL)

# Per-packet TCP in C (_tcprun.c) when it is built; tests set this to False to compare both ways.
USE_NATIVE = conn_module.native is not None
# The C slot table for the common connection states (_slots.h), with the C code; WARDWATCH_FLOWS_SLOTS=0
# leaves every connection a Conn (bench/bench_storm.py measures both ways, the tests compare them).
USE_SLOTS = os.environ.get("WARDWATCH_FLOWS_SLOTS", "1") != "0"
if conn_module.native is not None:
    conn_module.native.setup(Conn, conn_module.new_endpoint, conn_module.Counts)


def _port_bitmap(ports: frozenset[int]) -> bytes:
    """A 65536-bit map of ``ports`` (bit p of byte p // 8), for the C code's server-port test."""
    bits = np.zeros(65536, dtype=bool)
    bits[[p for p in ports if 0 <= p < 65536]] = True
    return np.packbits(bits, bitorder="little").tobytes()


def _kind(proto: int) -> int:
    if proto == PROTO_TCP:
        return KIND_TCP
    if proto == PROTO_UDP:
        return KIND_UDP
    if proto in (PROTO_ICMP, PROTO_ICMP6):
        return KIND_ICMP
    return KIND_OTHER


class FlowMeter:
    """Zeek-style connection tracking over PacketBatches (implements ``FlowView``)."""

    def __init__(self, counters: Counters, config: FlowConfig | None = None) -> None:
        self.counters = counters
        self.config = config or FlowConfig()
        self._conns: dict[tuple, Conn] = {}  # live connections by canonical key
        self._by_id: dict[int, Conn] = {}  # live + recently finished, for FlowView lookups
        self._finished: list[Conn | int] = []  # finished (a slot: its id), records not yet returned
        self._retired: list[int] = []  # ids returned by the last expire(), dropped at the next
        self._heap: list[tuple[float, int, int]] = []  # timers (due, tick, fid), without the C code
        self._tick = itertools.count()
        self._ids = itertools.count(1)  # connection ids; the C code draws from the same counter
        # _tcprun needs the C endpoints, which are chosen when the connection is created.
        self._native = conn_module.native if USE_NATIVE and conn_module.new_endpoint is not Endpoint else None
        # with it, the timers are a C heap of (due, fid) popped in the same order (due, then push order)
        self._cheap = self._native.Heap() if self._native is not None else None
        # SYN-only TCP and UDP/ICMP/other connections as fixed-size C slots (_slots.h): no Python
        # objects per connection; they become Conns (the same id) on any rarer event
        self._slots = (
            self._native.Table(int.from_bytes(os.urandom(8), "little"))
            if self._native is not None and USE_SLOTS
            else None
        )
        self._key_columns: tuple[np.ndarray, ...] | None = None  # the batch's keys, for the C code
        self._tcp_ports = _port_bitmap(self.config.tcp_server_ports)
        self._udp_ports = _port_bitmap(self.config.udp_server_ports)

    # -- FlowView --------------------------------------------------------------------------------
    def uid(self, flow: int) -> str:
        conn = self._by_id.get(int(flow))
        if conn is None and self._slots is not None:
            return self._slots.uid(int(flow)) or ""
        return conn.uid if conn else ""

    def add_service(self, flow: int, service: str) -> None:
        conn = self._by_id.get(int(flow))
        if conn is not None:
            name = service.lower()
            if name not in conn.services:
                conn.services += (name,)
        elif self._slots is not None:
            self._slots.add_service(int(flow), service.lower())

    def endpoints(self, flow: int) -> tuple[str, int, str, int, str]:
        conn = self._by_id.get(int(flow))
        if conn is None:
            slot = self._slots.endpoints(int(flow)) if self._slots is not None else None
            if slot is None:
                return ("", 0, "", 0, "")
            orig_h, orig_p, resp_h, resp_p, kind = slot
            return (ip_text(orig_h), orig_p, ip_text(resp_h), resp_p, KIND_NAMES[kind])
        return (ip_text(conn.orig_h), conn.orig_p, ip_text(conn.resp_h), conn.resp_p, KIND_NAMES[conn.kind])

    def __len__(self) -> int:
        return len(self._conns) + (len(self._slots) if self._slots is not None else 0)

    @property
    def retired(self) -> list[int]:
        """Ids of the connections whose final records the last expire() or flush() returned: they
        will never be seen again (a later packet of the same 5-tuple opens a new id), so whoever
        keeps state by id may drop theirs."""
        return self._retired

    # -- timers ----------------------------------------------------------------------------------
    def _timers(self) -> tuple[float, float, float, float, float, float]:
        """The TCP timeouts and delays, as the C code takes them."""
        cfg = self.config
        return (
            cfg.tcp_inactivity,
            cfg.udp_inactivity,
            cfg.tcp_attempt_delay,
            cfg.tcp_close_delay,
            cfg.tcp_partial_close_delay,
            cfg.tcp_reset_delay,
        )

    def _create(self) -> tuple:
        """What the C code needs to create and schedule connections (the same tables and counters)."""
        return (self._by_id, self._ids, self._tcp_ports, self.config.interim_interval, self._cheap)

    def _push(self, due: float, fid: int) -> None:
        if self._cheap is not None:
            self._cheap.push(due, fid)
        else:
            heapq.heappush(self._heap, (due, next(self._tick), fid))

    def _timeout(self, conn: Conn) -> float:
        cfg = self.config
        if conn.kind == KIND_TCP:
            return cfg.tcp_inactivity if conn.tcp_timeout else cfg.udp_inactivity
        if conn.kind == KIND_UDP:
            return cfg.udp_inactivity
        if conn.kind == KIND_ICMP:
            return cfg.icmp_inactivity
        return cfg.unknown_inactivity

    def _schedule(self, conn: Conn) -> None:
        due = min(
            conn.attempt_at,
            conn.partial_at,
            conn.delete_at,
            conn.last_time + self._timeout(conn),
            conn.next_interim,
        )
        if due < conn.heap_at:
            conn.heap_at = due
            self._push(due, conn.fid)

    def _finish(self, conn: Conn) -> None:
        conn.done = True
        if self._conns.get(conn.key) is conn:
            del self._conns[conn.key]
        self._finished.append(conn)

    # -- connection creation -----------------------------------------------------------------------
    def _new_conn(self, key: tuple, from_a: bool, flags: int, ts: float) -> Conn:
        proto, a_hi, a_lo, b_hi, b_lo, a_port, b_port = key
        kind = _kind(proto)
        conn = Conn(next(self._ids), key, kind, ts)
        src_port, dst_port = (a_port, b_port) if from_a else (b_port, a_port)
        flip = False
        if kind == KIND_TCP:
            if flags & SYN and flags & ACK:
                flip = True  # first packet is a SYN-ACK: its receiver opened the connection
            elif not flags & SYN and src_port in self.config.tcp_server_ports:
                # Zeek's WantConnection: midstream traffic from a likely server port
                flip = dst_port not in self.config.tcp_server_ports or src_port < dst_port
        elif kind == KIND_UDP:
            ports = self.config.udp_server_ports
            flip = src_port in ports and dst_port not in ports
        conn.orig_a = from_a != flip
        a, b = ((a_hi, a_lo), a_port), ((b_hi, b_lo), b_port)
        (conn.orig_h, conn.orig_p), (conn.resp_h, conn.resp_p) = (a, b) if conn.orig_a else (b, a)
        if flip:
            conn.history += "^"
        conn.uid = conn.make_uid()
        if self.config.interim_interval > 0:
            conn.next_interim = ts + self.config.interim_interval
        self._conns[key] = conn
        self._by_id[conn.fid] = conn
        self.counters.add("flows.created")
        return conn

    # -- UDP, ICMP and other transports (vectorised) ----------------------------------------------
    def _run_simple(
        self,
        batch: PacketBatch,
        from_a: np.ndarray,
        order: np.ndarray,
        gs: np.ndarray,
        group_end: np.ndarray,
        groups: list[int],
        key_list: list[tuple],
        flow_out: np.ndarray,
        orig_out: np.ndarray,
    ) -> None:
        """Connections without a state machine: per packet, ``_packet`` only splits on idle gaps,
        creates a connection at the first packet of each piece and adds counts and D/d letters, so
        runs of packets between idle gaps are aggregated here with the same result."""
        cfg = self.config
        sel = np.array(groups, dtype=np.int64)
        pos, gidx, _ = segment_positions(gs[sel], group_end[sel])
        rows = order[pos]
        rows = rows[np.lexsort((rows, gidx))]  # connection-major, capture order inside
        m = len(rows)
        ts = batch.ts[rows]
        fa = from_a[rows]
        proto = batch.proto[rows]
        timeout = np.where(
            proto == PROTO_UDP,
            cfg.udp_inactivity,
            np.where(
                (proto == PROTO_ICMP) | (proto == PROTO_ICMP6), cfg.icmp_inactivity, cfg.unknown_inactivity
            ),
        )
        first = np.ones(m, dtype=bool)
        np.not_equal(gidx[1:], gidx[:-1], out=first[1:])
        # a packet after the previous one's idle deadline starts a new connection (timer_due's test)
        brk = np.zeros(m, dtype=bool)
        brk[1:] = (ts[:-1] + timeout[1:] < ts[1:]) & ~first[1:]
        run_start = first | brk
        run_of = np.cumsum(run_start) - 1
        starts = np.flatnonzero(run_start)
        n_runs = len(starts)
        run_end = np.empty(n_runs, dtype=np.int64)
        run_end[:-1] = starts[1:]
        run_end[-1] = m
        side = run_of * 2 + fa  # (run, sent by endpoint A)
        nside = 2 * n_runs
        pkts_a = np.bincount(side, minlength=nside).astype(np.int64)
        ipb_a = np.bincount(side, weights=batch.ip_len[rows], minlength=nside).astype(np.int64)
        size_a = np.bincount(side, weights=batch.payload_len[rows], minlength=nside).astype(np.int64)
        # capture position of each side's first packet in its run: orders the D/d letters
        first_pos = np.full(nside, m, dtype=np.int64)
        np.minimum.at(first_pos, side, np.arange(m, dtype=np.int64))
        lens = run_end - starts
        if self._native is not None:
            # the loop below, in C
            run_fid_a = np.empty(n_runs, dtype=np.int64)
            run_origa_a = np.empty(n_runs, dtype=np.uint8)
            arrays = (
                sel[gidx[starts]].astype(np.int64), np.ascontiguousarray(ts[starts], dtype=np.float64),
                first[starts].view(np.uint8), np.ascontiguousarray(fa[starts]).view(np.uint8),
                np.ascontiguousarray(ts[run_end - 1], dtype=np.float64), pkts_a, ipb_a, size_a, first_pos,
                run_fid_a, run_origa_a,
            )  # fmt: skip
            simple_timeouts = (cfg.udp_inactivity, cfg.icmp_inactivity, cfg.unknown_inactivity)
            created = self._native.simple(
                arrays,
                key_list,
                self._conns,
                self._finished,
                simple_timeouts,
                self._create(),
                self._udp_ports,
                self._slots,
                self._key_columns,
            )
            if created:
                self.counters.add("flows.created", created)
            flow_out[rows] = np.repeat(run_fid_a, lens)
            orig_out[rows] = fa == np.repeat(run_origa_a.view(bool), lens)
            return
        pkts, ipb, size, fpos = pkts_a.tolist(), ipb_a.tolist(), size_a.tolist(), first_pos.tolist()
        start_l = starts.tolist()
        first_l = first[starts].tolist()
        key_of = sel[gidx[starts]].tolist()
        ts_l = ts.tolist()
        fa_l = fa[starts].tolist()
        last_ts = ts[run_end - 1].tolist()
        get = self._conns.get
        conns = self._conns
        udp_ports = cfg.udp_server_ports
        interval = cfg.interim_interval
        created = 0
        run_fid: list[int] = []
        run_origa: list[bool] = []
        prev: Conn | None = None
        for r in range(n_runs):
            key = key_list[key_of[r]]
            t0 = ts_l[start_l[r]]
            conn = None
            if first_l[r]:
                conn = get(key)
                if conn is not None and conn.last_time + conn.timeout < t0:
                    self._finish(conn)
                    conn = None
            elif prev is not None:
                self._finish(prev)  # idle split inside the batch
            if conn is None:
                created += 1
                proto, a_hi, a_lo, b_hi, b_lo, a_port, b_port = key
                kind = _kind(proto)
                conn = Conn(next(self._ids), key, kind, t0)
                flip = False
                if kind == KIND_UDP:
                    src_port, dst_port = (a_port, b_port) if fa_l[r] else (b_port, a_port)
                    flip = src_port in udp_ports and dst_port not in udp_ports
                orig_a = conn.orig_a = fa_l[r] != flip
                if orig_a:
                    conn.orig_h, conn.orig_p, conn.resp_h, conn.resp_p = (
                        (a_hi, a_lo),
                        a_port,
                        (b_hi, b_lo),
                        b_port,
                    )
                else:
                    conn.orig_h, conn.orig_p, conn.resp_h, conn.resp_p = (
                        (b_hi, b_lo),
                        b_port,
                        (a_hi, a_lo),
                        a_port,
                    )
                if flip:
                    conn.history = "^"
                conn.uid = conn.make_uid()
                if interval > 0:
                    conn.next_interim = t0 + interval
                conn.timeout = self._timeout(conn)
                conn.fast_mask = 3
                conns[key] = conn
                self._by_id[conn.fid] = conn
                # as _schedule at creation, when last_time is still the first packet's
                due = min(t0 + conn.timeout, conn.next_interim)
                conn.heap_at = due
                self._push(due, conn.fid)
            orig_a = conn.orig_a
            ia, ib = 2 * r + 1, 2 * r  # sides sent by endpoint A / B
            ep_a, ep_b = (conn.o, conn.r) if orig_a else (conn.r, conn.o)
            ep_a.pkts += pkts[ia]
            ep_a.ip_bytes += ipb[ia]
            ep_a.size += size[ia]
            ep_b.pkts += pkts[ib]
            ep_b.ip_bytes += ipb[ib]
            ep_b.size += size[ib]
            conn.last_time = last_ts[r]
            if conn.kind == KIND_UDP:
                la = "D" if orig_a else "d"
                lb = "d" if orig_a else "D"
                if fpos[ia] < fpos[ib]:
                    if pkts[ia]:
                        conn.check_history(la)
                    if pkts[ib]:
                        conn.check_history(lb)
                else:
                    if pkts[ib]:
                        conn.check_history(lb)
                    if pkts[ia]:
                        conn.check_history(la)
            if conn.heap_at == INF:
                self._schedule(conn)
            run_fid.append(conn.fid)
            run_origa.append(orig_a)
            prev = conn
        if created:
            self.counters.add("flows.created", created)
        flow_out[rows] = np.repeat(np.array(run_fid, dtype=np.int64), lens)
        orig_out[rows] = fa == np.repeat(np.array(run_origa, dtype=bool), lens)

    # -- per packet (slow path) ---------------------------------------------------------------------
    def _packet(
        self,
        key: tuple,
        from_a: bool,
        ts: float,
        flags: int,
        seq: int,
        ack: int,
        plen: int,
        win: int,
        ip_len: int,
    ) -> tuple[int, bool]:
        conn = self._conns.get(key)
        if conn is not None:
            if (
                conn.attempt_at < ts
                or conn.partial_at < ts
                or conn.delete_at < ts
                or conn.last_time + conn.timeout < ts
            ) and timer_due(conn, ts, conn.timeout) is not None:
                self._finish(conn)
                conn = None
            elif conn.kind == KIND_TCP and flags & SYN and is_reuse(conn, flags, seq):
                self.counters.add("flows.reused")
                self._finish(conn)
                conn = None
        new = conn is None
        if conn is None:
            conn = self._new_conn(key, from_a, flags, ts)
        is_orig = from_a == conn.orig_a
        ep = conn.o if is_orig else conn.r
        ep.pkts += 1
        ep.ip_bytes += ip_len
        if conn.kind == KIND_TCP:
            before = ep.state
            tcp_packet(conn, is_orig, flags, seq, ack, plen, win, ts, self.config)
            # Only SYN/FIN/RST or a side's first packet change states and timers.
            if new or flags & (SYN | FIN | RST) or before == INACTIVE:
                self._refresh(conn)
        else:
            ep.size += plen
            conn.last_time = ts
            if conn.kind == KIND_UDP:
                conn.check_history("D" if is_orig else "d")
            if new:
                self._refresh(conn)
        # The idle deadline only moves later (a popped heap entry re-checks it); push only for new
        # connections and for timers set earlier than the pending entry.
        heap_at = conn.heap_at  # comparisons, not min(): this runs for every slow-path packet
        if (
            heap_at == INF
            or conn.attempt_at < heap_at
            or conn.partial_at < heap_at
            or conn.delete_at < heap_at
        ):
            self._schedule(conn)
        return conn.fid, is_orig

    def _refresh(self, conn: Conn) -> None:
        """Which sides may take the fast path next time (plain packets that change no state)."""
        conn.timeout = self._timeout(conn)
        if conn.kind != KIND_TCP:
            conn.fast_mask = 3
            return
        o, r = conn.o, conn.r
        if conn.partial_at != INF or conn.delete_at != INF or o.did_close or r.did_close:
            conn.fast_mask = 0
            return
        mo, mr = o.state in _STEADY, r.state in _STEADY
        if mo or mr:
            # An established side means the attempt timer can only find nothing to do.
            conn.attempt_at = INF
        if not conn.orig_a:
            mo, mr = mr, mo
        conn.fast_mask = (1 if mo else 0) | (2 if mr else 0)

    # -- batch -----------------------------------------------------------------------------------
    def process(self, batch: PacketBatch) -> FlowAssignment:
        """Assign every row to a connection and update the connections (records come from expire/flush)."""
        return self._process(batch, split=True)

    def _process(self, batch: PacketBatch, split: bool) -> FlowAssignment:
        n = len(batch)
        flow_out = np.full(n, -1, dtype=np.int64)
        orig_out = np.zeros(n, dtype=bool)
        if n == 0:
            return FlowAssignment(flow_out, orig_out)
        keys = canonical_keys(batch)
        grouping = group_rows(keys)
        order, gs = grouping.order, grouping.group_start
        if self._native is not None:
            # the C code reads the keys as columns and makes a group's tuple only when it needs one
            self._key_columns = key_columns(batch, keys, order[gs])
            key_list: list = [None] * len(gs)
            self._run_native(batch, keys, order, gs, key_list, flow_out, orig_out)
            self._key_columns = None
            if split:
                self._evict_if_full()
            return FlowAssignment(flow_out, orig_out)
        key_list = key_tuples(batch, keys, order[gs])
        self._run(
            batch,
            keys,
            order,
            gs,
            grouping.seg_start,
            grouping.group_of_seg,
            key_list,
            split,
            flow_out,
            orig_out,
        )
        if split:
            self._evict_if_full()
        return FlowAssignment(flow_out, orig_out)

    def _run(
        self,
        batch: PacketBatch,
        keys: Keys,
        order: np.ndarray,
        gs: np.ndarray,
        ss: np.ndarray,
        seg_group: np.ndarray,
        key_list: list[tuple],
        split: bool,
        flow_out: np.ndarray,
        orig_out: np.ndarray,
    ) -> None:
        """Process the rows ``order`` (sorted by connection, direction, row; groups start at ``gs``,
        direction segments at ``ss``) and write their assignment into flow_out/orig_out."""
        n = len(order)
        n_groups, n_segs = len(gs), len(ss)
        seg_end = np.empty(n_segs, dtype=np.int64)
        seg_end[:-1] = ss[1:]
        seg_end[-1] = n
        group_end = np.empty(n_groups, dtype=np.int64)
        group_end[:-1] = gs[1:]
        group_end[-1] = n

        # Rows that may change TCP state force the per-packet path for their connection.
        flags_s = batch.tcp_flags[order]
        ts_s = batch.ts[order]
        tcp_s = batch.proto[order] == PROTO_TCP
        odd = tcp_s & (
            ((flags_s & (SYN | FIN | RST)) != 0) | ((flags_s & ACK) == 0) | (batch.tcp_ack[order] == 0)
        )
        fa_s = keys.from_a[order]
        # sides sending in the batch: bit 0 = endpoint A, bit 1 = endpoint B
        need_g = (np.logical_or.reduceat(fa_s, gs) + 2 * np.logical_or.reduceat(~fa_s, gs)).tolist()
        odd_g = np.logical_or.reduceat(odd, gs).tolist()
        # A group spanning more than the timeout may hold an idle split: leave it to the slow path.
        first_ts = np.minimum.reduceat(ts_s, gs)
        span_g = (np.maximum.reduceat(ts_s, gs) - first_ts).tolist()
        firstts_g = first_ts.tolist()

        # Look up connections, split groups into fast (aggregated) and slow (per packet); UDP,
        # ICMP and other transports have no state machine and are handled apart, all vectorised.
        get = self._conns.get
        fast_conn: list[Conn | None] = [None] * n_groups
        slow = np.zeros(n_groups, dtype=bool)
        simple_g: list[int] = []
        for gi, key in enumerate(key_list):
            if key[0] != PROTO_TCP:
                simple_g.append(gi)
                continue
            conn = get(key)
            if (
                conn is None
                or odd_g[gi]
                or need_g[gi] & ~conn.fast_mask
                or conn.last_time + conn.timeout < firstts_g[gi]  # same test as timer_due
                or span_g[gi] > conn.timeout
            ):
                slow[gi] = True
            else:
                fast_conn[gi] = conn

        self._merge_fast(batch, order, ss, seg_end, seg_group, fa_s[ss].tolist(), fast_conn, ts_s)

        # Assignment for fast groups (the slow path writes its own rows below).
        sizes = group_end - gs
        fid_g = np.array([c.fid if c is not None else -1 for c in fast_conn], dtype=np.int64)
        origa_g = np.array([c.orig_a if c is not None else True for c in fast_conn], dtype=bool)
        flow_out[order] = np.repeat(fid_g, sizes)
        orig_out[order] = fa_s == np.repeat(origa_g, sizes)
        if simple_g:
            self._run_simple(batch, keys.from_a, order, gs, group_end, simple_g, key_list, flow_out, orig_out)
        if not slow.any():
            return

        gid_sorted = np.repeat(np.arange(n_groups, dtype=np.int64), sizes)
        gid_row = np.empty(len(batch), dtype=np.int64)
        gid_row[order] = gid_sorted
        rows = np.sort(order[np.repeat(slow, sizes)])  # capture order across all slow connections
        head, middle, tail = rows, rows[:0], rows[:0]
        if split:
            odd_row = np.empty(len(batch), dtype=bool)
            odd_row[order] = odd
            head, middle, tail = _split_runs(rows, gid_row[rows], keys.from_a[rows], odd_row[rows])
        self._process_slow(batch, head, gid_row, keys.from_a, key_list, flow_out, orig_out)
        if len(middle):
            # Plain packets between a connection's opening and closing packets: vectorised, with
            # this pass's grouping restricted to them (order stays connection, direction, row).
            in_middle = np.zeros(len(batch), dtype=bool)
            in_middle[middle] = True
            keep = in_middle[order]
            sub_order = order[keep]
            sub_gid = gid_sorted[keep]
            sub_fa = fa_s[keep]
            m = len(sub_order)
            new_group = np.empty(m, dtype=bool)
            new_group[0] = True
            np.not_equal(sub_gid[1:], sub_gid[:-1], out=new_group[1:])
            new_seg = new_group.copy()
            new_seg[1:] |= sub_fa[1:] != sub_fa[:-1]
            sub_gs = np.flatnonzero(new_group)
            sub_ss = np.flatnonzero(new_seg)
            sub_seg_group = np.cumsum(new_group)[sub_ss] - 1
            sub_keys = [key_list[g] for g in sub_gid[sub_gs].tolist()]
            self._run(
                batch, keys, sub_order, sub_gs, sub_ss, sub_seg_group, sub_keys, False, flow_out, orig_out
            )
        if len(tail):
            self._process_slow(batch, tail, gid_row, keys.from_a, key_list, flow_out, orig_out)

    def _run_native(
        self,
        batch: PacketBatch,
        keys: Keys,
        order: np.ndarray,
        gs: np.ndarray,
        key_list: list[tuple],
        flow_out: np.ndarray,
        orig_out: np.ndarray,
    ) -> None:
        """``_run`` with the C extension: every TCP packet goes through the per-packet code, in C
        and in capture order (no vectorised merge, no head/middle/tail split); packets that need
        a new connection or find a timer due go back to ``_packet``."""
        assert self._native is not None
        n_groups = len(gs)
        group_end = np.empty(n_groups, dtype=np.int64)
        group_end[:-1] = gs[1:]
        group_end[-1] = len(order)
        # the C code looks the TCP connections up itself, at each group's first row
        conns: list[Conn | None] = [None] * n_groups
        simple_g: list[int] = np.flatnonzero(batch.proto[order[gs]] != PROTO_TCP).tolist()
        if simple_g:
            self._run_simple(batch, keys.from_a, order, gs, group_end, simple_g, key_list, flow_out, orig_out)
        if len(simple_g) == n_groups:
            return
        sizes = group_end - gs
        is_tcp = np.ones(n_groups, dtype=bool)
        is_tcp[simple_g] = False
        gid_row = np.empty(len(batch), dtype=np.int64)
        gid_row[order] = np.repeat(np.arange(n_groups, dtype=np.int64), sizes)
        rows = np.sort(order[np.repeat(is_tcp, sizes)])  # capture order
        m = len(rows)
        out_fid = np.empty(m, dtype=np.int64)
        out_orig = np.empty(m, dtype=np.uint8)
        i64 = np.int64
        arrays = (
            gid_row[rows],
            keys.from_a[rows].view(np.uint8),
            np.ascontiguousarray(batch.ts[rows], dtype=np.float64),
            batch.tcp_flags[rows].astype(i64),
            batch.tcp_seq[rows].astype(i64),
            batch.tcp_ack[rows].astype(i64),
            batch.payload_len[rows].astype(i64),
            batch.tcp_win[rows].astype(i64),
            batch.ip_len[rows].astype(i64),
            out_fid,
            out_orig,
        )
        # new connections are created in C too (meter._new_conn's TCP part), drawing on the same ids
        created = self._native.run(
            arrays, conns, key_list, self._conns, self._packet, self._schedule, self._timers(), self._create(),
            self._slots, self._key_columns, sizes,
        )  # fmt: skip
        if created:
            self.counters.add("flows.created", created)
        flow_out[rows] = out_fid
        orig_out[rows] = out_orig.view(bool)

    def _process_slow(
        self,
        batch: PacketBatch,
        rows: np.ndarray,
        gid_row: np.ndarray,
        from_a: np.ndarray,
        key_list: list[tuple],
        flow_out: np.ndarray,
        orig_out: np.ndarray,
    ) -> None:
        """Per-packet processing of ``rows`` (in the order given: capture order)."""
        fids = []
        origs = []
        packet = self._packet
        for gi, fa, ts, flags, seq, ack, plen, win, ip_len in zip(
            gid_row[rows].tolist(),
            from_a[rows].tolist(),
            batch.ts[rows].tolist(),
            batch.tcp_flags[rows].tolist(),
            batch.tcp_seq[rows].tolist(),
            batch.tcp_ack[rows].tolist(),
            batch.payload_len[rows].tolist(),
            batch.tcp_win[rows].tolist(),
            batch.ip_len[rows].tolist(),
            strict=True,
        ):
            fid, is_orig = packet(key_list[gi], fa, ts, flags, seq, ack, plen, win, ip_len)
            fids.append(fid)
            origs.append(is_orig)
        flow_out[rows] = fids
        orig_out[rows] = origs

    def _merge_fast(
        self,
        batch: PacketBatch,
        order: np.ndarray,
        ss: np.ndarray,
        seg_end: np.ndarray,
        seg_group: np.ndarray,
        seg_from_a: list[bool],
        fast_conn: list[Conn | None],
        ts_s: np.ndarray,
    ) -> None:
        """Apply vectorised per-segment aggregates to the fast-path connections."""
        seg_group_l = seg_group.tolist()
        seg_conn = [fast_conn[g] for g in seg_group_l]
        fast_segs = [si for si, c in enumerate(seg_conn) if c is not None]
        if not fast_segs:
            return
        tcp_segs = [si for si in fast_segs if seg_conn[si].kind == KIND_TCP]  # type: ignore[union-attr]
        tcp = None
        if tcp_segs:
            sel = np.array(tcp_segs, dtype=np.int64)
            pos, seg_id, first = segment_positions(ss[sel], seg_end[sel])
            rows = order[pos]
            tcp = tcp_segments(
                seg_id, first, rows, batch.tcp_seq[rows], batch.tcp_ack[rows], batch.payload_len[rows], batch.tcp_win[rows]
            )  # fmt: skip
            scaled = (np.array(tcp.rx) + np.array(tcp.gaps) + np.array(tcp.w0)).tolist()

        plen_s = batch.payload_len[order].astype(np.int64)
        pkts = (seg_end - ss).tolist()
        ipb = np.add.reduceat(batch.ip_len[order].astype(np.int64), ss).tolist()
        size = np.add.reduceat(plen_s, ss).tolist()
        last_pos = seg_end - 1
        last_row = order[last_pos]
        # the segment holding its connection's last row sets last_time
        group_last = np.maximum.reduceat(last_row, np.searchsorted(seg_group, np.arange(seg_group[-1] + 1)))
        is_last = (last_row == group_last[seg_group]).tolist()
        last_ts = ts_s[last_pos].tolist()
        big = 1 << 62
        order64 = order.astype(np.int64)
        first_data = np.minimum.reduceat(np.where(plen_s > 0, order64, big), ss).tolist()
        first_ack = np.minimum.reduceat(np.where(plen_s == 0, order64, big), ss).tolist()

        # History letters of both directions of a connection, to be placed in capture order.
        pending: dict[int, tuple[Conn, list[tuple[int, str]]]] = {}
        i = -1
        for si in fast_segs:
            conn = seg_conn[si]
            assert conn is not None
            is_orig = seg_from_a[si] == conn.orig_a
            ep, peer = (conn.o, conn.r) if is_orig else (conn.r, conn.o)
            ep.pkts += pkts[si]
            ep.ip_bytes += ipb[si]
            if is_last[si]:
                conn.last_time = last_ts[si]
            if conn.kind != KIND_TCP:
                ep.size += size[si]
                if conn.kind == KIND_UDP:
                    conn.check_history("D" if is_orig else "d")
                continue
            assert tcp is not None
            i += 1
            # Place the segment in the endpoint's unwrapped sequence space (see conn.unwrap).
            abs_first = ep.sabs + ((tcp.first_raw_seq[i] - ep.sref + 0x80000000) & 0xFFFFFFFF) - 0x80000000
            off = abs_first - ep.last
            first_gap = False
            if off < 0:
                tcp.exact(i, off)
                scaled[i] = tcp.rx[i] + tcp.gaps[i] + tcp.w0[i]
            elif off > 0 and tcp.first_is_data[i]:
                first_gap = True
                tcp.gap_flag[tcp.first[i]] = True
                tcp.gaps[i] += 1
                tcp.gap_bytes[i] += off
                scaled[i] += 1
            hseen = conn.hseen
            if is_orig:
                d_new = first_data[si] < big and "D" not in hseen
                a_new = first_ack[si] < big and "A" not in hseen
            else:
                d_new = first_data[si] < big and "d" not in hseen
                a_new = first_ack[si] < big and "a" not in hseen
            if d_new or a_new or scaled[i]:
                letters = self._fast_letters(ep, is_orig, tcp, i, first_data[si] if d_new else big,
                                             first_ack[si] if a_new else big)  # fmt: skip
                if conn.fid in pending:
                    pending[conn.fid][1].extend(letters)
                else:
                    pending[conn.fid] = (conn, letters)
            if first_gap:
                tcp.gap_flag[tcp.first[i]] = False
            ep.sref = tcp.last_raw_seq[i]
            ep.sabs = abs_first + tcp.last_rel_seq[i]
            end = abs_first + tcp.max_rel_end[i]
            if end > ep.last:
                ep.last = end
            raw_ack = tcp.last_raw_ack[i]
            if peer.state == INACTIVE:  # Zeek re-initialises the silent side from each ACK
                peer.init_seq(raw_ack - 1, raw_ack - 1)
            else:
                ack0 = peer.aabs + ((tcp.first_raw_ack[i] - peer.aref + 0x80000000) & 0xFFFFFFFF) - 0x80000000
                peer.aref = raw_ack
                peer.aabs = ack0 + tcp.last_rel_ack[i]
                top = ack0 + tcp.max_rel_ack[i]
                if top > peer.ack:
                    peer.ack = top
        for conn, letters in pending.values():
            # capture order; one packet's letters in the order tcp_packet adds them (D/A, W, G, T)
            letters.sort(key=_letter_order)
            for _, letter in letters:
                if letter in "DdAa":
                    conn.check_history(letter)
                else:
                    conn.history += letter

    @staticmethod
    def _fast_letters(
        ep: Endpoint, is_orig: bool, tcp: TcpSegments, i: int, data_row: int, ack_row: int,
    ) -> list[tuple[int, str]]:  # fmt: skip
        """(row, letter) history entries of a fast segment; updates the scaled-letter counters."""
        letters: list[tuple[int, str]] = []
        if data_row < 1 << 62:
            letters.append((data_row, "D" if is_orig else "d"))
        if ack_row < 1 << 62:
            letters.append((ack_row, "A" if is_orig else "a"))
        start, end = tcp.bounds(i)
        # T, G and W are logged at the 1st, 10th, 100th… occurrence per direction (Zeek's scaling)
        for kind, flag, counts, letter in (
            ("rx", tcp.rx_flag, tcp.rx, "T"),
            ("gap", tcp.gap_flag, tcp.gaps, "G"),
            ("w0", tcp.w0_flag, tcp.w0, "W"),
        ):
            count = counts[i]
            if not count:
                continue
            thr, seen = getattr(ep, kind + "_thr"), getattr(ep, kind + "_cnt")
            while thr <= seen + count:
                letters.append(
                    (nth_row(flag, tcp.rows, start, end, thr - seen), letter if is_orig else letter.lower())
                )
                thr *= 10
            setattr(ep, kind + "_thr", thr)
            setattr(ep, kind + "_cnt", seen + count)
            if kind == "gap":
                ep.missed += tcp.gap_bytes[i]
        return letters

    # -- eviction and expiry -----------------------------------------------------------------------
    def _evict_if_full(self) -> None:
        cfg = self.config
        excess = len(self) - cfg.max_flows
        if excess <= 0:
            return
        k = excess + int(cfg.max_flows * cfg.evict_fraction)
        # Unanswered connections go first (a SYN flood's, a scan's probes: the responder never spoke),
        # then the longest idle: a flood must not push the HIS sessions it floods out of the table.
        candidates = (((c.r.pkts > 0, c.last_time, c.fid), c) for c in self._conns.values())
        if self._slots is not None:
            # the k smallest Conns, then the same choice among them and the slots, in C
            conn_victims = heapq.nsmallest(k, candidates, key=lambda item: item[0])
            evicted, unanswered = self._slots.evict(k, conn_victims, self._conns, self._finished)
        else:
            victims = heapq.nsmallest(k, candidates, key=lambda item: item[0])
            evicted, unanswered = len(victims), 0
            for (answered, _, _), conn in victims:
                unanswered += not answered
                self._finish(conn)
        self.counters.add("flows.evicted", evicted)
        if unanswered:
            self.counters.add("flows.evicted_unanswered", unanswered)

    def _drain(self) -> list[Record]:
        # (with the C code, _finished holds a slot's id where it would hold the Conn)
        slots = self._slots
        if self._native is not None:
            self._native.forget(self._by_id, self._retired)  # the loop below, in C
            if slots is not None:
                slots.forget(self._retired)
        else:
            for fid in self._retired:
                conn = self._by_id.get(fid)
                if conn is not None and conn.done:
                    del self._by_id[fid]
        # Start time then uid: connection ids follow a per-process hash order, and the output must
        # be the same on every run of the same capture.
        sorted_in_c = self._native is not None and self._native.sort_finished(self._finished, slots)
        if not sorted_in_c:  # the same sort in Python
            self._finished.sort(key=self._finished_key)
        if self._native is not None:
            out = self._native.records(self._finished, False, ip_text, slots)  # Conn.record, in C
            self._retired = self._native.ids(self._finished)  # [c.fid ...], slot ids as they are
        else:
            conns = cast("list[Conn]", self._finished)  # no slots without the C code: Conns only
            out = [conn.record() for conn in conns]
            self._retired = [conn.fid for conn in conns]
        self._finished = []
        self.counters.add("flows.records", len(out))
        return out

    def _finished_key(self, c: Conn | int) -> tuple:
        if isinstance(c, int):
            assert self._slots is not None
            return self._slots.sort_key(c)
        return (c.start_ts, c.proto, c.orig_h, c.orig_p, c.resp_h, c.resp_p)

    def expire(self, now: float) -> list[Record]:
        """Records of connections whose timers fell due before capture time ``now`` (plus interim
        records of long connections, and connections finished during the last process())."""
        interim: list[Record] = []
        heap = self._heap
        if self._native is not None:
            # the same loop in C; entries it leaves to Python come back through _expire_entry
            cfg = self.config
            self._native.expire(
                self._cheap, self._by_id, self._conns, self._finished, now, self._timers(), self._create(),
                lambda conn, due: self._expire_entry(conn, due, now, interim),
                (float(cfg.udp_inactivity), float(cfg.icmp_inactivity), float(cfg.unknown_inactivity)),
                self._slots,
            )  # fmt: skip
            return interim + self._drain()
        while heap and heap[0][0] < now:
            due, _, fid = heapq.heappop(heap)
            conn = self._by_id.get(fid)
            if conn is not None:
                self._expire_entry(conn, due, now, interim)
        return interim + self._drain()

    def _expire_entry(self, conn: Conn, due: float | None, now: float, interim: list[Record]) -> None:
        """expire's loop body for a popped heap entry of ``conn`` (``due`` None: the C loop has
        checked the entry and run the timers already)."""
        if due is not None:
            if conn.done or due != conn.heap_at:
                return
            conn.heap_at = INF
            if timer_due(conn, now, self._timeout(conn)) is not None:
                self._finish(conn)
                return
        if conn.next_interim < now:
            interval = self.config.interim_interval
            interim.append(conn.record(interim=True))
            steps = int((now - conn.start_ts) // interval) + 1
            conn.next_interim = conn.start_ts + steps * interval
        self._schedule(conn)

    def flush(self) -> list[Record]:
        """Records of every remaining connection (end of input)."""
        live: list[tuple[int, Conn | None]] = [(c.fid, c) for c in self._conns.values()]
        if self._slots is not None:
            live += [(fid, None) for fid in self._slots.live_fids()]
        for fid, conn in sorted(live, key=lambda item: item[0]):
            if conn is None:
                assert self._slots is not None
                self._slots.finish(fid, self._finished)
            else:
                self._finish(conn)
        self._heap.clear()
        if self._cheap is not None:
            self._cheap.clear()
        return self._drain()


MIN_MIDDLE = 4  # shorter plain runs are not worth a second vectorised pass (measured: 4 beats 16 and 8)


def _split_runs(
    rows: np.ndarray, gid: np.ndarray, from_a: np.ndarray, odd: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Split the slow rows (capture order) into head, middle and tail, each in capture order.

    Per connection, the middle is its longest run of plain packets (no state-changing flags, and
    not the first packet of either direction); head and tail are the rows before and after it.
    Processing heads, then middles, then tails keeps every connection's packets in order.
    """
    empty = rows[:0]
    if len(rows) < MIN_MIDDLE:
        return rows, empty, empty
    o = np.argsort(gid, kind="stable")  # connection-major, capture order inside
    g = gid[o]
    m = len(o)
    new_group = np.empty(m, dtype=bool)
    new_group[0] = True
    np.not_equal(g[1:], g[:-1], out=new_group[1:])
    # first row of each direction of each connection (reduceat: no second sort)
    fa_o = from_a[o]
    pos = np.arange(m)
    g_start = np.flatnonzero(new_group)
    first_a = np.minimum.reduceat(np.where(fa_o, pos, m), g_start)
    first_b = np.minimum.reduceat(np.where(fa_o, m, pos), g_start)
    first_of_side = np.zeros(m + 1, dtype=bool)
    first_of_side[first_a] = True
    first_of_side[first_b] = True
    first_of_side = first_of_side[:m]
    eligible = ~odd[o] & ~first_of_side
    prev = np.empty(m, dtype=bool)
    prev[0] = False
    prev[1:] = eligible[:-1]
    run_start = eligible & (new_group | ~prev)
    if not run_start.any():
        return rows, empty, empty
    run_id = np.cumsum(run_start) - 1
    run_len = np.bincount(run_id[eligible], minlength=int(run_id[-1]) + 1)
    starts = np.flatnonzero(run_start)
    run_group = g[starts]
    # longest run per connection (first one on ties), if long enough
    pick = np.lexsort((-run_len, run_group))
    best = pick[np.r_[True, run_group[pick][1:] != run_group[pick][:-1]]]
    best = best[run_len[best] >= MIN_MIDDLE]
    if not len(best):
        return rows, empty, empty
    chosen = np.zeros(len(run_len), dtype=bool)
    chosen[best] = True
    in_middle = eligible & chosen[run_id]
    # rows of a connection after its middle form its tail
    mid_end = np.full(int(g.max()) + 1, -1, dtype=np.int64)
    mid_end[run_group[best]] = starts[best] + run_len[best] - 1
    after = (mid_end[g] >= 0) & (pos > mid_end[g])
    head = np.sort(rows[o[~in_middle & ~after]])
    return head, np.sort(rows[o[in_middle]]), np.sort(rows[o[after]])


_LETTER_RANK = {"D": 0, "d": 0, "A": 0, "a": 0, "W": 1, "w": 1, "G": 2, "g": 2, "T": 3, "t": 3}


def _letter_order(entry: tuple[int, str]) -> tuple[int, int]:
    """Sort key of a (row, letter) history entry: capture order, then the per-packet code's order."""
    return entry[0], _LETTER_RANK[entry[1]]
