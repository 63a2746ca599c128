"""AppTracker: picks the few packets worth reading and hands them to per-connection analysers.

The hot path is columnar (see ``select.py``): ordinary data packets never reach Python. Per-packet
Python work happens only for a connection's opening packets (a ClientHello, request heads, a login
dialogue), and a connection's state is dropped once it has told us what we wanted (or after a few
packets). All state is bounded and every drop is counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from wardwatch.counters import Counters

from ..decode.columns import PROTO_TCP, PROTO_UDP, SYN, PacketBatch
from ..flows.assignment import FlowAssignment, FlowView
from .http import HttpAnalyser, starts_request
from .login import FtpAnalyser, ImapAnalyser, Pop3Analyser, SmtpAnalyser, TelnetAnalyser
from .login_binary import LdapAnalyser, PostgresAnalyser
from .quic import KeyCache, QuicAnalyser
from .select import KIND_HTTP_REQUEST, KIND_HTTP_RESPONSE, KIND_QUIC, KIND_TLS, select_candidates
from .stream import SEQ_MOD, Seen, Stream
from .tls import TlsAnalyser

Record = dict[str, object]


class Analyser(Protocol):
    service: str
    recognised: bool
    done: bool

    def wants(self, from_client: bool) -> bool: ...

    def on_data(self, from_client: bool, data: bytes, ts: float) -> list[Record]: ...

    def finish(self) -> list[Record]: ...


LOGIN_PORTS: dict[int, Callable[[], Analyser]] = {
    21: FtpAnalyser,
    23: TelnetAnalyser,
    2323: TelnetAnalyser,
    25: SmtpAnalyser,
    587: SmtpAnalyser,
    2525: SmtpAnalyser,
    110: Pop3Analyser,
    143: ImapAnalyser,
    389: LdapAnalyser,
    5432: PostgresAnalyser,
}
HTTP_PORTS = (80, 81, 591, 3128, 8000, 8008, 8080, 8081, 8088, 8888)
TLS_PORTS = (443, 465, 563, 636, 853, 990, 992, 993, 994, 995, 5061, 8443)
MAX_UNSTARTED = 3  # segments held while waiting for the one that opens a TLS stream
SERVICE_NAMES = {"quic": ("quic", "ssl")}


@dataclass
class AppConfig:
    max_conns: int = 65536  # connections analysed at the same time; new ones beyond are counted and skipped
    max_packets: int = 10  # payload packets read per direction of a TLS/QUIC connection
    login_max_packets: int = 40  # FTP/POP3/IMAP/SMTP dialogues before the login
    telnet_max_packets: int = 400  # keystrokes may come one per packet, echoed by the server
    stream_bytes: int = 16384  # bytes reassembled per direction
    idle_timeout: float = 120.0  # state of a connection silent this long is finished
    done_ttl: float = 900.0  # how long a finished connection stays excluded from selection
    max_done: int = 262144
    sweep_interval: float = 1.0  # seconds of capture time between idle sweeps
    http_ports: tuple[int, ...] = HTTP_PORTS
    tls_ports: tuple[int, ...] = TLS_PORTS
    login_ports: tuple[int, ...] = tuple(LOGIN_PORTS)


class Conn:
    __slots__ = (
        "fid", "an", "uid", "ids", "last", "pkts", "cap", "streams", "seen", "kind", "recognised", "client",
    )  # fmt: skip

    def __init__(self, fid: int, an: Analyser, kind: str, cap: int, client: bool) -> None:
        self.fid = fid
        # The from_orig value of the client's packets: usually True, False when the capture (or the
        # flow meter) saw the server speak first.
        self.client = client
        self.an = an
        self.kind = kind
        self.cap = cap
        self.uid = ""
        self.ids: tuple[str, int, str, int, str] = ("", 0, "", 0, "")
        self.last = 0.0
        self.pkts = [0, 0]  # [from server, from client]
        self.streams: list[Stream | None] = [None, None]
        self.seen: list[Seen | None] = [None, None]  # TCP ranges already read, per direction
        self.recognised = False


class AppTracker:
    """tls, http and login records from the opening packets of each connection (see module doc)."""

    def __init__(self, counters: Counters, config: AppConfig | None = None) -> None:
        self.counters = counters
        self.config = config or AppConfig()
        self.conns: dict[int, Conn] = {}
        self.active: set[int] = set()  # connections whose next segments we need whatever they hold
        self.http_quiet: set[int] = set()  # HTTP connections waiting for the next request/response
        self.done: dict[int, float] = {}  # finished connections (insertion order ≈ time order)
        self.keys = KeyCache()
        self.view: FlowView | None = None
        self.last_sweep = float("-inf")
        self._done_arr: np.ndarray | None = None
        ports = np.zeros(65536, dtype=bool)
        c = self.config
        for p in (*c.http_ports, *c.tls_ports, *c.login_ports):
            ports[p] = True
        self.port_table = ports
        caps = np.zeros(65536, dtype=np.int32)
        for p in c.login_ports:
            caps[p] = c.login_max_packets
        for p in (23, 2323):
            if p in c.login_ports:
                caps[p] = c.telnet_max_packets
        self.cap_table = caps
        self.port_set = frozenset(int(p) for p in np.flatnonzero(ports))
        self.login_factories = {p: LOGIN_PORTS[p] for p in c.login_ports if p in LOGIN_PORTS}

    # --- the sensor's interface ------------------------------------------------------------------

    def process(self, batch: PacketBatch, flows: FlowAssignment, view: FlowView) -> list[Record]:
        if not len(batch):
            return []
        self.view = view
        c = self.config
        cand = select_candidates(
            batch,
            flows.flow,
            flows.from_orig,
            self.port_table,
            self._ids(self.active),
            self._done_ids(),
            self._ids(self.http_quiet),
            self.cap_table,
            c.max_packets + MAX_UNSTARTED,
        )
        self.counters.add("app.candidate_packets", len(cand.rows))
        out: list[Record] = []
        done = self.done
        rows = cand.rows
        # Columns of the candidate rows as Python lists, once: reading numpy scalars row by row
        # costs more than the analysers' own work for most packets.
        cols = zip(
            flows.flow[rows].tolist(),
            flows.from_orig[rows].tolist(),
            cand.kind.tolist(),
            batch.ts[rows].tolist(),
            batch.proto[rows].tolist(),
            batch.tcp_seq[rows].tolist(),
            batch.tcp_flags[rows].tolist(),
            batch.payload_off[rows].tolist(),
            batch.payload_cap[rows].tolist(),
            strict=True,
        )
        buf = batch.buf
        for fid, orig, kind, ts, proto, seq, flags, off, cap in cols:
            if fid in done:  # finished earlier in this batch: the cheapest exit
                continue
            try:
                out += self._packet(view, fid, orig, kind, ts, proto, seq, flags, buf[off : off + cap])
            except Exception as exc:  # noqa: BLE001 - bad input must never stop the sensor
                # Only the exception type is kept: a message could quote a password.
                self.counters.add(f"malformed.app_internal.{type(exc).__name__}")
                conn = self.conns.get(fid)
                if conn is not None:
                    self._close(conn, ts)
        return out

    def expire(self, now: float) -> list[Record]:
        if now - self.last_sweep < self.config.sweep_interval:
            return []
        self.last_sweep = now
        out: list[Record] = []
        limit = now - self.config.idle_timeout
        for fid in [f for f, c in self.conns.items() if c.last < limit]:
            out += self._close(self.conns[fid], now)
        horizon = now - self.config.done_ttl
        while self.done:
            fid = next(iter(self.done))
            if self.done[fid] >= horizon and len(self.done) <= self.config.max_done:
                break
            del self.done[fid]
            self._done_arr = None
        return out

    def release(self, fids: list[int]) -> list[Record]:
        """The flow meter has finished the connections ``fids``: close their analysers now and forget
        them. Without this an analyser waited out its own ``idle_timeout`` and the finished list its
        ``done_ttl``, so live memory kept growing for two minutes (analysers) and a quarter of an hour
        (ids) of traffic after every connection had ended (docs/PERFORMANCE.md, "Live capture")."""
        out: list[Record] = []
        conns, done = self.conns, self.done
        forgotten = False
        for fid in fids:
            conn = conns.get(fid)
            if conn is not None:
                out += self._close(conn, conn.last)
            if done.pop(fid, None) is not None:
                forgotten = True
        if forgotten:
            self._done_arr = None
        return out

    def flush(self) -> list[Record]:
        out: list[Record] = []
        for conn in list(self.conns.values()):
            out += self._close(conn, conn.last)
        self.done.clear()
        self._done_arr = None
        return out

    # --- per candidate packet --------------------------------------------------------------------

    def _packet(
        self, view: FlowView, fid: int, orig: bool, kind: int, ts: float, proto: int, seq: int,
        flags: int, data: bytes,
    ) -> list[Record]:  # fmt: skip
        conn = self.conns.get(fid)
        if conn is None:
            conn = self._open(view, fid, orig, kind, proto, ts)
            if conn is None:
                return []
        conn.last = ts
        client = orig == conn.client
        d = int(client)
        tcp = proto == PROTO_TCP
        if tcp:
            # Data on a SYN (TCP Fast Open) starts one after the ISN.
            seq = (seq + bool(flags & SYN)) % SEQ_MOD
            seen = conn.seen[d]
            if seen is None:
                seen = conn.seen[d] = Seen()
            seq, data = seen.fresh(seq, data)
            if not data:  # a copy (SPAN ports send every packet twice) or a retransmission
                self.counters.add("app.duplicate_segments")
                return []
        else:
            seq = 0
        if conn.kind == "http":
            return self._http_packet(conn, seq, client, data, ts)
        conn.pkts[d] += 1
        if conn.pkts[d] > conn.cap:
            return self._close(conn, ts)
        if not conn.an.wants(client):
            return []
        if tcp:
            stream = conn.streams[d]
            if stream is None:
                stream = conn.streams[d] = Stream(self.config.stream_bytes)
            start = conn.kind != "tls" or not client or kind == KIND_TLS
            data = stream.feed(seq, data, False, start)
            if not data:
                if not stream.started and len(stream.pending) >= MAX_UNSTARTED:
                    return self._close(conn, ts)  # joined mid-stream: no ClientHello to wait for
                return []
        return self._deliver(conn, client, data, ts)

    def _http_packet(self, conn: Conn, seq: int, client: bool, data: bytes, ts: float) -> list[Record]:
        if not client:
            return self._deliver(conn, client, data, ts) if data.startswith(b"HTTP/") else []
        if starts_request(data):
            # Each request head is read from its own first segment: bodies in between are skipped.
            conn.streams[1] = Stream(self.config.stream_bytes)
        elif not conn.an.wants(True) or conn.streams[1] is None:
            return []
        stream = conn.streams[1]
        assert stream is not None
        data = stream.feed(seq, data)
        return self._deliver(conn, client, data, ts) if data else []

    def _deliver(self, conn: Conn, client: bool, data: bytes, ts: float) -> list[Record]:
        an = conn.an
        try:
            recs = an.on_data(client, data, ts)
        except Exception as exc:  # noqa: BLE001 - bad input must never stop the sensor
            # Only the exception type is kept: a message could quote a password.
            self.counters.add(f"malformed.app_{conn.kind}.{type(exc).__name__}")
            recs = []
            an.done = True
        if an.recognised and not conn.recognised and self.view is not None:
            conn.recognised = True
            for service in SERVICE_NAMES.get(an.service, (an.service,)):
                self.view.add_service(conn.fid, service)
        if getattr(an, "unauthenticated", 0):
            self.counters.add("weird.quic_bad_tag", an.unauthenticated)  # type: ignore[attr-defined]
            an.unauthenticated = 0  # type: ignore[attr-defined]
        if getattr(an, "malformed", False):
            self.counters.add(f"malformed.{conn.kind}")
            an.malformed = False  # type: ignore[attr-defined]
        out = [self._finalise(conn, r) for r in recs]
        if an.done:
            out += self._close(conn, ts)
        elif conn.kind == "http":
            self._set_active(conn.fid, an.wants(True), http=True)
        return out

    # --- connection state ------------------------------------------------------------------------

    def _open(self, view: FlowView, fid: int, orig: bool, kind: int, proto: int, ts: float) -> Conn | None:
        if len(self.conns) >= self.config.max_conns:
            # counted once per connection, which is then left alone like a finished one: its later
            # packets skip the tracker at the cheapest exit instead of knocking on a full table
            self.counters.add("dropped.app_table_full")
            self.done[fid] = ts
            self._done_arr = None
            return None
        orig_h, orig_p, resp_h, resp_p, transport = view.endpoints(fid)
        c = self.config
        an: Analyser
        # Content decides first (it also says which side is the client), then the server's port.
        if proto == PROTO_UDP:
            if kind != KIND_QUIC:
                return None
            an, name, cap, client = QuicAnalyser(self.keys, c.stream_bytes), "quic", c.max_packets, orig
        elif kind == KIND_TLS:
            an, name, cap, client = TlsAnalyser(c.stream_bytes), "tls", c.max_packets, orig
        elif kind in (KIND_HTTP_REQUEST, KIND_HTTP_RESPONSE):
            an, name, cap, client = HttpAnalyser(), "http", 0, orig == (kind == KIND_HTTP_REQUEST)
        else:
            client = resp_p in self.port_set or orig_p not in self.port_set
            port = resp_p if client else orig_p
            if port in self.login_factories:
                an = self.login_factories[port]()
                name = an.service
                cap = c.telnet_max_packets if name == "telnet" else c.login_max_packets
            elif port in c.http_ports:
                an, name, cap = HttpAnalyser(), "http", 0
            elif port in c.tls_ports:
                an, name, cap = TlsAnalyser(c.stream_bytes), "tls", c.max_packets
            else:
                return None
        conn = Conn(fid, an, name, cap, client)
        conn.uid = view.uid(fid)
        conn.ids = (orig_h, orig_p, resp_h, resp_p, transport)
        self.conns[fid] = conn
        # HTTP connections are followed only while a request head is open (see _deliver).
        self._set_active(fid, name != "http", http=name == "http")
        self.counters.add(f"app.conns.{name}")
        return conn

    def _set_active(self, fid: int, active: bool, http: bool = False) -> None:
        if active:
            self.active.add(fid)
            self.http_quiet.discard(fid)
        else:
            self.active.discard(fid)
            if http:
                self.http_quiet.add(fid)

    def _close(self, conn: Conn, ts: float) -> list[Record]:
        out = [self._finalise(conn, r) for r in conn.an.finish()]
        self.conns.pop(conn.fid, None)
        self.active.discard(conn.fid)
        self.http_quiet.discard(conn.fid)
        self.done.pop(conn.fid, None)
        self.done[conn.fid] = ts
        self._done_arr = None
        if len(self.done) > self.config.max_done:
            del self.done[next(iter(self.done))]
            self.counters.add("dropped.app_done_table_full")
        return out

    def _finalise(self, conn: Conn, rec: Record) -> Record:
        orig_h, orig_p, resp_h, resp_p, _ = conn.ids
        out: Record = {
            "_path": rec.pop("_path"),
            "ts": rec.pop("ts"),
            "uid": conn.uid,
            "id.orig_h": orig_h,
            "id.orig_p": orig_p,
            "id.resp_h": resp_h,
            "id.resp_p": resp_p,
        }
        out.update(rec)
        self.counters.add(f"records.{out['_path']}")
        return out

    # --- id arrays for the vectorised selection -------------------------------------------------

    @staticmethod
    def _ids(ids: set[int]) -> np.ndarray:
        return np.fromiter(ids, dtype=np.int64, count=len(ids))

    def _done_ids(self) -> np.ndarray:
        if self._done_arr is None:
            # Sorted once per change: the selection's membership test searches it.
            self._done_arr = np.sort(np.fromiter(self.done, dtype=np.int64, count=len(self.done)))
        return self._done_arr
