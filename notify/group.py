"""Aggregation groups (Alertmanager's ``dispatch/``): alerts routed to one route with equal values of
its ``group_by`` labels wait together and go out as one message. The first message of a group waits
``group_wait`` after its first alert (so a flood arriving together is one message with counts, not
ten thousand); alerts joining a group that was already notified wait until ``group_interval`` after
its last message. Quiet hours hold groups without a critical alert on routes that keep them.

Pure: the caller supplies the time; nothing here reads a clock or the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .labels import Item
from .route import group_key
from .settings import Route


@dataclass
class Group:
    route: Route
    key: str
    items: list[Item] = field(default_factory=list)
    first: float = 0.0  # when its oldest waiting alert was taken in
    uids: set[str] = field(default_factory=set)

    @property
    def critical(self) -> bool:
        return any(i.severity == "critical" for i in self.items)


class Groups:
    """The waiting alerts of every route and group. ``last`` (route id, group key) → when the
    group's latest message was made, read back from the outbox at start."""

    def __init__(self, last: dict[tuple[str, str], float] | None = None) -> None:
        self.waiting: dict[tuple[str, str], Group] = {}
        self.last = dict(last or {})

    def add(self, route: Route, item: Item, now: float) -> None:
        key = group_key(route, item.labels, item.uid)
        g = self.waiting.get((route.id, key))
        if g is None:
            g = self.waiting[(route.id, key)] = Group(route, key, first=now)
        if item.uid not in g.uids:
            g.uids.add(item.uid)
            g.items.append(item)

    def due_at(self, g: Group) -> float:
        last = self.last.get((g.route.id, g.key))
        if last is None:
            return g.first + g.route.group_wait
        return max(g.first, last + g.route.group_interval)

    def flush(self, now: float, held: Callable[[Group], bool] = lambda g: False) -> list[Group]:
        """The groups due at ``now`` (taken out of waiting), oldest first. ``held(g)`` keeps a due
        group waiting (quiet hours)."""
        out = []
        for k, g in list(self.waiting.items()):
            if now >= self.due_at(g) and not held(g):
                out.append(g)
                del self.waiting[k]
                self.last[k] = now
        out.sort(key=lambda g: g.first)
        return out

    def __len__(self) -> int:
        return sum(len(g.items) for g in self.waiting.values())
