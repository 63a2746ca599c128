"""What Grafana and its ClickHouse plugin do to a panel's SQL before ClickHouse sees it, ported so
that the tests and the benchmark run each panel's SQL exactly as a hospital's Grafana would.

Three passes, in the plugin's order:

1. ``$__conditionalAll(condition, $var)``: the condition, or ``1=1`` when the variable is All or
   empty. Ported from the plugin's front end, grafana/clickhouse-datasource
   ``src/data/CHDatasource.ts`` (``applyConditionalAll``, ``getMacroArgs``), v4.20.0, commit
   1d04063a31fb30f9582cd0b3aeaacb7d350b0dcf.
2. Template variables (Grafana's ``templateSrv.replace`` with the plugin's ``format``): ``$var``,
   ``${var}``, ``${var:fmt}``; a multi-value becomes ``'a','b'`` (``CHDatasource.ts`` ``format``),
   ``:singlequote`` and ``:sqlstring`` quote each value, ``:csv`` and ``:raw`` do not.
3. The back end's macros, grafana/clickhouse-datasource ``pkg/macros/macros.go`` (same commit;
   ``ClickHouseMacros`` over grafana/macropro's defaults): ``$__timeFilter``, ``$__timeFilter_ms``,
   ``$__dateFilter``, ``$__dateTimeFilter``/``$__dt``, ``$__timeFrom``, ``$__timeTo``,
   ``$__fromTime``, ``$__toTime`` (and ``_ms``), ``$__timeInterval``, ``$__timeInterval_ms``,
   ``$__interval_s``, ``$__timeGroup``. Arguments are split on top-level commas as the SDK's
   ``getMacroMatches`` does (brackets balanced); a macro inside another's arguments expands first
   (the plugin's ``TestInterpolateNestedMacros``). Unknown macros are left as they are, as there.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from wardwatch.errors import WardwatchError

ALL = "$__all"


@dataclass(frozen=True)
class Query:
    """What a panel's query is run with: Grafana's time range and interval, and the variables."""

    start: datetime
    end: datetime
    interval_s: float = 60.0  # Grafana's $__interval for the panel (from its width and the range)
    variables: Mapping[str, str | Sequence[str]] = field(default_factory=dict)


class MacroError(WardwatchError, ValueError):
    """A macro with the wrong number of arguments (the plugin returns the same error)."""


# -- 1. $__conditionalAll -------------------------------------------------------------------------
def _macro_args(text: str, open_index: int) -> list[str] | None:
    """The arguments of the call whose ``(`` is at ``open_index``, split on top-level commas
    (``getMacroArgs``); None when the brackets never close."""
    depth = 0
    args: list[str] = []
    last = open_index + 1
    for m in re.finditer(r"[(),]", text[open_index:]):
        ch = m.group(0)
        pos = open_index + m.start()
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 1:
            args.append(text[last:pos])
            last = pos + 1
        if depth == 0:
            args.append(text[last:pos])
            return args
    return None


def conditional_all(sql: str, variables: Mapping[str, str | Sequence[str]]) -> str:
    macro = "$__conditionalAll("
    index = sql.rfind(macro)
    while index != -1:
        args = _macro_args(sql, index + len(macro) - 1)
        if args is None or len(args) != 2:
            return sql
        phrase = args[0]
        m = re.search(r"(?<=\$\{)\w+(?=\})|(?<=\$)\w+", args[1].strip())
        if m:
            value = variables.get(m.group(0))
            text = (
                ",".join(value) if isinstance(value, (list, tuple)) else ("" if value is None else str(value))
            )
            if text in ("", ALL):
                phrase = "1=1"
        sql = sql.replace(f"{macro}{args[0]},{args[1]})", phrase)
        index = sql.rfind(macro)
    return sql


# -- 2. template variables ----------------------------------------------------------------------
_VARIABLE = re.compile(r"\$(?:\{(\w+)(?::(\w+))?\}|(\w+))")


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _format(value: str | Sequence[str], fmt: str | None) -> str:
    values = [value] if isinstance(value, str) else list(value)
    if fmt in ("singlequote", "sqlstring"):
        return ",".join(_quote(v) for v in values)
    if fmt in ("csv", "raw", "text"):
        return ",".join(values)
    if fmt == "doublequote":
        return ",".join('"' + v.replace('"', '\\"') + '"' for v in values)
    if isinstance(value, str):
        return value  # the plugin's format(): a single value goes in as it is
    return "'" + "','".join(values) + "'"


def variables_used(text: str) -> set[str]:
    """The template variables a text refers to (Grafana's own ``$__…`` excluded)."""
    out = set()
    for m in _VARIABLE.finditer(text):
        name = m.group(1) or m.group(3)
        if not name.startswith("__"):
            out.add(name)
    return out


def replace_variables(sql: str, variables: Mapping[str, str | Sequence[str]]) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(3)
        if name.startswith("__") or name not in variables:
            return m.group(0)
        return _format(variables[name], m.group(2))

    return _VARIABLE.sub(sub, sql)


# -- 3. the back end's macros -----------------------------------------------------------------
def _date(t: datetime) -> str:
    return f"toDate('{t.strftime('%Y-%m-%d')}')"


def _datetime(t: datetime) -> str:
    return f"toDateTime({int(t.timestamp())})"


def _datetime64(t: datetime) -> str:
    # whole milliseconds from integers (Go's UnixMilli truncates; a float product may round down)
    return f"fromUnixTimestamp64Milli({calendar.timegm(t.utctimetuple()) * 1000 + t.microsecond // 1000})"


def _need(name: str, args: list[str], n: int) -> None:
    if len(args) != n:
        raise MacroError(f"$__{name}: expected {n} argument(s), received {len(args)}")


def _range(conv: Callable[[datetime], str]) -> Callable[[Query, list[str]], str]:
    def expand(q: Query, args: list[str]) -> str:
        return f"{args[0]} >= {conv(q.start)} AND {args[0]} <= {conv(q.end)}"

    return expand


def _seconds(q: Query) -> int:
    return int(max(q.interval_s, 1))


def _time_group(q: Query, args: list[str]) -> str:
    period = args[1].strip().strip("'\"")
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", period)
    if m is None:
        raise MacroError(f"$__timeGroup: invalid interval {period!r}")
    secs = round(float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)])
    if secs <= 0:
        raise MacroError(f"$__timeGroup: interval must be positive, got {period!r}")
    return f"toStartOfInterval(toDateTime({args[0]}), INTERVAL {secs} second)"


