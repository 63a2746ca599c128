"""From the store's numbers to what the report says: risk level, changes, the three things to do,
findings, incidents, coverage and handling. Pure functions over ``data.gather``'s output and the
config; every sentence comes from the catalogue in the chosen language."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from wardwatch import i18n
from wardwatch.directives import directives
from wardwatch.segments import segment_order

from .compliance import compliance_rows
from .data import SEVERITY_RANK
from .period import Period

ROWS_PER_CATEGORY = 12  # alerts listed by name per kind of finding; the rest are counted
ROWS_PER_SECTION = 40  # feed hits, behaviour findings: listed by name (a PDF of 40,000 rows helps nobody)
HEALTH_ROWS = 20
FEED_CATEGORIES = ("threat_feed_domain", "threat_feed_ip")
BEHAVIOUR_CATEGORIES = ("dga", "dns_tunnel", "beacon", "port_scan", "exfiltration", "nxdomain_burst")
HEALTH_CATEGORIES = ("sensor_silent", "sensor_drops", "sensor_overload")
SEVERITIES = ("critical", "high", "medium", "low")
MAX_INCIDENTS = 10


@dataclass(frozen=True)
class Words:
    """The catalogue in one language."""

    lang: str

    @property
    def side(self) -> int:
        return 0 if self.lang == "vi" else 1

    def __call__(self, key: str, **values: object) -> str:
        return i18n.text(key, **values)[self.side]

    def pick(self, pair: tuple[str, str]) -> str:
        return pair[self.side]

    def category(self, name: str) -> str:
        return self.pick(i18n.category(name))

    def severity(self, name: str) -> str:
        return self.pick(i18n.severity(name))

    def number(self, n: float | int) -> str:
        text = f"{int(round(n)):,}"
        return text.replace(",", ".") if self.lang == "vi" else text

    def state(self, name: str) -> str:
        key = f"report.state.{name}"
        return self(key) if key in i18n.MESSAGES else name

    def action(self, category: str) -> str:
        key = f"report.do.{category}"
        return self(key) if key in i18n.MESSAGES else ""


def local_time(ts: float, tz: str, seconds: bool = False) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime(
        "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    )


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = int(seconds)
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def byte_text(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def citation_parts(directive_id: str, w: Words) -> tuple[str, str, str]:
    """(issuer, number, date) of one order, as the report cites it."""
    d = directives().get(directive_id)
    if d is None:
        return directive_id, "", ""
    issuer = d["issuer"][w.lang] if isinstance(d["issuer"], dict) else str(d["issuer"])
    number = str(d["number"])
    no = ("số " if w.lang == "vi" else "no. ") + (number if not number.startswith("/") else "…" + number)
    date = ("ngày " if w.lang == "vi" else "dated ") + str(d["date"])
    return issuer, no, date


def order_citation(directive_id: str, w: Words) -> str:
    return ", ".join(x for x in citation_parts(directive_id, w) if x)


# -- the summary ------------------------------------------------------------------------------------


def severity_totals(alert_counts: Iterable[dict[str, Any]]) -> dict[str, int]:
    out = dict.fromkeys(SEVERITIES, 0)
    for r in alert_counts:
        out[r["severity"]] = out.get(r["severity"], 0) + int(r["alerts"])
    return out


def risk_level(records: int, totals: dict[str, int]) -> str:
    if records == 0 and not any(totals.values()):
        return "unknown"
    for s in ("critical", "high", "medium"):
        if totals.get(s, 0):
            return s
    return "low"


def arrow(now: int, before: int) -> tuple[str, str]:
    """(arrow, change text): ▲ more, ▼ fewer, = the same; the change in count and percent."""
    if now == before:
        return "=", "0"
    sign = "▲" if now > before else "▼"
    delta = now - before
    pct = f" ({delta / before * 100:+.0f}%)" if before else ""
    return sign, f"{delta:+d}{pct}"


def changes(this: dict[str, Any], last: dict[str, Any], w: Words) -> list[dict[str, str]]:
    t_tot, l_tot = severity_totals(this["alert_counts"]), severity_totals(last["alert_counts"])
    pairs = (
        ("report.m.records", sum(this["records"].values()), sum(last["records"].values())),
        ("report.m.alerts", sum(t_tot.values()), sum(l_tot.values())),
        ("report.m.urgent", t_tot["critical"] + t_tot["high"], l_tot["critical"] + l_tot["high"]),
        ("report.m.hosts", this["alert_hosts"], last["alert_hosts"]),
    )
    out = []
    for key, now, before in pairs:
        sign, text = arrow(now, before)
        out.append(
            {"label": w(key), "this": w.number(now), "last": w.number(before), "arrow": sign, "change": text}
        )
    return out


# -- findings ----------------------------------------------------------------------------------------


def _hosts_text(hosts: Sequence[str], n: int = 3) -> str:
    shown = ", ".join(hosts[:n])
    return shown + (f" (+{len(hosts) - n})" if len(hosts) > n else "")


def alert_row(a: dict[str, Any], w: Words, tz: str) -> dict[str, Any]:
    summary = a.get("summary") or {}
    return {
        "uid": a["uid"],
        "time": local_time(a["ts"], tz),
        "host": a["host"],
        "segment": a["segment"] or "–",
        "dst_segment": a.get("dst_segment") or "",
        "indicator": a["indicator"],
        "what": summary.get(w.lang) or summary.get("en") or a["rule"],
        "rule": a["rule"],
        "count": a["count"],
        "state": w.state(a["state"]),
        "severity": a["severity"],
    }


def findings(
    alerts: list[dict[str, Any]],
    counts: list[dict[str, Any]],
    seg_key: Callable[[str], Any],
    w: Words,
    tz: str,
) -> list[dict[str, Any]]:
    """Severity → kinds of alert (the kind touching HIS/EMR first, then the most frequent) → rows
    (HIS/EMR first); exact totals from ``counts``, at most ``ROWS_PER_CATEGORY`` rows each."""
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for r in counts:
        t = totals.setdefault((r["severity"], r["category"]), {"alerts": 0, "segments": set()})
        t["alerts"] += int(r["alerts"])
        t["segments"].add(r["segment"])
    by: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for a in alerts:
        by.setdefault((a["severity"], a["category"]), []).append(a)
    out = []
    for sev in SEVERITIES:
        kinds: list[dict[str, Any]] = []
        for (s, cat), t in totals.items():
            if s != sev:
                continue
            rows = sorted(by.get((s, cat), []), key=lambda a: (seg_key(a["segment"]), a["ts"], a["uid"]))
            segments = sorted(t["segments"], key=seg_key)
            hosts = sorted({a["host"] for a in rows})
            kinds.append(
                {
                    "category": cat,
                    "name": w.category(cat),
                    "action": w.action(cat),
                    "line": w("report.f.alerts", alerts=w.number(t["alerts"]), hosts=w.number(len(hosts))),
                    "segments": ", ".join(x or "–" for x in segments),
                    "rows": [alert_row(a, w, tz) for a in rows[:ROWS_PER_CATEGORY]],
                    "more": w("report.f.more", n=w.number(t["alerts"] - min(len(rows), ROWS_PER_CATEGORY)))
                    if t["alerts"] > min(len(rows), ROWS_PER_CATEGORY)
                    else "",
                    "_key": (seg_key(segments[0]) if segments else (9,), -t["alerts"], cat),
                }
            )
        kinds.sort(key=lambda k: k["_key"])
        if kinds:
            out.append({"severity": sev, "label": w.severity(sev), "kinds": kinds})
    return out


def todo(
    found: list[dict[str, Any]],
    handling: dict[str, Any],
    watched: int,
    hours: int,
    stale: list[str],
    records: int,
    w: Words,
) -> list[str]:
    """The three things to do, most urgent first."""
    items: list[str] = []
    if records == 0:
        items.append(w("report.todo.no_data"))
    for group in found:
        if group["severity"] not in ("critical", "high"):
            continue
        for kind in group["kinds"]:
            if kind["category"] in HEALTH_CATEGORIES:
                continue
            hosts = sorted({r["host"] for r in kind["rows"]})
            items.append(
                w(
                    "report.todo.finding",
                    what=kind["name"],
                    hosts=_hosts_text(hosts),
                    segments=kind["segments"],
                    action=kind["action"],
                )
            )
            if len(items) >= 2:
                break
        if len(items) >= 2:
            break
    open_urgent = int(handling.get("open_urgent") or 0)
    if open_urgent:
        items.append(w("report.todo.ack", n=w.number(open_urgent)))
    if records and watched < hours:
        items.append(w("report.todo.coverage", hours=w.number(hours - watched)))
    if stale:
        items.append(w("report.todo.feeds", feeds=", ".join(stale)))
    items.append(w("report.todo.keep"))
    return items[:3]


# -- incidents (Circular 20/2017/TT-BTTTT, form 03) ---------------------------------------------------


_NOT_PUBLIC = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
              "0.0.0.0/8", "224.0.0.0/4", "255.255.255.255/32", "fc00::/7", "fe80::/10", "::1/128", "ff00::/8")
)  # fmt: skip


def _public(values: Iterable[str], internal: Sequence[Any]) -> list[str]:
    """The addresses outside the hospital (not private, not in a configured segment) and the domain
    names among ``values``, as the form asks for them."""
    out = []
    for v in values:
        if not v:
            continue
        try:
            ip = ipaddress.ip_address(v)
        except ValueError:
            if "." in v and "/" not in v and ":" not in v and not v.replace(".", "").isdigit():
                out.append(v)  # a domain name
            continue
        if not any(ip.version == n.version and ip in n for n in (*_NOT_PUBLIC, *internal)):
            out.append(v)
    return sorted(set(out))


def incidents(
    alerts: list[dict[str, Any]],
    segments: dict[str, Any],
    seg_key: Callable[[str], Any],
    w: Words,
    tz: str,
    organisation: str,
    contact: Any,
) -> list[dict[str, Any]]:
    """One incident per (kind, segment) of critical alerts, HIS/EMR first."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for a in alerts:
        if a["severity"] == "critical" and a["category"] not in HEALTH_CATEGORIES:
            groups.setdefault((a["category"], a["segment"]), []).append(a)
    unset = w("report.i.unset")
    who = ", ".join(x for x in (contact.name, contact.role, contact.phone, contact.email) if x) or unset
    out = []
    for n, ((cat, seg), rows) in enumerate(
        sorted(groups.items(), key=lambda kv: (seg_key(kv[0][1]), kv[0][0])), 1
    ):
        if n > MAX_INCIDENTS:
            break
        s = segments.get(seg)
        first = min(rows, key=lambda a: a["ts"])
        states = sorted({w.state(a["state"]) for a in rows})
        summary = first.get("summary") or {}
        public = _public(
            [a["dst"] for a in rows] + [a["indicator"] for a in rows] + [a["host"] for a in rows],
            [c for seg in segments.values() for c in seg.cidrs],
        )
        fields = [
            (w("report.i.org"), organisation or unset),
            (w("report.i.contact"), who),
            (
                w("report.i.system"),
                w(
                    "report.i.system_value",
                    segment=seg or "–",
                    zone=(s.zone if s is not None and s.zone else "–"),
                    criticality=(
                        w.severity(str(s.criticality)) if s is not None and s.criticality is not None else "–"
                    ),
                    hosts=_hosts_text(sorted({a["host"] for a in rows}), 5),
                ),
            ),
            (w("report.i.description"), summary.get(w.lang) or summary.get("en") or first["rule"]),
            (w("report.i.detected"), local_time(first["ts"], tz, seconds=True)),
            (
                w("report.i.method"),
                w("report.i.method_value", rule=", ".join(sorted({a["rule"] for a in rows}))),
            ),
            (w("report.i.status"), ", ".join(states)),
            (w("report.i.public"), ", ".join(public) or "–"),
            (w("report.i.order"), order_citation(first["directive"], w) if first.get("directive") else "–"),
        ]
        out.append({"title": w("report.i.title", n=n, what=w.category(cat)), "fields": fields})
    return out


