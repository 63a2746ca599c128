"""One segment (HIS, EMR, PACS, LIS first): who talks to it from where (guest Wi-Fi, the internet,
the air-gapped network…), its policy violations, DNS to malicious domains, cleartext logins, and
its traffic against its baseline.

Traffic *into* the segment needs the responder's segment, which the store does not keep: it is
worked out from the config's segments at export (``dashboards export --config``)."""

from __future__ import annotations

from .. import sql as q
from ..spec import Board, Context, Link, Panel, Variable

SEGMENT = Variable(
    "segment",
    "query",
    "SELECT segment FROM (SELECT DISTINCT segment FROM alerts_minute UNION DISTINCT"
    f" SELECT DISTINCT segment FROM talkers_minute UNION DISTINCT SELECT DISTINCT dst_segment FROM alerts"
    f" WHERE dst_segment != '') ORDER BY {q.segment_order()}",
    default="his",
)
THIS = "${segment:sqlstring}"
BASELINE_DAYS = 7


def board(ctx: Context) -> Board:
    segs = list(ctx.segments)
    into = q.segment_of("id_resp_h", segs)
    # only the responders that can be in the chosen segment are classified (a range test first)
    panels = (
        Panel(
            "inbound",
            "table",
            f"SELECT segment AS from_segment, {q.zone_of('id_orig_h', segs)} AS from_zone, count() AS conns,\n"
            "  sum(ifNull(orig_bytes, 0) + ifNull(resp_bytes, 0)) AS bytes, uniqExact(id_orig_h) AS hosts, max(ts) AS last_seen\n"
            f"FROM conn\nWHERE $__timeFilter(ts) AND NOT interim AND segment != {THIS} AND {into} = {THIS}\n"
            "GROUP BY from_segment, from_zone\nORDER BY from_zone IN ('guest', 'internet', 'airgap') DESC, conns DESC",
            ("from_segment", "from_zone", "conns", "bytes", "hosts", "last_seen"),
            unit=None,
        ),
        Panel(
            "violations",
            "table",
            f"SELECT ts, {q.severity_name(ctx.lang)} AS level, {q.category_name(ctx.lang)} AS kind,"
            f" {q.ip('src_ip')} AS src, segment AS from_segment, {q.ip('dst_ip')} AS dst, dst_segment AS to_segment,"
            f" {q.summary(ctx.lang)} AS summary, uid,"
            " JSONExtractString(evidence, 'uid') AS record\n"
            f"FROM alerts\nWHERE $__timeFilter(ts) AND (segment = {THIS} OR dst_segment = {THIS}) AND startsWith(category, 'policy_')\n"
            "ORDER BY ts DESC\nLIMIT 200",
            ("ts", "level", "kind", "src", "from_segment", "dst", "to_segment", "summary", "uid", "record"),
            links=(
                Link(
                    "uid",
                    "triage",
                    (("alert", "${__data.fields.uid}"), ("record", "${__data.fields.record}")),
                ),
            ),
        ),
        Panel(
            "malicious_dns",
            "table",
            f"SELECT ts, {q.ip('src_ip')} AS src, {q.category_name(ctx.lang)} AS kind, indicator,"
            " JSONExtractString(evidence, 'observed') AS observed, rule\n"
            f"FROM alerts\nWHERE $__timeFilter(ts) AND segment = {THIS}\n"
            "  AND category IN ('threat_feed_domain', 'dga', 'dns_tunnel', 'nxdomain_burst')\n"
            "ORDER BY ts DESC\nLIMIT 200",
            ("ts", "src", "kind", "indicator", "observed", "rule"),
        ),
        Panel(
            "cleartext_logins",
            "table",
            f"SELECT ts, {q.ip('id_orig_h')} AS src, segment AS from_segment, {q.ip('id_resp_h')} AS dst,"
            " id_resp_p AS port, service, user, weak_password, success\n"
            f"FROM login\nWHERE $__timeFilter(ts) AND (segment = {THIS} OR {q.segment_of('id_resp_h', segs)} = {THIS})\n"
            "ORDER BY ts DESC\nLIMIT 200",
            ("ts", "src", "from_segment", "dst", "port", "service", "user", "weak_password", "success"),
        ),
        Panel(
            "volume_baseline",
            "timeseries",
            # the baseline: the same minutes of the previous days, averaged
            "SELECT $__timeInterval(t) AS time, sumIf(b, d = 0) AS current, sumIf(b, d > 0) / "
            f"{BASELINE_DAYS} AS baseline\n"
            "FROM (\n"
            f"  SELECT minute + toIntervalDay(d) AS t, d, orig_bytes + resp_bytes AS b\n"
            f"  FROM talkers_minute ARRAY JOIN range({BASELINE_DAYS + 1}) AS d\n"
            f"  WHERE segment = {THIS} AND minute >= $__fromTime - toIntervalDay({BASELINE_DAYS}) AND minute <= $__toTime\n"
            ")\nWHERE t >= $__fromTime AND t <= $__toTime\nGROUP BY time\nORDER BY time",
            ("time", "current", "baseline"),
            unit="bytes",
        ),
        Panel(
            "alerts_over_time",
            "timeseries",
            f"SELECT $__timeInterval(minute) AS time, {q.category_name(ctx.lang)} AS kind, sum(alerts) AS alerts\n"
            f"FROM alerts_minute\nWHERE $__timeFilter(minute) AND segment = {THIS}\nGROUP BY time, kind\nORDER BY time",
            ("time", "kind", "alerts"),
            stacked=True,
        ),
    )
    return Board("segment", panels, (SEGMENT,), ("wardwatch", "segment"))
