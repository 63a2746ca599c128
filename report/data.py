"""What the report reads from the store over one period: every number is one SQL query over the
same half-open interval ``[start, end)``, so a test (or an inspector) can recount it.

``rows`` is any ``(sql, params) -> list[dict]``: the store's ``rows`` or, while ``wardwatch serve``
holds the embedded store, the service's query API (the CLI picks). Raw tables are read only through
``count()`` and the alerts; hours watched, per-day volumes and top talkers come from the rollups
(``dns_minute``, ``talkers_minute``), so a week of 40 M records stays a few small scans."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

Rows = Callable[[str, dict[str, Any]], list[dict[str, Any]]]

RECORD_TABLES = ("dns", "conn", "tls", "http", "login")
SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1}
ALERT_LIMIT = 5000  # alerts listed one by one (the counts are exact whatever their number)

_IN = "ts >= toDateTime64({start:Float64}, 6) AND ts < toDateTime64({end:Float64}, 6)"
_MIN_IN = "minute >= toDateTime({start:Float64}) AND minute < toDateTime({end:Float64})"
_HOST = "replaceRegexpOne(toString({col}), '^::ffff:', '')"
_EPOCH = "toFloat64(toUnixTimestamp64Micro({col})) / 1e6"
# an alert's handling: the first human decision on it, and its latest state
_EVENTS = f"""
SELECT alert_uid,
       argMax(state, ts) AS last_state,
       minIf(ts, state IN ('acknowledged', 'resolved', 'false_positive')) AS handled_at,
       countIf(state IN ('acknowledged', 'resolved', 'false_positive')) > 0 AS handled,
       countIf(state = 'false_positive') > 0 AS fp
FROM alert_events
WHERE alert_uid IN (SELECT uid FROM alerts WHERE {_IN})
GROUP BY alert_uid
"""

SQL = {
    "records": " UNION ALL ".join(
        f"SELECT '{t}' AS log, count() AS n FROM {t} WHERE {_IN}" for t in RECORD_TABLES
    ),
    "alert_counts": f"""
SELECT severity, category, segment, count() AS alerts, sum(count) AS events, uniqExact(src_ip) AS hosts
FROM alerts WHERE {_IN} GROUP BY severity, category, segment
""",
    "alert_hosts": f"SELECT uniqExact(src_ip) AS hosts FROM alerts WHERE {_IN}",
    "category_hosts": f"""
SELECT category, directive, count() AS alerts, groupUniqArray({_HOST.format(col="src_ip")}) AS hosts
FROM alerts WHERE {_IN} GROUP BY category, directive
""",
    "alerts": f"""
SELECT a.uid AS uid, {_EPOCH.format(col="a.ts")} AS ts, {_EPOCH.format(col="a.last_seen")} AS last_seen,
       a.category AS category, a.severity AS severity, a.segment AS segment, a.dst_segment AS dst_segment,
       {_HOST.format(col="a.src_ip")} AS host, ifNull({_HOST.format(col="a.dst_ip")}, '') AS dst,
       a.indicator AS indicator, a.rule AS rule, a.directive AS directive, a.count AS count,
       a.summary AS summary, a.mitre AS mitre, a.sensor AS sensor, a.retro AS retro,
       if(a.category LIKE 'threat_feed%', a.evidence, '') AS evidence,
       if(e.last_state = '', 'new', e.last_state) AS state
FROM alerts AS a
LEFT JOIN ({_EVENTS}) AS e ON e.alert_uid = a.uid
WHERE {_IN.replace("ts", "a.ts")}
ORDER BY multiIf(a.severity = 'critical', 4, a.severity = 'high', 3, a.severity = 'medium', 2, 1) DESC,
         a.ts, a.uid
LIMIT {ALERT_LIMIT}
""",
    "handling": f"""
SELECT count() AS alerts,
       countIf(e.handled) AS acknowledged,
       countIf(e.fp) AS false_positives,
       countIf(NOT e.handled AND a.severity IN ('critical', 'high')) AS open_urgent,
       quantileExactIf(0.5)(dateDiff('second', a.ts, e.handled_at), e.handled) AS median_ack,
       maxIf(dateDiff('second', a.ts, e.handled_at), e.handled) AS max_ack
FROM alerts AS a
LEFT JOIN ({_EVENTS}) AS e ON e.alert_uid = a.uid
WHERE {_IN.replace("ts", "a.ts")}
""",
    "silences": """
