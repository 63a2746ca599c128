"""Every rule the built-in detectors raise (policy, threat-feed and behavioural): its category, base
severity, ATT&CK techniques, the directive it enforces and its summary in Vietnamese and English, from
the table ``data/rules.yaml``. ``make_alert`` turns a finding into an ``Alert``.

Severity grows with the criticality of the segments involved: a rule's base level, plus any bump the
detector gives (an accepted login, an established connection, the strength of the evidence), plus one
for each criticality step above ``medium`` of the most critical segment on either side, capped at
``critical``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from wardwatch.alerts import CATEGORIES, SEVERITIES, Alert, severity_level, severity_name
from wardwatch.directives import directives
from wardwatch.segments import DEFAULT_CRITICALITY, IpInfo

from . import lists
from .hits import Hit


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    category: str
    severity: str
    mitre: tuple[str, ...]
    directive: str
    vi: str
    en: str


def _load() -> dict[str, Rule]:
    known = directives()
    out: dict[str, Rule] = {}
    for rid, row in lists.read_data("rules.yaml").items():
        try:
            rule = Rule(rid, row["category"], row["severity"], tuple(row["mitre"]), row["directive"],
                        row["vi"], row["en"])  # fmt: skip
        except (KeyError, TypeError) as e:
            raise lists.ListError(f"rules.yaml: {rid}: missing or malformed {e}") from None
        if rule.category not in CATEGORIES or rule.severity not in SEVERITIES or rule.directive not in known:
            raise lists.ListError(f"rules.yaml: {rid}: unknown category, severity or directive")
        out[rid] = rule
    return out


RULES: dict[str, Rule] = _load()


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def severity(level: str, src: IpInfo | None, dst: IpInfo | None, bump: int = 0) -> str:
    """``level`` raised by ``bump`` and by the criticality of the segments of ``src`` and ``dst``."""
    crit = max(
        (i.criticality for i in (src, dst) if i is not None and i.segment is not None),
        default=DEFAULT_CRITICALITY,
    )
    return severity_name(severity_level(level) + bump + max(0, crit - DEFAULT_CRITICALITY))


def make_alert(
    rule_id: str,
    ts: float,
    src: IpInfo,
    dst: IpInfo | None,
    indicator: str,
    evidence: dict[str, Any],
    bump: int = 0,
    **fmt: Any,
) -> Alert:
    """The alert of rule ``rule_id``; ``fmt`` fills the summary's placeholders beyond the usual ones."""
    rule = RULES[rule_id]
    values = _Blank(
        src=src.ip,
        dst=dst.ip if dst is not None else "?",
        zone=src.zone,
        dst_zone=dst.zone if dst is not None else "?",
        dst_segment=dst.segment.name if dst is not None and dst.segment else "-",
        indicator=indicator,
        observed=indicator,
    )
    values.update(fmt)
    return Alert(
        ts=ts,
        category=rule.category,
        severity=severity(rule.severity, src, dst, bump),
        src_ip=src.ip,
        dst_ip=dst.ip if dst is not None else None,
        indicator=indicator,
        rule=rule.id,
        summary={"vi": rule.vi.format_map(values), "en": rule.en.format_map(values)},
        evidence=evidence,
        mitre=rule.mitre,
        directive=rule.directive,
        segment=src.segment.name if src.segment else None,
        dst_segment=dst.segment.name if dst is not None and dst.segment else None,
    )


def make_hit(
    rule_id: str,
    ts: float,
    src: IpInfo,
    dst: IpInfo | None,
    indicator: str,
    evidence: dict[str, Any],
    rid: str | None,
    bump: int = 0,
    **fmt: Any,
) -> Hit:
    """``make_alert``'s finding, built only if the noise filter keeps it (detectors/hits.py);
    ``rid`` is the evidence record's id."""
    rule = RULES[rule_id]
    return Hit(
        rule.category,
        rule.id,
        ts,
        src.ip,
        dst.ip if dst is not None else None,
        indicator,
        severity(rule.severity, src, dst, bump),
        src.segment.name if src.segment else None,
        dst.segment.name if dst is not None and dst.segment else None,
        rid,
        partial(make_alert, rule_id, ts, src, dst, indicator, evidence, bump, **fmt),
    )
