"""The orders wardwatch enforces (``wardwatch/data/directives.yaml``): every alert cites one by id in its
``directive`` field; Sigma rules, the report and the console read them from here."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from wardwatch.errors import WardwatchError

REQUIRED = ("issuer", "number", "date", "title", "file")


class DirectiveError(WardwatchError, ValueError):
    """The directives file is broken (a packaging fault, not a user error)."""


@lru_cache(maxsize=1)
def _load() -> dict[str, dict[str, Any]]:
    text = resources.files(__package__).joinpath("data", "directives.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    for k, v in raw.items():
        for f in REQUIRED:
            if f not in v:
                raise DirectiveError(f"directives.yaml: {k}: missing {f}")
    return raw


def directives() -> dict[str, dict[str, Any]]:
    """Directive id → issuer, number, date, title and what it asks (Vietnamese and English)."""
    return dict(_load())
