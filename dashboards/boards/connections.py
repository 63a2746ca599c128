"""Connections: beacons, scans, exfiltration, remote-access tools and OTT apps by segment, top
talkers, and internet destinations (by address: the records carry no country or ASN yet)."""

from __future__ import annotations

from .. import sql as q
from ..spec import Board, Context, Panel, Variable
from .common import IN_SEGMENTS, SEGMENTS

HOST = Variable("host", "textbox")
ON_HOST = "$__conditionalAll(src_ip = toIPv6OrZero(if(isIPv4String(${host:sqlstring}), concat('::ffff:', ${host:sqlstring}), ${host:sqlstring})), $host)"


def _alerts(category: str, extra: str) -> str:
    return (
        f"SELECT ts, segment, {q.ip('src_ip')} AS src, {q.ip('dst_ip')} AS dst, indicator, {extra}\n"
        f"FROM alerts\nWHERE $__timeFilter(ts) AND {IN_SEGMENTS} AND {ON_HOST} AND category = '{category}'\n"
        "ORDER BY ts DESC\nLIMIT 200"
    )


def board(ctx: Context) -> Board:
    segs = list(ctx.segments)
    panels = (
        Panel(
            "beacons",
            "table",
            _alerts(
                "beacon",
                "JSONExtractFloat(evidence, 'interval') AS interval_s, JSONExtractUInt(evidence, 'conns') AS conns,"
                " JSONExtractFloat(evidence, 'score') AS score",
            ),
            ("ts", "segment", "src", "dst", "indicator", "interval_s", "conns", "score"),
        ),
        Panel(
            "scans",
            "table",
            _alerts(
                "port_scan",
                "replaceOne(rule, 'behaviour.port_scan.', '') AS kind,"
                " greatest(JSONExtractUInt(evidence, 'ports'), JSONExtractUInt(evidence, 'hosts')) AS targets",
            ),
            ("ts", "segment", "src", "dst", "indicator", "kind", "targets"),
        ),
        Panel(
            "exfiltration",
            "table",
            _alerts(
                "exfiltration",
                "JSONExtractUInt(evidence, 'bytes') AS bytes, JSONExtractFloat(evidence, 'window') AS window_s",
            ),
            ("ts", "segment", "src", "dst", "indicator", "bytes", "window_s"),
        ),
        Panel(
            "apps_by_segment",
            "barchart",
            "SELECT segment, countIf(category = 'policy_remote_access') AS remote_access,"
            " countIf(category = 'policy_ott') AS ott\n"
            f"FROM alerts\nWHERE $__timeFilter(ts) AND {IN_SEGMENTS} AND {ON_HOST}\n"
            "  AND category IN ('policy_remote_access', 'policy_ott')\n"
            f"GROUP BY segment\nORDER BY {q.segment_order()}",
            ("segment", "remote_access", "ott"),
            stacked=True,
        ),
        Panel(
            "apps",
            "table",
            f"SELECT {q.category_name(ctx.lang)} AS kind, JSONExtractString(evidence, 'app') AS app, segment,"
            f" {q.ip('src_ip')} AS src, count() AS alerts, max(ts) AS last_seen\n"
            f"FROM alerts\nWHERE $__timeFilter(ts) AND {IN_SEGMENTS} AND {ON_HOST}\n"
            "  AND category IN ('policy_remote_access', 'policy_ott')\n"
            "GROUP BY kind, app, segment, src\nORDER BY alerts DESC, last_seen DESC\nLIMIT 100",
            ("kind", "app", "segment", "src", "alerts", "last_seen"),
        ),
        Panel(
            "top_talkers",
            "table",
            f"SELECT {q.ip('orig_h')} AS src, segment, sum(conns) AS conns, sum(orig_bytes) AS bytes_out,"
            " sum(resp_bytes) AS bytes_in\n"
            f"FROM talkers_minute\nWHERE $__timeFilter(minute) AND {IN_SEGMENTS}\n"
            "GROUP BY orig_h, segment\nORDER BY bytes_out + bytes_in DESC\nLIMIT 25",
            ("src", "segment", "conns", "bytes_out", "bytes_in"),
            unit="bytes",
        ),
        Panel(
            "internet_destinations",
            "table",
            # the hourly rollup (store schema v4): responders outside the private ranges; the config's
            # segments with public addresses are taken out here
            f"SELECT {q.ip('resp_h')} AS dst, sum(conns) AS conns, sum(orig_bytes) AS bytes_out,"
            " sum(resp_bytes) AS bytes_in, groupUniqArray(5)(segment) AS segments\n"
            "FROM dests_hour\nWHERE $__timeFilter(hour) AND"
            f" {IN_SEGMENTS} AND NOT {q.is_internal('resp_h', segs)}\n"
            "GROUP BY resp_h\nHAVING conns > 0\nORDER BY bytes_out DESC\nLIMIT 25",
            ("dst", "conns", "bytes_out", "bytes_in", "segments"),
            width=24,
        ),
    )
    return Board("conn", panels, (SEGMENTS, HOST), ("wardwatch", "connections"))
