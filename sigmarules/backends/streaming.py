"""Sigma condition trees (pySigma's, after the processing pipeline) compiled into Python source, once.

Each rule becomes one boolean expression over a record ``r``. All rules of one log are compiled into
a single function that reads and lowers each field once and then tests every rule, so matching an
event costs a few inline comparisons per rule and no tree walk, no per-leaf call. Constants (strings,
sets, compiled regexes, CIDR matchers) are bound by name in the function's globals; rule text is never
pasted into the source.

Regular expressions (``re`` and the wildcard patterns that need one) run on RE2, in linear time, on
values bounded to ``regex.MAX_MATCH_CHARS`` characters (see ``regex.py``): record values come from the
network, and a backtracking engine would let one rule stall detection on one crafted DNS name.

Semantics (Sigma's): strings match case-insensitively unless ``cased``; ``*``/``?`` are wildcards (``\\``
escapes them); a list field matches when any element does; a condition on an absent field is false,
so ``not`` of it is true; ``null`` matches an absent field; ``exists`` tests presence.

Per field slot ``i`` the function defines ``v{i}`` (raw value), ``t{i}`` (text), ``l{i}`` (lowered
text) and ``n{i}`` (number) as needed. A value of a list field is tested element by element.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
)
from wardwatch.sigmarules import values as rt
from wardwatch.sigmarules.regex import REFUSED_VI, WHY_EN, Regex, RegexError, with_flags
from wardwatch.sigmarules.schema import ENRICHED, LIST_FIELDS
from wardwatch.sigmarules.shapes import COMPARE_OPS, REGEX_FLAGS, glob_regex, reference_shape, wildcard_shape

from wardwatch.errors import WardwatchError

Record = dict[str, Any]
Predicate = Callable[..., bool]


class Unsupported(WardwatchError, ValueError):
    """The rule uses something this engine does not evaluate; the message says what."""


# a field slot's names in generated source (v3, t3, l3, n3, e3), not constants (_c3) or elements (_v)
_SLOT_REF = re.compile(r"(?<![A-Za-z0-9_])[vtlne](\d+)\b")

_INLINE_CONTAINS = 6  # more alternatives than this go into one regex


def _enriched(name: str) -> Callable[[Any], Any]:
    """Reader of a computed field from the record's (orig, resp) address infos."""
    side = 0 if name.startswith("src_") else 1
    what = name[4:]

    def get(x: Any) -> Any:
        if x is None:
            return None
        info = x[side]
        if what == "zone":
            return info.zone
        if what == "segment":
            return info.segment.name if info.segment is not None else None
        return bool(info.external)

    return get


@dataclass
class _Slot:
    index: int
    name: str
    listy: bool
    needs: set[str] = field(default_factory=set)


