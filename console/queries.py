"""What the console reads, all in parameterised SQL (``{name:Type}``): a filter's value is a
parameter, never SQL text. Each function takes the store (``store.rows``) and returns plain rows."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import orjson
from wardwatch.notify.rows import epoch
from wardwatch.notify.state import STATES, current

from wardwatch.alerts import CATEGORIES, SEVERITIES


def ip_text(column: str) -> str:
    """An IPv6 column as the address people read (IPv4 without its ``::ffff:`` mapping)."""
    return f"replaceRegexpOne(toString({column}), '^::ffff:', '')"


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


WINDOW = 15 * 60  # the host's records shown around an alert: ±15 minutes
EVENTS = (
    "SELECT alert_uid, argMax(state, ts) AS state, argMax(who, ts) AS who FROM alert_events GROUP BY alert_uid"
)


@dataclass(frozen=True)
class Filters:
    """The queue's filters, checked: an unknown value is dropped (not an error: a stale link keeps
    working), an address that is not one is ignored, free text is only ever a parameter."""

    status: str = ""
    severity: str = ""
    category: str = ""
    segment: str = ""
    host: str = ""
    since: float = 0.0
    until: float = 0.0
    group: bool = False
    hours: float = 0.0
    limit: int = 200

    @classmethod
    def read(cls, q: Any, now: float) -> Filters:
        def pick(name: str, allowed: tuple[str, ...]) -> str:
            v = str(q.get(name, "") or "")
            return v if v in allowed else ""

        def num(name: str, default: float) -> float:
            try:
                v = float(q.get(name, "") or default)
            except ValueError:
                return default
            return v if v == v and abs(v) < 1e11 else default  # not NaN, a sane epoch

        host = str(q.get("host", "") or "").strip()
        hours = num("hours", 0.0)
        since = now - hours * 3600 if hours > 0 else num("since", 0.0)
        return cls(
            status=pick("status", STATES),
            severity=pick("severity", SEVERITIES),
            category=pick("category", CATEGORIES),
            segment=str(q.get("segment", "") or "")[:64],
            host=host if is_ip(host) else "",
            since=since,
            until=num("until", now + 3600),
            group=str(q.get("group", "")) in ("1", "on", "true"),
            hours=hours if hours > 0 else 0.0,
        )

    def params(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "severity": self.severity,
            "category": self.category,
            "segment": self.segment,
            "host": self.host,
            "since": self.since,
            "until": self.until,
            "limit": self.limit,
        }

    def query_string(self) -> str:
        from urllib.parse import urlencode

        d = {k: v for k, v in self.params().items() if v and k not in ("limit", "since", "until")}
        if self.group:
            d["group"] = "1"
        if self.hours:
            d["hours"] = f"{self.hours:g}"
        return urlencode(d)


# an alert's current state is its latest event (none: new); settled = a person or a silence decided
_STATE_IS = "SELECT alert_uid FROM alert_events GROUP BY alert_uid HAVING argMax(state, ts) = {status:String}"
_NOT_OPEN = "SELECT alert_uid FROM alert_events GROUP BY alert_uid HAVING argMax(state, ts) NOT IN ('new', 'notified')"
_HAS_STATE = "SELECT alert_uid FROM alert_events GROUP BY alert_uid HAVING argMax(state, ts) != 'new'"
# the filters, on the alerts table alone (the state through a set of uids, not a join of every alert)
_WHERE = f"""
WHERE ts >= toDateTime64({{since:Float64}}, 6) AND ts < toDateTime64({{until:Float64}}, 6)
  AND ({{severity:String}} = '' OR severity = {{severity:String}})
  AND ({{category:String}} = '' OR category = {{category:String}})
  AND ({{segment:String}} = '' OR segment = {{segment:String}} OR dst_segment = {{segment:String}})
  AND ({{host:String}} = '' OR src_ip = toIPv6OrNull({{host:String}}) OR dst_ip = toIPv6OrNull({{host:String}}))
  AND ({{status:String}} = ''
       OR ({{status:String}} = 'new' AND uid NOT IN ({_HAS_STATE}))
       OR ({{status:String}} != 'new' AND uid IN ({_STATE_IS})))
