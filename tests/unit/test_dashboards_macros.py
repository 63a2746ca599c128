"""The plugin's macro rules as ported in ``dashboards/macros.py``: the expectations are the plugin's
own tests (grafana/clickhouse-datasource ``pkg/macros/macros_test.go`` and
``src/data/CHDatasource.test.ts``, v4.20.0, commit 1d04063a)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from wardwatch.dashboards.macros import (
    MacroError,
    Query,
    conditional_all,
    expand_macros,
    interpolate,
    replace_variables,
    variables_used,
)

FROM = datetime(2014, 11, 12, 11, 45, 26, 123000, tzinfo=UTC)
TO = datetime(2015, 11, 12, 11, 45, 26, 456000, tzinfo=UTC)
Q = Query(FROM, TO, 30.0)


@pytest.mark.parametrize(
    ("sql", "want"),
    [
        ("select * from foo where $__timeFilter(cast(sth as timestamp))",
         "select * from foo where cast(sth as timestamp) >= toDateTime(1415792726) AND cast(sth as timestamp) <= toDateTime(1447328726)"),
        ("select * from foo where $__timeFilter(cast(sth as timestamp) )",
         "select * from foo where cast(sth as timestamp) >= toDateTime(1415792726) AND cast(sth as timestamp) <= toDateTime(1447328726)"),
        ("select * from foo where $__timeFilter_ms(cast(sth as timestamp))",
         "select * from foo where cast(sth as timestamp) >= fromUnixTimestamp64Milli(1415792726123) AND cast(sth as timestamp) <= fromUnixTimestamp64Milli(1447328726456)"),
        ("select * from foo where ( date >= $__fromTime and date <= $__toTime ) limit 100",
         "select * from foo where ( date >= toDateTime(1415792726) and date <= toDateTime(1447328726) ) limit 100"),
        ("select * from foo where ( date >= $__fromTime_ms ) and ( date <= $__toTime_ms ) limit 100",
         "select * from foo where ( date >= fromUnixTimestamp64Milli(1415792726123) ) and ( date <= fromUnixTimestamp64Milli(1447328726456) ) limit 100"),
        ("$__dateFilter(d)", "d >= toDate('2014-11-12') AND d <= toDate('2015-11-12')"),
        ("$__dt(d, t)", "(d >= toDate('2014-11-12') AND d <= toDate('2015-11-12')) AND (t >= toDateTime(1415792726) AND t <= toDateTime(1447328726))"),
        ("$__timeInterval(ts)", "toStartOfInterval(toDateTime(ts), INTERVAL 30 second)"),
        ("$__timeInterval_ms(ts)", "toStartOfInterval(toDateTime64(ts, 3), INTERVAL 30000 millisecond)"),
        ("count() / $__interval_s", "count() / 30"),
        ("$__timeGroup(ts, '5m')", "toStartOfInterval(toDateTime(ts), INTERVAL 300 second)"),
        ("$__timeFrom(ts) AND $__timeTo(ts)", "ts >= toDateTime(1415792726) AND ts <= toDateTime(1447328726)"),
        ("$__timeInterval($__fromTime)", "toStartOfInterval(toDateTime(toDateTime(1415792726)), INTERVAL 30 second)"),
        ("$__unknownMacro(x)", "$__unknownMacro(x)"),
    ],
)  # fmt: skip
def test_backend_macros_expand_as_the_plugin_does(sql: str, want: str) -> None:
    assert expand_macros(sql, Q) == want


def test_interval_is_at_least_one_second() -> None:
    assert expand_macros("$__interval_s", Query(FROM, TO, 0.2)) == "1"


def test_wrong_argument_count_is_an_error() -> None:
    with pytest.raises(MacroError):
        expand_macros("$__timeFilter(a, b)", Q)
    with pytest.raises(MacroError):
        expand_macros("$__dt(a)", Q)


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("$__all", "select stuff from table where 1=1;"),
        ("", "select stuff from table where 1=1;"),
        (["a", "b"], "select stuff from table where fieldVal in ($fieldVal);"),
        ("x", "select stuff from table where fieldVal in ($fieldVal);"),
    ],
)
def test_conditional_all(value: object, want: str) -> None:
    sql = "select stuff from table where $__conditionalAll(fieldVal in ($fieldVal), $fieldVal);"
    assert conditional_all(sql, {"fieldVal": value}) == want  # type: ignore[dict-item]


def test_conditional_all_with_brackets_inside_and_several_macros() -> None:
    sql = "$__conditionalAll(f(a, (b)) IN ($v), $v) AND $__conditionalAll(x = ${w}, ${w})"
    assert conditional_all(sql, {"v": "$__all", "w": "1"}) == "1=1 AND x = ${w}"


def test_variables_take_the_plugins_format() -> None:
    vars_ = {"seg": ["his", "emr"], "one": "lis", "q": "it's"}
    assert replace_variables("segment IN ($seg)", vars_) == "segment IN ('his','emr')"
    assert replace_variables("s = '$one' OR s = ${one}", vars_) == "s = 'lis' OR s = lis"
    assert replace_variables("q = ${q:sqlstring}", vars_) == "q = 'it''s'"
    assert replace_variables("q = ${q:singlequote} $__from $missing", vars_) == "q = 'it''s' $__from $missing"
    assert variables_used("$a ${b} ${c:csv} $__timeFilter(x) ${__data.fields.x}") == {"a", "b", "c"}


def test_interpolate_runs_the_three_passes_in_the_plugins_order() -> None:
    sql = (
        "SELECT $__timeInterval(t) AS time FROM x WHERE $__timeFilter(t) AND $__conditionalAll(s IN ($s), $s)"
    )
    out = interpolate(sql, Query(FROM, TO, 60, {"s": ["a"]}))
    assert out == (
        "SELECT toStartOfInterval(toDateTime(t), INTERVAL 60 second) AS time FROM x WHERE"
        " t >= toDateTime(1415792726) AND t <= toDateTime(1447328726) AND s IN ('a')"
    )
