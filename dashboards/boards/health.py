"""Sensor health and coverage: records per log, how fresh each log is, how long records take to
reach the store (bus and insert), silent segments, and the sensor alerts (drops, overload, silence).

Packet and kernel-drop counters themselves live in the service's ``/metrics`` (Prometheus); here
they show through the coverage watchdog's ``sensor_drops`` alerts, which carry the drop counts."""

from __future__ import annotations

from .. import sql as q
from ..spec import Board, Context, Panel

LOGS = ("dns", "conn", "tls", "http", "login")


def board(ctx: Context) -> Board:
    per_log = "\nUNION ALL\n".join(
        f"  SELECT $__timeInterval(ts) AS time, '{log}' AS log, count() AS records FROM {log}"
        " WHERE $__timeFilter(ts) GROUP BY time"
        for log in LOGS
        if log not in ("dns", "conn")
    )
    panels = (
        Panel(
            "records_per_log",
            "timeseries",
            "SELECT time, log, sum(records) AS records FROM (\n"
            "  SELECT $__timeInterval(minute) AS time, 'dns' AS log, sum(queries) AS records FROM dns_minute"
            " WHERE $__timeFilter(minute) GROUP BY time\nUNION ALL\n"
            "  SELECT $__timeInterval(minute) AS time, 'conn' AS log, sum(conns) AS records FROM talkers_minute"
            f" WHERE $__timeFilter(minute) GROUP BY time\nUNION ALL\n{per_log}\n)\nGROUP BY time, log\nORDER BY time",
            ("time", "log", "records"),
            stacked=True,
        ),
        Panel(
            "freshness",
            "table",
            "\nUNION ALL\n".join(
                f"SELECT '{log}' AS log, max(ts) AS newest_record, max(ingest_time) AS newest_insert,"
                " dateDiff('second', max(ingest_time), now()) AS seconds_since_insert"
                f" FROM {log} WHERE ts >= $__fromTime - toIntervalDay(1)"
                for log in LOGS
            )
            + "\nORDER BY log",
            ("log", "newest_record", "newest_insert", "seconds_since_insert"),
        ),
        Panel(
            "store_lag",
            "table",
            # ingest_time (seconds) minus the record's own time: capture → detectors → bus → insert
            "\nUNION ALL\n".join(
                f"SELECT '{log}' AS log, count() AS records,"
                " quantile(0.5)(dateDiff('second', ts, ingest_time)) AS lag_p50_s,"
                " quantile(0.95)(dateDiff('second', ts, ingest_time)) AS lag_p95_s"
                f" FROM {log} WHERE $__timeFilter(ts)"
                for log in LOGS
            )
            + "\nORDER BY log",
            ("log", "records", "lag_p50_s", "lag_p95_s"),
        ),
        Panel(
            "silent_segments",
            "table",
            "SELECT segment, max(minute) AS last_record, dateDiff('minute', max(minute), $__toTime) AS silent_min,"
            " sum(conns) AS conns\n"
            "FROM talkers_minute\nWHERE minute >= $__fromTime - toIntervalDay(1) AND minute <= $__toTime\n"
            "GROUP BY segment\nORDER BY silent_min DESC, segment",
            ("segment", "last_record", "silent_min", "conns"),
        ),
        Panel(
            "sensor_alerts",
            "table",
            f"SELECT ts, {q.category_name(ctx.lang)} AS kind, {q.severity_name(ctx.lang)} AS level, indicator,"
            " JSONExtractUInt(evidence, 'drops') AS drops, JSONExtractUInt(evidence, 'shed') AS shed,"
            f" JSONExtractFloat(evidence, 'silent_for') AS silent_s, {q.summary(ctx.lang)} AS summary\n"
            f"FROM alerts\nWHERE $__timeFilter(ts) AND category IN {q.array(q.SENSOR_CATEGORIES)}\n"
            "ORDER BY ts DESC\nLIMIT 200",
            ("ts", "kind", "level", "indicator", "drops", "shed", "silent_s", "summary"),
            width=24,
        ),
        Panel(
            "kernel_drops",
            "timeseries",
            "SELECT $__timeInterval(ts) AS time, JSONExtractString(evidence, 'sensor') AS sensor,"
            " sum(JSONExtractUInt(evidence, 'drops')) AS drops\n"
            "FROM alerts\nWHERE $__timeFilter(ts) AND category = 'sensor_drops'\nGROUP BY time, sensor\nORDER BY time",
            ("time", "sensor", "drops"),
        ),
    )
    return Board("health", panels, (), ("wardwatch", "health"))
