"""Alert triage: the alerts with their state, and, for the one picked (a click on its uid or its
record), the records behind it and what people did with it."""

from __future__ import annotations

from .. import sql as q
from ..spec import Board, Context, Link, Panel, Variable
from .common import IN_SEGMENTS, SEGMENTS

SEVERITY = Variable(
    "severity", "custom", "critical,high,medium,low", multi=True, include_all=True, default="$__all"
)
ALERT = Variable("alert", "textbox")
RECORD = Variable("record", "textbox")
_RECORD_COLS = "ts, uid, {log} AS log, {src} AS src, id_orig_p AS src_port, {dst} AS dst, id_resp_p AS dst_port, {detail} AS detail"
_DETAILS = {
    "dns": "concat(query, ' ', qtype_name, ' → ', rcode_name, ' ', arrayStringConcat(answers, ','))",
    "conn": "concat(proto, ' ', service, ' ', conn_state, ' ', toString(ifNull(orig_bytes, 0)), '/', toString(ifNull(resp_bytes, 0)), ' B')",
    "tls": "concat(version, ' ', server_name, ' ja3=', ja3)",
    "http": "concat(method, ' ', host, uri, ' → ', toString(ifNull(status_code, 0)))",
    "login": "concat(service, ' ', user, if(weak_password, ' (weak password)', ''))",
}


def board(ctx: Context) -> Board:
    records = "\nUNION ALL\n".join(
        f"SELECT {_RECORD_COLS.format(log=q.lit(log), src=q.ip('id_orig_h'), dst=q.ip('id_resp_h'), detail=d)}"
        f" FROM {log} WHERE uid = ${{record:sqlstring}}"
        for log, d in _DETAILS.items()
    )
    panels = (
        Panel(
            "alerts",
            "table",
            f"SELECT a.ts AS ts, {q.severity_name(ctx.lang, 'a.severity')} AS level,"
            f" {q.category_name(ctx.lang, 'a.category')} AS kind, a.segment AS segment,"
            f" {q.ip('a.src_ip')} AS src, {q.ip('a.dst_ip')} AS dst, a.indicator AS indicator,"
            " if(empty(e.state), 'new', e.state) AS state, a.uid AS uid,"
            " JSONExtractString(a.evidence, 'uid') AS record, JSONExtractString(a.evidence, 'log') AS log,"
            f" {q.summary(ctx.lang).replace('summary[', 'a.summary[')} AS summary\n"
            "FROM alerts AS a\n"
            "LEFT JOIN (SELECT alert_uid, argMax(state, ts) AS state FROM alert_events GROUP BY alert_uid) AS e"
            " ON e.alert_uid = a.uid\n"
            f"WHERE $__timeFilter(a.ts) AND {IN_SEGMENTS.replace('segment IN', 'a.segment IN')}\n"
            "  AND $__conditionalAll(a.severity IN ($severity), $severity)\n"
            f"ORDER BY {q.severity_rank('a.severity')} DESC, a.ts DESC\nLIMIT 500",
            (
                "ts",
                "level",
                "kind",
                "segment",
                "src",
                "dst",
                "indicator",
                "state",
                "uid",
                "record",
                "log",
                "summary",
            ),
            width=24,
            height=12,
            links=(
                Link(
                    "uid",
                    "triage",
                    (("alert", "${__data.fields.uid}"), ("record", "${__data.fields.record}")),
                ),
                Link(
                    "record",
                    "triage",
                    (("alert", "${__data.fields.uid}"), ("record", "${__data.fields.record}")),
                ),
                Link("src", "conn", (("host", "${__data.fields.src}"),)),
            ),
        ),
        Panel(
            "records",
            "table",
            records + "\nORDER BY ts\nLIMIT 1000",
            ("ts", "uid", "log", "src", "src_port", "dst", "dst_port", "detail"),
            width=24,
        ),
        Panel(
            "history",
            "table",
            "SELECT ts, state, who, note\nFROM alert_events\nWHERE alert_uid = ${alert:sqlstring}\nORDER BY ts",
            ("ts", "state", "who", "note"),
            width=24,
            height=6,
        ),
    )
    return Board("triage", panels, (SEGMENTS, SEVERITY, ALERT, RECORD), ("wardwatch", "triage"))
