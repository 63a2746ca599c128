"""``wardwatch alerts list|show|ack|resolve|fp|silence --config FILE …``: the on-call's view of alert
state (notify/). State changes are ``alert_events`` rows naming who and why; while ``wardwatch serve``
holds the embedded store they go through its API, otherwise to the store directly.

    wardwatch alerts list --config C [--state new] [--since 1d] [--limit 50] [--json]
    wardwatch alerts show ID --config C
    wardwatch alerts ack ID --config C --note "máy đã được cách ly"
    wardwatch alerts silence --config C --match category=port_scan --match src_ip=10.20.0.5 --for 2h --comment "pentest"
    wardwatch alerts silence --config C --list | --expire SID
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from typing import Any

import orjson

LIST_SQL = """
SELECT a.uid AS uid, toFloat64(toUnixTimestamp64Micro(a.ts)) / 1e6 AS ts, a.severity AS severity,
       a.category AS category, a.segment AS segment,
       replaceRegexpOne(toString(a.src_ip), '^::ffff:', '') AS host, a.count AS count,
       if(e.state = '', 'new', e.state) AS state, e.who AS who
FROM alerts AS a
LEFT JOIN (
    SELECT alert_uid, argMax(state, ts) AS state, argMax(who, ts) AS who FROM alert_events GROUP BY alert_uid
) AS e ON e.alert_uid = a.uid
WHERE a.ts >= toDateTime64({since:Float64}, 6) AND ({state:String} = '' OR if(e.state = '', 'new', e.state) = {state:String})
ORDER BY a.ts DESC
LIMIT {limit:UInt32}
"""
SHOW_SQL = """
SELECT uid, toFloat64(toUnixTimestamp64Micro(ts)) / 1e6 AS ts, category, severity, segment, dst_segment,
       replaceRegexpOne(toString(src_ip), '^::ffff:', '') AS host, indicator, rule, directive, count, summary, mitre
FROM alerts WHERE uid = {uid:String} LIMIT 1
"""
HISTORY_SQL = """
SELECT toFloat64(toUnixTimestamp64Micro(ts)) / 1e6 AS ts, state, who, note, message
FROM alert_events WHERE alert_uid = {uid:String} ORDER BY ts
"""
MESSAGES_SQL = """
SELECT id, receiver, kind, level, status, attempts, last_error,
       toFloat64(toUnixTimestamp64Micro(created)) / 1e6 AS created
