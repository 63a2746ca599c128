"""One connection's state (two endpoints) and its conn.log record, following Zeek's semantics.

Sequence numbers are kept "unwrapped" as Python ints: each endpoint remembers the raw 32-bit value
and unwrapped value of its latest packet, and a new raw value is placed within ±2^31 of it.
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
from types import ModuleType

from wardwatch.ingest.native import load

from ..decode.columns import join_ip

# Zeek's TCP endpoint states (analyzer::tcp::EndpointState).
INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET = range(7)
HANDSHAKE = (INACTIVE, SYN_SENT, SYN_ACK_SENT)

KIND_TCP, KIND_UDP, KIND_ICMP, KIND_OTHER = range(4)
KIND_NAMES = ("tcp", "udp", "icmp", "unknown_transport")

INF = math.inf
M32 = 0xFFFFFFFF
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_B62_TABLE = bytes(B62[i % 62].encode()[0] for i in range(256))  # digest byte -> base62 character
_UID_FORMAT = struct.Struct("<BQQHQQHd")


_IP_TEXT: dict[tuple[int, int], str] = {}


def ip_text(addr: tuple[int, int]) -> str:
    """Address text as Zeek prints it, cached: records repeat the same hosts a lot."""
    text = _IP_TEXT.get(addr)
    if text is None:
        if len(_IP_TEXT) > 200_000:
            _IP_TEXT.clear()
        text = _IP_TEXT[addr] = join_ip(*addr)
    return text


def unwrap(ref_raw: int, ref_abs: int, raw: int) -> int:
    """Place a raw 32-bit sequence number within ±2^31 of a reference (handles wrap-around)."""
    return ref_abs + ((raw - ref_raw + 0x80000000) & M32) - 0x80000000


class Counts:
    """One side of a UDP/ICMP/other connection: only counts (cheap to create in bulk)."""

    __slots__ = ("pkts", "ip_bytes", "size")

    def __init__(self) -> None:
        self.pkts = self.ip_bytes = self.size = 0  # size: payload bytes


class Endpoint(Counts):
    """One side of a TCP connection."""

    __slots__ = (
        "state", "prev_state", "did_close", "start", "last", "ack", "sref", "sabs", "aref", "aabs",
        "fin_cnt", "rx_cnt", "rx_thr", "w0_cnt", "w0_thr", "gap_cnt", "gap_thr", "missed", "h_syn",
        "h_fin", "h_rst",
    )  # fmt: skip

    def __init__(self) -> None:
        self.state = INACTIVE
        self.prev_state = INACTIVE
        self.did_close = False
        self.start = self.last = self.ack = 0  # unwrapped sequence numbers
        self.sref = self.sabs = 0  # raw/unwrapped seq of the latest packet sent
        self.aref = self.aabs = 0  # raw/unwrapped ack of the latest ack received for this side's data
        self.pkts = self.ip_bytes = self.size = 0  # size: payload bytes for UDP/ICMP
        self.fin_cnt = 0
        # Zeek's logarithmic history letters: counter and next threshold (1, 10, 100...).
        self.rx_cnt, self.rx_thr = 0, 1
        self.w0_cnt, self.w0_thr = 0, 1
        self.gap_cnt, self.gap_thr = 0, 1
        self.missed = 0
        self.h_syn: int | None = None  # relative seq of the last SYN/FIN/RST letter (Zeek hist_last_*)
        self.h_fin: int | None = None
        self.h_rst: int | None = None

    def set_state(self, new: int) -> None:
        if new != self.state:
            self.prev_state = self.state
            self.state = new

    def init_seq(self, raw_start: int, last: int) -> None:
        """(Re)initialise the sequence space: start/ack at raw_start, last at ``last`` (unwrapped)."""
        self.sref, self.sabs = raw_start & M32, raw_start
        self.aref, self.aabs = raw_start & M32, raw_start
        self.start = self.ack = raw_start
        self.last = last

    def tcp_size(self, peer: Endpoint) -> int:
        """Zeek's TCP_Endpoint::Size(): payload bytes from sequence numbers (SYN and FIN excluded)."""
        if self.state == INACTIVE:
            return 0
        no_data_acked = self.ack in (self.start, self.start + 1)
        if (
            self.prev_state == SYN_SENT
            and self.state == RESET
            and peer.state == INACTIVE
            and not no_data_acked
        ):
            return 0
        size = max(self.last, self.ack) - self.start
        if size > 0:
            size -= 1
        if self.fin_cnt > 0 and size > 0:
            size -= 1
        return max(size, 0)