@dataclass
class Codegen:
    """Source builder for one log: shared field slots and constants, one expression per rule."""

    known: frozenset[str] | None  # fields the log carries; None accepts any name
    slots: dict[str, _Slot] = field(default_factory=dict)
    consts: dict[str, Any] = field(default_factory=dict)
    _const_ids: dict[tuple[type, Any], str] = field(default_factory=dict)
    uses_info: bool = False

    # -- names ---------------------------------------------------------------------------------
    def const(self, value: Any) -> str:
        try:
            key: tuple[type, Any] | None = (type(value), value)
            hash(key)
        except TypeError:
            key = None
        if key is not None and key in self._const_ids:
            return self._const_ids[key]
        name = f"_c{len(self.consts)}"
        self.consts[name] = value
        if key is not None:
            self._const_ids[key] = name
        return name

    def slot(self, fname: str) -> _Slot:
        s = self.slots.get(fname)
        if s is None:
            if fname in ENRICHED:
                self.uses_info = True
            elif self.known is not None and fname not in self.known:
                raise Unsupported(
                    f"field {fname!r} is not in our records (known: {', '.join(sorted(self.known))})"
                )
            listy = fname in LIST_FIELDS or (self.known is None and fname not in ENRICHED)
            s = self.slots[fname] = _Slot(len(self.slots), fname, listy)
        return s

    # -- the function ----------------------------------------------------------------------------
    def prelude(self, only: set[int] | None = None) -> list[str]:
        lines = []
        for s in self.slots.values():
            i = s.index
            if only is not None and i not in only:
                continue
            if s.name in ENRICHED:
                lines.append(f"v{i} = {self.const(_enriched(s.name))}(x)")
            else:
                lines.append(f"v{i} = r.get({self.const(s.name)})")
            if s.listy and s.needs - {"v"}:
                lines.append(f"e{i} = _elements(v{i}) if v{i}.__class__ is list else None")
            if s.needs & {"t", "l"}:
                lines.append(f"t{i} = v{i} if v{i}.__class__ is str else _text(v{i})")
            if "l" in s.needs:
                lines.append(f"l{i} = t{i} and t{i}.lower()")
            if "n" in s.needs:
                lines.append(f"n{i} = _number(v{i})")
        return lines

    def namespace(self) -> dict[str, Any]:
        return {**self.consts, "_text": rt.text, "_number": rt.number, "_elements": rt.elements}

    def build(
        self, name: str, exprs: Sequence[str], gates: Sequence[str | None] = ()
    ) -> Callable[..., list[int]]:
        """``name(r, x) -> [indices of the expressions that hold]``.

        ``gates``, one per expression (``gate``): when every expression has one, the fields the gates
        read come first and a record that passes none of them returns at once, before the other fields
        are read, texted and lowered (most records of a log match no rule: on a flood of 300,000 conn
        records the rule pack's function did 4 field reads and 3 lowerings per record to reject it)."""
        prelude = self.prelude()
        body: list[str] = []
        if gates and len(gates) == len(exprs) and all(g is not None for g in gates):
            first = {int(i) for g in gates for i in _SLOT_REF.findall(g or "")}
            early = self.prelude(first)
            late = [ln for ln in prelude if ln not in early]
            if late:  # nothing to save when the gates read every field
                body += ["    " + ln for ln in early]
                body.append(f"    if not ({' or '.join(dict.fromkeys(g for g in gates if g))}):")
                body.append("        return []")
                prelude = late
        body += ["    " + ln for ln in prelude]
        body.append("    out = []")
        for k, e in enumerate(exprs):
            body.append(f"    if {e}:")
            body.append(f"        out.append({k})")
        body.append("    return out")
        src = f"def {name}(r, x=None):\n" + "\n".join(body) + "\n"
        ns = self.namespace()
        exec(compile(src, f"<sigma:{name}>", "exec"), ns)
        fn = ns[name]
        fn.source = src
        return fn  # type: ignore[no-any-return]

    # -- conditions ------------------------------------------------------------------------------
    def gate(self, cond: Any) -> str | None:
        """A condition that ``cond`` implies, reading as few fields as it can: one of an AND's
        operands (the first that has a gate), an OR of its operands' gates, a field test itself;
        None where there is none (NOT, a keyword), and the rule is then tested on every record."""
        if isinstance(cond, ConditionAND):
            for a in cond.args:
                g = self.gate(a)
                if g is not None:
                    return g
            return None
        if isinstance(cond, ConditionOR):
            if cond.args and all(
                isinstance(a, ConditionFieldEqualsValueExpression) and a.field is not None for a in cond.args
            ):
                return self._or(cond.args)  # the values merged, as expr() does
            gs = [self.gate(a) for a in cond.args]
            if not gs or any(g is None for g in gs):
                return None
            return gs[0] if len(gs) == 1 else "(" + " or ".join(g for g in gs if g) + ")"
        if isinstance(cond, ConditionFieldEqualsValueExpression) and cond.field is not None:
            return self.leaf(cond.field, cond.value)
        return None

    def expr(self, cond: Any) -> str:
        if isinstance(cond, ConditionAND):
            return "(" + " and ".join(self.expr(a) for a in cond.args) + ")"
        if isinstance(cond, ConditionOR):
            return self._or(cond.args)
        if isinstance(cond, ConditionNOT):
            return f"(not {self.expr(cond.args[0])})"
        if isinstance(cond, ConditionFieldEqualsValueExpression):
            return self.leaf(cond.field, cond.value)
        if isinstance(cond, ConditionValueExpression):
            return self.keyword(cond.value)
        if cond is None:
            raise Unsupported("empty condition")
        raise Unsupported(f"condition element {type(cond).__name__}")

    def _or(self, args: Sequence[Any]) -> str:
        """OR with the values of one field merged: plain strings into one set lookup, suffixes into
        one ``endswith(tuple)``, networks into one CIDR matcher, and so on."""
        groups: dict[str, list[Any]] = {}
        rest: list[str] = []
        order: list[str | tuple[str]] = []
        for a in args:
            if isinstance(a, ConditionFieldEqualsValueExpression) and a.field is not None:
                vals = a.value.values if isinstance(a.value, SigmaExpansion) else [a.value]
                if a.field not in groups:
                    groups[a.field] = []
                    order.append((a.field,))
                groups[a.field].extend(vals)
            else:
                order.append(self.expr(a))
        for item in order:
            if isinstance(item, tuple):
                rest.append(self.values_any(item[0], groups[item[0]]))
            else:
                rest.append(item)
        return rest[0] if len(rest) == 1 else "(" + " or ".join(rest) + ")"

    # -- leaves ----------------------------------------------------------------------------------
    def leaf(self, fname: str | None, value: Any) -> str:
        if fname is None:
            return self.keyword(value)
        if isinstance(value, SigmaExpansion):
            return self.values_any(fname, value.values)
        return self.values_any(fname, [value])

    def _names(self, s: _Slot, elem: bool) -> tuple[str, str, str, str]:
        if elem:
            return "_v", "_t", "_l", "_n"
        i = s.index
        return f"v{i}", f"t{i}", f"l{i}", f"n{i}"

    def values_any(self, fname: str, vals: Sequence[Any]) -> str:
        """Any of ``vals`` matches field ``fname``."""
        s = self.slot(fname)
        flat: list[Any] = []
        for v in vals:
            flat.extend(v.values if isinstance(v, SigmaExpansion) else [v])
        whole = [v for v in flat if isinstance(v, (SigmaNull, SigmaExists))]
        per = [v for v in flat if not isinstance(v, (SigmaNull, SigmaExists))]
        parts = [self._whole(s, v) for v in whole]
        if per:
            if s.listy:
                s.needs.add("e")
                inner = self._per_value(s, per, elem=True)
                parts.append(f"(e{s.index} is not None and any({inner} for _v, _t, _l, _n in e{s.index}))")
                # a plain (non-list) value in a list-capable field is tested directly too
                parts.append(f"(e{s.index} is None and {self._per_value(s, per, elem=False)})")
            else:
                parts.append(self._per_value(s, per, elem=False))
        return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"

    def _whole(self, s: _Slot, v: Any) -> str:
        i = s.index
        if isinstance(v, SigmaNull):
            return f"(v{i} is None or v{i} == [])" if s.listy else f"(v{i} is None)"
        return f"(v{i} is not None)" if v.exists else f"(v{i} is None)"

    def _per_value(self, s: _Slot, vals: Sequence[Any], elem: bool) -> str:
        v, t, low, n = self._names(s, elem)
        need = s.needs
        eq_ci: list[str] = []
        ends_ci: list[str] = []
        starts_ci: list[str] = []
        contains_ci: list[str] = []
        regex_ci: list[str] = []
        nets: list[rt.Net] = []
        nums: list[int | float] = []
        other: list[str] = []
        for val in vals:
            if isinstance(val, SigmaCasedString):
                need.add("t")
                other.append(self._string(val, t, cased=True))
            elif isinstance(val, SigmaString):
                if val.contains_placeholder():
                    raise Unsupported(f"placeholder in value {val} (expand modifier without a pipeline)")
                kind, lit = wildcard_shape(val)
                if kind == "eq":
                    eq_ci.append(lit.lower())
                elif kind == "ends":
                    ends_ci.append(lit.lower())
                elif kind == "starts":
                    starts_ci.append(lit.lower())
                elif kind == "contains":
                    contains_ci.append(lit.lower())
                elif kind == "any":
                    need.add("t")
                    other.append(f"({t} is not None)")
                else:
                    regex_ci.append(glob_regex(val, True, Unsupported))
            elif isinstance(val, SigmaBool):
                need.update("tl")
                other.append(
                    f"({v} is {val.boolean} or {low} == {self.const('true' if val.boolean else 'false')})"
                )
            elif isinstance(val, SigmaNumber):
                if type(val).__name__ != "SigmaNumber":
                    raise Unsupported(f"value type {type(val).__name__} (timestamp part modifiers)")
                nums.append(val.number)
            elif isinstance(val, SigmaRegularExpression):
                need.add("t")
                other.append(f"{self.const(sigma_regex(val))}({t})")
            elif isinstance(val, SigmaCIDRExpression):
                net = val.network
                bits = 32 if net.version == 4 else 128
                nets.append((bits, int(net.network_address), int(net.netmask)))
            elif isinstance(val, SigmaCompareExpression):
                need.add("n")
                op = COMPARE_OPS[val.op]
                other.append(f"({n} is not None and {n} {op} {self.const(val.number.number)})")
            elif isinstance(val, SigmaFieldReference):
                other.append(self._fieldref(s, val, elem))
            else:
                raise Unsupported(f"value type {type(val).__name__}")
        out: list[str] = []
        if eq_ci:
            need.add("l")
            if len(eq_ci) == 1:
                out.append(f"{low} == {self.const(eq_ci[0])}")
            else:
                out.append(f"{low} in {self.const(frozenset(eq_ci))}")
        if ends_ci or starts_ci or contains_ci:
            need.add("l")
        if ends_ci:
            arg = self.const(ends_ci[0] if len(ends_ci) == 1 else tuple(ends_ci))
            out.append(f"({low} is not None and {low}.endswith({arg}))")
        if starts_ci:
            arg = self.const(starts_ci[0] if len(starts_ci) == 1 else tuple(starts_ci))
            out.append(f"({low} is not None and {low}.startswith({arg}))")
        if contains_ci:
            if len(contains_ci) <= _INLINE_CONTAINS:
                tests = " or ".join(f"{self.const(c)} in {low}" for c in contains_ci)
                out.append(f"({low} is not None and ({tests}))")
            else:
                rx = Regex("|".join(re.escape(c) for c in sorted(set(contains_ci), key=len)))
                out.append(f"{self.const(rx)}({low})")
        if regex_ci:
            need.add("l")
            rx = Regex("(?s)" + "|".join(f"(?:{p})" for p in regex_ci), full=True)
            out.append(f"{self.const(rx)}({low})")
        if nums:
            need.add("n")
            if len(nums) == 1:
                out.append(f"({n} is not None and {n} == {self.const(nums[0])})")
            else:
                out.append(f"({n} in {self.const(frozenset(nums))})")
        if nets:
            need.add("t")
            out.append(f"{self.const(rt.cidr_matcher(nets))}({t})")
        out += other
        if not out:
            raise Unsupported("detection item without values")
        return out[0] if len(out) == 1 else "(" + " or ".join(out) + ")"

    def _string(self, val: SigmaString, t: str, cased: bool) -> str:
        kind, lit = wildcard_shape(val)
        c = self.const(lit)
        if kind == "eq":
            return f"{t} == {c}"
        if kind == "ends":
            return f"({t} is not None and {t}.endswith({c}))"
        if kind == "starts":
            return f"({t} is not None and {t}.startswith({c}))"
        if kind == "contains":
            return f"({t} is not None and {c} in {t})"
        if kind == "any":
            return f"({t} is not None)"
        rx = Regex("(?s)" + glob_regex(val, False, Unsupported), full=True)
        return f"{self.const(rx)}({t})"

    def _fieldref(self, s: _Slot, val: SigmaFieldReference, elem: bool) -> str:
        other = self.slot(val.field)
        if other.listy:
            raise Unsupported(f"field reference to list field {val.field!r}")
        other.needs.add("l")
        s.needs.add("l")
        low = self._names(s, elem)[2]
        ol = f"l{other.index}"
        test = {
            "contains": f"{ol} in {low}",
            "starts": f"{low}.startswith({ol})",
            "ends": f"{low}.endswith({ol})",
            "eq": f"{low} == {ol}",
        }[reference_shape(val)]
        return f"({low} is not None and {ol} is not None and {test})"

    def keyword(self, value: Any) -> str:
        """A fieldless value, matched (contains, as full-text search does) against every field."""
        pred = _keyword_pred(value)
        return f"{self.const(rt.keyword_matcher(pred))}(r)"


