"""How a Sigma value compares, shared by both backends so that streaming and SQL agree: a wildcard
string's shape (eq, starts, ends, contains, any or glob), a field reference's, and the regular expression
of a glob (RE2 syntax, which both Python's ``re2`` and ClickHouse's ``match`` take)."""

from __future__ import annotations

import re

from sigma.types import (
    CompareOperators,
    SigmaFieldReference,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

# Sigma's comparison operators and regex flags, as both backends write them (Python and SQL agree on both)
COMPARE_OPS = {
    CompareOperators.LT: "<",
    CompareOperators.LTE: "<=",
    CompareOperators.GT: ">",
    CompareOperators.GTE: ">=",
    CompareOperators.NEQ: "!=",
}
REGEX_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}


def reference_shape(ref: SigmaFieldReference) -> str:
    """How a field reference compares (``fieldref|startswith`` …): contains, starts, ends or eq."""
    if ref.starts_with and ref.ends_with:
        return "contains"
    if ref.starts_with:
        return "starts"
    return "ends" if ref.ends_with else "eq"


def wildcard_shape(val: SigmaString) -> tuple[str, str]:
    """Classify a wildcard string: eq, starts, ends, contains (with its literal), any, or glob."""
    parts = val.s
    star = SpecialChars.WILDCARD_MULTI
    if any(p is SpecialChars.WILDCARD_SINGLE for p in parts):
        return "glob", ""
    lits = [p for p in parts if isinstance(p, str)]
    stars = [p for p in parts if p is star]
    if not stars:
        return "eq", "".join(lits)
    if not lits:
        return "any", ""
    if len(lits) > 1:
        return "glob", ""
    first, last = parts[0] is star, parts[-1] is star
    if len(parts) == 2:
        return ("ends" if first else "starts"), lits[0]
    if len(parts) == 3 and first and last:
        return "contains", lits[0]
    return "glob", ""


def glob_regex(val: SigmaString, lower: bool, error: type[Exception]) -> str:
    """The unanchored pattern of a wildcard string (``*`` → ``.*``, ``?`` → ``.``); ``error`` is the
    backend's own "cannot do this" exception, raised for a placeholder left in the value."""
    out = []
    for p in val.s:
        if isinstance(p, str):
            out.append(re.escape(p.lower() if lower else p))
        elif p is SpecialChars.WILDCARD_MULTI:
            out.append(".*")
        elif p is SpecialChars.WILDCARD_SINGLE:
            out.append(".")
        else:
            raise error(f"placeholder in value {val}")
    return "".join(out)
