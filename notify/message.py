"""What a message says: built from a group of alerts as a plain document (stored in the outbox as
JSON), then rendered per channel. It carries what the on-call needs to act (what happened, which
hosts and segments, which order it breaks, what to do first, how to acknowledge) and nothing else:
no evidence, no payloads, no user names, as the orders forbid citizen data on OTT apps (SYT-BDI-2024)
and a mailbox is no place for them either. Hosts are shown as the store keeps them (pseudonyms when
``store.pseudonymise`` is on). Indicators (domains, URLs) are defanged so no mail client links them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from wardwatch import i18n
from wardwatch.alerts import SEVERITIES
from wardwatch.directives import directives

from .labels import Item
from .links import ACTIONS, Grant, url


def defang(s: str) -> str:
    """``evil.example.com`` → ``evil[.]example[.]com``; ``http://`` → ``hxxp://``."""
    return s.replace("http", "hxxp").replace(".", "[.]") if s else s


def local_time(ts: float, tz: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")


def worst(items: Sequence[Item]) -> str:
    return max((i.severity for i in items), key=lambda s: SEVERITIES.index(s) if s in SEVERITIES else -1)


def build(
    items: Sequence[Item],
    *,
    message_id: str,
    receiver: str,
    route: str,
    group: dict[str, str],
    tz: str,
    max_items: int,
    ack_url: str | None = None,
    key: bytes | None = None,
    link_expires: float = 0.0,
) -> dict[str, Any]:
    """The document of one message."""
    items = sorted(items, key=lambda i: (-SEVERITIES.index(i.severity) if i.severity in SEVERITIES else 0, i.ts))
    cats = Counter(i.category for i in items)
    hosts: dict[tuple[str, str], list[Item]] = {}
    for i in items:
        hosts.setdefault((i.host, i.labels.get("segment", "")), []).append(i)
    host_rows = sorted(hosts.items(), key=lambda kv: -sum(x.count for x in kv[1]))
    known = directives()
    order = []
    for d in dict.fromkeys(i.labels.get("directive", "") for i in items):
        if d and d in known:
            k = known[d]
            order.append(
                {
                    "id": d,
                    "number": k.get("number", ""),
                    "issuer": [k["issuer"]["vi"], k["issuer"]["en"]],
                    "title": [k["title"]["vi"], k["title"]["en"]],
                    "asks": [k.get("asks", {}).get("vi", ""), k.get("asks", {}).get("en", "")],
                }
            )
    actions = []
    for c, _n in cats.most_common():
        action = f"notify.action.{c}"
        if action in i18n.MESSAGES:
            actions.append(list(i18n.MESSAGES[action]))
    doc: dict[str, Any] = {
        "id": message_id,
        "receiver": receiver,
        "route": route,
        "kind": "notify",
        "level": 0,
        "severity": worst(items),
        "alerts": len(items),
        "events": sum(i.count for i in items),
        "hosts_total": len(hosts),
        "group": dict(group),
        "categories": [{"category": c, "name": list(i18n.category(c)), "count": n} for c, n in cats.most_common()],
        "hosts": [
            {
                "host": h,
                "segment": seg,
                "zone": xs[0].labels.get("zone", ""),
                "alerts": len(xs),
                "events": sum(x.count for x in xs),
                "categories": sorted({x.category for x in xs}),
            }
            for (h, seg), xs in host_rows[:max_items]
        ],
        "more_hosts": max(0, len(host_rows) - max_items),
        "items": [
            {
                "uid": i.uid,
                "time": local_time(i.ts, tz),
                "category": i.category,
                "severity": i.severity,
                "host": i.host,
                "segment": i.labels.get("segment", ""),
                "dst_segment": i.labels.get("dst_segment", ""),
                "indicator": defang(i.indicator),
                "count": i.count,
            }
            for i in items[:max_items]
        ],
        "more_items": max(0, len(items) - max_items),
        "directives": order,
        "actions": actions,
        "first": local_time(min(i.ts for i in items), tz),
        "last": local_time(max(i.ts for i in items), tz),
        "links": {},
    }
    if ack_url and key is not None:
        doc["links"] = {a: url(ack_url, key, Grant(message_id, a, receiver, link_expires)) for a in ACTIONS}
        doc["links_until"] = local_time(link_expires, tz)
    return doc


def escalated(
    doc: dict[str, Any],
    *,
    message_id: str,
    receiver: str,
    level: int,
    minutes: int,
    pending: set[str],
    tz: str,
    ack_url: str | None,
    key: bytes | None,
    link_expires: float,
) -> dict[str, Any]:
    """The document of an escalation: the original's, for the alerts still unacknowledged, with
    its own links (acknowledging it settles the same alerts)."""
    out = dict(doc)
    out.update(id=message_id, receiver=receiver, kind="escalation", level=level, minutes=minutes)
    out["items"] = [i for i in doc["items"] if i["uid"] in pending]
    out["links"] = {}
    if ack_url and key is not None:
        out["links"] = {a: url(ack_url, key, Grant(message_id, a, receiver, link_expires)) for a in ACTIONS}
        out["links_until"] = local_time(link_expires, tz)
    return out


def reminded(
    doc: dict[str, Any],
    *,
    message_id: str,
    receiver: str,
    hours: float,
    open_uids: set[str],
    tz: str,
    ack_url: str | None,
    key: bytes | None,
    link_expires: float,
) -> dict[str, Any]:
    """The document of a reminder (``repeat_interval``): the group's latest message, for the alerts
    still open, marked as a reminder, with its own links."""
    out = dict(doc)
    out.update(id=message_id, receiver=receiver, kind="reminder", level=0, hours=round(hours, 1))
    out["items"] = [i for i in doc["items"] if i["uid"] in open_uids]
    out["open"] = len(open_uids)
    out["links"] = {}
    if ack_url and key is not None:
        out["links"] = {a: url(ack_url, key, Grant(message_id, a, receiver, link_expires)) for a in ACTIONS}
        out["links_until"] = local_time(link_expires, tz)
    return out


def headline(doc: dict[str, Any]) -> tuple[str, str]:
    """The subject line (vi, en)."""
    cats = doc["categories"]
    what = i18n.category(cats[0]["category"]) if len(cats) == 1 else ("Nhiều loại cảnh báo", "Several alert types")
    segs = sorted({h["segment"] for h in doc["hosts"] if h["segment"]})
    where = ", ".join(segs[:3]) + ("…" if len(segs) > 3 else "") if segs else "-"
    if doc["kind"] == "escalation":
        return i18n.text(
            "notify.subject_escalation", level=doc["level"], minutes=doc.get("minutes", 0), what=what, where=where
        )
    if doc["kind"] == "reminder":
        return i18n.text(
            "notify.subject_reminder", hours=doc.get("hours", 0), open=doc.get("open", doc["alerts"]), what=what, where=where
        )
    return i18n.text("notify.subject", severity=i18n.severity(doc["severity"]), what=what, where=where, alerts=doc["alerts"])