# -- feeds, coverage, handling ------------------------------------------------------------------------


def feed_rows(alerts: list[dict[str, Any]], feeds: dict[str, Any], w: Words, tz: str) -> list[dict[str, Any]]:
    out = []
    for a in alerts:
        if a["category"] not in FEED_CATEGORIES:
            continue
        f = a.get("feed") or {}
        names = [str(x) for x in f.get("feeds") or []]
        prov = [feeds[n].origin for n in names if n in feeds]
        refs = [str(x) for x in f.get("references") or []]
        out.append(
            {
                "time": local_time(a["ts"], tz),
                "host": a["host"],
                "segment": a["segment"] or "–",
                "indicator": a["indicator"],
                "feed": ", ".join(names) or "–",
                "provenance": "; ".join(prov + refs) or "–",
                "state": w.state(a["state"]),
            }
        )
    return out


def freshness(
    feeds: Iterable[Any], metas: dict[str, dict[str, Any]], now: float, w: Words, tz: str
) -> tuple[list[dict[str, str]], list[str]]:
    """(rows, names of stale feeds): a feed is stale when its last good copy is older than twice its
    refresh interval (and a day at least)."""
    rows, stale = [], []
    for f in feeds:
        if not f.enabled:
            continue
        meta = metas.get(f.name) or {}
        when = meta.get("fetched_at")
        try:
            ts = (
                datetime.strptime(str(when), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=ZoneInfo("UTC")).timestamp()
            )
        except (TypeError, ValueError):
            ts = None
        age = None if ts is None else max(0.0, now - ts)
        if age is None or age > max(2 * f.refresh, 86400.0):
            stale.append(f.name)
        rows.append(
            {
                "feed": f.name,
                "provenance": f.origin,
                "fetched": local_time(ts, tz) if ts is not None else w("report.feeds.never"),
                "age": duration_text(age),
                "entries": w.number(int(meta.get("accepted") or 0)),
                "stale": f.name in stale,
            }
        )
    return rows, stale