"""

# the page of alerts first (filter, order, limit), then the state of those alone
QUEUE = f"""
SELECT a.uid AS uid, {epoch('a.ts')} AS ts, a.severity AS severity, a.category AS category,
       a.segment AS segment, a.dst_segment AS dst_segment, {ip_text('a.src_ip')} AS host,
       a.indicator AS indicator, a.count AS count, a.summary AS summary,
       if(e.state = '', 'new', e.state) AS state, e.who AS who
FROM (
    SELECT uid, ts, severity, category, segment, dst_segment, src_ip, indicator, count, summary
    FROM alerts {_WHERE}
    ORDER BY ts DESC, uid
    LIMIT {{limit:UInt32}}
) AS a
LEFT JOIN ({EVENTS}) AS e ON e.alert_uid = a.uid
ORDER BY a.ts DESC, a.uid
"""

GROUPED = f"""
SELECT category, segment, {ip_text('src_ip')} AS host,
       groupUniqArray(severity) AS severities, count() AS alerts,
       sum(count) AS events, {epoch('max(ts)')} AS last, argMax(uid, ts) AS latest,
       countIf(uid NOT IN ({_NOT_OPEN})) AS open
FROM alerts
{_WHERE}
GROUP BY category, segment, host
ORDER BY last DESC
LIMIT {{limit:UInt32}}
"""


def newest(store: Any, now: float) -> float:
    """The time of the newest alert (now when there is none, or when it is in the future)."""
    rows = store.rows(f"SELECT {epoch('max(ts)')} AS t, count() AS n FROM alerts")
    return min(float(rows[0]["t"]), now) if rows and int(rows[0]["n"]) else now


WIDEN = (86400.0, 7 * 86400.0, 30 * 86400.0)  # the queue's windows back from the newest alert


def queue(store: Any, f: Filters, newest_ts: float | None = None) -> list[dict[str, Any]]:
    """The queue's rows. Without a time filter (``since`` 0), the newest day is read first, then the
    week, the month, everything, until the page is full: the alerts table is ordered by segment and
    day, not by time, so "the newest 200 of all" would otherwise read every alert stored."""
    if f.group:
        rows = store.rows(GROUPED, f.params())
        for r in rows:  # the worst severity of the group
            r["severity"] = max(r["severities"], key=lambda s: SEVERITIES.index(s) if s in SEVERITIES else -1)
        return rows
    if f.since or newest_ts is None:
        return store.rows(QUEUE, f.params())
    for span in WIDEN:
        rows = store.rows(QUEUE, {**f.params(), "since": newest_ts - span})
        if len(rows) >= f.limit:
            return rows
    return store.rows(QUEUE, f.params())


ALERT = f"""
SELECT uid, {epoch('ts')} AS ts, category, severity, segment, dst_segment, sensor,
       {ip_text('src_ip')} AS src, if(isNull(dst_ip), '', {ip_text('assumeNotNull(dst_ip)')}) AS dst,
       indicator, rule, summary, evidence, mitre, directive, count,
       {epoch('first_seen')} AS first_seen, {epoch('last_seen')} AS last_seen, retro
