"""Threat-feed matches: DNS query names, every name and address in the answers (the CNAME chain and
the A/AAAA data), TLS SNI, HTTP Host, and both addresses of every connection.

The indicator of an alert is the listed indicator (``evil.example`` for a query of
``cdn.evil.example``); the observed name or address is in the evidence with the feeds' provenance.
Address hits are looked up once per address (``annotate``, cached with the segment lookup).

HTTP requests are also matched as URLs (host + path, and Maltrail's host-less path trails such as
``/panel/gate.php``), because URLhaus, OpenPhish and Maltrail publish URLs, not only hosts. A URL hit
is a ``threat_feed_domain`` alert (rule ``feed.http.url``): the category list has no URL category, and
issue 4 allows new ones only with a good reason; a URL is a finer-grained web indicator of the same
kind as a listed host, it answers the same question ("this device fetched from a listed web place")
and is triaged the same way, so it does not need its own. Its ``indicator`` is the listed URL or path
and ``evidence.observed`` the request URL. A URL hit replaces the Host hit of the same request (the
Host's feeds, when it is listed too, are kept as ``evidence.host_feeds``): one request, one alert.

Tor2web gateways: a name that no entry covers (no feed, no allow-list entry) but that holds a
``.onion.`` label boundary (``<service>.onion.to``, ``.onion.ws``, ``.onion.ly``: such gateways put the
hidden service's address in front of their own name) is looked up once more as the onion service
itself, ``<service>.onion``, as Maltrail's sensor does (Maltrail's static trails list ~8,600 ``.onion``
services, which a DNS query otherwise never shows). Onion addresses are long base32 strings that no
other name shares, so the rewrite adds no noise, and it needs no gateway list: any gateway, new ones
too, is covered. The alert's indicator is the listed ``.onion`` name, ``evidence.observed`` the
gateway name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from wardwatch.threatfeeds import FeedIndex, Match

from wardwatch.alerts import Alert
from wardwatch.segments import IpInfo, addr_value

from .base import Batch, is_ip_text, norm_name, record_id
from .hits import Hit, built
from .rules import make_hit

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
        self._urls: dict[str, Match | None] = {}
        self._has_urls = bool(index.counts()["urls"])

    def annotate(self, info: IpInfo) -> None:
        info.feed = self.index.match_ip(info.ip)

    def annotate_many(self, infos: list[IpInfo]) -> None:
        """``annotate`` for a group of new addresses: the IPv4 ones in one vectorised lookup (a
        single-address lookup costs ~20 µs of numpy overhead)."""
        v4: list[IpInfo] = []
        values: list[int] = []
        index = self.index
        for info in infos:
            pv = addr_value(info.ip)
            if pv is not None and pv[0] == 4:
                v4.append(info)
                values.append(pv[1])
            else:
                info.feed = index.match_ip(info.ip)
        if v4:
            ids = index.match_ipv4(np.fromiter(values, dtype=np.uint32, count=len(values)))
            for info, i in zip(v4, ids.tolist(), strict=True):
                info.feed = index.ipv4_match(i) if i >= 0 else None

    def domain(self, name: str) -> Match | None:
        cache = self._names
        if name in cache:
            return cache[name]
        if len(cache) > _MAX_CACHE:
            cache.clear()
        r = self.index.lookup_domain(name)
        if r is None and ".onion." in name:
            r = self.index.lookup_domain(name[: name.index(".onion.") + 6])
        m = cache[name] = r if isinstance(r, Match) else None
        return m

    def ip(self, addr: str) -> Match | None:
        cache = self._ips
        if addr in cache:
            return cache[addr]
        if len(cache) > _MAX_CACHE:
            cache.clear()
        m = cache[addr] = self.index.match_ip(addr)
        return m

    def url(self, host: str, uri: str) -> Match | None:
        key = f"{host} {uri}"
        cache = self._urls
        if key in cache:
            return cache[key]
        if len(cache) > _MAX_CACHE:
            cache.clear()
        m = cache[key] = self.index.match_url(host, uri)
        return m

    def detect(self, batch: Batch) -> list[Alert]:
        return built(self.hits(batch))

    def hits(self, batch: Batch) -> list[Hit]:
        """The findings, built by the noise filter only if it keeps them (detectors/hits.py)."""
        out: list[Hit] = []
        for rec, o, d in batch.each("dns"):
            if not o.resolver:  # a forwarded lookup: the client's own lookup carries the alert
                self._dns(rec, o, d, out)
        url_hits = self._http_urls(batch, out)
        for path, field, rule in (("tls", "server_name", "feed.tls.sni"), ("http", "host", "feed.http.host")):
            for rec, o, d, name in batch.names(path, field):
                if url_hits and id(rec) in url_hits:
                    continue
                m = self.domain(name)
                if m is not None:
                    out.append(
                        make_hit(
                            rule,
                            rec["ts"],
                            o,
                            d,
                            m.indicator,
                            _evidence(m, name, rec),
                            observed=name,
                            feeds=",".join(m.feeds),
                            rid=record_id(rec),
                        )
                    )
        for rec, o, d in batch.each("conn"):
            for hit in (d, o):
                if not isinstance(hit.feed, Match):
                    continue
                m = hit.feed
                port = rec.get("id.resp_p")
                ev = _evidence(
                    m, hit.ip, rec, proto=rec.get("proto"), port=port, conn_state=rec.get("conn_state")
                )
                out.append(
                    make_hit(
                        "feed.conn.ip",
                        rec["ts"],
                        o,
                        d,
                        m.indicator,
                        ev,
                        observed=hit.ip,
                        port=port,
                        feeds=",".join(m.feeds),
                        rid=record_id(rec),
                    )
                )
                break
        return out

    def _http_urls(self, batch: Batch, out: list[Hit]) -> set[int]:
        """URL alerts for the HTTP requests whose URL is listed; the ids of those records."""
        hits: set[int] = set()
        if not self._has_urls:
            return hits
        for rec, o, d in batch.each("http"):
            uri = rec.get("uri")
            if not isinstance(uri, str) or not uri:
                continue
            host = rec.get("host")
            if not isinstance(host, str) or not host:
                host = d.ip  # no Host header: the server's address is the URL's host
            m = self.url(host, uri)
            if m is None:
                continue
            observed = uri if "://" in uri[:12] else f"http://{host}{uri}"
            ev = _evidence(m, observed, rec, method=rec.get("method"), host=rec.get("host"))
            name = norm_name(rec.get("host"))
            hm = self.domain(name) if name is not None else None
            if hm is not None:
                ev["host_feeds"] = hm.provenance()
            out.append(
                make_hit(
                    "feed.http.url",
                    rec["ts"],
                    o,
                    d,
                    m.indicator,
                    ev,
                    observed=observed,
                    feeds=",".join(m.feeds),
                    rid=record_id(rec),
                )
            )
            hits.add(id(rec))
        return hits

    def _dns(self, rec: dict[str, Any], o: IpInfo, d: IpInfo, out: list[Hit]) -> None:
        query = norm_name(rec.get("query"))
        ts = rec["ts"]
        rid = record_id(rec)
        if query is not None:
            m = self.domain(query)
            if m is not None:
                out.append(
                    make_hit(
                        "feed.dns.query",
                        ts,
                        o,
                        d,
                        m.indicator,
                        _evidence(m, query, rec, qtype=rec.get("qtype_name"), rcode=rec.get("rcode_name")),
                        observed=query,
                        feeds=",".join(m.feeds),
                        rid=rid,
                    )
                )
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
            out.append(
                make_hit(
                    rule,
                    ts,
                    o,
                    d,
                    m.indicator,
                    _evidence(m, observed, rec, query=query, answers=list(answers)),
                    observed=observed,
                    query=query or "?",
                    feeds=",".join(m.feeds),
                    rid=rid,
                )
            )
