"""The report as HTML (Jinja2, autoescaped: the network chooses the names and URLs that end up in
it) and as PDF (WeasyPrint; DejaVu Sans carries every Vietnamese diacritic and is embedded)."""

from __future__ import annotations

import base64
import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from wardwatch.errors import WardwatchError

TEMPLATES = Path(__file__).parent / "templates"
_CSS_TEXT = re.compile(r"[^0-9A-Za-z .:_/-]")  # what may go into a CSS string (the footer)


class RenderError(WardwatchError):
    """The PDF could not be made (WeasyPrint or Pango missing or broken)."""


@lru_cache(maxsize=1)
def _env() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every template, whatever its name: values are text, never markup
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def html(model: dict[str, Any]) -> str:
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    footer = _CSS_TEXT.sub("", str(model["label"]))
    return str(_env().get_template("report.html.j2").render(css=css, footer=footer, **model))


def pdf(html_text: str) -> bytes:
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as e:  # OSError: Pango's shared library is missing
        raise RenderError(
            f"PDF output needs WeasyPrint and Pango (pip install weasyprint; apt-get install libpango-1.0-0): {e}"
        ) from None
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # subsetting chatter
    return bytes(HTML(string=html_text, base_url=str(TEMPLATES)).write_pdf())
