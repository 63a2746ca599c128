"""Silences (Alertmanager's ``silence/``): matchers, a start and an end, an author and a comment.
An alert that a silence covers when it is taken in is recorded as ``silenced`` (with the silence's
id) and never notified. A silence is expired by writing it again with its end set to now.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .matchers import Matcher, matches_all, parse_matchers


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts: float
    ends: float
    author: str
    comment: str = ""

    def active(self, now: float) -> bool:
        # (1 ms: times go through the store as whole microseconds; a silence made "now" is active now)
        return self.starts - 0.001 <= now < self.ends

    def covers(self, labels: Mapping[str, str], now: float) -> bool:
        return self.active(now) and matches_all(self.matchers, labels)


def new_id() -> str:
    return "S" + secrets.token_hex(6)


def from_row(row: Mapping[str, object]) -> Silence:
    return Silence(
        id=str(row["id"]),
        matchers=parse_matchers(row["matchers"]),  # type: ignore[arg-type]
        starts=float(row["starts"]),  # type: ignore[arg-type]
        ends=float(row["ends"]),  # type: ignore[arg-type]
        author=str(row["author"]),
        comment=str(row.get("comment") or ""),
    )


def covering(silences: Iterable[Silence], labels: Mapping[str, str], now: float) -> Silence | None:
    for s in silences:
        if s.covers(labels, now):
            return s
    return None