SELECT id, matchers, author, comment, toFloat64(toUnixTimestamp64Micro(starts)) / 1e6 AS starts,
       toFloat64(toUnixTimestamp64Micro(ends)) / 1e6 AS ends
FROM notify_silences FINAL
WHERE starts < toDateTime64({end:Float64}, 6) AND ends > toDateTime64({start:Float64}, 6)
ORDER BY starts
""",
    "hours": f"""
SELECT sensor, segment, groupUniqArray(toUInt32(toStartOfHour(minute))) AS hours
FROM (
    SELECT minute, sensor, segment FROM dns_minute WHERE {_MIN_IN}
    UNION ALL
    SELECT minute, sensor, segment FROM talkers_minute WHERE {_MIN_IN}
)
GROUP BY sensor, segment
""",
    "per_day_records": f"""
SELECT toString(toDate(minute, {{tz:String}})) AS day, sum(n) AS n
FROM (
    SELECT minute, queries AS n FROM dns_minute WHERE {_MIN_IN}
    UNION ALL
    SELECT minute, conns AS n FROM talkers_minute WHERE {_MIN_IN}
)
GROUP BY day ORDER BY day
""",
    "per_day_alerts": f"""
SELECT toString(toDate(ts, {{tz:String}})) AS day, severity, count() AS n
FROM alerts WHERE {_IN} GROUP BY day, severity ORDER BY day
""",
    "top_alert_hosts": f"""
SELECT {_HOST.format(col="src_ip")} AS host, segment, count() AS alerts, sum(count) AS events,
       arraySort(groupUniqArray(category)) AS categories,
       max(multiIf(severity = 'critical', 4, severity = 'high', 3, severity = 'medium', 2, 1)) AS rank
FROM alerts WHERE {_IN}
GROUP BY src_ip, segment ORDER BY rank DESC, alerts DESC, host LIMIT 10
""",
    "top_talkers": f"""
SELECT {_HOST.format(col="orig_h")} AS host, segment, sum(conns) AS conns,
       sum(orig_bytes) AS sent, sum(resp_bytes) AS received
FROM talkers_minute WHERE {_MIN_IN}
GROUP BY orig_h, segment ORDER BY sent + received DESC, host LIMIT 10
""",
}


def params(start: float, end: float, tz: str = "UTC") -> dict[str, Any]:
    return {"start": start, "end": end, "tz": tz}


def gather(rows: Rows, start: float, end: float, tz: str) -> dict[str, Any]:
    """Everything the report shows for ``[start, end)`` (plain data; ``content`` derives the rest)."""
    p = params(start, end, tz)

    def q(name: str, *keys: str) -> list[dict[str, Any]]:
        return rows(SQL[name], {k: p[k] for k in keys or ("start", "end")})

    alerts = q("alerts")
    for a in alerts:
        a["summary"] = dict(a.get("summary") or {})
        ev = a.pop("evidence", "") or ""
        try:
            a["feed"] = orjson.loads(ev).get("feeds") if ev else None
        except (orjson.JSONDecodeError, AttributeError):
            a["feed"] = None  # evidence is kept as the detector wrote it; a broken one loses only provenance
    handling = q("handling")
    return {
        "records": {r["log"]: int(r["n"]) for r in q("records")},
        "alert_counts": q("alert_counts"),
        "alert_hosts": int(q("alert_hosts")[0]["hosts"]),
        "category_hosts": q("category_hosts"),
        "alerts": alerts,
        "handling": handling[0] if handling else {},
        "silences": q("silences"),
        "hours": q("hours"),
        "per_day_records": q("per_day_records", "start", "end", "tz"),
        "per_day_alerts": q("per_day_alerts", "start", "end", "tz"),
        "top_alert_hosts": q("top_alert_hosts"),
        "top_talkers": q("top_talkers"),
    }


def gather_previous(rows: Rows, start: float, end: float) -> dict[str, Any]:
    """The week before: only what the changes compare."""
    p = params(start, end)
    return {
        "records": {
            r["log"]: int(r["n"]) for r in rows(SQL["records"], {"start": p["start"], "end": p["end"]})
        },
        "alert_counts": rows(SQL["alert_counts"], {"start": p["start"], "end": p["end"]}),
        "alert_hosts": int(rows(SQL["alert_hosts"], {"start": p["start"], "end": p["end"]})[0]["hosts"]),
    }