def _keyword_pred(value: Any) -> Callable[[str], bool]:
    if isinstance(value, SigmaExpansion):
        preds = [_keyword_pred(v) for v in value.values]
        return lambda t: any(p(t) for p in preds)
    if isinstance(value, SigmaNumber):
        s = str(value.number)
        return lambda t: s in t
    if isinstance(value, SigmaRegularExpression):
        return sigma_regex(value)
    if isinstance(value, SigmaString):
        if value.contains_placeholder():
            raise Unsupported(f"placeholder in keyword {value}")
        cased = isinstance(value, SigmaCasedString)
        return Regex(with_flags(glob_regex(value, False, Unsupported), "s" if cased else "is"))
    raise Unsupported(f"keyword value type {type(value).__name__}")


def sigma_regex(val: SigmaRegularExpression) -> Regex:
    """A Sigma ``re`` value (with its ``i``/``m``/``s`` flags) as an RE2 matcher; a pattern RE2 cannot
    compile rejects the rule with RE2's reason."""
    pattern = val.regexp.to_plain(regex=True)
    try:
        return Regex(with_flags(pattern, "".join(REGEX_FLAGS[f] for f in val.flags)))
    except RegexError as e:
        raise Unsupported(
            f"{REFUSED_VI} · regular expression {pattern!r} is invalid: {e} ({WHY_EN})"
        ) from None
