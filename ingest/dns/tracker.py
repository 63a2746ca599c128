"""DnsTracker: pairs queries and responses into Zeek dns.log records.

Semantics follow Zeek's base/protocols/dns/main.zeek: one record per (connection, trans_id)
transaction, queued first-in first-out per id; request fields (query, qtype, qclass, RD, TC, Z)
come from the query, rcode from the response, AA/RA/answers/TTLs/rtt only from answer-section
records of a response, ``auth`` (Zeek's auth-addl.zeek) and ``auth_zone`` from its authority section
(answers.py); ``rejected`` when a response carries no records at all, or a non-zero rcode with no
question. Only standard queries (opcode 0) are tracked: UPDATE, NOTIFY and the other
opcodes leave no dns.log record (as in Zeek; counted as ``dns.opcode_not_tracked``). NetBIOS name
service on udp/137 is read too, its query names decoded as Zeek does (netbios.py). A query or response with no
partner is logged alone once ``timeout`` has passed (Zeek's dns_session_timeout) or at flush.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from wardwatch.counters import Counters

from ..decode.columns import PacketBatch
from .answers import authority, format_answer
from .config import DnsConfig
from .consts import qclass_name, qtype_name, rcode_name
from .extract import DnsSelector, MessageExtractor
from .netbios import NBNS_PORT, NBSTAT, decode_netbios_name
from .wire import Message, decode_message, decode_message_py

if TYPE_CHECKING:  # the flows package imports the meter, which DNS does not need at run time
    from ..flows.assignment import FlowAssignment, FlowView

Record = dict[str, object]


class _Tx:
    """One transaction being assembled (Zeek's DNS::Info)."""

    __slots__ = (
        "ts", "flow", "uid", "ends", "trans_id", "rtt", "query", "qclass", "qtype", "rcode",
        "AA", "TC", "RD", "RA", "Z", "answers", "TTLs", "rejected", "auth", "auth_zone", "saw_query",
        "saw_reply", "done", "in_replies", "nbns",
    )  # fmt: skip

    def __init__(self, ts: float, flow: int, uid: str, ends: tuple, trans_id: int, in_replies: bool):
        self.ts = ts
        self.flow = flow
        self.uid = uid
        self.ends = ends
        self.trans_id = trans_id
        self.rtt: float | None = None
        self.query: str | None = None
        self.qclass = -1
        self.qtype = -1
        self.rcode = -1
        self.AA = self.TC = self.RD = self.RA = False
        self.Z = 0
        self.answers: list[str] | None = None
        self.TTLs: list[float] | None = None
        self.rejected = False
        self.auth: list[str] | None = None
        self.auth_zone: str | None = None
        self.saw_query = self.saw_reply = False
        self.done = False
        self.in_replies = in_replies
        self.nbns = ends[3] == NBNS_PORT and ends[4] == "udp"  # NetBIOS name service (netbios.py)

    def record(self) -> Record:
        orig_h, orig_p, resp_h, resp_p, proto = self.ends
        rec: Record = {
            "_path": "dns",
            "ts": self.ts,
            "uid": self.uid,
            "id.orig_h": orig_h,
            "id.orig_p": orig_p,
            "id.resp_h": resp_h,
            "id.resp_p": resp_p,
            "proto": proto,
            "trans_id": self.trans_id,
        }
        if self.rtt is not None:
            rec["rtt"] = self.rtt
        if self.query is not None:
            rec["query"] = self.query
        if self.qclass >= 0:
            rec["qclass"] = self.qclass
            rec["qclass_name"] = qclass_name(self.qclass)
        if self.qtype >= 0:
            rec["qtype"] = self.qtype
            rec["qtype_name"] = "NBSTAT" if self.nbns and self.qtype == NBSTAT else qtype_name(self.qtype)
        if self.rcode >= 0:
            rec["rcode"] = self.rcode
            rec["rcode_name"] = rcode_name(self.rcode)
        rec["AA"] = self.AA
        rec["TC"] = self.TC
        rec["RD"] = self.RD
        rec["RA"] = self.RA
        rec["Z"] = self.Z
        if self.answers is not None:
            rec["answers"] = self.answers
            rec["TTLs"] = self.TTLs
        rec["rejected"] = self.rejected
        if self.auth is not None:
            rec["auth"] = self.auth
        if self.auth_zone is not None:
            rec["auth_zone"] = self.auth_zone
        return rec


class _Conn:
    __slots__ = ("queries", "replies")

    def __init__(self) -> None:
        self.queries: dict[int, deque[_Tx]] = {}
        self.replies: dict[int, deque[_Tx]] = {}


class DnsTracker:
    def __init__(self, counters: Counters, config: DnsConfig | None = None, python_decoder: bool = False):
        """``python_decoder`` decodes with wire.py's Python decoder even where _dnswire.c is built (the
        tests compare the records of the two)."""
        self.counters = counters
        self._decode = decode_message_py if python_decoder else decode_message
        self.config = config or DnsConfig()
        self.selector = DnsSelector(self.config)
        self.extractor = MessageExtractor(self.config, counters)
        self._conns: dict[int, _Conn] = {}
        self._timeline: deque[_Tx] = deque()  # every pending transaction, in creation order
        self._finished = 0  # transactions finished since the timeline was last compacted
        self._pending = 0
        self._out: list[Record] = []
        self._last_tcp_sweep = float("-inf")

    # -- pipeline interface -------------------------------------------------------------------

    def process(self, batch: PacketBatch, flows: FlowAssignment, view: FlowView) -> list[Record]:
        idx = self.selector.rows(batch)
        if not idx.size:
            return []
        flow_ids = flows.flow[idx].tolist()
        ts = batch.ts[idx].tolist()
        keys = list(zip(flow_ids, flows.from_orig[idx].tolist(), strict=True))
        sections = self.config.decode_sections
        counters = self.counters
        apply = self._apply
        decode = self._decode
        served: set[int] = set()  # flows given the dns service in this batch (adding it again is a no-op)
        messages = short = 0
        for k, wire in self.extractor.extract(batch, idx, keys):
            msg = decode(wire, sections)
            if msg is None:
                short += 1
                continue
            messages += 1
            apply(flow_ids[k], ts[k], msg, view, served)
        if short:
            counters.add("malformed.dns", short)
            counters.add("malformed.dns.short", short)
        if messages:
            counters.add("dns.messages", messages)
        out, self._out = self._out, []
        return out

    def expire(self, now: float) -> list[Record]:
        horizon = now - self.config.timeout
        timeline = self._timeline
        while timeline and timeline[0].ts <= horizon:
            tx = timeline.popleft()
            if not tx.done:
                self._unqueue(tx)
                self._emit(tx)
        if now - self._last_tcp_sweep >= 1.0:
            self._last_tcp_sweep = now
            self.extractor.tcp.expire(now - self.config.tcp_idle_timeout)
        out, self._out = self._out, []
        return out

    def flush(self) -> list[Record]:
        for tx in self._timeline:
            if not tx.done:
                self._emit(tx)
        self._timeline.clear()
        self._conns.clear()
        self._pending = 0
        self.extractor.tcp.flush()
        out, self._out = self._out, []
        return out

    # -- one message --------------------------------------------------------------------------

    def handle(self, flow: int, ts: float, msg: Message, view: FlowView) -> None:
        """Apply one decoded message of connection ``flow`` seen at ``ts``."""
        self._apply(flow, ts, msg, view, None)

    def _apply(self, flow: int, ts: float, msg: Message, view: FlowView, served: set[int] | None) -> None:
        if msg.error is not None:
            self.counters.add("malformed.dns")
            self.counters.add("malformed.dns." + msg.error)
        if msg.error_section == 0 or msg.error_section > 2:
            # Zeek confirms the protocol once questions and answers parse
            if served is None:
                view.add_service(flow, "dns")
            elif flow not in served:
                served.add(flow)
                view.add_service(flow, "dns")
        flags = msg.flags
        if flags & 0x7800:  # opcode
            self.counters.add("dns.opcode_not_tracked")
            return
        is_reply = bool(flags & 0x8000)
        tx = self._session(flow, ts, msg.id, is_reply, view)
        if not is_reply:
            tx.saw_query = True
            for q in msg.questions:  # Zeek's dns_request runs per question: the last one wins
                tx.RD = bool(flags & 0x0100)
                tx.TC = bool(flags & 0x0200)
                tx.Z = (flags >> 4) & 0x7
                tx.qclass = q.qclass
                tx.qtype = q.qtype
                tx.query = decode_netbios_name(q.name) if tx.nbns else q.name
        else:
            self._reply(tx, ts, msg)
        if tx.saw_query and tx.saw_reply:
            self._finish(tx)

    def _reply(self, tx: _Tx, ts: float, msg: Message) -> None:
        tx.saw_reply = True
        tx.rcode = msg.flags & 0xF
        if tx.rcode != 0 and msg.qdcount == 0:
            tx.rejected = True
        if msg.questions and msg.ancount == 0 and msg.nscount == 0 and msg.arcount == 0:
            tx.rejected = True  # Zeek's dns_rejected: a reply without any record
        if msg.answers:
            for rr in msg.answers:
                text = format_answer(rr)
                if text is None:
                    continue  # Zeek has no reply handler for this type: the record leaves no trace
                if tx.query is None:
                    tx.query = rr.name
                tx.AA = bool(msg.flags & 0x0400)
                tx.RA = bool(msg.flags & 0x0080)
                if tx.rtt is None:
                    rtt = ts - tx.ts
                    tx.rtt = round(rtt, 6) if rtt != 0 else None  # zero: only the reply was seen
                if text:
                    if tx.answers is None:
                        tx.answers = []
                        tx.TTLs = []
                    tx.answers.append(text)
                    tx.TTLs.append(float(rr.ttl))  # type: ignore[union-attr]
        if msg.authority:
            self._authority(tx, msg)
        if self.config.fill_query_from_response and msg.questions and not tx.saw_query:
            q = msg.questions[-1]
            if tx.query is None:
                tx.query = q.name
            tx.qclass = q.qclass
            tx.qtype = q.qtype

    @staticmethod
    def _authority(tx: _Tx, msg: Message) -> None:
        """Zeek's ``auth`` (a set over the transaction's responses) and the first SOA's zone."""
        texts, zone = authority(msg.authority)
        if texts:
            if tx.auth is None:
                tx.auth = texts
            else:
                tx.auth += [t for t in texts if t not in tx.auth]
        if tx.auth_zone is None:
            tx.auth_zone = zone

    # -- pairing ------------------------------------------------------------------------------

    def _session(self, flow: int, ts: float, trans_id: int, is_reply: bool, view: FlowView) -> _Tx:
        conn = self._conns.get(flow)
        if conn is None:
            conn = self._conns[flow] = _Conn()
        # a message pairs with the oldest pending message of the other kind with the same id
        other = conn.queries if is_reply else conn.replies
        q = other.get(trans_id)
        if q:
            tx = q.popleft()
            if not q:
                del other[trans_id]
            self._pending -= 1
            return tx
        tx = _Tx(ts, flow, view.uid(flow), view.endpoints(flow), trans_id, is_reply)
        mine = conn.replies if is_reply else conn.queries
        q = mine.get(trans_id)
        if q is None:
            if len(mine) > self.config.max_pending_query_ids:
                self.counters.add("dns.pending_ids_overflow")
                for old in mine.values():
                    for t in old:
                        self._emit(t)
                        self._pending -= 1
                mine.clear()
            q = mine[trans_id] = deque()
        elif len(q) > self.config.max_pending_msgs:
            self.counters.add("dns.pending_msgs_overflow")
            for t in q:
                self._emit(t)
                self._pending -= 1
            q.clear()
        q.append(tx)
        self._timeline.append(tx)
        self._pending += 1
        if self._pending > self.config.max_pending:
            self._shed()
        return tx

    def _finish(self, tx: _Tx) -> None:
        self._emit(tx)
        conn = self._conns.get(tx.flow)
        if conn is not None and not conn.queries and not conn.replies:
            del self._conns[tx.flow]
        self._finished += 1
        if self._finished >= 1024 and self._finished * 2 >= len(self._timeline):
            self._compact()

    def _compact(self) -> None:
        """Drop finished transactions from the timeline (expire, _shed and flush skip them anyway) so
        that they are freed now, not ``timeout`` later: on a DNS flood about 50,000 of them lived on,
        and the garbage collector walked them (issue 17: 0.3 of the sensor's 2.7 CPU s)."""
        self._timeline = deque(t for t in self._timeline if not t.done)
        self._finished = 0

    def _emit(self, tx: _Tx) -> None:
        if not tx.done:
            tx.done = True
            self._out.append(tx.record())

    def _unqueue(self, tx: _Tx) -> None:
        conn = self._conns.get(tx.flow)
        if conn is None:
            return
        table = conn.replies if tx.in_replies else conn.queries
        q = table.get(tx.trans_id)
        if q:
            if q[0] is tx:
                q.popleft()
            else:
                try:
                    q.remove(tx)
                except ValueError:
                    return
            self._pending -= 1
            if not q:
                del table[tx.trans_id]
        if not conn.queries and not conn.replies:
            del self._conns[tx.flow]

    def _shed(self) -> None:
        """Too many transactions pending: log the oldest ones now."""
        while self._pending > self.config.max_pending and self._timeline:
            tx = self._timeline.popleft()
            if not tx.done:
                self.counters.add("dns.pending_overflow")
                self._unqueue(tx)
                self._emit(tx)