# name → (argument count or None, expansion); the longest names first so that ``timeFilter_ms``
# is not read as ``timeFilter`` followed by ``_ms``
MACROS: dict[str, tuple[int | None, Callable[[Query, list[str]], str]]] = {
    "timeFilter_ms": (1, _range(_datetime64)),
    "timeFilter": (1, _range(_datetime)),
    "dateFilter": (1, _range(_date)),
    "dateTimeFilter": (2, lambda q, a: f"({_range(_date)(q, a[:1])}) AND ({_range(_datetime)(q, a[1:])})"),
    "dt": (2, lambda q, a: f"({_range(_date)(q, a[:1])}) AND ({_range(_datetime)(q, a[1:])})"),
    "timeFrom": (1, lambda q, a: f"{a[0]} >= {_datetime(q.start)}"),
    "timeTo": (1, lambda q, a: f"{a[0]} <= {_datetime(q.end)}"),
    "fromTime_ms": (None, lambda q, a: _datetime64(q.start)),
    "toTime_ms": (None, lambda q, a: _datetime64(q.end)),
    "fromTime": (None, lambda q, a: _datetime(q.start)),
    "toTime": (None, lambda q, a: _datetime(q.end)),
    "timeInterval_ms": (
        1,
        lambda q, a: (
            f"toStartOfInterval(toDateTime64({a[0]}, 3), INTERVAL {int(max(q.interval_s * 1000, 1))} millisecond)"
        ),
    ),
    "timeInterval": (1, lambda q, a: f"toStartOfInterval(toDateTime({a[0]}), INTERVAL {_seconds(q)} second)"),
    "interval_s": (None, lambda q, a: str(_seconds(q))),
    "timeGroup": (2, _time_group),
}
_MACRO = re.compile(r"\$__(" + "|".join(sorted(MACROS, key=len, reverse=True)) + r")\b")


def expand_macros(sql: str, q: Query) -> str:
    out = []
    pos = 0
    for m in _MACRO.finditer(sql):
        if m.start() < pos:
            continue  # inside the arguments of a macro already expanded
        name = m.group(1)
        count, expand = MACROS[name]
        end = m.end()
        args: list[str] = []
        if end < len(sql) and sql[end] == "(":
            got = _macro_args(sql, end)
            if got is None:
                raise MacroError(f"$__{name}: missing close bracket")
            args = [expand_macros(a.strip(), q) for a in got]  # nested macros: innermost first
            end = end + sum(len(a) for a in got) + len(got) + 1
            if args == [""]:
                args = []
        if count is not None:
            _need(name, args, count)
        out.append(sql[pos : m.start()])
        out.append(expand(q, args))
        pos = end
    out.append(sql[pos:])
    return "".join(out)


def interpolate(sql: str, q: Query) -> str:
    """The panel's SQL as the plugin sends it to ClickHouse."""
    sql = conditional_all(sql, q.variables)
    sql = replace_variables(sql, q.variables)
    return expand_macros(sql, q)


def interval_for(start: datetime, end: datetime, max_points: int = 1000, floor_s: float = 60.0) -> float:
    """Grafana's ``$__interval``: the range over the panel's points, rounded up to a whole minute
    here (our rollups are per minute) and never below ``floor_s``."""
    span = (end - start).total_seconds()
    return max(floor_s, math.ceil(span / max_points / 60) * 60)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
