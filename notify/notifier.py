"""The notifier: stored alerts in, messages out. One ``tick(now)`` does every step once:

1. read the alerts the store took in since the last tick (at start: every alert of the last
   ``lookback`` that no message and no state covers yet, so a restart resumes where it stopped);
2. route each (``route.match``) into the aggregation groups of its routes (``group.Groups``);
3. take out the groups that are due; drop the alerts a silence or an inhibit rule mutes (recorded as
   ``silenced``, with who and why); put one message per group and channel in the outbox (store);
4. escalate: a message sent ``after`` ago whose alerts are not all acknowledged goes to the next
   receiver of the route's ``escalate`` list;
5. remind: a group notified ``repeat_interval`` ago whose alerts are still open is told again
   (``repeat``), naming only the open alerts;
6. deliver what the outbox holds due, each channel in turn; a failure is counted and retried with
   back-off; a delivery records ``notified`` for its alerts.

Time comes from the caller (``clock``), so grouping, escalation and expiry tests run without sleeping.
Inside ``wardwatch serve`` it runs on its own thread (``NotifierThread``); ``wardwatch notify`` runs
the same loop standalone against a ClickHouse server store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from wardwatch.config import Config
from wardwatch.counters import Counters
from wardwatch.i18n import say_log as log_pair

from . import outbox, repeat, state
from .channels import DeliveryError
from .channels import send as channel_send
from .group import Group, Groups
from .inhibit import Inhibitor
from .labels import LABELS, Item, item_of, zones
from .message import build, escalated, reminded
from .quiet import is_quiet
from .route import match, walk
from .rows import epoch
from .settings import NotifySettings, Route
from .silence import Silence, covering
from .silences import active as active_silences

log = logging.getLogger("wardwatch.notify")
# seconds re-read behind the cursor: rows of one insert share an ingest second, and an insert becomes
# visible some time after its rows' ``now()`` (a slow insert, several consumers on one server); the
# alerts of the last 30 s are few once merged, and ``seen`` keeps their re-reading cheap
SLACK = 30.0

_ALERT_COLUMNS = (
    "uid, category, severity, segment, dst_segment, site, sensor, directive, rule, indicator, count,"
    f" replaceRegexpOne(toString(src_ip), '^::ffff:', '') AS src_ip, {epoch('ts')} AS ts,"
    " toFloat64(toUnixTimestamp(ingest_time)) AS ingested"
)



def say_log(key: str, level: int = logging.INFO, **values: object) -> None:
    log_pair(log, key, level, **values)


class Notifier:
    def __init__(
        self,
        store: Any,
        settings: NotifySettings,
        config: Config | None = None,
        counters: Counters | None = None,
        clock: Callable[[], float] = time.time,
        send: Callable[[Any, dict[str, Any], float], None] = channel_send,
    ) -> None:
        self.store = store
        self.s = settings
        self.counters = counters if counters is not None else Counters()
        self.clock = clock
        self.send = send
        self.zone_of = zones(config)
        self.groups = Groups()
        self.inhibitor = Inhibitor(settings.inhibit, ())
        self.handled: set[tuple[str, str]] = set()
        self.seen: dict[str, float] = {}  # uid → ingest time, for alerts already taken in
        self.cursor = 0.0
        self.started = False
        # alerts handed over before they are stored (``offer``: serve's critical alerts, which the
        # store would otherwise hold for a merge window and a flush); taken in at the next tick
        self._offered: list[dict[str, Any]] = []
        self._offered_lock = threading.Lock()
        self._key: bytes | None = None
        self.routes: dict[str, Route] = {r.id: r for r in walk(settings.route)} if settings.route else {}

    @property
    def key(self) -> bytes:
        """The links' HMAC key (created 0600 beside the store on first use)."""
        if self._key is None:
            from wardwatch.store.pseudonym import load_key

            assert self.s.key_file is not None
            self._key = load_key(self.s.key_file)
        return self._key

    # -- one pass ------------------------------------------------------------------------------------
    def tick(self, now: float | None = None) -> dict[str, int]:
        now = self.clock() if now is None else now
        if not self.started:
            self._restore(now)
        taken = self._take_in(self._read_new() + self._take_offered(now), now)
        made = self._flush(now)
        made += self._escalate(now)
        made += self._remind(now)
        sent, failed = self._deliver(now)
        return {"taken": taken, "queued": made, "sent": sent, "failed": failed}

    def _restore(self, now: float) -> None:
        """After a start: groups' last messages, (route, alert) pairs already in the outbox, alerts of
        the last ``lookback`` still unhandled (they join groups again), and inhibit sources."""
        since = now - self.s.lookback
        self.groups.last = outbox.last_sent(self.store, since)
        self.handled = outbox.handled(self.store, since)
        rows = self.store.rows(
            f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE ingest_time >= toDateTime({{t:UInt32}}) AND NOT retro"
            " AND uid NOT IN (SELECT alert_uid FROM alert_events WHERE state != 'new')",
            {"t": int(since)},
        )
        items = [item_of(r, self.zone_of) for r in rows]
        self.cursor = max((float(r["ingested"]) for r in rows), default=now - SLACK)
        self._take_in(items, now)
        self.started = True

    def offer(self, rows: Sequence[dict[str, Any]]) -> None:
        """Alerts as their ``alerts`` rows will read (``store.Writer.preview``), before the store has
        them: taken in at the next tick; the stored row, when it comes, is known by its uid."""
        with self._offered_lock:
            self._offered.extend(rows)

    def _take_offered(self, now: float) -> list[Item]:
        with self._offered_lock:
            rows, self._offered = self._offered, []
        fresh = []
        for r in rows:
            if r["uid"] in self.seen:
                continue
            # remembered as if ingested now: the stored row comes later, and ``handled`` keeps it
            # out of a second message even after ``seen`` has forgotten it
            self.seen[r["uid"]] = max(now, self.cursor)
            fresh.append(item_of(r, self.zone_of))
        self.counters.add("notify.offered", len(fresh))
        return fresh

    def _read_new(self) -> list[Item]:
        rows = self.store.rows(
            f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE ingest_time >= toDateTime({{t:UInt32}}) AND NOT retro",
            {"t": int(max(0.0, self.cursor - SLACK))},
        )
        fresh = [r for r in rows if r["uid"] not in self.seen]
        if rows:
            self.cursor = max(self.cursor, max(float(r["ingested"]) for r in rows))
        # forget what the window has passed (bounded memory)
        if len(self.seen) > 10_000:
            edge = self.cursor - 2 * SLACK
            self.seen = {u: t for u, t in self.seen.items() if t >= edge}
        for r in fresh:
            self.seen[r["uid"]] = float(r["ingested"])
        return [item_of(r, self.zone_of) for r in fresh]

    def _take_in(self, items: Sequence[Item], now: float) -> int:
        if self.s.route is None:
            return 0
        self.inhibitor.add(items)
        for item in items:
            self.seen.setdefault(item.uid, now)
            for r in match(self.s.route, item.labels):
                if (r.id, item.uid) in self.handled or not self.s.receivers[r.receiver].channels:
                    continue  # already in a message, or a receiver with no channel (the weekly report)
                self.groups.add(r, item, now)
        self.counters.add("notify.alerts_in", len(items))
        return len(items)

    # -- groups into messages ------------------------------------------------------------------------
    def _held(self, now: float) -> Callable[[Group], bool]:
        quiet = is_quiet(self.s.quiet_hours, now, self.s.timezone)
        return lambda g: quiet and g.route.quiet and not g.critical

    def _flush(self, now: float) -> int:
        groups = self.groups.flush(now, self._held(now))
        if not groups:
            return 0
        silences = active_silences(self.store, now)
        messages: list[outbox.Message] = []
        for g in groups:
            keep = self._unmuted(g.items, silences, now)
            for item in g.items:
                self.handled.add((g.route.id, item.uid))
            if keep:
                messages.extend(self._messages(g.route, g.key, keep, now))
        outbox.put(self.store, messages)
        return len(messages)

    def _unmuted(self, items: Sequence[Item], silences: Sequence[Silence], now: float) -> list[Item]:
        keep = []
        muted: dict[tuple[str, str, str], list[str]] = {}  # (who, note, silence id) → uids: one insert each
        inhibited: list[tuple[str, str]] = []
        # acknowledged (or silenced) by hand while it waited in its group: nothing to tell
        states = state.current(self.store, [i.uid for i in items])
        for item in items:
            if states.get(item.uid) in state.SETTLED:
                continue
            s = covering(silences, item.labels, now)
            if s is not None:
                muted.setdefault((s.author, s.comment, s.id), []).append(item.uid)
                self.counters.add("notify.silenced")
                continue
            by = self.inhibitor.muted_by(item)
            if by is not None:
                inhibited.append((item.uid, by))
                self.counters.add("notify.inhibited")
                continue
            keep.append(item)
        for (who, note, sid), uids in muted.items():
            state.record(self.store, uids, "silenced", who, note, sid, now)
        # the message column names the alert that muted it
        state.record_each(self.store, inhibited, "silenced", "inhibit", "inhibited", now)
        return keep

    def _messages(self, route: Route, key: str, items: Sequence[Item], now: float) -> list[outbox.Message]:
        uids = tuple(sorted(i.uid for i in items))
        base = outbox.message_id("notify", route.id, key, *uids)
        receiver = self.s.receivers[route.receiver]
        group = {k: items[0].labels.get(k, "") for k in route.group_by if k in LABELS}
        out = []
        for idx, _channel in enumerate(receiver.channels):
            mid = f"{base}-{idx}"
            doc = build(
                items,
                message_id=mid,
                receiver=receiver.name,
                route=route.id,
                group=group,
                tz=self.s.timezone,
                max_items=self.s.max_items,
                ack_url=self.s.ack_url,
                key=self.key if self.s.ack_url else None,
                link_expires=now + self.s.link_ttl,
            )
            doc["channel"] = idx
            out.append(
                outbox.Message(
                    id=mid, created=now, route=route.id, receiver=receiver.name, group_key=key, kind="notify",
                    level=0, root=base, uids=uids, doc=doc, next_try=now,
                )  # fmt: skip
            )
        return out

    # -- escalation ----------------------------------------------------------------------------------
    def _escalate(self, now: float) -> int:
        steps = {rid: r.escalate for rid, r in self.routes.items() if r.escalate}
        if not steps:
            return 0
        horizon = max(s.after for ss in steps.values() for s in ss) + self.s.lookback
        chains: dict[str, list[outbox.Message]] = {}
        for m in outbox.since(self.store, now - horizon):
            if m.route in steps and m.kind != "reminder":
                chains.setdefault(m.root, []).append(m)
        made: list[outbox.Message] = []
        for root, msgs in chains.items():
            first = [m for m in msgs if m.level == 0 and m.status == "sent"]
            if not first:
                continue
            sent_at = min(m.sent_at for m in first)
            level = max(m.level for m in msgs)
            route_steps = steps[first[0].route]
            if level >= len(route_steps):
                continue
            step = route_steps[level]
            if now < sent_at + step.after:
                continue
            uids = first[0].uids
            states = state.current(self.store, uids)
            pending = {u for u, st in states.items() if st not in state.SETTLED}
            if not pending:
                continue
            receiver = self.s.receivers[step.receiver]
            for idx, _channel in enumerate(receiver.channels):
                mid = outbox.message_id("escalation", root, level + 1, idx)
                doc = escalated(
                    first[0].doc,
                    message_id=mid,
                    receiver=receiver.name,
                    level=level + 1,
                    minutes=round(step.after / 60),
                    pending=pending,
                    tz=self.s.timezone,
                    ack_url=self.s.ack_url,
                    key=self.key if self.s.ack_url else None,
                    link_expires=now + self.s.link_ttl,
                )
                doc["channel"] = idx
                made.append(
                    outbox.Message(
                        id=mid, created=now, route=first[0].route, receiver=receiver.name,
                        group_key=first[0].group_key, kind="escalation", level=level + 1, root=root,
                        uids=tuple(sorted(pending)), doc=doc, next_try=now,
                    )  # fmt: skip
                )
            self.counters.add("notify.escalations")
        outbox.put(self.store, made)
        return len(made)

    # -- reminders (repeat_interval) ----------------------------------------------------------------
    def _remind(self, now: float) -> int:
        """A group notified ``repeat_interval`` ago whose alerts are still open is told again (see
        ``repeat``): one reminder per channel, naming the open alerts, with fresh links."""
        intervals = {rid: r.repeat_interval for rid, r in self.routes.items() if r.repeat_interval > 0}
        if not intervals:
            return 0
        recent = outbox.since(self.store, now - max(intervals.values()) - self.s.lookback)
        msgs = [m for m in recent if m.kind in repeat.KINDS and m.route in intervals]
        if not msgs:
            return 0
        states = state.current(self.store, repeat.uids_of(msgs))
        made: list[outbox.Message] = []
        for d in repeat.due(msgs, states, intervals, now):
            route = self.routes[d.route]
            receiver = self.s.receivers.get(route.receiver)
            if receiver is None:
                continue
            base = outbox.message_id("reminder", d.route, d.group_key, round(d.last, 3), *d.open)
            for idx, _channel in enumerate(receiver.channels):
                mid = f"{base}-{idx}"
                doc = reminded(
                    d.latest.doc,
                    message_id=mid,
                    receiver=receiver.name,
                    hours=route.repeat_interval / 3600,
                    open_uids=set(d.open),
                    tz=self.s.timezone,
                    ack_url=self.s.ack_url,
                    key=self.key if self.s.ack_url else None,
                    link_expires=now + self.s.link_ttl,
                )
                doc["channel"] = idx
                made.append(
                    outbox.Message(
                        id=mid, created=now, route=d.route, receiver=receiver.name, group_key=d.group_key,
                        kind="reminder", level=0, root=d.latest.root, uids=d.open, doc=doc, next_try=now,
                    )  # fmt: skip
                )
            self.counters.add("notify.reminders")
        outbox.put(self.store, made)
        return len(made)

    # -- delivery ------------------------------------------------------------------------------------
    def _deliver(self, now: float) -> tuple[int, int]:
        sent = failed = 0
        for m in outbox.due(self.store, now):
            receiver = self.s.receivers.get(m.receiver)
            idx = int(m.doc.get("channel", 0))
            if receiver is None or idx >= len(receiver.channels):
                # the config changed under a pending message: say so once, keep it on record
                outbox.put(self.store, [replace(m, status="failed", last_error="receiver or channel no longer configured", version=m.version + 1)])
                failed += 1
                continue
            try:
                try:
                    self.send(receiver.channels[idx], m.doc, now)
                except DeliveryError:
                    raise
                except Exception as bug:  # noqa: BLE001 - one odd failure must not block the messages behind it
                    raise DeliveryError(f"{type(bug).__name__}: {bug}") from None
            except DeliveryError as e:
                after = outbox.failed(m, str(e), now, self.s.retry)
                outbox.put(self.store, [after])
                failed += 1
                self.counters.add("notify.delivery_failed")
                if after.status == "failed":
                    self.counters.add("notify.gave_up")
                    say_log("notify.gave_up", logging.ERROR, id=m.id, receiver=m.receiver, attempts=after.attempts, error=str(e))
                else:
                    say_log(
                        "notify.delivery_failed", logging.WARNING, id=m.id, receiver=m.receiver,
                        attempts=after.attempts, wait=round(after.next_try - now, 1), error=str(e),
                    )  # fmt: skip
                continue
            outbox.put(self.store, [outbox.sent(m, now)])
            states = state.current(self.store, m.uids)
            fresh = [u for u, st in states.items() if st in ("new", "notified")]
            note = m.kind if m.kind in ("notify", "reminder") else f"escalation level {m.level}"
            state.record(self.store, fresh, "notified", m.receiver, note, m.id, now)
            self.counters.add("notify.sent")
            sent += 1
        return sent, failed


