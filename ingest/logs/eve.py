"""Suricata's EVE JSON → records as the sensor writes them (``source: eve``), and its alerts.

    parser = EveParser()
    records, alerts = parser.line(raw)      # alerts: dicts for wardwatch.alerts.Alert (external engine)
    parser.lines(raws, records, alerts)     # many lines (flow and DNS events in C: _evefast.c)
    records += parser.flush()               # DNS queries whose answer never came

Event types: ``flow`` (and ``netflow``) → ``conn``; ``dns`` (version 2: one event per query and per
answer; version 3, Suricata 8: ``queries``/``answers`` arrays; ``grouped`` answers too) → ``dns``, a
query paired with its answer by flow and DNS id as Zeek pairs them; ``tls`` → ``tls``; ``http`` →
``http``; ``alert`` → an alert of category ``external_ids`` (the signature, its id and Suricata's
severity kept as evidence). Other event types are skipped and counted by the caller. The uid is the
flow id (``E`` + hex), so the records of one flow share it as Zeek's records share theirs.

What EVE does not say stays unset: ``history``, ``missed_bytes``; ``conn_state`` is left out too
(Suricata's flow states are not Zeek's). Byte counts are Suricata's (``bytes_toserver``: whole
packets), so they go to ``orig_ip_bytes``/``resp_ip_bytes``, not the payload counts.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import orjson

from ..dns.answers import ROOT_ZONE
from ..native import load

# flow and DNS events mapped in C (``_evefast.c``; bench/bench_import.py), every other line by the Python
# below, which is also the fallback when it is not built (tests/unit/test_logimport_native.py checks
# they agree); WARDWATCH_LOGS_PYTHON=1 runs the Python alone
_native = None if os.environ.get("WARDWATCH_LOGS_PYTHON") == "1" else load(__package__, "_evefast")


def _epoch(text: str) -> float:
    """ISO 8601 to seconds since the epoch; a time without a zone is UTC (never the host's zone)."""
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


_PROTO = {"TCP": "tcp", "UDP": "udp", "ICMP": "icmp", "IPV6-ICMP": "icmp", "ICMPV6": "icmp"}
_TLS_VERSION = {
    "TLS 1.0": "TLSv10",
    "TLS 1.1": "TLSv11",
    "TLS 1.2": "TLSv12",
    "TLS 1.3": "TLSv13",
    "SSLv3": "SSLv3",
}
_QTYPES = {
    "A": 1,
    "NS": 2,
    "CNAME": 5,
    "SOA": 6,
    "PTR": 12,
    "MX": 15,
    "TXT": 16,
    "AAAA": 28,
    "SRV": 33,
    "NULL": 10,
}
_QTYPES.update({"ANY": 255, "HTTPS": 65, "SVCB": 64, "CAA": 257, "DS": 43, "DNSKEY": 48, "RRSIG": 46})
_RCODES = {"NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4, "REFUSED": 5}
# Suricata's severity: 1 is the most severe (ET rules: 1 major, 2 minor, 3 informational)
_SEVERITY = {1: "high", 2: "medium", 3: "low"}
_TS_CACHE: dict[str, float] = {}
_ICMP = frozenset(("ICMP", "IPV6-ICMP", "ICMPV6"))
_KINDS = ("flow", "netflow", "dns", "tls", "http", "alert")  # a tuple: a list as event_type is no crash


def eve_time(v: Any) -> float | None:
    """Seconds since the epoch of an EVE timestamp (``2011-08-12T14:52:57.716360+0200``).

    The whole-second part and the zone are parsed once per second and cached (a busy eve.json has
    thousands of events a second); the fraction is added to it."""
    if type(v) is str and len(v) == 31 and v[19] == "." and v[26] in "+-":
        # Suricata's own form, once its second is known: a third of the general path's cost, and
        # the timestamp is parsed for every event (bench/bench_import.py)
        base = _TS_CACHE.get(v[:19] + v[26:])
        frac = v[20:26]
        if base is not None and frac.isdigit():
            return base + int(frac) / 1e6
    if not isinstance(v, str):
        return None
    if len(v) > 20 and v[19] == ".":
        n = len(v)
        if n > 26 and v[26] in "+-Z":  # Suricata's own form: six digits of fraction
            j = 26
        else:
            j = 20
            while j < n and v[j].isdigit():
                j += 1
        key = v[:19] + v[j:]
        base = _TS_CACHE.get(key)
        if base is None:
            try:
                base = _epoch(key)
            except ValueError:
                return None
            if len(_TS_CACHE) > 100_000:
                _TS_CACHE.clear()
            _TS_CACHE[key] = base
        frac = v[20:j]
        if not frac.isdigit():
            return None if frac else base
        return base + float("0." + frac)
    try:
        return _epoch(v)
    except ValueError:
        return None


def _ends(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "id.orig_h": d.get("src_ip"),
        "id.orig_p": d.get("src_port", 0),
        "id.resp_h": d.get("dest_ip"),
        "id.resp_p": d.get("dest_port", 0),
    }


def _uid(d: dict[str, Any]) -> str:
    fid = d.get("flow_id")
    return f"E{fid:x}" if isinstance(fid, int) else ""


class EveParser:
    def __init__(self, pending_limit: int = 10_000) -> None:
        self.pending: dict[tuple[Any, ...], dict[str, Any]] = {}  # DNS queries awaiting their answer
        self.pending_limit = pending_limit
        self.skipped = 0  # event types not imported
        self.malformed = 0
        self.newest = 0.0  # the latest event time seen (unanswered queries expire against it)

    def line(self, raw: bytes | str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        records: list[dict[str, Any]] = []
        alerts: list[dict[str, Any]] = []
        self.feed(raw, records, alerts)
        return records, alerts

    def lines(self, raws: list[bytes], records: list[dict[str, Any]], alerts: list[dict[str, Any]]) -> None:
        """``feed`` of each line (flow and DNS events mapped in C where it is built)."""
        if _native is None or self.pending_limit < 1:
            feed = self.feed
            for raw in raws:
                feed(raw, records, alerts)
            return
        newest = _native.feed(
            raws, orjson.loads, self.feed, self._event, records, alerts, self.pending, self.pending_limit,
            _QTYPES, _RCODES,
        )  # fmt: skip
        if newest > self.newest:
            self.newest = newest

    def feed(self, raw: bytes | str, records: list[dict[str, Any]], alerts: list[dict[str, Any]]) -> None:
        """``line``, appending to the caller's lists: no two new lists an event (the input's loop)."""
        try:
            d = orjson.loads(raw)
        except orjson.JSONDecodeError:
            self.malformed += 1
            return
        if type(d) is not dict:
            self.malformed += 1
            return
        self._event(d, records, alerts)

    def event(self, d: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        records: list[dict[str, Any]] = []
        alerts: list[dict[str, Any]] = []
        self._event(d, records, alerts)
        return records, alerts

    def _event(self, d: dict[str, Any], records: list[dict[str, Any]], alerts: list[dict[str, Any]]) -> None:
        kind = d.get("event_type")
        if kind == "flow" and "src_ip" in d and "dest_ip" in d:
            # the commonest event: its time is the flow's start (the event's own time not needed)
            f = d.get("flow")
            start = eve_time(f.get("start")) if type(f) is dict else None
            if start is not None:
                if start > self.newest:
                    self.newest = start
                try:
                    records.append(self._flow(d, start, kind, start))
                except (TypeError, ValueError, KeyError, AttributeError):
                    self.malformed += 1
                return
        ts = eve_time(d.get("timestamp"))
        if ts is not None and ts > self.newest:
            self.newest = ts
        if ts is None or not d.get("src_ip") or not d.get("dest_ip"):
            self.malformed += kind in _KINDS
            self.skipped += kind not in _KINDS
            return
        try:
            if kind == "dns":
                records += self._dns(d, ts)
            elif kind == "flow" or kind == "netflow":
                records.append(self._flow(d, ts, kind))
            elif kind == "tls":
                records.append(self._tls(d, ts))
            elif kind == "http":
                records.append(self._http(d, ts))
            elif kind == "alert":
                alerts.append(self._alert(d, ts))
            else:
                self.skipped += 1
        except (TypeError, ValueError, KeyError, AttributeError):
            self.malformed += 1

    # -- flow ------------------------------------------------------------------------------------
    def _flow(self, d: dict[str, Any], ts: float, kind: str, start: float | None = None) -> dict[str, Any]:
        f = d.get(kind) or {}
        if start is None:
            start = eve_time(f.get("start")) or ts
        end = eve_time(f.get("end"))
        proto = d.get("proto", "")
        proto = (proto if type(proto) is str else str(proto)).upper()
        fid = d.get("flow_id")
        get = d.get
        rec: dict[str, Any] = {
            "_path": "conn",
            "ts": start,
            "uid": f"E{fid:x}" if isinstance(fid, int) else "",
            "id.orig_h": d["src_ip"],
            "id.orig_p": get("src_port", 0),
            "id.resp_h": d["dest_ip"],
            "id.resp_p": get("dest_port", 0),
            "proto": _PROTO.get(proto, "unknown_transport"),
        }
        if proto in _ICMP:  # Zeek: type and code in the ports
            rec["id.orig_p"] = int(get("icmp_type", rec["id.orig_p"]) or 0)
            rec["id.resp_p"] = int(get("icmp_code", rec["id.resp_p"]) or 0)
        app = get("app_proto")
        if app and app != "failed":
            rec["service"] = app if type(app) is str else str(app)
        if end is not None and end > start:
            rec["duration"] = end - start
        get = f.get
        if kind == "netflow":  # one direction per event
            rec["orig_pkts"] = int(get("pkts", 0))
            rec["orig_ip_bytes"] = int(get("bytes", 0))
            rec["resp_pkts"] = rec["resp_ip_bytes"] = 0
        else:
            rec["orig_pkts"] = int(get("pkts_toserver", 0))
            rec["orig_ip_bytes"] = int(get("bytes_toserver", 0))
            rec["resp_pkts"] = int(get("pkts_toclient", 0))
            rec["resp_ip_bytes"] = int(get("bytes_toclient", 0))
        rec["source"] = "eve"
        return rec

    # -- dns -------------------------------------------------------------------------------------
    def _dns(self, d: dict[str, Any], ts: float) -> list[dict[str, Any]]:
        dns = d.get("dns") or {}
        kind = dns.get("type")
        key = (d.get("flow_id"), dns.get("id"), d.get("src_ip"), d.get("src_port"))
        if kind in ("query", "request"):
            queries = dns.get("queries") or ([dns] if dns.get("rrname") is not None else [])
            q = queries[0] if queries else {}
            fid = d.get("flow_id")
            rec: dict[str, Any] = {  # _uid and _ends inline: one call and dict less an event
                "_path": "dns",
                "ts": ts,
                "uid": f"E{fid:x}" if isinstance(fid, int) else "",
                "id.orig_h": d.get("src_ip"),
                "id.orig_p": d.get("src_port", 0),
                "id.resp_h": d.get("dest_ip"),
                "id.resp_p": d.get("dest_port", 0),
            }
            rec["proto"] = _PROTO.get(str(d.get("proto", "")).upper(), "udp")
            rec["trans_id"] = int(dns.get("id", 0))
            self._question(rec, q)
            rec["RD"] = bool(dns.get("rd", False))
            rec["source"] = "eve"
            out = []
            old = self.pending.pop(key, None)
            if old is not None:
                out.append(old)  # the same id asked again: the first went unanswered
            if len(self.pending) >= self.pending_limit:
                out.append(self.pending.pop(next(iter(self.pending))))
            self.pending[key] = rec
            return out
        if kind not in ("answer", "response"):
            return []
        # an answer travels server → client: the query's key has the addresses swapped
        qkey = (d.get("flow_id"), dns.get("id"), d.get("dest_ip"), d.get("dest_port"))
        found: dict[str, Any] | None = self.pending.pop(qkey, None) or self.pending.pop(key, None)  # type: ignore[arg-type]
        if found is None:  # an answer without its query (Zeek logs it too, from the client's side)
            rec = {"_path": "dns", "ts": ts, "uid": _uid(d), "source": "eve"}
            rec.update(
                {"id.orig_h": d.get("dest_ip"), "id.orig_p": d.get("dest_port", 0)}
                | {"id.resp_h": d.get("src_ip"), "id.resp_p": d.get("src_port", 0)}
            )
            rec["proto"] = _PROTO.get(str(d.get("proto", "")).upper(), "udp")
            rec["trans_id"] = int(dns.get("id", 0))
            queries = dns.get("queries") or ([dns] if dns.get("rrname") is not None else [])
            self._question(rec, queries[0] if queries else {})
            rec["RD"] = bool(dns.get("rd", False))
        else:
            rec = found
            rec["rtt"] = max(ts - rec["ts"], 0.0)
        rcode = dns.get("rcode")
        if isinstance(rcode, str):
            rec["rcode_name"] = rcode
            if rcode in _RCODES:
                rec["rcode"] = _RCODES[rcode]
        get = dns.get
        rec["AA"] = bool(get("aa", False))
        rec["TC"] = bool(get("tc", False))
        rec["RA"] = bool(get("ra", False))
        answers: list[str] = []
        ttls: list[float] = []
        listed = get("answers")
        for a in listed or ():
            if type(a) is dict and "rdata" in a:
                answers.append(str(a["rdata"]))
                ttls.append(float(a.get("ttl", 0)))
        if not listed and get("rdata") is not None:  # version 1: one answer an event
            answers.append(str(dns["rdata"]))
            ttls.append(float(get("ttl", 0)))
        grouped = get("grouped")
        if grouped is not None and isinstance(grouped, dict):
            for values in grouped.values():
                for v in values if isinstance(values, list) else [values]:
                    answers.append(str(v))
        if answers:
            rec["answers"] = answers
            if len(ttls) == len(answers):
                rec["TTLs"] = ttls
        auths = get("authorities")
        if auths and isinstance(auths, list):
            _authority(rec, auths)
        return [rec]

    @staticmethod
    def _question(rec: dict[str, Any], q: dict[str, Any]) -> None:
        if q.get("rrname") is not None:
            rec["query"] = str(q["rrname"])
        rrtype = q.get("rrtype")
        if isinstance(rrtype, str):
            rec["qtype_name"] = rrtype
            if rrtype in _QTYPES:
                rec["qtype"] = _QTYPES[rrtype]
            rec["qclass"] = 1
            rec["qclass_name"] = "C_INTERNET"

    def expire(self, wait: float = 30.0) -> list[dict[str, Any]]:
        """Queries unanswered ``wait`` seconds (log time) after the newest event: logged unanswered,
        as Zeek does after its timeout (and before a restart could lose them)."""
        if not self.pending:
            return []
        old = [k for k, r in self.pending.items() if r["ts"] < self.newest - wait]
        return [self.pending.pop(k) for k in old]

    def flush(self) -> list[dict[str, Any]]:
        """Queries still waiting for an answer, as Zeek logs unanswered queries."""
        out = list(self.pending.values())
        self.pending.clear()
        return out

    # -- tls, http -------------------------------------------------------------------------------
    def _tls(self, d: dict[str, Any], ts: float) -> dict[str, Any]:
        t = d.get("tls") or {}
        rec: dict[str, Any] = {"_path": "tls", "ts": ts, "uid": _uid(d), **_ends(d)}
        if t.get("version"):
            rec["version"] = _TLS_VERSION.get(t["version"], str(t["version"]))
        if t.get("sni"):
            rec["server_name"] = str(t["sni"])
        ja3 = t.get("ja3")
        if isinstance(ja3, dict) and ja3.get("hash"):
            rec["ja3"] = str(ja3["hash"])
        alpn = t.get("client_alpns")
        if isinstance(alpn, list):
            rec["alpn"] = [str(a) for a in alpn]
        rec["quic"] = False
        rec["source"] = "eve"
        return rec

    def _http(self, d: dict[str, Any], ts: float) -> dict[str, Any]:
        h = d.get("http") or {}
        rec: dict[str, Any] = {"_path": "http", "ts": ts, "uid": _uid(d), **_ends(d)}
        rec["trans_depth"] = int(d.get("tx_id", 0)) + 1
        for ours, theirs in (
            ("method", "http_method"), ("host", "hostname"), ("uri", "url"), ("referrer", "http_refer"),
            ("user_agent", "http_user_agent"),
        ):  # fmt: skip
            if h.get(theirs) is not None:
                rec[ours] = str(h[theirs])
        proto = h.get("protocol")
        if isinstance(proto, str) and proto.startswith("HTTP/"):
            rec["version"] = proto[5:]
        status = h.get("status")
        if status is not None and str(status).isdigit():
            rec["status_code"] = int(status)
        rec["source"] = "eve"
        return rec

    # -- alert -----------------------------------------------------------------------------------
    def _alert(self, d: dict[str, Any], ts: float) -> dict[str, Any]:
        a = d.get("alert") or {}
        sid = int(a.get("signature_id", 0))
        signature = str(a.get("signature", "")) or f"sid {sid}"
        severity = _SEVERITY.get(int(a.get("severity", 3)), "low")
        evidence = {
            "engine": "suricata",
            "signature": signature,
            "signature_id": sid,
            "gid": int(a.get("gid", 1)),
            "rev": int(a.get("rev", 0)),
            "category": str(a.get("category", "")),
            "action": str(a.get("action", "")),
            "proto": str(d.get("proto", "")),
            "src_port": d.get("src_port"),
            "dest_port": d.get("dest_port"),
            "flow_uid": _uid(d),
            "app_proto": d.get("app_proto"),
        }
        return {
            "ts": ts,
            "category": "external_ids",
            "severity": severity,
            "src_ip": str(d["src_ip"]),
            "dst_ip": str(d["dest_ip"]),
            "indicator": signature,
            "rule": f"suricata:{a.get('gid', 1)}:{sid}",
            "evidence": evidence,
        }


def _authority(rec: dict[str, Any], auths: list[Any]) -> None:
    """``auth`` and ``auth_zone`` from Suricata's ``authorities`` as the sensor sets them from the
    packet (ingest/dns/answers.py ``authority``): each record's reply string once (an SOA's primary
    server ``mname``, when Suricata logs the SOA's data), and the first SOA's owner (``""``: the root)."""
    texts: list[str] = []
    zone: str | None = None
    for a in auths:
        if type(a) is not dict:
            continue
        if a.get("rrtype") == "SOA":
            name = a.get("rrname")
            if zone is None and isinstance(name, str):
                zone = name.rstrip(".") or ROOT_ZONE
            soa = a.get("soa")
            text = soa.get("mname") if isinstance(soa, dict) else None
        else:
            text = a.get("rdata")
        if isinstance(text, str) and text not in texts:
            texts.append(text)
    if texts:
        rec["auth"] = texts
    if zone is not None:
        rec["auth_zone"] = zone
