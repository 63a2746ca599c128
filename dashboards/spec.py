"""What a board is before it becomes Grafana JSON: panels (their SQL, kind and the columns they
return), variables and links, all language-neutral except through ``Context.lang``.

The words (titles, descriptions, column headings) come from the catalogue
(``wardwatch/catalogue/dashboards.py``) by key: ``dashboards.<board>.<panel>`` is the title,
``….help`` the description, ``dashboards.col.<column>`` a column's heading.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .sql import SegmentRange

DATASOURCE_TYPE = "grafana-clickhouse-datasource"
DATASOURCE_UID = (
    "wardwatch-clickhouse"  # the provisioned data source; the boards' `ds` variable defaults to it
)
TIME_SERIES, TABLE = 0, 1  # the plugin's `format` (0 time series, 1 table, 2 logs, 3 traces)
LANGS = ("vi", "en")


@dataclass(frozen=True)
class Context:
    lang: str
    segments: tuple[SegmentRange, ...] = ()

    def uid(self, board: str) -> str:
        return f"ww-{board}-{self.lang}"


@dataclass(frozen=True)
class Link:
    """A data link on one column of a table: to a board (``board`` key), with ``var-NAME=${__data…}``."""

    column: str
    board: str
    params: tuple[tuple[str, str], ...]  # (variable, value expression such as ${__data.fields.src})


@dataclass(frozen=True)
class Panel:
    key: str  # the catalogue's dashboards.<board>.<key>
    kind: str  # timeseries | table | stat | barchart | piechart | bargauge
    sql: str
    columns: tuple[str, ...]  # what the SQL returns, in order (the tests hold the SQL to it)
    width: int = 12
    height: int = 8
    unit: str | None = None
    links: tuple[Link, ...] = ()
    stacked: bool = False

    @property
    def format(self) -> int:
        return TIME_SERIES if self.kind == "timeseries" else TABLE


@dataclass(frozen=True)
class Variable:
    name: str
    kind: str  # query | custom | textbox
    query: str = ""  # SQL (query) or "a,b,c" (custom)
    multi: bool = False
    include_all: bool = False
    default: str = ""


@dataclass(frozen=True)
class Board:
    key: str  # soc | segment | dns | conn | health | triage
    panels: tuple[Panel, ...]
    variables: tuple[Variable, ...] = ()
    tags: tuple[str, ...] = field(default_factory=tuple)
    time_from: str = "now-24h"
