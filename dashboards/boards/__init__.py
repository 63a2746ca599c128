"""The six boards, one module each; ``BOARDS`` lists their builders in the order of the menu."""

from __future__ import annotations

from collections.abc import Callable

from ..spec import Board, Context
from . import connections, dns, health, segment, soc, triage

BOARDS: tuple[tuple[str, Callable[[Context], Board]], ...] = (
    ("soc", soc.board),
    ("segment", segment.board),
    ("dns", dns.board),
    ("conn", connections.board),
    ("health", health.board),
    ("triage", triage.board),
)