class NotifierThread:
    """The notifier on its own thread (``wardwatch serve``, ``wardwatch notify``): a tick every
    ``poll`` seconds; an error in one tick is logged and counted, and the next tick tries again."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.stop_event = threading.Event()
        self.wake = threading.Event()
        self.errors = 0
        self.last_error = ""
        self._thread = threading.Thread(target=self._run, name="wardwatch-notify", daemon=True)

    def start(self) -> NotifierThread:
        self._thread.start()
        return self

    def _run(self) -> None:
        poll = self.notifier.s.poll
        while not self.stop_event.is_set():
            self.once()
            self.wake.wait(poll)
            self.wake.clear()

    def offer(self, rows: Sequence[dict[str, Any]]) -> None:
        """Hand alerts over before they are stored (``Notifier.offer``) and tick at once."""
        if rows:
            self.notifier.offer(rows)
            self.wake.set()

    def once(self) -> None:
        try:
            self.notifier.tick()
        except Exception as e:  # noqa: BLE001 - a store hiccup must not end on-call notification
            self.errors += 1
            self.last_error = f"{type(e).__name__}: {e}"
            self.notifier.counters.add("notify.tick_errors")
            log.warning("notify: tick failed (next tick retries): %s", self.last_error)

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        self.wake.set()
        self._thread.join(timeout)