FROM alerts WHERE uid = {{uid:String}} ORDER BY ingest_time DESC LIMIT 1
"""


def alert(store: Any, uid: str) -> dict[str, Any] | None:
    rows = store.rows(ALERT, {"uid": uid[:64]})
    if not rows:
        return None
    a = rows[0]
    try:
        a["evidence"] = orjson.loads(a["evidence"]) if a["evidence"] else {}
    except orjson.JSONDecodeError:
        a["evidence"] = {"raw": a["evidence"]}
    return a


def state_of(store: Any, uid: str) -> str:
    return current(store, [uid])[uid]


# the host's records around a time; ``uid`` marks the records the alert's evidence names. (The epoch
# is named ``time``, not ``ts``: an alias ``ts`` would shadow the column in WHERE, and the Float64 would
# be compared instead of the indexed DateTime64: a scan of the whole table.)
_AROUND = "ts >= toDateTime64({t0:Float64}, 6) AND ts < toDateTime64({t1:Float64}, 6) AND (id_orig_h = toIPv6OrNull({h:String}) OR id_resp_h = toIPv6OrNull({h:String}))"
RECORDS = {
    "dns": f"SELECT {epoch('ts')} AS time, uid, {ip_text('id_orig_h')} AS orig, {ip_text('id_resp_h')} AS resp, id_resp_p AS port, query, qtype_name, rcode_name, answers FROM dns WHERE {_AROUND} ORDER BY ts LIMIT {{n:UInt32}}",
    "conn": f"SELECT {epoch('ts')} AS time, uid, {ip_text('id_orig_h')} AS orig, {ip_text('id_resp_h')} AS resp, id_resp_p AS port, proto, service, duration, orig_bytes, resp_bytes, conn_state FROM conn WHERE {_AROUND} ORDER BY ts LIMIT {{n:UInt32}}",
    "tls": f"SELECT {epoch('ts')} AS time, uid, {ip_text('id_orig_h')} AS orig, {ip_text('id_resp_h')} AS resp, id_resp_p AS port, version, server_name, ja3 FROM tls WHERE {_AROUND} ORDER BY ts LIMIT {{n:UInt32}}",
    "http": f"SELECT {epoch('ts')} AS time, uid, {ip_text('id_orig_h')} AS orig, {ip_text('id_resp_h')} AS resp, id_resp_p AS port, method, host, uri, status_code, user_agent FROM http WHERE {_AROUND} ORDER BY ts LIMIT {{n:UInt32}}",
}


def records_around(store: Any, host: str, at: float, window: float = WINDOW, n: int = 200) -> dict[str, list[dict[str, Any]]]:
    if not is_ip(host):
        return {k: [] for k in RECORDS}
    p = {"t0": at - window, "t1": at + window, "h": host, "n": n}
    return {log: store.rows(sql, p) for log, sql in RECORDS.items()}


def behind(
    store: Any, evidence: dict[str, Any], first: float = 0.0, last: float = 0.0, segments: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """The records the evidence names (its ``log`` and connection ``uid``), looked for from a day
    before the alert's first event to an hour after its last. A record's ``segment`` is its
    originator's, so the alert's source and destination segments first: with the segment fixed, the
    tables' order (segment, hour, uid) finds the uid without reading the day; then any segment."""
    log, uid = evidence.get("log"), evidence.get("uid")
    if log not in RECORDS or not isinstance(uid, str) or not uid:
        return []
    base = RECORDS[log].split(" WHERE ")[0] + " WHERE ts >= toDateTime64({t0:Float64}, 6) AND ts < toDateTime64({t1:Float64}, 6)"
    p = {"u": uid, "t0": (first - 86400) if first else 0.0, "t1": (last or first or 4e9) + 3600, "s": [x for x in segments if x]}
    if p["s"]:
        rows = store.rows(base + " AND segment IN {s:Array(String)} AND uid = {u:String} ORDER BY ts LIMIT 50", p)
        if rows:
            return rows
    return store.rows(base + " AND uid = {u:String} ORDER BY ts LIMIT 50", p)


def names_of(a: dict[str, Any]) -> list[str]:
    ev = a.get("evidence") or {}
    out = [ev.get("observed"), ev.get("query"), a.get("indicator")]
    return [x for x in dict.fromkeys(out) if isinstance(x, str) and x and "." in x and not is_ip(x) and "/" not in x]


