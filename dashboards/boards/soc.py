"""SOC overview: open alerts by severity and segment, alerts over time, the newest critical ones,
the hosts that raise most, and whether sensors and feeds are working, at a glance."""

from __future__ import annotations

from .. import sql as q
from ..spec import Board, Context, Link, Panel
from .common import IN_SEGMENTS, SEGMENTS


def board(ctx: Context) -> Board:
    open_ = q.open_alerts()
    sev_counts = ", ".join(f"countIf(severity = '{s}') AS {s}" for s in ("critical", "high", "medium", "low"))
    panels = (
        Panel(
            "open_by_severity",
            "stat",
            f"SELECT {sev_counts}\nFROM alerts\nWHERE $__timeFilter(ts) AND {IN_SEGMENTS} AND {open_}",
            ("critical", "high", "medium", "low"),
            width=8,
            height=5,
        ),
        Panel(
            "health_glance",
            "stat",
            "SELECT\n"
            "  (SELECT dateDiff('minute', max(minute), now()) FROM talkers_minute) AS minutes_since_conn,\n"
            "  (SELECT dateDiff('minute', max(minute), now()) FROM dns_minute) AS minutes_since_dns,\n"
            f"  (SELECT sum(alerts) FROM alerts_minute WHERE $__timeFilter(minute) AND category IN {q.array(q.SENSOR_CATEGORIES)}) AS sensor_alerts,\n"
            f"  (SELECT sum(alerts) FROM alerts_minute WHERE $__timeFilter(minute) AND category IN {q.array(q.FEED_CATEGORIES)}) AS feed_hits",
            ("minutes_since_conn", "minutes_since_dns", "sensor_alerts", "feed_hits"),
            width=16,
            height=5,
        ),
        Panel(
            "open_by_segment",
            "barchart",
            f"SELECT segment, {sev_counts}\nFROM alerts\nWHERE $__timeFilter(ts) AND {IN_SEGMENTS} AND {open_}\n"
            "GROUP BY segment\nORDER BY critical DESC, high DESC, medium DESC, low DESC, segment",
            ("segment", "critical", "high", "medium", "low"),
            stacked=True,
        ),
        Panel(
            "alerts_over_time",
            "timeseries",
            f"SELECT $__timeInterval(minute) AS time, {q.severity_name(ctx.lang)} AS level, sum(alerts) AS alerts\n"
            f"FROM alerts_minute\nWHERE $__timeFilter(minute) AND {IN_SEGMENTS}\nGROUP BY time, level\nORDER BY time",
            ("time", "level", "alerts"),
            stacked=True,
        ),
        Panel(
            "newest_critical",
            "table",
            f"SELECT ts, segment, {q.category_name(ctx.lang)} AS kind, {q.ip('src_ip')} AS src,"
            f" {q.ip('dst_ip')} AS dst, indicator, {q.summary(ctx.lang)} AS summary, uid,"
            " JSONExtractString(evidence, 'uid') AS record\n"
            f"FROM alerts\nWHERE $__timeFilter(ts) AND {IN_SEGMENTS} AND severity = 'critical' AND {open_}\n"
            "ORDER BY ts DESC\nLIMIT 50",
            ("ts", "segment", "kind", "src", "dst", "indicator", "summary", "uid", "record"),
            width=24,
            height=9,
            links=(
                Link(
                    "uid",
                    "triage",
                    (("alert", "${__data.fields.uid}"), ("record", "${__data.fields.record}")),
                ),
            ),
        ),
        Panel(
            "top_hosts",
            "table",
            f"SELECT {q.ip('src_ip')} AS src, any(segment) AS segment, count() AS alerts,\n"
            f"  {q.severity_name(ctx.lang, 'argMax(severity, ' + q.severity_rank() + ')')} AS worst,\n"
            f"  arrayStringConcat(groupUniqArray(5)({q.category_name(ctx.lang)}), ', ') AS categories, max(ts) AS last_seen\n"
            f"FROM alerts\nWHERE $__timeFilter(ts) AND {IN_SEGMENTS} AND category NOT IN {q.array(q.SENSOR_CATEGORIES)}\n"
            f"GROUP BY src_ip\nORDER BY max({q.severity_rank()}) DESC, alerts DESC\nLIMIT 20",
            ("src", "segment", "alerts", "worst", "categories", "last_seen"),
            width=24,
            links=(Link("src", "conn", (("host", "${__data.fields.src}"),)),),
        ),
    )
    return Board("soc", panels, (SEGMENTS,), ("wardwatch", "soc"))
