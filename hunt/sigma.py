"""Sigma retro-hunt: today's Sigma rules (the streaming engine's rule set) run as SQL over the stored
records since ``since``; each (client, indicator) a rule matched becomes one alert marked ``retro``,
with the count and first/last seen, shaped as the streaming engine's ``sigma`` alerts.

Alert uids are stable (rule, addresses, indicator, first event time), so a hit the streaming engine
already stored under the same uid, or a second hunt, stores nothing new (the writer's dedup).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wardwatch.sigmarules.backends.clickhouse import SqlColumn, SqlPlan, SqlRule, base_type, translate
from wardwatch.store import Store
from wardwatch.store.backend import ts_text
from wardwatch.store.schema import BY_LOG, BY_NAME

from wardwatch.alerts import Alert
from wardwatch.config import Config

# the record field that names what a record is about (as the streaming detector's _INDICATOR)
_INDICATOR = {"dns": "query", "http": "host", "tls": "server_name", "login": "user"}


@dataclass
class SigmaHunt:
    alerts: list[Alert] = field(default_factory=list)
    rules: int = 0
    correlations: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (rule, ClickHouse's message)


def _ip_text(v: str) -> str:
    return v[7:] if v.startswith("::ffff:") and "." in v else v


def _text(table: str, column: str) -> str:
    base, _, _ = base_type(BY_NAME[table].column(column).type)
    return SqlColumn(f"`{column}`", base).text()


def plan_for(config: Config | None) -> tuple[SqlPlan, list[tuple[str, str]]]:
    """The configured Sigma rules as SQL, and the rules the streaming loader itself rejected."""
    from wardwatch.sigmarules import load_ruleset, sigma_settings

    s = sigma_settings(config)
    if not s.enabled:
        return SqlPlan(), []
    rs = load_ruleset(s.paths, s.field_map, s.pipelines, s.strict_fields)
    return translate(rs, BY_LOG, config.segments if config is not None else ()), [
        (r.rule, r.reason) for r in rs.rejected
    ]


def rule_sql(rule: SqlRule, select: str, tail: str = "") -> str:
    return (
        f"SELECT {select} FROM `{rule.table}`"
        " WHERE ts >= {__lo:DateTime64(6, 'UTC')} AND ts < {__hi:DateTime64(6, 'UTC')}"
        f" AND ({rule.where}){tail}"
    )


def matching_uids(store: Store, rule: SqlRule, since: float, until: float) -> list[str]:
    """The uids of the stored records ``rule`` matches (what the tests compare with streaming)."""
    rows = store.rows(
        rule_sql(rule, "uid", " ORDER BY ts, uid"),
        {**rule.params, "__lo": ts_text(since), "__hi": ts_text(until)},
    )
    return [r["uid"] for r in rows]


def _skipped_resolvers(config: Config | None) -> frozenset[str]:
    """Resolvers whose DNS records the streaming Sigma detector skips (``skip_resolvers``)."""
    if config is None:
        return frozenset()
    from wardwatch.detectors.settings import load_settings
    from wardwatch.sigmarules import sigma_settings

    return load_settings(config).resolvers if sigma_settings(config).skip_resolvers else frozenset()


def hunt_sigma(
    store: Store,
    config: Config | None,
    engine_info: Callable[[str], Any],
    since: float,
    until: float,
    plan: SqlPlan | None = None,
) -> SigmaHunt:
    from wardwatch.detectors.sigma_detector import sigma_alert
    from wardwatch.store import StoreError

    out = SigmaHunt()
    if plan is None:
        plan, loader_rejected = plan_for(config)
        out.rejected += loader_rejected
    out.rejected += plan.rejected
    bounds = {"__lo": ts_text(since), "__hi": ts_text(until)}
    resolvers = _skipped_resolvers(config)
    for rule in plan.rules:
        if not rule.alert:
            continue
        out.rules += 1
        log = BY_NAME[rule.table].log or rule.table
        endpoint = f"concat({_text(rule.table, 'id_resp_h')}, ':', toString(id_resp_p))"
        f = _INDICATOR.get(log)
        ind = f"if({_text(rule.table, f)} != '', {_text(rule.table, f)}, {endpoint})" if f else endpoint
        select = (
            f"toString(id_orig_h) AS src, {ind} AS ind, count() AS c,"
            " toUnixTimestamp64Micro(min(ts)) AS first, toUnixTimestamp64Micro(max(ts)) AS last,"
            " argMin(uid, ts) AS uid, toString(argMin(id_resp_h, ts)) AS dst, argMin(id_resp_p, ts) AS dport"
        )
        try:
            rows = store.rows(rule_sql(rule, select, " GROUP BY src, ind ORDER BY first, src, ind"),
                              {**rule.params, **bounds})  # fmt: skip
        except StoreError as e:  # e.g. a regex RE2 does not accept: that rule only
            out.errors.append((rule.key, str(e)))
            continue
        for r in rows:
            src, dst = _ip_text(r["src"]), _ip_text(r["dst"])
            if log == "dns" and src in resolvers:
                continue  # the resolver's forwarded copy of a client's lookup, as in streaming
            first, last = int(r["first"]) / 1e6, int(r["last"]) / 1e6
            rec = {
                "ts": first,
                "uid": r["uid"],
                "id.orig_h": src,
                "id.resp_h": dst,
                "id.resp_p": int(r["dport"]),
            }
            if f:
                rec[f] = r["ind"]
            ev = {"rule_title": rule.title, "log": log, "uid": r["uid"], "retro": True, "id.orig_h": src,
                  "id.resp_h": dst, "id.resp_p": int(r["dport"])}  # fmt: skip
            a: Alert = sigma_alert(rule.key, rule.title, rule.level, rule.mitre, rec,
                             (engine_info(src), engine_info(dst)), r["ind"], ev)  # fmt: skip
            a.count = int(r["c"])
            a.last_seen = last
            out.alerts.append(a)
    for c in plan.correlations:
        out.correlations += 1
        try:
            rows = store.rows(c.sql, {**c.params, **bounds})
        except StoreError as e:
            out.errors.append((c.key, str(e)))
            continue
        for r in rows:
            src, dst = _ip_text(r["src"]), _ip_text(r["dst"])
            if log == "dns" and src in resolvers:
                continue  # the resolver's forwarded copy of a client's lookup, as in streaming
            groups = {name: r[f"g{k}"] for k, name in enumerate(c.group_names)}
            ind = ",".join(f"{k}={_ip_text(str(v))}" for k, v in groups.items()) or c.title
            first = int(r["first"]) / 1e6
            ev = {"rule_title": c.title, "correlation": True, "group": groups, "count": int(r["n"]),
                  "first_seen": first, "uid": r["uid"], "retro": True}  # fmt: skip
            rec = {"ts": first, "uid": r["uid"], "id.orig_h": src, "id.resp_h": dst}
            a = sigma_alert(c.key, c.title, c.level, c.mitre, rec, (engine_info(src), engine_info(dst)), ind, ev)
            a.count = int(r["n"])
            a.last_seen = int(r["last"]) / 1e6
            out.alerts.append(a)
    return out