def passive_dns(store: Any, names: list[str], n: int = 100) -> list[dict[str, Any]]:
    if not names:
        return []
    return store.rows(
        f"SELECT query, {ip_text('answer')} AS answer, {ip_text('client')} AS client, segment,"
        f" {epoch('min(first_seen)')} AS first_seen, {epoch('max(last_seen)')} AS last_seen, sum(count) AS count"
        " FROM pdns WHERE query IN {q:Array(String)} GROUP BY query, answer, client, segment"
        " ORDER BY last_seen DESC LIMIT {n:UInt32}",
        {"q": names[:20], "n": n},
    )


def host_summary(store: Any, host: str, since: float, until: float) -> dict[str, Any]:
    p = {"h": host, "t0": since, "t1": until}
    alerts = store.rows(
        f"SELECT a.uid AS uid, {epoch('a.ts')} AS ts, a.severity AS severity, a.category AS category,"
        " a.indicator AS indicator, if(e.state = '', 'new', e.state) AS state"
        f" FROM alerts AS a LEFT JOIN ({EVENTS}) AS e ON e.alert_uid = a.uid"
        " WHERE a.src_ip = toIPv6OrNull({h:String}) OR a.dst_ip = toIPv6OrNull({h:String}) ORDER BY a.ts DESC LIMIT 100",
        p,
    )
    segments = store.rows(
        "SELECT segment, count() AS n FROM conn WHERE id_orig_h = toIPv6OrNull({h:String}) AND"
        " ts >= toDateTime64({t0:Float64}, 6) AND ts < toDateTime64({t1:Float64}, 6) GROUP BY segment ORDER BY n DESC",
        p,
    )
    dests = store.rows(
        f"SELECT {ip_text('id_resp_h')} AS dest, id_resp_p AS port, count() AS conns,"
        " sum(ifNull(orig_bytes, 0) + ifNull(resp_bytes, 0)) AS bytes FROM conn WHERE id_orig_h = toIPv6OrNull({h:String}) AND"
        " ts >= toDateTime64({t0:Float64}, 6) AND ts < toDateTime64({t1:Float64}, 6)"
        " GROUP BY dest, port ORDER BY bytes DESC LIMIT 20",
        p,
    )
    timeline = store.rows(
        "SELECT toFloat64(toUnixTimestamp(toStartOfHour(ts))) AS hour, count() AS conns FROM conn WHERE id_orig_h = toIPv6OrNull({h:String})"
        " AND ts >= toDateTime64({t0:Float64}, 6) AND ts < toDateTime64({t1:Float64}, 6) GROUP BY hour ORDER BY hour",
        p,
    )
    return {"alerts": alerts, "segments": segments, "dests": dests, "timeline": timeline}


SEARCHES = {
    "ip": f"SELECT 'conn' AS log, {epoch('max(ts)')} AS last, {ip_text('id_orig_h')} AS host, toString(count()) AS what FROM conn WHERE id_orig_h = toIPv6OrNull({{v:String}}) OR id_resp_h = toIPv6OrNull({{v:String}}) GROUP BY host ORDER BY last DESC LIMIT 50",
    "domain": f"SELECT 'dns' AS log, {epoch('max(ts)')} AS last, {ip_text('id_orig_h')} AS host, query AS what FROM dns WHERE query = {{v:String}} OR endsWith(query, concat('.', {{v:String}})) GROUP BY host, what ORDER BY last DESC LIMIT 50",
    "sni": f"SELECT 'tls' AS log, {epoch('max(ts)')} AS last, {ip_text('id_orig_h')} AS host, server_name AS what FROM tls WHERE server_name = {{v:String}} OR endsWith(server_name, concat('.', {{v:String}})) GROUP BY host, what ORDER BY last DESC LIMIT 50",
    "ja3": f"SELECT 'tls' AS log, {epoch('max(ts)')} AS last, {ip_text('id_orig_h')} AS host, ja3 AS what FROM tls WHERE ja3 = {{v:String}} GROUP BY host, what ORDER BY last DESC LIMIT 50",
    "user": f"SELECT 'login' AS log, {epoch('max(ts)')} AS last, {ip_text('id_orig_h')} AS host, user AS what FROM login WHERE user = {{v:String}} GROUP BY host, what ORDER BY last DESC LIMIT 50",
}


