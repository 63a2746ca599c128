"""Boards (``spec.Board``) → Grafana dashboards, with grafana-foundation-sdk's builders.

One board set per language (``Context.lang``): titles, descriptions, column headings and the names
of categories and severities in the data are all in that language; the uids end in ``-vi``/``-en``
so that both sets can live in one Grafana. Every panel's query is a target of the official
ClickHouse plugin (``grafana-clickhouse-datasource``): ``editorType: sql``, ``rawSql``, ``format``,
and the data source ``${ds}``, a variable that defaults to the provisioned data source.
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import barchart, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from wardwatch import i18n

from .boards import BOARDS
from .spec import DATASOURCE_TYPE, DATASOURCE_UID, Board, Context, Panel, Variable

DS = model.DataSourceRef(type_val=DATASOURCE_TYPE, uid="${ds}")
KINDS: dict[str, Any] = {
    "timeseries": timeseries.Panel,
    "table": table.Panel,
    "stat": stat.Panel,
    "barchart": barchart.Panel,
}


def words(key: str, lang: str) -> str:
    vi, en = i18n.text(key)
    return vi if lang == "vi" else en


def heading(column: str, lang: str) -> str | None:
    key = f"dashboards.col.{column}"
    return words(key, lang) if key in i18n.MESSAGES else None


class ClickhouseQuery(cogvariants.Dataquery):
    """A target of the ClickHouse plugin (the SDK has no builder for it; Grafana stores it as this)."""

    def __init__(self, ref_id: str, sql: str, fmt: int) -> None:
        self.data: dict[str, Any] = {
            "refId": ref_id,
            "datasource": {"type": DATASOURCE_TYPE, "uid": "${ds}"},
            "editorType": "sql",
            "format": fmt,
            "queryType": "timeseries" if fmt == 0 else "table",
            "rawSql": sql,
        }

    def to_json(self) -> dict[str, Any]:
        return dict(self.data)


class _Built(cogbuilder.Builder[Any]):
    """A model made here, handed to a builder method that takes builders."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def build(self) -> Any:
        return self.value


def _link(lang: str, board: str, params: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    query = "&".join(f"var-{name}={value}" for name, value in params)
    return {
        "title": words(f"dashboards.link.{board}", lang),
        "url": f"/d/ww-{board}-{lang}?{query}&${{__url_time_range}}",
    }


def panel(p: Panel, board: Board, ctx: Context, pid: int) -> Any:
    b = KINDS[p.kind]()
    b.id(pid).title(words(f"dashboards.{board.key}.{p.key}", ctx.lang))
    b.description(words(f"dashboards.{board.key}.{p.key}.help", ctx.lang))
    b.datasource(DS).with_target(_Built(ClickhouseQuery("A", p.sql, p.format)))
    b.span(p.width).height(p.height)
    if p.unit:
        b.unit(p.unit)
    if p.kind == "timeseries":
        b.fill_opacity(25 if p.stacked else 10)
        if p.stacked:
            b.stacking(common_builders.StackingConfig().mode(common.StackingMode.NORMAL))
    elif p.kind == "barchart":
        b.x_field(p.columns[0])
        b.stacking(common.StackingMode.NORMAL if p.stacked else common.StackingMode.NONE)
    elif p.kind == "table":
        b.cell_height(common.TableCellHeight.SM).show_header(True)
    elif p.kind == "stat":
        b.graph_mode(common.BigValueGraphMode.NONE).color_mode(common.BigValueColorMode.VALUE)
    # headings as display names (not a rename): data links and matchers keep the SQL's column names
    links = {link.column: _link(ctx.lang, link.board, link.params) for link in p.links}
    for column in p.columns:
        props = []
        if p.kind != "timeseries" and (h := heading(column, ctx.lang)):
            props.append(model.DynamicConfigValue(id_val="displayName", value=h))
        if column in links:
            props.append(model.DynamicConfigValue(id_val="links", value=[links[column]]))
        if props:
            b.override_by_name(column, props)
    return b


def variable(v: Variable, lang: str) -> Any:
    label = words(f"dashboards.var.{v.name}", lang)
    b: Any
    if v.kind == "query":
        b = dash.QueryVariable(v.name).label(label).datasource(DS).query(v.query)
        b.refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED).multi(v.multi).include_all(v.include_all)
    elif v.kind == "custom":
        b = dash.CustomVariable(v.name).label(label).values(v.query)
    else:
        b = dash.TextBoxVariable(v.name).label(label).default_value(v.default)
    if v.default:
        text = "All" if v.default == "$__all" else v.default
        b.current(
            model.VariableOption(
                selected=True, text=[text] if v.multi else text, value=[v.default] if v.multi else v.default
            )
        )
    built = b.build()
    if v.kind == "custom":  # the SDK's custom-variable builder has no multi / include-all
        built.multi, built.include_all = v.multi, v.include_all
    return _Built(built)


def datasource_variable(lang: str) -> Any:
    b = dash.DatasourceVariable("ds").label(words("dashboards.var.ds", lang)).type(DATASOURCE_TYPE)
    b.current(model.VariableOption(selected=True, text=DATASOURCE_UID, value=DATASOURCE_UID))
    return b


def dashboard(board: Board, ctx: Context) -> model.Dashboard:
    d = dash.Dashboard(words(f"dashboards.{board.key}", ctx.lang))
    d.uid(ctx.uid(board.key)).description(words(f"dashboards.{board.key}.help", ctx.lang))
    d.tags([*board.tags, ctx.lang]).time(board.time_from, "now").refresh("1m").timezone("browser").editable()
    d.with_variable(datasource_variable(ctx.lang))
    for v in board.variables:
        d.with_variable(variable(v, ctx.lang))
    for i, p in enumerate(board.panels, start=1):
        d.with_panel(panel(p, board, ctx, i))
    return d.build()


def boards(ctx: Context) -> list[tuple[Board, model.Dashboard]]:
    out = []
    for _key, make in BOARDS:
        board = make(ctx)
        out.append((board, dashboard(board, ctx)))
    return out
