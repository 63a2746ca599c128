"""Counters shared by every stage: packets seen, records written, and every drop with its reason.

Bad input never crashes wardwatch; it is counted here under a dotted name (``malformed.dns``,
``dropped.flow_table_full``) and reported in the run summary.
"""

from __future__ import annotations

from collections import Counter


class Counters(Counter[str]):
    """A ``Counter`` with a summary that groups names by their first dotted part."""

    def add(self, name: str, n: int = 1) -> None:
        if n:
            self[name] += n

    def summary(self) -> dict[str, dict[str, int]]:
        grouped: dict[str, dict[str, int]] = {}
        for name, value in sorted(self.items()):
            head, _, rest = name.partition(".")
            grouped.setdefault(head, {})[rest or head] = value
        return grouped
