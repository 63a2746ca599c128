"""Loading Sigma rules: files and folders → pySigma rule objects → our pipeline → compiled rules, with
every rule that cannot be evaluated rejected and the reason kept (never silently dropped).

``load_ruleset(paths)`` returns a ``RuleSet``: ``rules`` (compiled base rules), ``correlations``
(compiled correlation specs), ``rejected`` (``Rejected(source, rule, reason)``), and one matcher per
log that tests every rule of that log at once.

Every rule cites the order it enforces (an id of ``wardwatch/data/directives.yaml``) in a custom
top-level field, which Sigma allows and ``sigma check`` accepts (a custom tag namespace it does not)::

    directive: SYT-BDI-2024

A rule without one (SigmaHQ's, most users') gets ``DEFAULT_DIRECTIVE``, the general monitoring order;
a rule naming an unknown id is rejected with the reason.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import (
    CorrelationConditionAND,
    CorrelationConditionNOT,
    CorrelationConditionOR,
    SigmaCorrelationCondition,
    SigmaCorrelationRule,
    SigmaCorrelationType,
    SigmaExtendedCorrelationCondition,
    SigmaRuleReference,
)
from sigma.exceptions import SigmaError, SigmaRegularExpressionError
from sigma.rule import SigmaRule
from wardwatch.sigmarules.backends.streaming import Codegen, Unsupported
from wardwatch.sigmarules.correlation import CorrelationSpec
from wardwatch.sigmarules.pipeline import build_pipelines
from wardwatch.sigmarules.regex import POLICY, REFUSED_VI
from wardwatch.sigmarules.schema import FIELDS, logs_for

from wardwatch.directives import directives

BUILTIN_RULES = Path(__file__).resolve().parent / "rules"
# BYT-CNTT-2021: network and security monitoring, devices that reach malicious domains
DEFAULT_DIRECTIVE = "BYT-CNTT-2021"
LEVELS = {"informational": "low", "low": "low", "medium": "medium", "high": "high", "critical": "critical"}
_SUPPORTED_CORRELATIONS = {
    SigmaCorrelationType.EVENT_COUNT: "event_count",
    SigmaCorrelationType.VALUE_COUNT: "value_count",
    SigmaCorrelationType.TEMPORAL: "temporal",
    SigmaCorrelationType.TEMPORAL_ORDERED: "temporal_ordered",
}


@dataclass
class CompiledRule:
    key: str  # the rule's id, else its name, else its title
    title: str
    level: str  # our severity (low … critical)
    mitre: tuple[str, ...]
    logs: tuple[str, ...]
    source: str
    predicate: Callable[..., list[int]]  # (record, infos) -> [0] when it matches
    expr: str
    uses_info: bool
    name: str | None = None
    description: str = ""
    alert: bool = True  # False when only correlation rules use it (Sigma's ``generate: false``)
    hits: int = 0
    trees: dict[str, Any] = field(default_factory=dict, repr=False)  # log -> mapped condition tree
    directive: str = DEFAULT_DIRECTIVE

    def matches(self, record: dict[str, Any], info: Any = None) -> bool:
        return bool(self.predicate(record, info))


@dataclass
class CompiledCorrelation:
    spec: CorrelationSpec
    title: str
    level: str
    mitre: tuple[str, ...]
    source: str
    name: str | None = None
    hits: int = 0
    directive: str = DEFAULT_DIRECTIVE

    @property
    def key(self) -> str:
        return self.spec.key


@dataclass(frozen=True)
class Rejected:
    source: str
    rule: str
    reason: str


@dataclass
class RuleSet:
    rules: list[CompiledRule] = field(default_factory=list)
    correlations: list[CompiledCorrelation] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    # per log: (matcher over every rule of the log, the rules in the matcher's index order)
    matchers: dict[str, tuple[Callable[..., list[int]], list[CompiledRule]]] = field(default_factory=dict)
    uses_info: dict[str, bool] = field(default_factory=dict)

    @property
    def loaded(self) -> int:
        return len(self.rules) + len(self.correlations)


def rule_key(rule: Any) -> str:
    """A rule's id, else its name, else its title (also for Sigma filters)."""
    if rule.id is not None:
        return str(rule.id)
    return rule.name or rule.title


