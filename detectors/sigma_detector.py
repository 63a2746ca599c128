"""``SigmaDetector``: the Detector of the engine that runs compiled Sigma rules over each batch and
turns matches (and correlation crossings) into ``sigma`` alerts.

Each log's records go through one generated matcher that tests all of that log's rules; a record
of a log no rule reads costs nothing. A rule that raises on some odd value is counted under
``sigma.errors.<rule>`` and skipped for that record; it never stops the batch.

DNS records sent by a configured resolver (``detectors.dns_bypass.resolvers``) are skipped unless
``skip_resolvers: false``: they are its forwarded copies of its clients' lookups, and the client's own
record already carries the alert (the policy, feed and behavioural detectors skip them alike).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from wardwatch.detectors.base import Batch, Pair, record_id
from wardwatch.detectors.hits import Hit, built
from wardwatch.detectors.rules import severity
from wardwatch.detectors.settings import load_settings
from wardwatch.sigmarules.correlation import Correlator, Fired
from wardwatch.sigmarules.ruleset import (
    DEFAULT_DIRECTIVE,
    CompiledCorrelation,
    CompiledRule,
    RuleSet,
    load_ruleset,
)
from wardwatch.sigmarules.settings import SigmaSettings, sigma_settings

from wardwatch.alerts import Alert
from wardwatch.config import Config
from wardwatch.counters import Counters
from wardwatch.segments import IpInfo

# the record field that best names what a record is about, per log
_INDICATOR = {"dns": "query", "http": "host", "tls": "server_name", "login": "user"}
_EVIDENCE = (
    "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "query", "qtype_name", "rcode_name",
    "answers", "server_name", "host", "uri", "method", "user_agent", "status_code", "service", "user",
    "success", "conn_state", "orig_bytes", "resp_bytes",
)  # fmt: skip


class SigmaDetector:
    name = "sigma"

    def __init__(
        self,
        ruleset: RuleSet,
        settings: SigmaSettings | None = None,
        counters: Counters | None = None,
        resolvers: frozenset[str] = frozenset(),
    ):
        self.settings = settings or SigmaSettings()
        # the hospital's resolvers, whose DNS records are skipped (``skip_resolvers``)
        self.resolvers = resolvers if self.settings.skip_resolvers else frozenset()
        self.ruleset = ruleset
        self.counters = counters if counters is not None else Counters()
        self.correlations = {c.key: c for c in ruleset.correlations}
        self.correlator = Correlator(
            [c.spec for c in ruleset.correlations],
            lateness=self.settings.lateness,
            max_groups=self.settings.max_groups,
            counters=self.counters,
        )

    @classmethod
    def from_config(
        cls, config: Config | None, counters: Counters | None = None, resolvers: frozenset[str] | None = None
    ) -> SigmaDetector:
        """``resolvers``: the configured ones (``detectors.dns_bypass.resolvers``), read from ``config``
        when not given."""
        s = sigma_settings(config)
        rs = load_ruleset(s.paths, s.field_map, s.pipelines, s.strict_fields) if s.enabled else RuleSet()
        if resolvers is None:
            resolvers = load_settings(config).resolvers if config is not None else frozenset()
        return cls(rs, s, counters, resolvers)

    # -- the Detector protocol -------------------------------------------------------------------
    def detect(self, batch: Batch) -> list[Alert]:
        return built(self.hits(batch))

    def hits(self, batch: Batch) -> list[Alert | Hit]:
        """Rule matches (built by the noise filter only if it keeps them: detectors/hits.py) and
        correlation alerts."""
        out: list[Alert | Hit] = []
        corr = self.correlator
        latest = batch.ts_max
        for log, (match, rules) in self.ruleset.matchers.items():
            recs = batch.records(log)
            if not recs:
                continue
            infos: list[Pair | None] | None = batch.pairs(log) if self.ruleset.uses_info.get(log) else None
            skip = self._forwarded(batch) if log == "dns" else None
            for i, r in enumerate(recs):
                if skip is not None and i in skip:
                    continue
                x = infos[i] if infos is not None else None
                try:
                    hits = match(r, x)
                except Exception:  # noqa: BLE001 - find the rule that failed, keep the others
                    hits = self._isolate(rules, r, x)
                if not hits:
                    continue
                for k in hits:
                    rule = rules[k]
                    rule.hits += 1
                    if rule.alert:
                        out.append(self._hit(rule, r, batch, log, i))
                    if corr.wants(rule.key):
                        ts = r.get("ts")
                        when = float(ts) if isinstance(ts, (int, float)) else batch.ts_max
                        latest = max(latest, when)
                        corr.add(rule.key, when, r, batch.pairs(log)[i])
        if self.correlations and latest:
            out += [self._corr_alert(f) for f in corr.advance(latest)]
        return out

    def flush(self) -> list[Alert]:
        return [self._corr_alert(f) for f in self.correlator.flush()]

    # -- helpers -----------------------------------------------------------------------------------
    def _forwarded(self, batch: Batch) -> set[int] | None:
        """Indexes of the batch's DNS records sent by a configured resolver (None: nothing to skip)."""
        res = self.resolvers
        if not res:
            return None
        got = {i for i, r in enumerate(batch.records("dns")) if r.get("id.orig_h") in res}
        return got or None

    def _isolate(self, rules: list[CompiledRule], r: dict[str, Any], x: Any) -> list[int]:
        hits = []
        for k, rule in enumerate(rules):
            try:
                if rule.predicate(r, x):
                    hits.append(k)
            except Exception:  # noqa: BLE001
                self.counters.add(f"sigma.errors.{rule.key}", 1)
        return hits

    def _hit(self, rule: CompiledRule, r: dict[str, Any], batch: Batch, log: str, i: int) -> Hit:
        pair = batch.pairs(log)[i]
        ind = r.get(_INDICATOR.get(log, ""))
        if not isinstance(ind, str) or not ind:
            ind = _endpoint(r)
        src: IpInfo | None = pair[0] if pair is not None else None
        dst: IpInfo | None = pair[1] if pair is not None else None
        when, src_ip, dst_ip = _identity(r, None)
        return Hit(
            "sigma",
            f"sigma.{rule.key}",
            when,
            src_ip,
            dst_ip,
            ind,
            severity(rule.level, src, dst),
            src.segment.name if src is not None and src.segment else None,
            dst.segment.name if dst is not None and dst.segment else None,
            # a record made twice from duplicated packets (SPAN ports) is one event, not two
            record_id(r),
            partial(
                sigma_alert,
                rule.key,
                rule.title,
                rule.level,
                rule.mitre,
                r,
                pair,
                ind,
                {"rule_title": rule.title, "log": log, **_evidence(r)},
                directive=rule.directive,
            ),
        )

    def _corr_alert(self, f: Fired) -> Alert:
        c: CompiledCorrelation = self.correlations[f.spec.key]
        c.hits += 1
        groups = dict(zip(f.spec.group_names, f.key, strict=False))
        ind = ",".join(f"{k}={v}" for k, v in groups.items()) or c.title
        evidence: dict[str, Any] = {
            "rule_title": c.title,
            "correlation": f.spec.type,
            "group": groups,
            "count": f.count,
            "timespan": f.spec.timespan,
            "first_seen": f.first_seen,
            "last_event": _evidence(f.record),
        }
        if f.values:
            evidence["values"] = list(f.values)[:20]
        if f.rules_seen:
            evidence["rules"] = list(f.rules_seen)
        return sigma_alert(
            c.key, c.title, c.level, c.mitre, f.record, f.extra, ind, evidence, ts=f.ts, directive=c.directive
        )


