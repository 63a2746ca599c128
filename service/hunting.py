"""One retro-hunt, the same whether ``wardwatch hunt`` runs it on a store it opened itself or the
service runs it on the store it holds (``POST /hunt``): the answer is plain JSON either way."""

from __future__ import annotations

from typing import Any

from wardwatch.config import Config


def hunt(store: Any, config: Config, index: Any, since: float, until: float, dry_run: bool) -> dict[str, Any]:
    """Past matches of ``index`` and the config's Sigma rules in ``[since, until)``; stored as alerts
    marked ``retro`` unless ``dry_run``. Returns what ``wardwatch hunt`` prints."""
    from wardwatch.detectors import Engine
    from wardwatch.hunt import hunt_feeds, hunt_sigma

    # its own engine for the addresses' segments: the service's is busy on the capture thread
    info = Engine.from_config(config, None).info
    alerts = hunt_feeds(store, index, info, since, until)
    sigma = hunt_sigma(store, config, info, since, until)
    alerts += sigma.alerts
    out: dict[str, Any] = {
        "matches": len(alerts),
        "sigma": {
            "rules": sigma.rules,
            "correlations": sigma.correlations,
            "matches": len(sigma.alerts),
            "rejected": [[k, str(r)] for k, r in sigma.rejected],
            "errors": [[k, str(e)] for k, e in sigma.errors],
        },
    }
    if dry_run:
        out["alerts"] = [a.to_dict() for a in alerts]
        out["stored"] = 0
        return out
    writer = store.writer()
    writer.add_alerts(alerts, retro=True)
    writer.flush()
    out["stored"] = sum(writer.written.values())
    out["alerts"] = [
        {"uid": a.uid, "rule": a.rule, "src_ip": a.src_ip, "indicator": a.indicator, "count": a.count}
        for a in alerts
    ]
    return out