def search(store: Any, kind: str, value: str) -> list[dict[str, Any]]:
    value = value.strip()[:255]
    if kind not in SEARCHES or not value or (kind == "ip" and not is_ip(value)):
        return []
    return store.rows(SEARCHES[kind], {"v": value})


def guess_kind(value: str) -> str:
    v = value.strip()
    if is_ip(v):
        return "ip"
    if len(v) == 32 and all(c in "0123456789abcdef" for c in v.lower()):
        return "ja3"
    if "." in v:
        return "domain"
    return "user"


def overview(store: Any, now: float, span: float = 86400.0) -> dict[str, Any]:
    """The last ``span`` of activity: ending now, or at the newest alert when the store holds only
    older ones (a replayed capture, a sensor that has been quiet)."""
    latest = store.rows(f"SELECT {epoch('max(ts)')} AS t, count() AS n FROM alerts")
    end = now
    if latest and int(latest[0]["n"]) and float(latest[0]["t"]) < now - span:
        end = float(latest[0]["t"]) + 1
    p = {"t0": end - span, "t1": end + 3600}
    # a segment's alerts: those from it and those into it (an attack on the HIS comes from elsewhere)
    segs = store.rows(
        "SELECT a.seg AS segment, count() AS alerts,"
        " countIf(if(e.state = '', 'new', e.state) IN ('new', 'notified')) AS open,"
        " countIf(a.severity IN ('critical', 'high') AND if(e.state = '', 'new', e.state) IN ('new', 'notified')) AS urgent"
        " FROM (SELECT uid, severity, arrayJoin(arrayDistinct(arrayFilter(x -> x != '', [segment, dst_segment]))) AS seg"
        "       FROM alerts WHERE ts >= toDateTime64({t0:Float64}, 6) AND ts < toDateTime64({t1:Float64}, 6)) AS a"
        f" LEFT JOIN ({EVENTS}) AS e ON e.alert_uid = a.uid"
        " GROUP BY segment ORDER BY segment",
        p,
    )
    hourly = store.rows(
        "SELECT toFloat64(toUnixTimestamp(toStartOfHour(ts))) AS hour, severity, count() AS n FROM alerts"
        " WHERE ts >= toDateTime64({t0:Float64}, 6) AND ts < toDateTime64({t1:Float64}, 6)"
        " GROUP BY hour, severity ORDER BY hour",
        p,
    )
    sensors = store.rows(
        f"SELECT sensor, {epoch('max(ts)')} AS last, count() AS records FROM conn"
        " WHERE ts >= toDateTime64({t0:Float64}, 6) GROUP BY sensor ORDER BY sensor",
        p,
    )
    return {"segments": segs, "hourly": hourly, "sensors": sensors, "since": end - span, "until": end}


def silences(store: Any, now: float) -> list[dict[str, Any]]:
    return store.rows(
        f"SELECT id, matchers, {epoch('starts')} AS starts, {epoch('ends')} AS ends, author, comment"
        " FROM notify_silences FINAL WHERE ends > toDateTime64({now:Float64}, 6) ORDER BY ends",
        {"now": now},
    )


def rules_status(store: Any, now: float, span: float = 7 * 86400.0) -> list[dict[str, Any]]:
    return store.rows(
        f"SELECT rule, category, count() AS alerts, {epoch('max(ts)')} AS last FROM alerts"
        " WHERE ts >= toDateTime64({t0:Float64}, 6) GROUP BY rule, category ORDER BY alerts DESC LIMIT 200",
        {"t0": now - span},
    )