FROM notify_outbox FINAL WHERE has(uids, {uid:String}) ORDER BY created
"""
_DURATION_HELP = "a duration such as 30m, 2h, 1d"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alerts", help="on-call: list alerts and their state; acknowledge, resolve, silence")
    verbs = p.add_subparsers(dest="verb", metavar="list|show|ack|resolve|fp|silence")
    verbs.required = True

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--config", required=True, metavar="FILE", help="wardwatch config (YAML)")

    q = verbs.add_parser("list", help="recent alerts with their state")
    common(q)
    q.add_argument("--since", default="1d", help=f"how far back ({_DURATION_HELP}; default 1d)")
    q.add_argument("--state", default="", choices=("", "new", "notified", "acknowledged", "resolved", "false_positive", "silenced"))
    q.add_argument("--limit", type=int, default=50)
    q.add_argument("--json", action="store_true", help="one JSON object a line")
    q.set_defaults(func=run_list)

    q = verbs.add_parser("show", help="one alert, its history and its messages")
    common(q)
    q.add_argument("uid", metavar="ID")
    q.set_defaults(func=run_show)

    for verb, what in (("ack", "acknowledge"), ("resolve", "mark resolved"), ("fp", "mark false positive")):
        q = verbs.add_parser(verb, help=f"{what} an alert (stops its escalation)")
        common(q)
        q.add_argument("uid", metavar="ID")
        q.add_argument("--note", default="", help="why, what was done")
        q.add_argument("--who", default=None, help="who (default: the logged-in user)")
        q.set_defaults(func=run_event, action=verb)

    q = verbs.add_parser("silence", help="silence one alert, or every alert matching --match for --for")
    common(q)
    q.add_argument("uid", nargs="?", metavar="ID")
    q.add_argument("--match", action="append", default=[], metavar="LABEL=VALUE", help='e.g. category=port_scan or severity=~"low|medium"')
    q.add_argument("--for", dest="duration", default=None, help=f"how long ({_DURATION_HELP})")
    q.add_argument("--note", "--comment", dest="note", default="", help="why")
    q.add_argument("--who", "--author", dest="who", default=None, help="who (default: the logged-in user)")
    q.add_argument("--list", action="store_true", help="list silences")
    q.add_argument("--expire", metavar="SID", help="end a silence now")
    q.set_defaults(func=run_silence, action="silence")


# -- where the work goes: the running service, or the store itself --------------------------------
class _Target:
    def __init__(self, config_path: str) -> None:
        from wardwatch.service.client import running
        from wardwatch.store import open_store

        from wardwatch.config import load_config

        self.config = load_config(config_path)
        self.holder = running(self.config)
        self.store: Any = None
        if self.holder is None:
            self.store = open_store(self.config, create=False)

    def rows(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.holder is not None:
            from wardwatch.service.client import query

            return [orjson.loads(x) for x in query(self.holder, sql, {k: str(v) for k, v in params.items()})]
        return self.store.rows(sql, params)

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.holder is not None:
            from wardwatch.service.client import ServiceError, call

            try:
                with call(self.holder, path, body) as resp:
                    return 200, orjson.loads(resp.read())
            except ServiceError as e:
                return 404 if "no alert" in str(e) or "no silence" in str(e) else 400, {"error": str(e)}
        from wardwatch.notify.endpoints import Endpoints

        ends = Endpoints(self.store, lambda: b"")
        handler = ends.event if path == "/alerts/event" else ends.silence
        status, _ctype, raw = handler(body)
        return status, orjson.loads(raw)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def _open(args: argparse.Namespace) -> _Target | int:
    from wardwatch.store import StoreError

    from wardwatch.config import ConfigError

    try:
        return _Target(args.config)
    except (ConfigError, StoreError) as e:
        sys.stderr.write(f"wardwatch alerts: {e}\n")
        return 2


def _who(args: argparse.Namespace) -> str:
    if args.who:
        return str(args.who)
    try:
        return os.environ.get("SUDO_USER") or getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _duration(text: str | None) -> float | None:
    from wardwatch.config import parse_duration

    return parse_duration(text) if text else None


def _matcher_text(m: str) -> str:
    """``category=port_scan`` (shell-friendly, no quotes) as the matcher ``category="port_scan"``."""
    if '"' in m or any(op in m for op in ("!=", "=~", "!~")):
        return m
    name, sep, value = m.partition("=")
    return f'{name}="{value}"' if sep else m


def _stamp(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _runtime(args: argparse.Namespace, work: Any) -> int:
    from wardwatch.store import StoreError

    target = _open(args)
    if isinstance(target, int):
        return target
    try:
        return int(work(target))
    except StoreError as e:
        sys.stderr.write(f"wardwatch alerts: {e}\n")
        return 1
    finally:
        target.close()


def run_list(args: argparse.Namespace) -> int:
    since = _duration(args.since)
    if since is None or args.limit < 1:
        sys.stderr.write(f"wardwatch alerts list: --since: expected {_DURATION_HELP}\n")
        return 2

    def work(t: _Target) -> int:
        rows = t.rows(LIST_SQL, {"since": time.time() - since, "state": args.state, "limit": args.limit})
        out = sys.stdout
        for r in rows:
            if args.json:
                out.write(orjson.dumps(r).decode() + "\n")
            else:
                out.write(
                    f"{r['uid']}  {_stamp(float(r['ts']))}  {r['severity']:<8}  {r['state']:<14}  "
                    f"{r['category']:<22}  {r['segment'] or '-':<12}  {r['host']}\n"
                )
        return 0

    return _runtime(args, work)


def run_show(args: argparse.Namespace) -> int:
    from wardwatch.i18n import say

    def work(t: _Target) -> int:
        rows = t.rows(SHOW_SQL, {"uid": args.uid})
        if not rows:
            sys.stderr.write(say("alerts.no_such", uid=args.uid))
            return 1
        doc = dict(rows[0])
        doc["history"] = t.rows(HISTORY_SQL, {"uid": args.uid})
        doc["messages"] = t.rows(MESSAGES_SQL, {"uid": args.uid})
        doc["state"] = doc["history"][-1]["state"] if doc["history"] else "new"
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0

    return _runtime(args, work)


def run_event(args: argparse.Namespace) -> int:
    from wardwatch.i18n import MESSAGES, say

    def work(t: _Target) -> int:
        status, doc = t.post("/alerts/event", {"uid": args.uid, "action": args.action, "who": _who(args), "note": args.note})
        if status == 404:
            sys.stderr.write(say("alerts.no_such", uid=args.uid))
            return 1
        if status != 200:
            sys.stderr.write(f"wardwatch alerts: {doc.get('error')}\n")
            return 2
        state = MESSAGES.get(f"notify.state.{doc['state']}", (doc["state"], doc["state"]))
        sys.stderr.write(say("alerts.recorded", uid=args.uid, state=state, who=doc["who"]))
        return 0

    return _runtime(args, work)


def run_silence(args: argparse.Namespace) -> int:
    from wardwatch.notify.matchers import parse_matcher

    from wardwatch.i18n import say

    if args.uid and not (args.match or args.list or args.expire):
        return run_event(args)
    matchers: list[str] = []
    for m in args.match:
        try:
            matchers.append(str(parse_matcher(_matcher_text(m))))
        except ValueError as e:
            sys.stderr.write(say("alerts.bad_match", text=m, reason=str(e)))
            return 2
    duration = _duration(args.duration)
    if not (args.list or args.expire) and (not matchers or not duration):
        sys.stderr.write(say("alerts.silence_usage"))
        return 2

    def work(t: _Target) -> int:
        if args.list:
            _status, doc = t.post("/alerts/silence", {"list": True})
            for s in doc.get("silences", []):
                sys.stdout.write(orjson.dumps(s).decode() + "\n")
            return 0
        if args.expire:
            status, doc = t.post("/alerts/silence", {"expire": args.expire})
            if status != 200:
                sys.stderr.write(say("alerts.no_silence", id=args.expire))
                return 1
            sys.stderr.write(say("alerts.silence_expired", id=args.expire))
            return 0
        status, doc = t.post(
            "/alerts/silence", {"matchers": matchers, "for": duration, "author": _who(args), "comment": args.note}
        )
        if status != 200:
            sys.stderr.write(f"wardwatch alerts: {doc.get('error')}\n")
            return 2
        sys.stderr.write(say("alerts.silence_made", id=doc["id"], until=_stamp(doc["ends"]), matchers=", ".join(matchers)))
        sys.stdout.write(doc["id"] + "\n")
        return 0

    return _runtime(args, work)