# WARDWATCH_FLOWS_PYTHON=1 runs the pure-Python fallback even where _tcprun is built (tests compare
# the two ways end to end, e.g. whole `wardwatch sensor` outputs).
native: ModuleType | None = (
    None if os.environ.get("WARDWATCH_FLOWS_PYTHON") == "1" else load(__package__, "_tcprun")
)

if native is not None:
    # conn.Endpoint's fields and methods in a C struct, so that _tcprun reads them directly
    new_endpoint: type[Endpoint] = native.EndpointBase
else:  # pragma: no cover - depends on the build
    new_endpoint = Endpoint


class Conn:
    __slots__ = (
        "fid", "key", "kind", "proto", "orig_a", "orig_h", "orig_p", "resp_h", "resp_p", "o", "r",
        "start_ts", "last_time", "history", "hseen", "services", "uid", "tcp_timeout", "attempt_at",
        "partial_at", "delete_at", "next_interim", "heap_at", "done", "fast_mask", "timeout",
    )  # fmt: skip

    def __init__(self, fid: int, key: tuple, kind: int, ts: float) -> None:
        self.fid = fid
        self.key = key
        self.kind = kind
        self.proto = key[0]
        self.orig_a = True  # orig is canonical endpoint A
        self.orig_h = self.resp_h = (0, 0)
        self.orig_p = self.resp_p = 0
        # Only TCP uses the endpoint state; the other transports' sides are plain counts (typed as
        # Endpoint so the TCP code needs no casts: nothing reads TCP fields of a non-TCP side).
        self.o: Endpoint = new_endpoint() if kind == KIND_TCP else Counts()  # type: ignore[assignment]
        self.r: Endpoint = new_endpoint() if kind == KIND_TCP else Counts()  # type: ignore[assignment]
        self.start_ts = ts
        self.last_time = ts
        # strings and tuples rather than lists/sets: fewer objects for the garbage collector to scan
        self.history = ""
        self.hseen = ""  # letters Zeek records once
        self.services: tuple[str, ...] = ()
        self.uid = ""
        self.tcp_timeout = (
            False  # Zeek switches TCP from udp_inactivity to tcp_inactivity after the handshake
        )
        self.attempt_at = INF
        self.partial_at = INF
        self.delete_at = INF
        self.next_interim = INF
        self.heap_at = INF
        self.done = False
        self.fast_mask = (
            0  # sides (bit 0: endpoint A, bit 1: B) whose plain packets may skip the state machine
        )
        self.timeout = 0.0  # current inactivity timeout

    # -- history -------------------------------------------------------------------------------
    def check_history(self, letter: str) -> bool:
        """Add a letter once per connection; True if it had been seen before (Zeek CheckHistory)."""
        if letter in self.hseen:
            return True
        self.hseen += letter
        self.history += letter
        return False

    def flip(self) -> None:
        """Swap originator and responder (Zeek Connection::FlipRoles), marking '^' in the history."""
        self.o, self.r = self.r, self.o
        self.orig_h, self.resp_h = self.resp_h, self.orig_h
        self.orig_p, self.resp_p = self.resp_p, self.orig_p
        self.orig_a = not self.orig_a
        self.hseen = self.hseen.swapcase()
        self.history += "^"

    def make_uid(self) -> str:
        """ "C" + 17 base62 characters from the 5-tuple and start time: the same capture gives the same uid."""
        packed = _UID_FORMAT.pack(
            self.proto, *self.orig_h, self.orig_p & 0xFFFF, *self.resp_h, self.resp_p & 0xFFFF, self.start_ts
        )
        return "C" + hashlib.blake2b(packed, digest_size=17).digest().translate(_B62_TABLE).decode()

    # -- record --------------------------------------------------------------------------------
    def conn_state(self) -> str:
        if self.kind == KIND_TCP:
            return tcp_conn_state(self.o, self.r, self.history)
        if self.kind == KIND_UDP:
            o_active, r_active = self.o.pkts > 0, self.r.pkts > 0
            if o_active:
                return "SF" if r_active else "S0"
            return "SHR" if r_active else "OTH"
        return "OTH"

    def record(self, interim: bool = False) -> dict:
        o, r = self.o, self.r
        rec: dict = {
            "_path": "conn",
            "ts": self.start_ts,
            "uid": self.uid,
            "id.orig_h": ip_text(self.orig_h),
            "id.orig_p": self.orig_p,
            "id.resp_h": ip_text(self.resp_h),
            "id.resp_p": self.resp_p,
            "proto": KIND_NAMES[self.kind],
        }
        if self.services:
            rec["service"] = ",".join(self.services)
        duration = self.last_time - self.start_ts
        if duration > 0:  # Zeek sets duration and byte counts only for a positive duration
            rec["duration"] = duration
            if self.kind == KIND_TCP:
                rec["orig_bytes"] = o.tcp_size(r)
                rec["resp_bytes"] = r.tcp_size(o)
            else:
                rec["orig_bytes"] = o.size
                rec["resp_bytes"] = r.size
        rec["conn_state"] = self.conn_state()
        missed = 0
        if self.kind == KIND_TCP:
            # Data acknowledged by the peer beyond anything seen is a gap too (Zeek finds it on ACK).
            for ep in (o, r):
                if ep.state != INACTIVE:
                    missed += ep.missed + max(0, ep.ack - ep.last)
        rec["missed_bytes"] = missed
        if self.history:
            rec["history"] = self.history
        rec["orig_pkts"] = o.pkts
        rec["orig_ip_bytes"] = o.ip_bytes
        rec["resp_pkts"] = r.pkts
        rec["resp_ip_bytes"] = r.ip_bytes
        if interim:
            rec["interim"] = True
        return rec


