"""Feed retro-hunt: every distinct name (DNS query, TLS SNI, HTTP Host) and responder address stored
since ``since`` is checked against the current feed index in bulk; the hits are read back grouped
per (client, observed name or address) and become one alert each, with the count and first/last seen.

A hit for which the store already holds an alert with the same category, client and indicator (the
streaming engine raised it when the traffic passed) is not raised again. Alert uids are stable (first
event time, client, indicator), so running the hunt twice stores nothing new.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wardwatch.store import Store
from wardwatch.store.backend import ts_text

from wardwatch.alerts import Alert

# (log table, field, rule, where the hit's evidence comes from)
_NAME_SOURCES = (
    ("dns", "query", "feed.dns.query"),
    ("tls", "server_name", "feed.tls.sni"),
    ("http", "host", "feed.http.host"),
)
_CHUNK = 10_000


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _ip_text(v: str) -> str:
    return v[7:] if v.startswith("::ffff:") and "." in v else v


def hunt_feeds(store: Store, index: Any, engine_info: Any, since: float, until: float) -> list[Alert]:
    """Alerts for stored traffic that matches ``index`` now. ``engine_info(ip) -> IpInfo`` gives the
    segment and zone of an address (the detectors' segment map)."""
    from wardwatch.detectors.rules import make_alert

    lo, hi = ts_text(since), ts_text(until)
    known = {
        (r["category"], _ip_text(r["src_ip"]), r["indicator"])
        for r in store.rows(
            "SELECT DISTINCT category, toString(src_ip) AS src_ip, indicator FROM alerts"
            " WHERE ts >= {lo:DateTime64(6, 'UTC')} AND category IN ('threat_feed_domain', 'threat_feed_ip')",
            {"lo": lo},
        )
    }
    out: list[Alert] = []
    for table, field, rule in _NAME_SOURCES:
        names = [
            r["n"]
            for r in store.rows(
                f"SELECT DISTINCT lower(trimRight(`{field}`, '.')) AS n FROM `{table}`"
                " WHERE ts >= {lo:DateTime64(6, 'UTC')} AND ts < {hi:DateTime64(6, 'UTC')} AND n != ''",
                {"lo": lo, "hi": hi},
            )
        ]
        hits = {}
        for name in names:
            m = index.match_domain(name)
            if m is not None:
                hits[name] = m
        for chunk in _chunks(sorted(hits)):
            rows = store.rows(
                f"SELECT toString(id_orig_h) AS src, toString(any(id_resp_h)) AS dst, lower(trimRight(`{field}`, '.')) AS n,"
                " toUnixTimestamp64Micro(min(ts)) AS first, toUnixTimestamp64Micro(max(ts)) AS last, count() AS c,"
                " argMin(uid, ts) AS uid"
                f" FROM `{table}` WHERE ts >= {{lo:DateTime64(6, 'UTC')}} AND ts < {{hi:DateTime64(6, 'UTC')}}"
                " AND n IN {names:Array(String)} GROUP BY src, n ORDER BY first",
                {"lo": lo, "hi": hi, "names": chunk},
            )
            for r in rows:
                m = hits[r["n"]]
                out += _alert(make_alert, engine_info, rule, r, m, table, known)
    addrs = [
        _ip_text(r["a"])
        for r in store.rows(
            "SELECT DISTINCT toString(id_resp_h) AS a FROM conn"
            " WHERE ts >= {lo:DateTime64(6, 'UTC')} AND ts < {hi:DateTime64(6, 'UTC')}",
            {"lo": lo, "hi": hi},
        )
    ]
    ip_hits = {a: m for a in addrs if (m := index.match_ip(a)) is not None}
    for chunk in _chunks(sorted(ip_hits)):
        rows = store.rows(
            "SELECT toString(id_orig_h) AS src, toString(id_resp_h) AS dst, toString(id_resp_h) AS n,"
            " toUnixTimestamp64Micro(min(ts)) AS first, toUnixTimestamp64Micro(max(ts)) AS last, count() AS c,"
            " argMin(uid, ts) AS uid"
            " FROM conn WHERE ts >= {lo:DateTime64(6, 'UTC')} AND ts < {hi:DateTime64(6, 'UTC')}"
            " AND id_resp_h IN (SELECT toIPv6(arrayJoin({addrs:Array(String)}))) GROUP BY src, dst ORDER BY first",
            {"lo": lo, "hi": hi, "addrs": chunk},
        )
        for r in rows:
            m = ip_hits.get(_ip_text(r["n"]))
            if m is not None:
                out += _alert(make_alert, engine_info, "feed.conn.ip", r, m, "conn", known)
    return out


def _alert(
    make_alert: Any, info: Any, rule: str, r: dict[str, Any], m: Any, table: str, known: set[Any]
) -> list[Alert]:
    src, dst = _ip_text(r["src"]), _ip_text(r["dst"])
    if rule == "feed.dns.query" and getattr(info(src), "resolver", False):
        return []  # a forwarded lookup: the client's own lookup carries the alert (as in streaming)
    observed = _ip_text(r["n"])
    first, last = int(r["first"]) / 1e6, int(r["last"]) / 1e6
    ev = {"observed": observed, "log": table, "uid": r["uid"], "retro": True, "feeds": m.provenance()}
    a: Alert = make_alert(
        rule,
        first,
        info(src),
        info(dst),
        m.indicator,
        ev,
        observed=observed,
        query=observed,
        port="?",
        feeds=",".join(m.feeds),
    )
    if (a.category, src, a.indicator) in known:
        return []
    known.add((a.category, src, a.indicator))
    a.count = int(r["c"])
    a.last_seen = last
    return [a]