def _error_text(e: Exception) -> str:
    """A parse error as ``rules check`` shows it; a regex RE2 refused says so in both languages."""
    if isinstance(e, SigmaRegularExpressionError):
        return f"{REFUSED_VI} · {e}"
    return str(e)


def _source(rule: SigmaRule | SigmaCorrelationRule, fallback: str) -> str:
    src = rule.source
    path = getattr(src, "path", None) if src is not None else None
    return str(path) if path else fallback


def _mitre(rule: SigmaRule | SigmaCorrelationRule) -> tuple[str, ...]:
    out = []
    for tag in rule.tags or ():
        if tag.namespace == "attack" and tag.name[:1] in ("t", "T") and tag.name[1:2].isdigit():
            out.append(tag.name.upper())
    return tuple(out)


def _directive(rule: SigmaRule | SigmaCorrelationRule) -> str:
    raw = (rule.custom_attributes or {}).get("directive")
    if raw is None:
        return DEFAULT_DIRECTIVE
    d = str(raw).strip().upper()
    if d not in directives():
        raise Unsupported(f"directive {raw!r} is not one of {', '.join(directives())}")
    return d


def _level(rule: SigmaRule | SigmaCorrelationRule) -> str:
    return LEVELS.get(rule.level.name.lower(), "medium") if rule.level is not None else "medium"


