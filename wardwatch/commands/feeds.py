"""``wardwatch feeds update|list|stats|check --config FILE``: threat feeds (issue 3)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("feeds", help="threat feeds: update, list, stats, check indicators")
    p.set_defaults(func=lambda args: 2)
