"""Inhibit rules (Alertmanager's ``inhibit/``): an alert matching a rule's target matchers is muted
while an alert matching its source matchers, with the same values of the ``equal`` labels, was seen
within ``within`` of it. The classic use here: a port scan from a host mutes that host's per-port
segmentation alerts, which are the same event seen from another side. An alert never mutes itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .labels import Item
from .matchers import matches_all
from .settings import InhibitRule


class Inhibitor:
    def __init__(self, rules: Sequence[InhibitRule], sources: Iterable[Item]) -> None:
        self.rules = tuple(rules)
        # per rule: the equal-label values of its sources → the times they were seen
        self._seen: list[dict[tuple[str, ...], list[tuple[float, str]]]] = [{} for _ in self.rules]
        self.add(sources)

    def add(self, items: Iterable[Item]) -> None:
        for item in items:
            for i, rule in enumerate(self.rules):
                if matches_all(rule.source, item.labels):
                    key = tuple(item.labels.get(k, "") for k in rule.equal)
                    self._seen[i].setdefault(key, []).append((item.ts, item.uid))

    def muted_by(self, item: Item) -> str | None:
        """The uid of an alert that mutes ``item``, or None."""
        for i, rule in enumerate(self.rules):
            if not matches_all(rule.target, item.labels):
                continue
            key = tuple(item.labels.get(k, "") for k in rule.equal)
            for ts, uid in self._seen[i].get(key, ()):
                if uid != item.uid and abs(ts - item.ts) <= rule.within:
                    return uid
        return None
