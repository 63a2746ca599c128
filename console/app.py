"""The console's web application (Starlette + Jinja2 + htmx). ``build(store, config, settings)``
returns an ASGI app; the service runs it under uvicorn (``service/console_app.py``).

Security, as the orders ask of hospital systems (seed orders 000, 003, 004):

- local accounts (``accounts.py``), argon2id hashes, a TOTP code at every login;
- sessions: a random token in an HttpOnly, SameSite=Strict cookie (Secure under HTTPS), idle and
  absolute time-outs; only its hash is kept (``sessions.py``);
- CSRF: every POST carries the session's token (form field ``csrf`` or header ``X-CSRF-Token``), and a
  cross-site ``Origin`` is refused; the login form uses a double-submit cookie;
- login limiting: lock-out per account and per address (``sessions.Limiter``);
- roles: viewer (looks), analyst (acts on alerts), admin (also reads the audit log);
- the audit log (``audit.py``) records each login, each view of an alert, host or search, and each action;
- responses carry a strict Content-Security-Policy (no inline script), ``nosniff``, no caching,
  ``frame-ancestors 'none'``; templates autoescape every value.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from wardwatch.notify import state as alert_state
from wardwatch.notify.state import STATES

from wardwatch import i18n
from wardwatch.alerts import CATEGORIES, SEVERITIES
from wardwatch.config import Config
from wardwatch.directives import directives
from wardwatch.errors import WardwatchError

from . import accounts, audit, passwords, queries
from .sessions import Limiter, Session, Sessions, same
from .settings import ConsoleSettings

log = logging.getLogger(__name__)
COOKIE = "ww_session"
PRE = "ww_pre"  # the login form's double-submit token
LANG = "ww_lang"
ACTIONS = ("ack", "assign", "resolve", "fp", "note")
GROUP_SPAN = 7 * 86400.0
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
    " frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
DATA = resources.files(__package__).joinpath("data")


class Console:
    """The application's state: the store, the config, sessions and the login limiter."""

    def __init__(
        self, store: Any, config: Config | None, settings: ConsoleSettings, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.config = config
        self.settings = settings
        self.clock = clock
        self.sessions = Sessions(settings.session_idle, settings.session_max)
        self.limiter = Limiter(settings.max_failures, settings.lockout)
        self.used_codes: dict[str, int] = {}  # account → last TOTP step accepted (no replay)
        self.env = jinja2.Environment(
            loader=jinja2.FunctionLoader(_template), autoescape=True, undefined=jinja2.StrictUndefined
        )
        self.env.filters["when"] = _when
        self.env.filters["ip_link"] = lambda v: "/hosts/" + str(v)

    # -- plumbing -------------------------------------------------------------------------------
    async def db(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        return await run_in_threadpool(partial(fn, *args, **kw))

    def lang(self, request: Request) -> str:
        return "en" if request.cookies.get(LANG) == "en" else "vi"

    def page(
        self, request: Request, name: str, session: Session | None, status: int = 200, **values: Any
    ) -> HTMLResponse:
        lang = self.lang(request)
        side = 1 if lang == "en" else 0

        def t(key: str, **kw: Any) -> str:
            return i18n.text(key, **kw)[side]

        def pair(p: Any) -> str:
            return str(p[side]) if isinstance(p, (tuple, list)) and len(p) == 2 else str(p)

        def mapping_side(m: Any) -> str:
            if isinstance(m, dict):
                return str(m.get(lang) or m.get("vi") or m.get("en") or "")
            return str(m or "")

        html = self.env.get_template(name).render(
            t=t,
            lang=lang,
            pair=pair,
            side=mapping_side,
            sev=lambda s: pair(i18n.severity(s)) if s in SEVERITIES else s,
            cat=lambda c: pair(i18n.category(c)) if c in CATEGORIES else c,
            st=lambda x: t(f"notify.state.{x}") if f"notify.state.{x}" in i18n.MESSAGES else x,
            session=session,
            csrf=session.csrf if session else "",
            path=request.url.path,
            query=str(request.url.query),
            **values,
        )
        return _secure(HTMLResponse(html, status), self.settings.https)

    def ip(self, request: Request) -> str:
        return request.client.host if request.client else ""

    async def log(self, request: Request, who: str, action: str, target: str = "", detail: str = "") -> None:
        await self.db(audit.log, self.store, who, self.ip(request), action, target, detail, self.clock())

    # -- guards ---------------------------------------------------------------------------------
    def session(self, request: Request) -> Session | None:
        return self.sessions.get(request.cookies.get(COOKIE, ""), self.clock())

    def csrf_ok(self, request: Request, session_token: str, form: Any) -> bool:
        origin = request.headers.get("origin")
        if origin and origin != "null":
            want = f"{request.url.scheme}://{request.headers.get('host', '')}"
            if origin != want:
                return False
        given = request.headers.get("x-csrf-token") or (form.get("csrf") if form is not None else "") or ""
        return same(str(given), session_token)

    def forbidden(self, request: Request, session: Session | None, key: str, status: int = 403) -> HTMLResponse:
        return self.page(request, "error.html", session, status, message=key)


Handler = Callable[[Console, Request, Session], Awaitable[Response]]


def guarded(role_need: str = "") -> Callable[[Handler], Callable[[Console, Request], Awaitable[Response]]]:
    """A page for a logged-in account (and ``role_need``: ``act`` or ``admin``); POSTs need the CSRF token."""

    def wrap(fn: Handler) -> Callable[[Console, Request], Awaitable[Response]]:
        async def inner(c: Console, request: Request) -> Response:
            session = c.session(request)
            if session is None:
                if request.method == "GET" and not request.headers.get("hx-request"):
                    nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    return RedirectResponse("/login?" + urlencode({"next": nxt}), 303)
                return _secure(Response("login required", 401, headers={"HX-Redirect": "/login"}), c.settings.https)
            if request.method == "POST":
                form = await request.form()
                if not c.csrf_ok(request, session.csrf, form):
                    await c.log(request, session.name, "csrf_refused", request.url.path)
                    return c.forbidden(request, session, "console.err.csrf")
                request.state.form = form
            if role_need and role_need not in accounts.CAN.get(session.role, frozenset()):
                await c.log(request, session.name, "refused", request.url.path, f"role {session.role}")
                return c.forbidden(request, session, "console.err.role")
            return await fn(c, request, session)

        return inner

    return wrap


# -- login ----------------------------------------------------------------------------------------
async def login_form(c: Console, request: Request, error: str = "", status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    nxt = _next(request.query_params.get("next", "/"))
    resp = c.page(request, "login.html", None, status, pre=token, next=nxt, error=error)
    resp.set_cookie(PRE, token, httponly=True, samesite="strict", secure=c.settings.https, path="/login")
    return resp


async def login(c: Console, request: Request) -> Response:
    if request.method == "GET":
        return await login_form(c, request)
    form = await request.form()
    if not same(str(form.get("csrf", "")), request.cookies.get(PRE, "")):
        return await login_form(c, request, "console.err.csrf", 403)
    name = str(form.get("name", "")).strip()[:64]
    password = str(form.get("password", ""))[:1024]
    code = str(form.get("code", ""))[:16]
    now = c.clock()
    keys = [f"name:{name}", f"ip:{c.ip(request)}"]
    if c.limiter.locked(keys, now):
        await c.log(request, name, "login_locked")
        return await login_form(c, request, "console.login.locked", 429)
    acc = await c.db(accounts.get, c.store, name) if name else None
    ok = await c.db(passwords.check_password, acc.password if acc else "", password)
    step = passwords.totp_step(acc.totp, code, now) if ok and acc is not None and not acc.disabled else None
    # a code already used (seen over a shoulder, replayed) does not open a second session
    if step is None or acc is None or step <= c.used_codes.get(acc.name, -1):
        locked = c.limiter.fail(keys, now)
        await c.log(request, name, "login_failed", detail="locked" if locked else "")
        key = "console.login.locked" if locked else "console.login.failed"
        return await login_form(c, request, key, 429 if locked else 401)
    c.used_codes[acc.name] = step
    c.limiter.succeed(keys[0])
    token = c.sessions.open(acc.name, acc.role, now, c.lang(request))
    await c.log(request, acc.name, "login")
    resp = RedirectResponse(_next(str(form.get("next", "/"))), 303)
    resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=c.settings.https, path="/")
    resp.delete_cookie(PRE, path="/login")
    return _secure(resp, c.settings.https)


@guarded()
async def logout(c: Console, request: Request, session: Session) -> Response:
    c.sessions.close(request.cookies.get(COOKIE, ""))
    await c.log(request, session.name, "logout")
    resp = RedirectResponse("/login", 303)
    resp.delete_cookie(COOKIE, path="/")
    return _secure(resp, c.settings.https)


async def switch_lang(c: Console, request: Request) -> Response:
    to = "en" if request.query_params.get("to") == "en" else "vi"
    resp = RedirectResponse(_next(request.query_params.get("next", "/")), 303)
    resp.set_cookie(LANG, to, httponly=True, samesite="strict", secure=c.settings.https, path="/", max_age=365 * 86400)
    return resp


# -- pages ----------------------------------------------------------------------------------------
@guarded()
async def overview(c: Console, request: Request, session: Session) -> Response:
    now = c.clock()
    try:
        span = min(max(float(request.query_params.get("span", 86400)), 3600.0), 90 * 86400.0)
    except ValueError:
        span = 86400.0
    span = span if span == span else 86400.0  # NaN
    data = await c.db(queries.overview, c.store, now, span)
    have = {r["segment"] for r in data["segments"]}
    for seg in c.config.segments if c.config is not None else ():  # a quiet segment is shown too: all well
        if seg.name not in have:
            data["segments"].append({"segment": seg.name, "alerts": 0, "open": 0, "urgent": 0})
    order = {"his": 0, "emr": 1}
    data["segments"].sort(key=lambda r: (order.get(r["segment"], 2), r["segment"]))
    chart = {**_hourly(data["hourly"]), "range": [data["since"], data["until"]]}
    return c.page(request, "overview.html", session, data=data, feeds=_feeds(c), now=now, chart=chart)


@guarded()
async def queue(c: Console, request: Request, session: Session) -> Response:
    f = queries.Filters.read(request.query_params, c.clock())
    newest = await c.db(queries.newest, c.store, c.clock())
    if f.group and not f.since:
        # grouping every alert ever stored reads them all: groups cover the week up to the newest alert
        f = dataclasses.replace(f, since=newest - GROUP_SPAN)
    rows = await c.db(queries.queue, c.store, f, newest)
    if not request.headers.get("hx-request"):  # a person opened the queue (its polls are not new views)
        await c.log(request, session.name, "view_queue", f.query_string())
    segments = await c.db(_segments, c)
    partial_only = request.url.path.endswith("/rows")
    return c.page(
        request, "_rows.html" if partial_only else "queue.html", session, rows=rows, f=f,
        segments=segments, states=STATES, severities=SEVERITIES, categories=CATEGORIES,
    )  # fmt: skip


def _segments(c: Console) -> list[str]:
    names = [s.name for s in c.config.segments] if c.config is not None else []
    got = [r["segment"] for r in c.store.rows("SELECT DISTINCT segment FROM alerts ORDER BY segment")]
    return list(dict.fromkeys(names + got))


async def _alert_view(c: Console, request: Request, session: Session, notice: str = "", status: int = 200) -> Response:
    uid = request.path_params["uid"]
    a = await c.db(queries.alert, c.store, uid)
    if a is None:
        return c.forbidden(request, session, "console.err.not_found", 404)
    await c.log(request, session.name, "view_alert", uid)
    behind = await c.db(
        queries.behind, c.store, a["evidence"], a["first_seen"], a["last_seen"], (a["segment"], a["dst_segment"])
    )
    around = await c.db(queries.records_around, c.store, a["src"], a["ts"])
    pdns = await c.db(queries.passive_dns, c.store, queries.names_of(a))
    history = await c.db(alert_state.history, c.store, uid)
    st = history[-1]["state"] if history else "new"
    order = directives().get(a["directive"]) if a["directive"] else None
    order_text = _order_text(order["file"]) if order else ""
    action = i18n.MESSAGES.get(f"notify.action.{a['category']}")
    return c.page(
        request, "alert.html", session, status, a=a, behind=behind, around=around, pdns=pdns, history=history,
        state=st, order=order, order_text=order_text, action=action, notice=notice, feed=a["evidence"].get("feeds"),
        can_act="act" in accounts.CAN.get(session.role, frozenset()),
    )  # fmt: skip


alert_page = guarded()(_alert_view)


@guarded("act")
async def alert_action(c: Console, request: Request, session: Session) -> Response:
    uid = request.path_params["uid"]
    form = request.state.form
    action = str(form.get("action", ""))
    note = str(form.get("note", "")).strip()[:2000]
    if action not in ACTIONS:
        return c.forbidden(request, session, "console.err.bad_action", 400)
    a = await c.db(queries.alert, c.store, uid)
    if a is None:
        return c.forbidden(request, session, "console.err.not_found", 404)
    if action == "fp" and not note:
        return await _alert_view(c, request, session, "console.err.reason", 400)
    current = await c.db(queries.state_of, c.store, uid)
    if action in ("ack", "resolve", "fp"):
        new_state = alert_state.MANUAL[action]
    else:  # a note or an assignment keeps the state and adds a line to the history
        new_state = current
    if action == "assign":
        to = str(form.get("assignee", "")).strip()[:64]
        note = f"→ {to}" + (f": {note}" if note else "")
    extra = ""
    if action == "fp" and form.get("allow"):
        extra = await c.db(_allow, c, a, session.name, note)
    await c.db(alert_state.record, c.store, [uid], new_state, session.name, note, "", c.clock())
    await c.log(request, session.name, action, uid, note + (f" [{extra}]" if extra else ""))
    return RedirectResponse(f"/alerts/{uid}?done={action}", 303)


def _allow(c: Console, a: dict[str, Any], who: str, why: str) -> str:
    """The false positive's indicator appended to ``http.console.allowlist_file`` (a file the config
    lists under ``allowlist:``; the service re-reads it), or why not."""
    path = c.settings.allowlist_file
    value = str((a["evidence"] or {}).get("observed") or a["indicator"] or "").strip()
    if path is None or not value or any(ch in value for ch in "\r\n#"):
        return "no allowlist_file"
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(c.clock()))
    reason = " ".join(why.split())[:200]
    with Path(path).open("a", encoding="utf-8") as fh:
        fh.write(f"# {when} {who} ({a['uid']}): {reason}\n{value}\n")
    return f"allowlisted {value}"


@guarded()
async def host_page(c: Console, request: Request, session: Session) -> Response:
    host = request.path_params["ip"]
    if not queries.is_ip(host):
        return c.forbidden(request, session, "console.err.not_found", 404)
    await c.log(request, session.name, "view_host", host)
    now = c.clock()
    data = await c.db(queries.host_summary, c.store, host, 0.0, now + 3600)
    hours = [r["hour"] for r in data["timeline"]]
    chart: dict[str, Any] = {"x": hours, "series": {"conns": [r["conns"] for r in data["timeline"]]}}
    if hours:  # half a day either side: one busy hour still reads as a point in time, not a decade
        chart["range"] = [min(hours) - 43200, max(hours) + 43200]
    return c.page(request, "host.html", session, host=host, data=data, chart=chart)


@guarded()
async def search(c: Console, request: Request, session: Session) -> Response:
    value = request.query_params.get("q", "").strip()[:255]
    kind = request.query_params.get("kind", "") or (queries.guess_kind(value) if value else "")
    rows: list[dict[str, Any]] = []
    if value:
        await c.log(request, session.name, "search", f"{kind}:{value}")
        rows = await c.db(queries.search, c.store, kind, value)
    return c.page(request, "search.html", session, value=value, kind=kind, kinds=list(queries.SEARCHES), rows=rows)


async def _silences_view(c: Console, request: Request, session: Session, notice: str = "", status: int = 200) -> Response:
    rows = await c.db(queries.silences, c.store, c.clock())
    # "silence alerts like this one" from an alert page: its labels, prefilled
    prefill = "\n".join(
        f'{k}="{v}"' for k in ("category", "src_ip", "segment") if (v := request.query_params.get(k, "")[:200]) and '"' not in v
    )
    route = ""
    if c.config is not None:
        import yaml

        r = (c.config.raw.get("notify") or {}).get("route")  # the route tree names receivers, never secrets
        route = yaml.safe_dump(r, allow_unicode=True, sort_keys=False) if r else ""
    return c.page(
        request, "silences.html", session, status, rows=rows, route=route, prefill=prefill, notice=notice,
        can_act="act" in accounts.CAN.get(session.role, frozenset()),
    )  # fmt: skip


silences_page = guarded()(_silences_view)


@guarded("act")
async def silence_action(c: Console, request: Request, session: Session) -> Response:
    """A new silence (matchers, how long, why) or the end of one: notify's own silences table."""
    from wardwatch.notify import silences as notify_silences
    from wardwatch.notify.matchers import parse_matchers
    from wardwatch.notify.silence import Silence, new_id

    from wardwatch.config import parse_duration

    form = request.state.form
    now = c.clock()
    sid = str(form.get("expire", ""))[:64]
    if sid:
        done = await c.db(notify_silences.expire, c.store, sid, now)
        await c.log(request, session.name, "silence_expire", sid, "" if done else "unknown")
        return RedirectResponse("/silences", 303)
    lines = [x.strip() for x in str(form.get("matchers", "")).splitlines() if x.strip()][:20]
    comment = " ".join(str(form.get("comment", "")).split())[:500]
    try:
        matchers = parse_matchers(lines)
        duration = parse_duration(str(form.get("for", "")).strip())
    except ValueError:
        matchers, duration = (), None
    if not matchers or not duration or duration <= 0 or duration > 90 * 86400 or not comment:
        return await _silences_view(c, request, session, "console.err.silence", 400)
    silence = Silence(new_id(), matchers, now, now + duration, session.name, comment)
    await c.db(notify_silences.put, c.store, silence, now)
    await c.log(request, session.name, "silence", silence.id, "; ".join(lines) + f" | {comment}")
    return RedirectResponse("/silences", 303)


@guarded()
async def status_page(c: Console, request: Request, session: Session) -> Response:
    rules = await c.db(queries.rules_status, c.store, c.clock())
    return c.page(request, "status.html", session, feeds=_feeds(c), rules=rules)


@guarded("admin")
async def audit_page(c: Console, request: Request, session: Session) -> Response:
    rows = await c.db(audit.recent, c.store, 300, request.query_params.get("who", "")[:64])
    return c.page(request, "audit.html", session, rows=rows)


def _feeds(c: Console) -> list[dict[str, Any]]:
    if c.config is None:
        return []
    from datetime import UTC, datetime

    from wardwatch.threatfeeds.store import FeedStore

    fs = FeedStore(Path(c.config.data_dir))
    out = []
    for feed in c.config.all_feeds:
        meta = fs.meta(feed.name)
        when = meta.get("fetched_at")
        try:
            age: float | None = (
                c.clock() - datetime.strptime(str(when), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
            ) / 3600
        except (TypeError, ValueError):
            age = None
        out.append({"name": feed.name, "enabled": feed.enabled, "source": feed.url or str(feed.path or ""),
                    "age": age, "count": meta.get("count", meta.get("indicators", ""))})  # fmt: skip
    return out


def _hourly(rows: list[dict[str, Any]]) -> dict[str, Any]:
    hours = sorted({r["hour"] for r in rows})
    index = {h: i for i, h in enumerate(hours)}
    series = {s: [0] * len(hours) for s in SEVERITIES}
    for r in rows:
        if r["severity"] in series:
            series[r["severity"]][index[r["hour"]]] += int(r["n"])
    return {"x": hours, "series": series}


def _order_text(file: str) -> str:
    try:
        return DATA.joinpath("directives", file).read_text(encoding="utf-8")
    except (OSError, FileNotFoundError):
        return ""


def _template(name: str) -> str:
    return DATA.joinpath("templates", name).read_text(encoding="utf-8")


def _when(ts: Any) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(ts)))
    except (TypeError, ValueError, OverflowError):
        return ""


