"""The route tree, with Alertmanager's semantics (``dispatch/route.go``): an alert walks down from the
top route; at each node the children are tried in order, and the first that matches takes it unless
it says ``continue: true``, in which case the next siblings are tried too. A node none of whose
children match keeps the alert itself. The top route matches everything. Children inherit what they
leave unset from their parent (done once, when the config is read: ``settings._route``).
"""

from __future__ import annotations

from collections.abc import Mapping

from .matchers import matches_all
from .settings import Route


def match(route: Route, labels: Mapping[str, str]) -> list[Route]:
    """The routes that take an alert with ``labels`` (at least the top one)."""
    return _match(route, labels) or [route]


def _match(route: Route, labels: Mapping[str, str]) -> list[Route]:
    if not matches_all(route.matchers, labels):
        return []
    out: list[Route] = []
    for child in route.routes:
        got = _match(child, labels)
        out.extend(got)
        if got and not child.continue_:
            break
    return out or [route]


def walk(route: Route) -> list[Route]:
    """Every route of the tree, top first."""
    out = [route]
    for child in route.routes:
        out.extend(walk(child))
    return out


def group_key(route: Route, labels: Mapping[str, str], uid: str) -> str:
    """The aggregation group an alert falls in on ``route``: the values of ``group_by``
    (``...``: every label, i.e. one group per alert; empty: one group for the whole route)."""
    if "..." in route.group_by:
        return "uid=" + uid
    return ",".join(f"{k}={labels.get(k, '')}" for k in route.group_by)
