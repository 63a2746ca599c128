"""Reminders (Alertmanager's ``repeat_interval``, adapted): alerts here are events, not firing
states, so "still firing" means "still open": a group that was notified and whose alerts are not all
settled (acknowledged, resolved, false positive, silenced: ``state.SETTLED`` over ``alert_events``'
argMax state) is told again ``repeat_interval`` after its latest message (the first or the previous
reminder), naming only the alerts still open. Settling every alert of the group ends the reminders.

Pure: the caller supplies the outbox messages, the alerts' current states and the time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .outbox import Message
from .state import SETTLED

KINDS = ("notify", "reminder")


@dataclass(frozen=True)
class Due:
    route: str
    group_key: str
    latest: Message  # the group's latest message (its document is the reminder's base)
    last: float  # when it was sent (or made, if still pending)
    open: tuple[str, ...]  # the alerts still open, sorted


def _when(m: Message) -> float:
    return m.sent_at if m.status == "sent" and m.sent_at else m.created


def due(
    messages: Sequence[Message], states: Mapping[str, str], intervals: Mapping[str, float], now: float
) -> list[Due]:
    """The groups to remind at ``now``. ``messages``: the outbox's notify and reminder messages of the
    recent past; ``states``: uid → current state; ``intervals``: route id → repeat_interval (routes
    without one, or ≤ 0, never repeat). A group with a message still pending or failed waits (no pile
    of reminders behind a dead channel); only sent messages count as told."""
    groups: dict[tuple[str, str], list[Message]] = {}
    for m in messages:
        if m.kind in KINDS and intervals.get(m.route, 0) > 0:
            groups.setdefault((m.route, m.group_key), []).append(m)
    out = []
    for (route, key), ms in groups.items():
        if any(m.status == "pending" for m in ms):
            continue
        sent = [m for m in ms if m.status == "sent"]
        if not sent:
            continue
        latest = max(sent, key=_when)
        last = _when(latest)
        if now < last + intervals[route]:
            continue
        uids = {u for m in ms for u in m.uids}
        still = tuple(sorted(u for u in uids if states.get(u, "new") not in SETTLED))
        if still:
            out.append(Due(route, key, latest, last, still))
    return out


def uids_of(messages: Sequence[Message]) -> list[str]:
    return sorted({u for m in messages if m.kind in KINDS for u in m.uids})
