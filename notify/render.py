"""Rendering a message document with Jinja2: plain text (e-mail, Telegram) and HTML (e-mail). The
HTML environment autoescapes every value, so a hostile DNS name in an alert is shown, not run; the
text environment does not escape (it is not markup), and Telegram is sent without a parse mode."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2

from wardwatch import i18n

from .message import headline


@lru_cache(maxsize=2)
def _env(html: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("wardwatch.notify", "data"),
        autoescape=html,
        undefined=jinja2.StrictUndefined,  # a template bug fails loudly in tests, not silently in mail
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["t"] = i18n.text
    env.globals["sev"] = i18n.severity
    return env


def subject(doc: dict[str, Any]) -> str:
    vi, en = headline(doc)
    return f"{vi} / {en}" if len(vi) + len(en) < 180 else vi


def text(doc: dict[str, Any]) -> str:
    return _env(False).get_template("message.txt.j2").render(doc=doc, head=headline(doc))


def html(doc: dict[str, Any]) -> str:
    return _env(True).get_template("message.html.j2").render(doc=doc, head=headline(doc))