def _endpoint(r: dict[str, Any]) -> str:
    d, p = r.get("id.resp_h"), r.get("id.resp_p")
    if d is None:
        return "-"
    return f"{d}:{p}" if p is not None else str(d)


def _evidence(r: dict[str, Any]) -> dict[str, Any]:
    return {k: r[k] for k in _EVIDENCE if k in r}


def _identity(r: dict[str, Any], ts: float | None) -> tuple[float, str, str | None]:
    """The alert's time, source and destination as ``sigma_alert`` sets them."""
    src_ip = r.get("id.orig_h")
    dst_ip = r.get("id.resp_h")
    when = ts if ts is not None else r.get("ts")
    return (
        float(when) if isinstance(when, (int, float)) else 0.0,
        src_ip if isinstance(src_ip, str) else "-",
        dst_ip if isinstance(dst_ip, str) else None,
    )


def sigma_alert(
    key: str,
    title: str,
    level: str,
    mitre: tuple[str, ...],
    r: dict[str, Any],
    pair: Pair | None,
    indicator: str,
    evidence: dict[str, Any],
    ts: float | None = None,
    directive: str = DEFAULT_DIRECTIVE,
) -> Alert:
    src: IpInfo | None = pair[0] if pair is not None else None
    dst: IpInfo | None = pair[1] if pair is not None else None
    when, src_ip, dst_ip = _identity(r, ts)
    raw_src = r.get("id.orig_h")
    return Alert(
        ts=when,
        category="sigma",
        severity=severity(level, src, dst),
        src_ip=src_ip,
        dst_ip=dst_ip,
        indicator=indicator,
        rule=f"sigma.{key}",
        summary={
            "vi": f"Quy tắc Sigma «{title}» khớp: {raw_src or '-'} → {indicator}",
            "en": f"Sigma rule '{title}' matched: {raw_src or '-'} → {indicator}",
        },
        evidence=evidence,
        mitre=mitre,
        directive=directive,
        segment=src.segment.name if src is not None and src.segment else None,
        dst_segment=dst.segment.name if dst is not None and dst.segment else None,
    )
