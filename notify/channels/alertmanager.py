"""Prometheus Alertmanager, for sites that already run it: ``POST /api/v2/alerts`` with one alert
per listed wardwatch alert. Labels carry what Alertmanager routes and groups on (``alertname`` is
the category); annotations carry the readable text and the acknowledgement link. Alertmanager has
no acknowledgement of its own: the link is how the on-call closes the loop in wardwatch."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from wardwatch import i18n

from ..settings import AlertmanagerTarget
from .http import post


def alerts(doc: dict[str, Any], now: float) -> list[dict[str, Any]]:
    out = []
    starts = datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z")
    actions = "; ".join(a[1] for a in doc.get("actions", []))
    for item in doc["items"]:
        labels = {
            "alertname": f"wardwatch_{item['category']}",
            "category": item["category"],
            "severity": item["severity"],
            "segment": item["segment"] or "-",
            "host": item["host"],
            "wardwatch_uid": item["uid"],
            "wardwatch_message": doc["id"],
        }
        if doc["group"].get("zone"):
            labels["zone"] = doc["group"]["zone"]
        vi, en = i18n.category(item["category"])
        out.append(
            {
                "labels": labels,
                "annotations": {
                    "summary": f"{vi} / {en}",
                    "description": actions,
                    "ack_url": doc.get("links", {}).get("ack", ""),
                    "directives": ", ".join(d["id"] for d in doc.get("directives", [])),
                },
                "startsAt": starts,
                "generatorURL": doc.get("links", {}).get("ack", "") or "http://wardwatch.invalid/",
            }
        )
    return out


def send(target: AlertmanagerTarget, doc: dict[str, Any], now: float) -> None:
    post(f"{target.url}/api/v2/alerts", orjson.dumps(alerts(doc, now)), {}, target.timeout, target.ca_file)
