"""Sigma rules as ClickHouse SQL over the store, for retro-hunting: a pySigma backend of ours.

Rules are loaded, mapped and checked exactly as the streaming engine does (``sigmarules/ruleset.py``:
the same loader, log sources, field map and rejections), then each rule's mapped condition tree is
converted by ``SigmaSqlBackend``, a pySigma ``TextQueryBackend`` whose leaves emit ClickHouse
expressions over the store's columns. Every value is a query parameter (``{p3:String}``): no rule
text is ever spliced into SQL, so a value such as ``x' OR 1=1 --`` is just a string to compare.

Semantics follow the streaming engine (``sigmarules/backends/streaming.py``):

- strings match case-insensitively (``lowerUTF8`` on both sides) unless ``cased``; ``*``/``?``
  wildcards become ``startsWith``/``endsWith``/``position`` or an anchored ``match`` (RE2);
  ``re`` is an unanchored ``match`` with its ``i``/``m``/``s`` flags; ``cidr`` is a range test on
  the ``IPv6`` column (IPv4 networks as their ``::ffff:`` mapped range, as the store keeps them);
  ``lt``/``gt``… compare numbers; ``fieldref`` compares two columns;
- a list field (``answers``, ``TTLs``) matches when any element does (``arrayExists``);
- a condition on an unset field is false, and ``not`` of it is true: leaves over ``Nullable``
  columns are wrapped in ``ifNull(…, false)`` so SQL's three-valued NOT cannot drop such rows;
  ``null``/``exists`` read ``IS NULL`` on ``Nullable`` columns and emptiness on strings and arrays
  (the writer stores an unset string as ``''`` and an unset list as ``[]``);
- addresses read as the sensor wrote them (``10.0.0.1``, not the stored ``::ffff:10.0.0.1``);
- the detectors' computed fields: ``src_segment``/``src_zone``/``src_external`` read the stored
  ``segment`` column (the originator's segment, computed before any pseudonymisation; unset outside
  every segment, as in streaming) with the config's zones; ``dst_*`` do the same longest-prefix
  lookup in SQL on ``id_resp_h`` over the configured networks and private ranges;
- rejected with the reason: keyword (field-less) values, timestamp-part modifiers, placeholders,
  field references to list fields.

Correlations: ``event_count`` and ``value_count`` with a rising condition (``gt``/``gte``) become one
query per correlation: the base rules' matches, a sliding window per group (``RANGE BETWEEN
timespan PRECEDING AND CURRENT ROW``), and the groups whose window ever reaches the threshold (one
retro alert per group, with the largest window count). Falling conditions and temporal correlations
are skipped with a reason: they need the stream's state (windows judged at their end, ordered rule
sequences), which a set-based query does not reproduce cheaply.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
)
from sigma.conversion.base import TextQueryBackend
from sigma.conversion.state import ConversionState
from sigma.types import (
    SigmaBool,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
)
from wardwatch.sigmarules.schema import ENRICHED
from wardwatch.sigmarules.shapes import COMPARE_OPS, REGEX_FLAGS, glob_regex, reference_shape, wildcard_shape

from wardwatch.config import Segment
from wardwatch.errors import WardwatchError
from wardwatch.segments import INTERNET, LOCAL, LOCAL_NETS

_ADDR_TEXT = "if(startsWith({c}, '::ffff:') AND position({c}, '.') > 0, substring({c}, 8), {c})"


class Untranslatable(WardwatchError, ValueError):
    """The rule uses something the SQL translation does not do; the message says what."""


class TableLike(Protocol):
    """What the backend reads of a store table (``wardwatch.store.schema.Table``): sigmarules sits
    below the store, so the store hands its tables in."""

    @property
    def name(self) -> str: ...

    def column(self, name: str) -> Any: ...


@dataclass(frozen=True)
class SqlColumn:
    """How one record field reads in SQL: the value expression, its text, whether it is a list or
    Nullable, and its base ClickHouse type."""

    expr: str
    base: str
    nullable: bool = False
    listy: bool = False

    @property
    def numeric(self) -> bool:
        return self.base.startswith(("UInt", "Int", "Float", "DateTime"))

    def text(self, x: str | None = None) -> str:
        """The value as the streaming engine reads it as text (``values.text``)."""
        v = x if x is not None else self.expr
        b = self.base
        if b == "IPv6":
            return _ADDR_TEXT.format(c=f"toString({v})")
        if b == "String":
            return v
        return f"toString({v})"  # ints, Bool ('true'/'false'), integral floats print as ints

    def number(self, x: str | None = None) -> str:
        v = x if x is not None else self.expr
        if self.numeric or self.base == "Bool":
            return f"toFloat64({v})" if self.base != "Bool" else f"toFloat64(toUInt8({v}))"
        return f"toFloat64OrNull({self.text(x)})"


def base_type(t: str) -> tuple[str, bool, bool]:
    nullable = t.startswith("Nullable(")
    if nullable:
        t = t[9:-1]
    listy = t.startswith("Array(")
    if listy:
        t = t[6:-1]
    if t.startswith("LowCardinality("):
        t = t[15:-1]
    if t.startswith("Nullable("):
        t = t[9:-1]
    if t.startswith("DateTime64"):
        t = "DateTime64"
    return t, nullable, listy


class SigmaSqlBackend(TextQueryBackend):
    """pySigma backend: a mapped Sigma condition → a ClickHouse boolean expression over one store
    table, with its values collected as query parameters (``params``)."""

    name: ClassVar[str] = "wardwatch ClickHouse store"
    formats: ClassVar[dict[str, str]] = {"default": "ClickHouse WHERE expression"}
    requires_pipeline: ClassVar[bool] = False
    precedence: ClassVar[tuple[type[ConditionItem], type[ConditionItem], type[ConditionItem]]] = (
        ConditionNOT,
        ConditionAND,
        ConditionOR,
    )
    group_expression: ClassVar[str] = "({expr})"
    token_separator: str = " "
    or_token: ClassVar[str] = "OR"
    and_token: ClassVar[str] = "AND"
    not_token: ClassVar[str] = "NOT"
    eq_token: ClassVar[str] = " = "
    # never used for values: every leaf below emits its own expression with parameters
    str_quote: ClassVar[str] = "'"
    escape_char: ClassVar[str] = "\\"

    def __init__(self, table: TableLike, segments: Sequence[Segment] = ()) -> None:
        super().__init__()
        self.table = table
        self.segments = tuple(segments)
        self.params: dict[str, Any] = {}
        self.types: dict[str, str] = {}
        self._cols: dict[str, SqlColumn] = {}

    # -- parameters and columns ------------------------------------------------------------------
    def param(self, value: Any, type_: str) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        self.types[name] = type_
        return f"{{{name}:{type_}}}"

    def column(self, fname: str) -> SqlColumn:
        hit = self._cols.get(fname)
        if hit is None:
            hit = self._cols[fname] = self._column(fname)
        return hit

    def _column(self, fname: str) -> SqlColumn:
        if fname in ENRICHED:
            return self._enriched(fname)
        name = fname.replace(".", "_")
        try:
            c = self.table.column(name)
        except KeyError:
            raise Untranslatable(f"field {fname!r} is not a column of the {self.table.name} table") from None
        if c.kind in ("meta", "conn_version", "json", "map") or c.default is not None:
            raise Untranslatable(f"field {fname!r} is not a record field")
        base, nullable, listy = base_type(c.type)
        return SqlColumn(f"`{c.name}`", base, nullable, listy)

    def _enriched(self, fname: str) -> SqlColumn:
        """The detectors' computed address fields (``wardwatch/segments.py``). The originator's side
        reads the stored ``segment`` (computed before any pseudonymisation); the responder's side is
        the same longest-prefix lookup done in SQL over the configured networks."""
        what = fname[4:]
        names = sorted(s.name for s in self.segments)
        if fname.startswith("src_"):
            seg = "segment"
            in_seg = f"(segment IN {self.param(names, 'Array(String)')})" if names else "false"
            outside = f"if(segment = {self.param(INTERNET, 'String')}, {self.param(INTERNET, 'String')}, {self.param(LOCAL, 'String')})"
        else:
            nets = sorted(
                ((net, s.name) for s in self.segments for net in s.cidrs), key=lambda t: -t[0].prefixlen
            )
            if nets:
                arms = ", ".join(
                    f"{self._in_net('id_resp_h', n)}, {self.param(name, 'String')}" for n, name in nets
                )
                seg = f"multiIf({arms}, '')"
            else:
                seg = "''"
            in_seg = f"({seg} != '')"
            local = " OR ".join(self._in_net("id_resp_h", n) for n in LOCAL_NETS)
            outside = f"if({local}, {self.param(LOCAL, 'String')}, {self.param(INTERNET, 'String')})"
        if what == "segment":
            return SqlColumn(f"if({in_seg}, {seg}, NULL)", "String", nullable=True)
        if what == "zone" and not names:
            return SqlColumn(outside, "String")
        if what == "zone":
            zones = self.param(
                [next(s.zone or LOCAL for s in self.segments if s.name == n) for n in names], "Array(String)"
            )
            return SqlColumn(
                f"if({in_seg}, transform({seg}, {self.param(names, 'Array(String)')}, {zones}, ''), {outside})",
                "String",
            )
        # external: outside every segment and every private range
        return SqlColumn(f"(NOT {in_seg} AND {outside} = {self.param(INTERNET, 'String')})", "Bool")

    def _in_net(self, column: str, net: Any) -> str:
        lo, hi = _ipv6_range(net)
        return f"(`{column}` BETWEEN {self.param(lo, 'IPv6')} AND {self.param(hi, 'IPv6')})"

    # -- leaves ------------------------------------------------------------------------------------
    def _leaf(self, fname: str, build: Any) -> str:
        """``build(col, x)`` gives the test of one value expression ``x``; lists test any element."""
        col = self.column(fname)
        if col.listy:
            return f"arrayExists(_x -> {build(col, '_x')}, {col.expr})"
        out = build(col, col.expr)
        return f"ifNull({out}, false)" if col.nullable else f"({out})"

    def _string_test(self, s: SigmaString, cased: bool) -> Any:
        if s.contains_placeholder():
            raise Untranslatable(f"placeholder in value {s}")
        kind, lit = wildcard_shape(s)

        def build(col: SqlColumn, x: str) -> str:
            t = col.text(x)
            if not cased:
                t = f"lowerUTF8({t})"
            if kind == "any":
                return self._present(col, x)
            if kind == "glob":
                return f"match({t}, {self.param(_glob_re(s, lower=not cased), 'String')})"
            p = self.param(lit if cased else lit.lower(), "String")
            if kind == "eq":
                return f"{t} = {p}"
            if kind == "starts":
                return f"startsWith({t}, {p})"
            if kind == "ends":
                return f"endsWith({t}, {p})"
            return f"position({t}, {p}) > 0"

        return build

    def _present(self, col: SqlColumn, x: str) -> str:
        if col.nullable and x == col.expr:
            return f"{x} IS NOT NULL"
        if col.base == "String":
            return f"{x} != ''"
        return "true"

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaString)
        return self._leaf(cond.field, self._string_test(cond.value, cased=False))

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaString)
        return self._leaf(cond.field, self._string_test(cond.value, cased=True))

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaNumber)
        if type(cond.value).__name__ != "SigmaNumber":
            raise Untranslatable("timestamp part modifiers are not supported")
        p = self.param(float(cond.value.number), "Float64")
        return self._leaf(cond.field, lambda col, x: f"{col.number(x)} = {p}")

    def convert_condition_field_eq_val_timestamp_part(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        raise Untranslatable("timestamp part modifiers are not supported")

    def convert_condition_field_eq_val_bool(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaBool)
        b = cond.value.boolean

        def build(col: SqlColumn, x: str) -> str:
            if col.base == "Bool":
                return f"{x} = {'true' if b else 'false'}"
            return f"lowerUTF8({col.text(x)}) = {self.param('true' if b else 'false', 'String')}"

        return self._leaf(cond.field, build)

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaRegularExpression)
        rx = cond.value.regexp.to_plain(regex=True)
        flags = "".join(sorted({REGEX_FLAGS[f] for f in cond.value.flags}))
        p = self.param(f"(?{flags}){rx}" if flags else rx, "String")
        return self._leaf(cond.field, lambda col, x: f"match({col.text(x)}, {p})")

    def convert_condition_field_eq_val_cidr(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaCIDRExpression)
        lo, hi = _ipv6_range(cond.value.network)
        a, b = self.param(lo, "IPv6"), self.param(hi, "IPv6")

        def build(col: SqlColumn, x: str) -> str:
            v = x if col.base == "IPv6" else f"toIPv6OrNull({col.text(x)})"
            return f"ifNull({v} BETWEEN {a} AND {b}, false)"

        return self._leaf(cond.field, build)

    def convert_condition_field_compare_op_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaCompareExpression)
        op = COMPARE_OPS[cond.value.op]
        p = self.param(float(cond.value.number.number), "Float64")
        return self._leaf(cond.field, lambda col, x: f"{col.number(x)} {op} {p}")

    def convert_condition_field_eq_field(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        ref = cond.value
        assert isinstance(ref, SigmaFieldReference)
        other = self.column(ref.field)
        if other.listy:
            raise Untranslatable(f"field reference to list field {ref.field!r}")
        o = f"lowerUTF8({other.text()})"

        def build(col: SqlColumn, x: str) -> str:
            t = f"lowerUTF8({col.text(x)})"
            test = {
                "contains": f"position({t}, {o}) > 0",
                "starts": f"startsWith({t}, {o})",
                "ends": f"endsWith({t}, {o})",
                "eq": f"{t} = {o}",
            }[reference_shape(ref)]
            # an unset field on either side never matches (as in streaming)
            return f"({self._present(col, x)} AND {self._present(other, other.expr)} AND {test})"

        out = self._leaf(cond.field, build)
        return f"ifNull({out}, false)" if other.nullable else out

    def convert_condition_field_eq_val_null(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        return f"NOT ({self._exists(cond.field)})"

    def convert_condition_field_exists(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        return self._exists(cond.field)

    def convert_condition_field_not_exists(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        return f"NOT ({self._exists(cond.field)})"

    def _exists(self, fname: str) -> str:
        col = self.column(fname)
        if col.listy:
            return f"notEmpty({col.expr})"
        return f"({self._present(col, col.expr)})"

    def convert_condition_field_eq_query_expr(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        raise Untranslatable("query expressions are not supported")

    def convert_condition_val_str(self, cond: Any, state: ConversionState) -> str:
        raise Untranslatable("keyword (field-less) values are not supported in SQL hunts")

    def convert_condition_val_num(self, cond: Any, state: ConversionState) -> str:
        raise Untranslatable("keyword (field-less) values are not supported in SQL hunts")

    def convert_condition_val_re(self, cond: Any, state: ConversionState) -> str:
        raise Untranslatable("keyword (field-less) values are not supported in SQL hunts")

    def convert_condition_query_expr(self, cond: Any, state: ConversionState) -> str:
        raise Untranslatable("query expressions are not supported")

    def convert_condition_field_eq_expansion(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaExpansion)
        parts = [
            str(self.convert_condition(ConditionFieldEqualsValueExpression(cond.field, v), state))
            for v in cond.value.values
        ]
        return "(" + " OR ".join(parts) + ")"

    def decide_convert_condition_as_in_expression(self, cond: Any, state: ConversionState) -> bool:
        return False  # every leaf is built by the methods above

    # -- whole conditions ------------------------------------------------------------------------
    def where(self, tree: Any) -> tuple[str, dict[str, Any]]:
        """``tree`` (a mapped condition) → (SQL boolean expression, its parameters)."""
        self.params, self.types = {}, {}
        sql = self.convert_condition(tree, ConversionState(processing_state={}))
        if not isinstance(sql, str):
            raise Untranslatable("the condition has parts this backend defers")
        return sql, dict(self.params)


def _ipv6_range(net: Any) -> tuple[str, str]:
    """First and last address of a network as the store holds them (IPv4 as mapped IPv6)."""
    if net.version == 4:
        lo = ipaddress.IPv6Address((0xFFFF << 32) | int(net.network_address))
        hi = ipaddress.IPv6Address((0xFFFF << 32) | int(net.broadcast_address))
    else:
        lo, hi = net.network_address, net.broadcast_address
    return str(lo), str(hi)


def _glob_re(val: SigmaString, lower: bool) -> str:
    """An anchored RE2 pattern for a wildcard string (``.`` also matches newlines, as in streaming)."""
    return "(?s)^" + glob_regex(val, lower, Untranslatable) + "$"


# -- rules → queries ------------------------------------------------------------------------------
@dataclass
class SqlRule:
    key: str
    title: str
    level: str
    mitre: tuple[str, ...]
    table: str
    where: str
    params: dict[str, Any]
    alert: bool = True


@dataclass
class SqlCorrelation:
    key: str
    title: str
    level: str
    mitre: tuple[str, ...]
    sql: str  # one row per group that crossed: the group fields, n, first, last, uid, src, dst
    params: dict[str, Any]
    group_names: tuple[str, ...]


@dataclass
class SqlPlan:
    rules: list[SqlRule] = field(default_factory=list)
    correlations: list[SqlCorrelation] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (rule key, reason)


def translate(ruleset: Any, tables: Mapping[str, TableLike], segments: Sequence[Segment] = ()) -> SqlPlan:
    """A loaded ``wardwatch.sigmarules.RuleSet`` → SQL per rule (and per correlation) over ``tables``
    (the store's, by the log they hold); what cannot be translated is listed with the reason (the
    streaming loader's own rejections are not repeated)."""
    plan = SqlPlan()
    by_name = {t.name: t for t in tables.values()}
    by_key: dict[str, list[SqlRule]] = {}
    for cr in ruleset.rules:
        try:
            parts = []
            for log in cr.logs:
                table = tables.get(log)
                if table is None:
                    raise Untranslatable(f"log {log!r} is not stored")
                where, params = SigmaSqlBackend(table, segments).where(cr.trees[log])
                parts.append(
                    SqlRule(cr.key, cr.title, cr.level, cr.mitre, table.name, where, params, cr.alert)
                )
        except (Untranslatable, NotImplementedError) as e:
            plan.rejected.append((cr.key, str(e)))
            continue
        by_key[cr.key] = parts
        plan.rules += parts
    for cc in ruleset.correlations:
        try:
            plan.correlations.append(_correlation(cc, by_key, by_name))
        except Untranslatable as e:
            plan.rejected.append((cc.key, str(e)))
    return plan


def _correlation(
    cc: Any, by_key: Mapping[str, list[SqlRule]], by_name: Mapping[str, TableLike]
) -> SqlCorrelation:
    spec = cc.spec
    if spec.type not in ("event_count", "value_count"):
        raise Untranslatable(f"{spec.type} correlations are not translated (they need the stream's order)")
    if spec.op not in ("gt", "gte"):
        raise Untranslatable(f"{spec.op} conditions are judged at a window's end; not translated")
    params: dict[str, Any] = {}
    selects = []
    for i, rk in enumerate(spec.rules):
        if rk not in by_key:
            raise Untranslatable(f"base rule {rk!r} was not translated")
        for j, r in enumerate(by_key[rk]):
            table = by_name[r.table]
            pre = f"r{i}_{j}_"
            where = r.where
            for name in sorted(r.params, key=len, reverse=True):
                where = where.replace(f"{{{name}:", f"{{{pre}{name}:")
                params[pre + name] = r.params[name]
            be = SigmaSqlBackend(table)
            gcols = [be.column(f).text() for f in spec.group_by.get(rk, ())]
            gexpr = ", ".join(f"{g} AS g{k}" for k, g in enumerate(gcols))
            val = ""
            if spec.type == "value_count":
                val = f", {be.column(spec.value_field[rk]).text()} AS v"
            selects.append(
                f"SELECT toUnixTimestamp64Micro(ts) AS t, uid, toString(id_orig_h) AS src, toString(id_resp_h) AS dst"
                f"{', ' + gexpr if gexpr else ''}{val} FROM `{r.table}`"
                " WHERE ts >= {__lo:DateTime64(6, 'UTC')} AND ts < {__hi:DateTime64(6, 'UTC')}"
                f" AND ({where})"
            )
    ng = len(spec.group_names)
    groups = ", ".join(f"g{k}" for k in range(ng))
    part = f"PARTITION BY {groups} " if ng else ""
    frame = f"{part}ORDER BY t RANGE BETWEEN {int(spec.timespan * 1_000_000)} PRECEDING AND CURRENT ROW"
    agg = "uniqExact(v)" if spec.type == "value_count" else "count()"
    op = ">" if spec.op == "gt" else ">="
    params["__count"] = float(spec.count)
    sql = (
        f"SELECT {groups + ', ' if ng else ''}max(wn) AS n, min(t) AS first, max(t) AS last,"
        " argMin(uid, t) AS uid, argMin(src, t) AS src, argMin(dst, t) AS dst FROM ("
        f"SELECT *, {agg} OVER ({frame}) AS wn FROM ({' UNION ALL '.join(selects)})"
        f") WHERE wn {op} {{__count:Float64}} {'GROUP BY ' + groups if ng else ''} ORDER BY first"
    )
    return SqlCorrelation(cc.key, cc.title, cc.level, cc.mitre, sql, params, tuple(spec.group_names))

