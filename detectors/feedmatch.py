"""Threat-feed matches: DNS query names, every name and address in the answers (the CNAME chain and
the A/AAAA data), TLS SNI, HTTP Host, and both addresses of every connection.

The indicator of an alert is the listed indicator (``evil.example`` for a query of
``cdn.evil.example``); the observed name or address is in the evidence with the feeds' provenance.
Address hits are looked up once per address (``annotate``, cached with the segment lookup).
"""

from __future__ import annotations

from typing import Any

from wardwatch.threatfeeds import FeedIndex, Match

from wardwatch.alerts import Alert

from .base import Batch, is_ip_text, norm_name, record_id
from .rules import make_alert
from .segments import IpInfo

_MAX_CACHE = 200_000


def _evidence(m: Match, observed: str, rec: dict[str, Any], **more: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {"observed": observed, "log": rec.get("_path"), "uid": rec.get("uid")}
    ev.update(more)
    ev["feeds"] = m.provenance()
    return ev


class FeedMatcher:
    name = "feedmatch"

    def __init__(self, index: FeedIndex) -> None:
        self.index = index
        self._names: dict[str, Match | None] = {}
        self._ips: dict[str, Match | None] = {}

    def annotate(self, info: IpInfo) -> None:
        info.feed = self.index.match_ip(info.ip)

    def domain(self, name: str) -> Match | None:
        cache = self._names
        if name in cache:
            return cache[name]
        if len(cache) > _MAX_CACHE:
            cache.clear()
        m = cache[name] = self.index.match_domain(name)
        return m

    def ip(self, addr: str) -> Match | None:
        cache = self._ips
        if addr in cache:
            return cache[addr]
        if len(cache) > _MAX_CACHE:
            cache.clear()
        m = cache[addr] = self.index.match_ip(addr)
        return m

    def detect(self, batch: Batch) -> list[Alert]:
        out: list[Alert] = []
        for rec, o, d in batch.each("dns"):
            if not o.resolver:  # a forwarded lookup: the client's own lookup carries the alert
                self._dns(rec, o, d, out)
        for path, field, rule in (("tls", "server_name", "feed.tls.sni"), ("http", "host", "feed.http.host")):
            for rec, o, d, name in batch.names(path, field):
                m = self.domain(name)
                if m is not None:
                    a = make_alert(
                        rule,
                        rec["ts"],
                        o,
                        d,
                        m.indicator,
                        _evidence(m, name, rec),
                        observed=name,
                        feeds=",".join(m.feeds),
                    )
                    a.seen.add(record_id(rec))
                    out.append(a)
        for rec, o, d in batch.each("conn"):
            for hit in (d, o):
                m = hit.feed
                if m is None:
                    continue
                assert isinstance(m, Match)
                port = rec.get("id.resp_p")
                ev = _evidence(
                    m, hit.ip, rec, proto=rec.get("proto"), port=port, conn_state=rec.get("conn_state")
                )
                a = make_alert(
                    "feed.conn.ip",
                    rec["ts"],
                    o,
                    d,
                    m.indicator,
                    ev,
                    observed=hit.ip,
                    port=port,
                    feeds=",".join(m.feeds),
                )
                a.seen.add(record_id(rec))
                out.append(a)
                break
        return out

    def _dns(self, rec: dict[str, Any], o: IpInfo, d: IpInfo, out: list[Alert]) -> None:
        query = norm_name(rec.get("query"))
        ts = rec["ts"]
        rid = record_id(rec)
        if query is not None:
            m = self.domain(query)
            if m is not None:
                a = make_alert(
                    "feed.dns.query",
                    ts,
                    o,
                    d,
                    m.indicator,
                    _evidence(m, query, rec, qtype=rec.get("qtype_name"), rcode=rec.get("rcode_name")),
                    observed=query,
                    feeds=",".join(m.feeds),
                )
                a.seen.add(rid)
                out.append(a)
        answers = rec.get("answers")
        if not answers:
            return
        for ans in answers:
            if not isinstance(ans, str) or not ans:
                continue
            if is_ip_text(ans):
                m = self.ip(ans)
                rule = "feed.dns.answer"
                observed = ans
            else:
                name = norm_name(ans)
                if name is None or name == query:
                    continue
                m = self.domain(name)
                rule = "feed.dns.cname"
                observed = name
            if m is None:
                continue
            a = make_alert(
                rule,
                ts,
                o,
                d,
                m.indicator,
                _evidence(m, observed, rec, query=query, answers=list(answers)),
                observed=observed,
                query=query or "?",
                feeds=",".join(m.feeds),
            )
            a.seen.add(rid)
            out.append(a)