def rule_files(paths: Iterable[Path]) -> list[Path]:
    """Sigma files under the given files and folders, sorted so that loading is reproducible."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out += sorted(q for q in p.rglob("*") if q.suffix in (".yml", ".yaml") and q.is_file())
        else:
            out.append(p)
    return out


# libyaml's parser where PyYAML has it: pySigma's from_yaml runs PyYAML's pure-Python one, which took
# most of the 0.12 s a rule pack costs to load on every command's start (the same SafeConstructor
# builds the documents either way)
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml_documents(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=_YAML_LOADER))  # noqa: S506 - a safe loader


def load_ruleset(
    paths: Sequence[Path],
    extra_fields: Mapping[str, str | list[str]] | None = None,
    pipeline_files: Sequence[Path] = (),
    strict_fields: bool = True,
    texts: Sequence[tuple[str, str]] = (),
) -> RuleSet:
    """Load, map and compile every rule found under ``paths`` (and in ``texts``: (name, YAML) pairs)."""
    rs = RuleSet()
    found: list[Any] = []
    origin: dict[str, str] = {}
    sources: list[tuple[str, Path | str]] = [(str(f), f) for f in rule_files(paths)]
    sources += list(texts)
    for name, item in sources:
        f = Path(name)
        try:
            text = item.read_text(encoding="utf-8") if isinstance(item, Path) else item
            coll = SigmaCollection.from_dicts(_yaml_documents(text), collect_errors=True, policy=POLICY)
        except (OSError, UnicodeDecodeError, SigmaError, ValueError) as e:
            rs.rejected.append(Rejected(name, f.name, f"cannot read: {e}"))
            continue
        except Exception as e:  # noqa: BLE001 - a malformed file must never stop the others loading
            rs.rejected.append(Rejected(name, f.name, f"cannot parse: {type(e).__name__}: {e}"))
            continue
        for r in [*coll.rules, *coll.filters]:
            origin.setdefault(rule_key(r), name)
            found.append(r)
    # one collection so that references and Sigma filters work across files
    collection = SigmaCollection(found, resolve_references=False)
    parsed: list[SigmaRule | SigmaCorrelationRule] = list(collection.rules)
    unresolved: dict[str, str] = {}
    for r in parsed:
        if isinstance(r, SigmaCorrelationRule):
            try:
                r.resolve_rule_references(collection)
            except SigmaError as e:
                unresolved[rule_key(r)] = str(e)
    pipelines = build_pipelines(extra_fields, pipeline_files)

    compiled: dict[str, CompiledRule] = {}
    seen_keys: set[str] = set()
    for r in parsed:
        key = rule_key(r)
        src = origin.get(key, "?")
        if r.errors:
            rs.rejected.append(Rejected(src, key, "; ".join(_error_text(e) for e in r.errors)))
            continue
        if key in seen_keys:
            rs.rejected.append(Rejected(src, key, "duplicate rule id"))
            continue
        seen_keys.add(key)
        if isinstance(r, SigmaRule):
            try:
                cr = _compile_rule(r, key, src, pipelines, strict_fields)
            except (Unsupported, SigmaError) as e:
                rs.rejected.append(Rejected(src, key, str(e)))
                continue
            except Exception as e:  # noqa: BLE001 - reported, never crash the loader
                rs.rejected.append(Rejected(src, key, f"{type(e).__name__}: {e}"))
                continue
            compiled[key] = cr
            rs.rules.append(cr)

    for r in parsed:
        if not isinstance(r, SigmaCorrelationRule) or r.errors:
            continue
        key = rule_key(r)
        src = origin.get(key, "?")
        if any(x.rule == key and x.source == src for x in rs.rejected):
            continue
        if key in unresolved:
            rs.rejected.append(Rejected(src, key, unresolved[key]))
            continue
        try:
            cc = _compile_correlation(r, key, src, compiled, pipelines)
        except (Unsupported, SigmaError) as e:
            rs.rejected.append(Rejected(src, key, str(e)))
            continue
        rs.correlations.append(cc)
    # Sigma 2: a rule only used by correlations alerts on its own only when one of them says generate
    used = {rk for c in rs.correlations for rk in c.spec.rules}
    gen = {rk for c, r in _pairs(rs.correlations, parsed) if r.generate for rk in c.spec.rules}
    for cr in rs.rules:
        if cr.key in used and cr.key not in gen:
            cr.alert = False
    _build_matchers(rs, strict_fields)
    return rs


def _pairs(
    corrs: list[CompiledCorrelation], parsed: list[SigmaRule | SigmaCorrelationRule]
) -> list[tuple[CompiledCorrelation, SigmaCorrelationRule]]:
    by_key = {rule_key(r): r for r in parsed if isinstance(r, SigmaCorrelationRule)}
    return [(c, by_key[c.key]) for c in corrs if c.key in by_key]


def _compile_rule(
    rule: SigmaRule, key: str, src: str, pipelines: Mapping[str, Any], strict_fields: bool
) -> CompiledRule:
    ls = rule.logsource
    logs = logs_for(ls.category, ls.product, ls.service)
    if logs is None:
        raise Unsupported(
            f"log source (category={ls.category}, product={ls.product}, service={ls.service}) "
            "is not one of our logs (dns, firewall, network_connection, proxy; zeek dns/conn/http/ssl; "
            "wardwatch dns/conn/tls/http/login)"
        )
    exprs: list[str] = []
    trees: dict[str, Any] = {}
    uses_info = False
    fn = None
    for log in logs:
        mapped = pipelines[log].apply(copy.deepcopy(rule))
        cg = Codegen(FIELDS[log] if strict_fields else None)
        conds = [c.parsed for c in mapped.detection.parsed_condition]
        if len(conds) != 1:
            raise Unsupported("more than one condition")
        expr = cg.expr(conds[0])
        trees[log] = conds[0]
        exprs.append(expr)
        uses_info = uses_info or cg.uses_info
        fn = cg.build("rule", [expr])
    assert fn is not None
    return CompiledRule(
        key=key,
        title=rule.title,
        level=_level(rule),
        mitre=_mitre(rule),
        logs=logs,
        source=src,
        predicate=fn,
        expr=exprs[0],
        uses_info=uses_info,
        name=rule.name,
        description=rule.description or "",
        trees=trees,
        directive=_directive(rule),
    )


def _compile_correlation(
    rule: SigmaCorrelationRule,
    key: str,
    src: str,
    compiled: Mapping[str, CompiledRule],
    pipelines: Mapping[str, Any],
) -> CompiledCorrelation:
    kind = _SUPPORTED_CORRELATIONS.get(rule.type)
    if kind is None:
        raise Unsupported(f"correlation type {rule.type.name.lower()} is not supported")
    refs: list[SigmaRuleReference] = list(rule.rules or [])
    base: list[str] = []
    for ref in refs:
        target = getattr(ref, "rule", None)
        if target is None:
            raise Unsupported(f"referenced rule {ref.reference!r} was not found")
        if isinstance(target, SigmaCorrelationRule):
            raise Unsupported(f"correlation over correlation {ref.reference!r} is not supported")
        rk = rule_key(target)
        if rk not in compiled:
            raise Unsupported(f"referenced rule {ref.reference!r} was rejected")
        base.append(rk)
    ref_names = {ref.reference: rk for ref, rk in zip(refs, base, strict=True)}
    rule = copy.deepcopy(rule)
    for log in dict.fromkeys(lg for rk in base for lg in compiled[rk].logs):
        pipelines[log].apply(rule)
    aliases = {a.alias: a for a in rule.aliases}
    group_by: dict[str, tuple[str, ...]] = {}
    for rk, ref in zip(base, refs, strict=True):
        fields = []
        for g in rule.group_by or ():
            if g in aliases:
                m = {r.reference: f for r, f in aliases[g].mapping.items()}
                if ref.reference not in m:
                    raise Unsupported(f"alias {g!r} has no field for rule {ref.reference!r}")
                fields.append(m[ref.reference])
            else:
                fields.append(g)
        for f in fields:
            if not any(f in FIELDS[lg] for lg in compiled[rk].logs):
                raise Unsupported(f"group-by field {f!r} is not in the {'/'.join(compiled[rk].logs)} records")
        group_by[rk] = tuple(fields)
    spec = CorrelationSpec(
        key=key,
        type=kind,
        rules=tuple(base),
        group_by=group_by,
        group_names=tuple(rule.group_by or ()),
        timespan=float(rule.timespan.seconds),
    )
    cond = rule.condition
    if isinstance(cond, SigmaExtendedCorrelationCondition):
        if kind != "temporal":
            raise Unsupported("extended conditions are supported for temporal correlations only")
        spec.extended = _extended(cond._parsed, ref_names)
    elif isinstance(cond, SigmaCorrelationCondition):
        spec.op = cond.op.name.lower()
        spec.count = cond.count
        if kind == "value_count":
            fref = cond.fieldref
            if isinstance(fref, list):
                if len(fref) != 1:
                    raise Unsupported("value_count over several fields is not supported")
                fref = fref[0]
            assert isinstance(fref, str)
            for rk in base:
                if not any(fref in FIELDS[lg] for lg in compiled[rk].logs):
                    raise Unsupported(f"value_count field {fref!r} is not in the records")
                spec.value_field[rk] = fref
        if kind == "temporal_ordered" and (spec.op, spec.count) != ("gte", len(set(base))):
            raise Unsupported("temporal_ordered supports only the default condition (all rules, in order)")
        if kind == "temporal" and spec.op not in ("gt", "gte"):
            raise Unsupported("temporal correlations support gt/gte conditions only")
    return CompiledCorrelation(
        spec=spec,
        title=rule.title,
        level=_level(rule),
        mitre=_mitre(rule),
        source=src,
        name=rule.name,
        directive=_directive(rule),
    )


def _extended(node: Any, names: Mapping[str, str]) -> Callable[[set[str]], bool]:
    if isinstance(node, SigmaRuleReference):
        if node.reference not in names:
            raise Unsupported(f"condition names unknown rule {node.reference!r}")
        k = names[node.reference]
        return lambda seen: k in seen
    subs = [_extended(a, names) for a in node.args]
    if isinstance(node, CorrelationConditionAND):
        return lambda seen: all(s(seen) for s in subs)
    if isinstance(node, CorrelationConditionOR):
        return lambda seen: any(s(seen) for s in subs)
    if isinstance(node, CorrelationConditionNOT):
        return lambda seen: not subs[0](seen)
    raise Unsupported(f"condition element {type(node).__name__}")


def _build_matchers(rs: RuleSet, strict_fields: bool) -> None:
    """One function per log testing every rule of it, sharing the field reads."""
    by_log: dict[str, list[CompiledRule]] = {}
    for cr in rs.rules:
        for log in cr.logs:
            by_log.setdefault(log, []).append(cr)
    for log, rules in by_log.items():
        cg = Codegen(FIELDS[log] if strict_fields else None)
        exprs = [cg.expr(cr.trees[log]) for cr in rules]
        gates = [cg.gate(cr.trees[log]) for cr in rules]
        rs.matchers[log] = (cg.build(f"match_{log}", exprs, gates), rules)
        rs.uses_info[log] = cg.uses_info
