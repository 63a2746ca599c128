"""DNS threats: feed hits (which feed, and where the name was seen: query, CNAME, answer, TLS SNI,
HTTP host), DGA, tunnels, NXDOMAIN bursts, DoH and other resolver bypass, names new in the range,
and a passive-DNS search by name or address."""

from __future__ import annotations

from .. import sql as q
from ..spec import Board, Context, Panel, Variable
from .common import IN_SEGMENTS, SEGMENTS

SEARCH = Variable("search", "textbox")


def _alerts(ctx: Context, categories: tuple[str, ...], extra: str, columns: tuple[str, ...]) -> str:
    return (
        f"SELECT ts, segment, {q.ip('src_ip')} AS src, indicator, {extra}\n"
        f"FROM alerts\nWHERE $__timeFilter(ts) AND {IN_SEGMENTS} AND category IN {q.array(categories)}\n"
        "ORDER BY ts DESC\nLIMIT 200"
    )


def board(ctx: Context) -> Board:
    s = "${search:sqlstring}"
    panels = (
        Panel(
            "feed_hits",
            "table",
            _alerts(
                ctx,
                q.FEED_CATEGORIES,
                "JSONExtractString(evidence, 'observed') AS observed,"
                " arrayStringConcat(JSONExtract(evidence, 'feeds', 'feeds', 'Array(String)'), ', ') AS feeds,"
                " JSONExtractString(evidence, 'log') AS seen_in, rule",
                (),
            ),
            ("ts", "segment", "src", "indicator", "observed", "feeds", "seen_in", "rule"),
            width=24,
        ),
        Panel(
            "dga",
            "table",
            _alerts(ctx, ("dga",), "JSONExtractFloat(evidence, 'score') AS score, rule", ()),
            ("ts", "segment", "src", "indicator", "score", "rule"),
        ),
        Panel(
            "tunnels",
            "table",
            _alerts(
                ctx,
                ("dns_tunnel",),
                "JSONExtractUInt(evidence, 'queries') AS queries, JSONExtractUInt(evidence, 'bytes') AS bytes",
                (),
            ),
            ("ts", "segment", "src", "indicator", "queries", "bytes"),
        ),
        Panel(
            "nxdomain_rate",
            "timeseries",
            "SELECT $__timeInterval(minute) AS time, segment, sum(queries) AS nxdomain\n"
            f"FROM dns_minute\nWHERE $__timeFilter(minute) AND {IN_SEGMENTS} AND rcode_name = 'NXDOMAIN'\n"
            "GROUP BY time, segment\nORDER BY time",
            ("time", "segment", "nxdomain"),
        ),
        Panel(
            "nxdomain_bursts",
            "table",
            _alerts(
                ctx,
                ("nxdomain_burst",),
                "JSONExtractUInt(evidence, 'count') AS answers, JSONExtractUInt(evidence, 'names') AS names",
                (),
            ),
            ("ts", "segment", "src", "indicator", "answers", "names"),
        ),
        Panel(
            "bypass",
            "table",
            _alerts(
                ctx,
                ("policy_dns_bypass",),
                "replaceOne(rule, 'policy.dns_bypass.', '') AS method, JSONExtractUInt(evidence, 'port') AS port",
                (),
            ),
            ("ts", "segment", "src", "indicator", "method", "port"),
        ),
        Panel(
            "new_domains",
            "table",
            "SELECT query, min(first_seen) AS first_seen, uniqExact(client) AS clients, sum(count) AS lookups\n"
            f"FROM pdns\nWHERE {IN_SEGMENTS}\nGROUP BY query\n"
            "HAVING first_seen >= $__fromTime AND first_seen <= $__toTime\n"
            "ORDER BY clients DESC, lookups DESC, query\nLIMIT 50",
            ("query", "first_seen", "clients", "lookups"),
        ),
        Panel(
            "pdns_search",
            "table",
            f"SELECT query, {q.ip('answer')} AS answer_ip, {q.ip('client')} AS client_ip, segment,"
            " min(first_seen) AS first_seen, max(last_seen) AS last_seen, sum(count) AS lookups\n"
            f"FROM pdns\nWHERE {s} != '' AND (query = {s} OR endsWith(query, concat('.', {s}))\n"
            f"  OR (isIPv4String({s}) AND answer = toIPv6OrZero(concat('::ffff:', {s})))\n"
            f"  OR (isIPv6String({s}) AND answer = toIPv6OrZero({s})))\n"
            "GROUP BY query, answer, client, segment\nORDER BY last_seen DESC\nLIMIT 500",
            ("query", "answer_ip", "client_ip", "segment", "first_seen", "last_seen", "lookups"),
            width=24,
        ),
    )
    return Board("dns", panels, (SEGMENTS, SEARCH), ("wardwatch", "dns"))