def hour_gaps(
    hours: Iterable[int], start: float, end: float, tz: str, limit: int = 4
) -> tuple[int, list[str]]:
    """(hours without data, the longest runs of them as text)."""
    have = set(int(h) for h in hours)
    first = int(start // 3600 * 3600)
    runs: list[tuple[int, int]] = []
    run_start = None
    h = first
    missing = 0
    while h < end:
        if h not in have:
            missing += 1
            if run_start is None:
                run_start = h
        elif run_start is not None:
            runs.append((run_start, h))
            run_start = None
        h += 3600
    if run_start is not None:
        runs.append((run_start, h))
    runs.sort(key=lambda r: (r[0] - r[1], r[0]))
    text = [
        f"{local_time(a, tz)} → {local_time(b, tz)[11:] if local_time(a, tz)[:10] == local_time(b, tz)[:10] else local_time(b, tz)} ({(b - a) // 3600} h)"
        for a, b in runs[:limit]
    ]
    if len(runs) > limit:
        text.append(f"+{len(runs) - limit}")
    return missing, text


def coverage(
    hours_rows: list[dict[str, Any]], period: Period, seg_key: Callable[[str], Any], w: Words
) -> dict[str, Any]:
    total = int(round(period.hours))
    per_sensor: dict[str, set[int]] = {}
    rows = []
    for r in sorted(hours_rows, key=lambda r: (r["sensor"], seg_key(r["segment"]))):
        hs = [int(h) for h in r["hours"]]
        per_sensor.setdefault(r["sensor"], set()).update(hs)
        rows.append({"sensor": r["sensor"], "segment": r["segment"] or "–", "hours": w.number(len(set(hs)))})
    sensors = []
    for sensor, have in sorted(per_sensor.items()):
        missing, gaps = hour_gaps(have, period.start, period.end, period.timezone)
        sensors.append({"sensor": sensor, "hours": w.number(len(have)), "missing": missing, "gaps": gaps})
    watched = len(set().union(*per_sensor.values())) if per_sensor else 0
    pct = round(100 * watched / total) if total else 0
    return {
        "line": w("report.cov.watched", watched=w.number(watched), hours=w.number(total), pct=pct),
        "watched": watched,
        "hours": total,
        "segments": rows,
        "sensors": sensors,
    }


def handling(h: dict[str, Any], silences: list[dict[str, Any]], w: Words, tz: str) -> dict[str, Any]:
    alerts = int(h.get("alerts") or 0)
    acked = int(h.get("acknowledged") or 0)
    rows = [
        (w("report.h.alerts"), w.number(alerts)),
        (w("report.h.acknowledged"), f"{w.number(acked)} / {w.number(alerts)}"),
        (w("report.h.median"), duration_text(float(h["median_ack"])) if acked else "–"),
        (w("report.h.max"), duration_text(float(h["max_ack"])) if acked else "–"),
        (w("report.h.fp"), w.number(int(h.get("false_positives") or 0))),
        (w("report.h.open"), w.number(int(h.get("open_urgent") or 0))),
    ]
    sil = [
        {
            "matchers": ", ".join(s["matchers"]),
            "from": local_time(s["starts"], tz),
            "to": local_time(s["ends"], tz),
            "by": w("report.h.by", author=s["author"] or "–", comment=s["comment"] or "–"),
        }
        for s in silences
    ]
    return {"rows": rows, "silences": sil}


def build_model(
    data: dict[str, Any],
    previous: dict[str, Any],
    period: Period,
    config: Any,
    lang: str,
    now: float,
    feed_metas: dict[str, dict[str, Any]],
    organisation: str,
    contact: Any,
) -> dict[str, Any]:
    """Everything the template prints, already in ``lang``."""
    w = Words(lang)
    tz = period.timezone
    seg_key = segment_order(config.segments)
    segments = {s.name: s for s in config.segments}
    records = sum(data["records"].values())
    totals = severity_totals(data["alert_counts"])
    his_emr = sum(
        int(r["alerts"])
        for r in data["alert_counts"]
        if r["segment"] in segments and (segments[r["segment"]].zone or "") in ("his", "emr")
    )
    level = risk_level(records, totals)
    found = findings(data["alerts"], data["alert_counts"], seg_key, w, tz)
    cov = coverage(data["hours"], period, seg_key, w)
    feeds = {f.name: f for f in config.all_feeds}
    fresh, stale = freshness(config.all_feeds, feed_metas, now, w, tz)

    def total(categories: tuple[str, ...]) -> int:
        return sum(int(r["alerts"]) for r in data["alert_counts"] if r["category"] in categories)

    def more(shown: int, categories: tuple[str, ...]) -> str:
        rest = total(categories) - shown
        return w("report.f.more", n=w.number(rest)) if rest > 0 else ""

    health = [alert_row(a, w, tz) for a in data["alerts"] if a["category"] in HEALTH_CATEGORIES][:HEALTH_ROWS]
    hits = feed_rows(
        sorted(
            data["alerts"],
            key=lambda a: (-SEVERITY_RANK.get(a["severity"], 0), seg_key(a["segment"]), a["ts"]),
        ),
        feeds,
        w,
        tz,
    )[:ROWS_PER_SECTION]
    behaviour = [
        dict(alert_row(a, w, tz), name=w.category(a["category"]))
        for a in sorted(data["alerts"], key=lambda a: (seg_key(a["segment"]), a["ts"]))
        if a["category"] in BEHAVIOUR_CATEGORIES
    ][:ROWS_PER_SECTION]
    return {
        "lang": lang,
        "t": w,
        "title": w("report.title"),
        "period_line": w(
            "report.period",
            label=period.label,
            first=period.first_day.isoformat(),
            last=period.last_day.isoformat(),
        ),
        "label": period.label,
        "generated": w("report.generated", when=local_time(now, tz)),
        "organisation": organisation,
        "empty": records == 0,
        "risk": {
            "level": level,
            "label": w(f"report.risk.{level}"),
            "why": w(
                "report.risk.why",
                critical=w.number(totals["critical"]),
                high=w.number(totals["high"]),
                his_emr=w.number(his_emr),
            ),
        },
        "changes": changes(data, previous, w),
        "todo": todo(found, data["handling"], cov["watched"], cov["hours"], stale, records, w),
        "findings": found,
        "compliance": compliance_rows(data, config, cov, w),
        "incidents": incidents(data["alerts"], segments, seg_key, w, tz, organisation, contact),
        "feed_hits": hits,
        "feed_more": more(len(hits), FEED_CATEGORIES),
        "behaviour_more": more(len(behaviour), BEHAVIOUR_CATEGORIES),
        "health_more": more(len(health), HEALTH_CATEGORIES),
        "freshness": fresh,
        "behaviour": behaviour,
        "top_alert_hosts": [
            {
                "host": r["host"],
                "segment": r["segment"] or "–",
                "alerts": w.number(r["alerts"]),
                "categories": ", ".join(w.category(c) for c in r["categories"]),
            }
            for r in data["top_alert_hosts"]
        ],
        "top_talkers": [
            {
                "host": r["host"],
                "segment": r["segment"] or "–",
                "conns": w.number(r["conns"]),
                "sent": byte_text(int(r["sent"])),
                "received": byte_text(int(r["received"])),
            }
            for r in data["top_talkers"]
        ],
        "coverage": cov,
        "health": health,
        "handling": handling(data["handling"], data["silences"], w, tz),
        "totals": totals,
    }