def _next(value: str) -> str:
    """Only a path on this site (no ``//host``, no scheme): an open redirect helps phishing."""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/"


R = TypeVar("R", bound=Response)


def _secure(resp: R, https: bool) -> R:
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Cache-Control"] = "no-store"
    if https:
        resp.headers["Strict-Transport-Security"] = "max-age=31536000"
    return resp


def build(store: Any, config: Config | None, settings: ConsoleSettings, clock: Callable[[], float] = time.time) -> Starlette:
    c = Console(store, config, settings, clock)

    def bind(fn: Callable[..., Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                return await fn(c, request)
            except WardwatchError as e:  # the store refused a query: say so, never a traceback
                log.warning("console: %s %s: %s", request.method, request.url.path, e)
                session = c.session(request)
                return c.page(request, "error.html", session, 500, message="console.err.store", reason=str(e)[:300])

        return endpoint

    routes = [
        Route("/login", bind(login), methods=["GET", "POST"]),
        Route("/logout", bind(logout), methods=["POST"]),
        Route("/lang", bind(switch_lang)),
        Route("/", bind(overview)),
        Route("/alerts", bind(queue)),
        Route("/alerts/rows", bind(queue)),
        Route("/alerts/{uid}", bind(alert_page)),
        Route("/alerts/{uid}/action", bind(alert_action), methods=["POST"]),
        Route("/hosts/{ip}", bind(host_page)),
        Route("/search", bind(search)),
        Route("/silences", bind(silences_page)),
        Route("/silences/action", bind(silence_action), methods=["POST"]),
        Route("/status", bind(status_page)),
        Route("/audit", bind(audit_page)),
        Mount("/static", StaticFiles(directory=str(DATA.joinpath("static"))), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.console = c
    return app