def tcp_conn_state(o: Endpoint, r: Endpoint, history: str) -> str:
    """Zeek's conn_state() from base/protocols/conn/main.zeek."""
    os_, rs = o.state, r.state
    o_inactive = os_ in (INACTIVE, PARTIAL)
    r_inactive = rs in (INACTIVE, PARTIAL)
    if rs == RESET:
        if os_ in (SYN_SENT, SYN_ACK_SENT) or (os_ == RESET and o.tcp_size(r) == 0 and r.tcp_size(o) == 0):
            return "REJ"
        return "RSTRH" if o_inactive else "RSTR"
    if os_ == RESET:
        if r_inactive:
            return "RSTOS0" if _rstos0(history) else "OTH"
        return "RSTO"
    if rs == CLOSED and os_ == CLOSED:
        return "SF"
    if os_ == CLOSED:
        return "SH" if r_inactive else "S2"
    if rs == CLOSED:
        return "SHR" if o_inactive else "S3"
    if os_ == SYN_SENT and rs == INACTIVE:
        return "S0"
    if os_ == ESTABLISHED and rs == ESTABLISHED:
        return "S1"
    return "OTH"


def _rstos0(history: str) -> bool:
    """Zeek's pattern /\\^?S[^HAFGIQ]*R.*/ (anchored, as Zeek's == on patterns is)."""
    h = history[1:] if history.startswith("^") else history
    if not h.startswith("S"):
        return False
    for c in h[1:]:
        if c == "R":
            return True
        if c in "HAFGIQ":
            return False
    return False
