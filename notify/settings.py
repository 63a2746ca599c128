"""The ``notify:`` config section, read by the one config reader (errors name file, line and key).

    notify:
      enabled: true                  # default: true when receivers are configured
      ack_url: https://wardwatch.bv.local:8443   # the service's API as staff reach it (signed links)
      link_ttl: 24h                  # how long an acknowledgement link works
      key_file: notify.key           # HMAC key of the links (data_dir relative; made 0600 on first use)
      timezone: Asia/Ho_Chi_Minh     # quiet hours and the times shown in messages
      quiet_hours: {from: "22:00", to: "06:30"}   # non-critical groups wait for the morning
      poll: 1s                       # how often the store is read for new alerts
      lookback: 1d                   # at start, alerts this old or newer that were never handled are taken in
      retry: {backoff: 10s, max_backoff: 15m, give_up: 1d}
      receivers:
        - name: oncall
          email: {to: [it@bv.vn], from: wardwatch@bv.vn, host: smtp.bv.vn, port: 587,
                  starttls: true, username: wardwatch, password_file: /etc/wardwatch/smtp.pass}
          webhook: {url: https://soc.example/hook, secret_file: /etc/wardwatch/hook.key}
          telegram: {chat_id: "-100123", token_file: /etc/wardwatch/telegram.token}
          alertmanager: {url: http://127.0.0.1:9093}
        - name: head_of_it
          email: {to: [truongphong.cntt@bv.vn], from: wardwatch@bv.vn, host: smtp.bv.vn}
      route:                         # Alertmanager's tree; omitted: the hospital default (DEFAULT_ROUTE)
        receiver: oncall
        group_by: [category, segment]
        routes:
          - matchers: ['severity=~"critical|high"']
            group_wait: 10s
            escalate: [{after: 15m, receiver: head_of_it}]
      inhibit_rules:
        - source_matchers: ['category="port_scan"']
          target_matchers: ['category="policy_segmentation"']
          equal: [src_ip]

Every channel key of a receiver takes one mapping or a list of them. Secrets: ``password_file``
(or ``password``), ``secret_file``, ``token_file``; files are read when the section is loaded, so a
missing file is a config error at start, not a failed delivery at 3 a.m.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wardwatch.config import Config, ConfigError, KeyPath, Reader, declare_section

from .matchers import Matcher, parse_matcher

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_HHMM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
GROUP_ALL = "..."  # Alertmanager's "group by every label": one group per alert


@dataclass(frozen=True)
class Email:
    to: tuple[str, ...]
    sender: str
    host: str
    port: int = 587
    starttls: bool = True
    tls: bool = False  # implicit TLS (port 465)
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str
    ca_file: Path | None = None
    timeout: float = 10.0


@dataclass(frozen=True)
class Telegram:
    chat_id: str
    token: str
    api_url: str = "https://api.telegram.org"
    ca_file: Path | None = None
    timeout: float = 10.0


@dataclass(frozen=True)
class AlertmanagerTarget:
    url: str
    ca_file: Path | None = None
    timeout: float = 10.0


Channel = Email | Webhook | Telegram | AlertmanagerTarget


@dataclass(frozen=True)
class Receiver:
    name: str
    channels: tuple[Channel, ...] = ()


@dataclass(frozen=True)
class Step:
    after: float
    receiver: str


@dataclass(frozen=True)
class Route:
    """One node of the tree, its unset options already inherited from its parent."""

    receiver: str
    matchers: tuple[Matcher, ...] = ()
    group_by: tuple[str, ...] = ("category", "segment")
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 4 * 3600.0
    continue_: bool = False
    quiet: bool = True  # holds non-critical groups during quiet hours
    escalate: tuple[Step, ...] = ()
    routes: tuple[Route, ...] = ()
    id: str = "0"  # the path in the tree ("0", "0.1", "0.1.0"): names the route in the outbox


@dataclass(frozen=True)
class InhibitRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()
    within: float = 3600.0  # a source seen this long before (or after) the target still mutes it


@dataclass(frozen=True)
class QuietHours:
    start: int  # minutes after midnight, local time
    end: int


@dataclass(frozen=True)
class Retry:
    backoff: float = 10.0
    max_backoff: float = 900.0
    give_up: float = 86400.0


@dataclass(frozen=True)
class NotifySettings:
    enabled: bool = False
    receivers: dict[str, Receiver] = field(default_factory=dict)
    route: Route | None = None
    inhibit: tuple[InhibitRule, ...] = ()
    ack_url: str | None = None
    link_ttl: float = 86400.0
    key_file: Path | None = None
    timezone: str = "Asia/Ho_Chi_Minh"
    quiet_hours: QuietHours | None = None
    poll: float = 1.0
    lookback: float = 86400.0
    retry: Retry = Retry()
    max_items: int = 20  # alerts listed by name in one message; the rest are counted


# The hospital default: critical and high to the on-call at once (escalated to the head of IT when
# such a receiver exists), medium in an hourly digest, low only in the weekly report.
def default_route(receivers: dict[str, Receiver], kp: KeyPath, r: Reader) -> dict[str, Any]:
    if "oncall" not in receivers:
        raise r.error(
            (*kp, "route"),
            "no route given and no receiver named 'oncall' for the default one"
            " (name a receiver oncall, or write notify.route)",
        )
    urgent: dict[str, Any] = {"matchers": ['severity=~"critical|high"'], "group_wait": "10s", "group_interval": "1m"}
    if "head_of_it" in receivers:
        urgent["escalate"] = [{"after": "15m", "receiver": "head_of_it"}]
    return {
        "receiver": "oncall",
        "group_by": ["category", "segment"],
        "routes": [
            urgent,
            {"matchers": ['severity="medium"'], "group_by": [], "group_wait": "1h", "group_interval": "1h"},
            {"matchers": ['severity="low"'], "receiver": "report"},
        ],
    }


_TOP = (
    "enabled",
    "ack_url",
    "link_ttl",
    "key_file",
    "timezone",
    "quiet_hours",
    "poll",
    "lookback",
    "retry",
    "receivers",
    "route",
    "inhibit_rules",
    "max_items",
)


def load_notify_settings(config: Config) -> NotifySettings:
    raw = config.raw.get("notify")
    r = config.reader()
    kp: KeyPath = ("notify",)
    if raw is None:
        return NotifySettings(key_file=config.data_dir / "notify.key")
    d = r.mapping(raw, kp, optional=True)
    r.unknown(d, kp, _TOP)
    receivers: dict[str, Receiver] = {"report": Receiver("report")}  # the weekly report only: no channel
    for i, item in enumerate(r.seq(d.get("receivers"), (*kp, "receivers"))):
        rec = _receiver(r, item, (*kp, "receivers", i))
        if rec.name in receivers and rec.name != "report":
            raise r.error((*kp, "receivers", i, "name"), f"duplicate receiver name {rec.name!r}")
        receivers[rec.name] = rec
    enabled = r.boolean(d.get("enabled", len(receivers) > 1), (*kp, "enabled"))
    route_raw = d.get("route")
    if route_raw is None and len(receivers) > 1:
        route_raw = default_route(receivers, kp, r)
    route = None
    if route_raw is not None:
        route = _route(r, route_raw, (*kp, "route"), None, receivers, "0")
    tz = r.string(d.get("timezone", "Asia/Ho_Chi_Minh"), (*kp, "timezone"))
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise r.error((*kp, "timezone"), f"unknown time zone {tz!r} (e.g. Asia/Ho_Chi_Minh)") from None
    ack_url = None
    if d.get("ack_url") is not None:
        ack_url = _url(r, d["ack_url"], (*kp, "ack_url"))
    retry_d = r.mapping(d.get("retry"), (*kp, "retry"), optional=True)
    r.unknown(retry_d, (*kp, "retry"), ("backoff", "max_backoff", "give_up"))
    retry = Retry(
        backoff=r.duration(retry_d.get("backoff", 10), (*kp, "retry", "backoff")),
        max_backoff=r.duration(retry_d.get("max_backoff", 900), (*kp, "retry", "max_backoff")),
        give_up=r.duration(retry_d.get("give_up", 86400), (*kp, "retry", "give_up")),
    )
    return NotifySettings(
        enabled=enabled and route is not None,
        receivers=receivers,
        route=route,
        inhibit=tuple(
            _inhibit(r, x, (*kp, "inhibit_rules", i))
            for i, x in enumerate(r.seq(d.get("inhibit_rules"), (*kp, "inhibit_rules")))
        ),
        ack_url=ack_url,
        link_ttl=r.duration(d.get("link_ttl", "24h"), (*kp, "link_ttl")),
        key_file=r.path_value(d["key_file"], (*kp, "key_file"))
        if d.get("key_file") is not None
        else config.data_dir / "notify.key",
        timezone=tz,
        quiet_hours=_quiet(r, d.get("quiet_hours"), (*kp, "quiet_hours")),
        poll=max(0.05, r.duration(d.get("poll", 1), (*kp, "poll"))),
        lookback=r.duration(d.get("lookback", "1d"), (*kp, "lookback")),
        retry=retry,
        max_items=r.integer(d.get("max_items", 20), (*kp, "max_items"), 1, 1000),
    )


def _url(r: Reader, v: Any, kp: KeyPath) -> str:
    url = r.string(v, kp).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise r.error(kp, f"expected an http:// or https:// URL, got {url!r}")
    return url


def _secret(r: Reader, d: dict[str, Any], kp: KeyPath, name: str, required: bool = True) -> str | None:
    """``name`` inline, or ``name_file`` read now (one line, whitespace stripped)."""
    if d.get(f"{name}_file") is not None:
        p = r.path_value(d[f"{name}_file"], (*kp, f"{name}_file"))
        try:
            text = p.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise r.error((*kp, f"{name}_file"), f"cannot read {p}: {e.strerror or e}") from None
        if not text:
            raise r.error((*kp, f"{name}_file"), f"{p} is empty")
        return text
    if d.get(name) is not None:
        return r.string(d[name], (*kp, name))
    if required:
        raise r.error(kp, f"missing key {name!r} (or {name}_file)")
    return None


def _ca(r: Reader, d: dict[str, Any], kp: KeyPath) -> Path | None:
    if d.get("ca_file") is None:
        return None
    p = r.path_value(d["ca_file"], (*kp, "ca_file"))
    if not p.is_file():
        raise r.error((*kp, "ca_file"), f"no such file {p}")
    return p


def _email(r: Reader, raw: Any, kp: KeyPath) -> Email:
    d = r.mapping(raw, kp)
    keys = ("to", "from", "host", "port", "starttls", "tls", "username", "password", "password_file")
    r.unknown(d, kp, (*keys, "ca_file", "timeout"))
    for k in ("to", "from", "host"):
        if k not in d:
            raise r.error(kp, f"missing key {k!r}")
    to = tuple(r.string(x, (*kp, "to", i)) for i, x in enumerate(r.seq(d["to"], (*kp, "to"), one=True)))
    if not to:
        raise r.error((*kp, "to"), "expected at least one address")
    tls = r.boolean(d.get("tls", False), (*kp, "tls"))
    return Email(
        to=to,
        sender=r.string(d["from"], (*kp, "from")),
        host=r.string(d["host"], (*kp, "host")),
        port=r.integer(d.get("port", 465 if tls else 587), (*kp, "port"), 1, 65535),
        starttls=r.boolean(d.get("starttls", not tls), (*kp, "starttls")),
        tls=tls,
        username=r.string(d["username"], (*kp, "username")) if d.get("username") is not None else None,
        password=_secret(r, d, kp, "password", required=d.get("username") is not None),
        ca_file=_ca(r, d, kp),
        timeout=r.duration(d.get("timeout", 30), (*kp, "timeout")),
    )


def _webhook(r: Reader, raw: Any, kp: KeyPath) -> Webhook:
    d = r.mapping(raw, kp)
    r.unknown(d, kp, ("url", "secret", "secret_file", "ca_file", "timeout"))
    if "url" not in d:
        raise r.error(kp, "missing key 'url'")
    secret = _secret(r, d, kp, "secret")
    assert secret is not None
    return Webhook(
        url=_url(r, d["url"], (*kp, "url")),
        secret=secret,
        ca_file=_ca(r, d, kp),
        timeout=r.duration(d.get("timeout", 10), (*kp, "timeout")),
    )


def _telegram(r: Reader, raw: Any, kp: KeyPath) -> Telegram:
    d = r.mapping(raw, kp)
    r.unknown(d, kp, ("chat_id", "token", "token_file", "api_url", "ca_file", "timeout"))
    if "chat_id" not in d:
        raise r.error(kp, "missing key 'chat_id'")
    token = _secret(r, d, kp, "token")
    assert token is not None
    return Telegram(
        chat_id=r.string(d["chat_id"], (*kp, "chat_id")),
        token=token,
        api_url=_url(r, d.get("api_url", "https://api.telegram.org"), (*kp, "api_url")),
        ca_file=_ca(r, d, kp),
        timeout=r.duration(d.get("timeout", 10), (*kp, "timeout")),
    )


def _alertmanager(r: Reader, raw: Any, kp: KeyPath) -> AlertmanagerTarget:
    d = r.mapping(raw, kp)
    r.unknown(d, kp, ("url", "ca_file", "timeout"))
    if "url" not in d:
        raise r.error(kp, "missing key 'url'")
    return AlertmanagerTarget(
        url=_url(r, d["url"], (*kp, "url")),
        ca_file=_ca(r, d, kp),
        timeout=r.duration(d.get("timeout", 10), (*kp, "timeout")),
    )


_CHANNELS: dict[str, Callable[[Reader, Any, KeyPath], Channel]] = {
    "email": _email,
    "webhook": _webhook,
    "telegram": _telegram,
    "alertmanager": _alertmanager,
}


def _receiver(r: Reader, raw: Any, kp: KeyPath) -> Receiver:
    d = r.mapping(raw, kp)
    r.unknown(d, kp, ("name", *_CHANNELS))
    if "name" not in d:
        raise r.error(kp, "missing key 'name'")
    name = r.string(d["name"], (*kp, "name"))
    if not _NAME.fullmatch(name):
        raise r.error((*kp, "name"), f"receiver name {name!r} must match [A-Za-z0-9][A-Za-z0-9._-]*")
    channels: list[Channel] = []
    for key, read in _CHANNELS.items():
        v = d.get(key)
        if v is None:
            continue
        items = v if isinstance(v, list) else [v]
        for i, item in enumerate(items):
            channels.append(read(r, item, (*kp, key, i) if isinstance(v, list) else (*kp, key)))
    return Receiver(name, tuple(channels))


_ROUTE_KEYS = (
    "receiver",
    "matchers",
    "group_by",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "continue",
    "quiet",
    "escalate",
    "routes",
)


def _matchers(r: Reader, raw: Any, kp: KeyPath) -> tuple[Matcher, ...]:
    out = []
    for i, s in enumerate(r.seq(raw, kp, one=True)):
        try:
            out.append(parse_matcher(r.string(s, (*kp, i))))
        except ValueError as e:
            raise r.error((*kp, i), str(e)) from None
    return tuple(out)


def _known(r: Reader, name: str, kp: KeyPath, receivers: dict[str, Receiver]) -> str:
    if name not in receivers:
        raise r.error(kp, f"no receiver named {name!r} (receivers: {', '.join(sorted(receivers))})")
    return name


def _route(
    r: Reader, raw: Any, kp: KeyPath, parent: Route | None, receivers: dict[str, Receiver], rid: str
) -> Route:
    d = r.mapping(raw, kp)
    r.unknown(d, kp, _ROUTE_KEYS)
    if parent is None and "receiver" not in d:
        raise r.error(kp, "missing key 'receiver' (the top route needs one)")
    if parent is None and d.get("matchers"):
        raise r.error((*kp, "matchers"), "the top route matches every alert: it takes no matchers")
    base = parent or Route(receiver="")
    receiver = (
        _known(r, r.string(d["receiver"], (*kp, "receiver")), (*kp, "receiver"), receivers)
        if "receiver" in d
        else base.receiver
    )
    group_by = base.group_by
    if "group_by" in d:
        group_by = tuple(r.string(x, (*kp, "group_by", i)) for i, x in enumerate(r.seq(d["group_by"], (*kp, "group_by"))))
    escalate = base.escalate
    if "escalate" in d:
        steps: list[Step] = []
        for i, s in enumerate(r.seq(d["escalate"], (*kp, "escalate"))):
            skp = (*kp, "escalate", i)
            sd = r.mapping(s, skp)
            r.unknown(sd, skp, ("after", "receiver"))
            if "after" not in sd or "receiver" not in sd:
                raise r.error(skp, "expected {after: 15m, receiver: NAME}")
            after = r.duration(sd["after"], (*skp, "after"))
            if steps and after <= steps[-1].after:
                raise r.error((*skp, "after"), "each step must come later than the one before")
            steps.append(Step(after, _known(r, r.string(sd["receiver"], (*skp, "receiver")), (*skp, "receiver"), receivers)))
        escalate = tuple(steps)
    node = Route(
        receiver=receiver,
        matchers=_matchers(r, d.get("matchers"), (*kp, "matchers")),
        group_by=group_by,
        group_wait=r.duration(d.get("group_wait", base.group_wait), (*kp, "group_wait")),
        group_interval=r.duration(d.get("group_interval", base.group_interval), (*kp, "group_interval")),
        repeat_interval=r.duration(d.get("repeat_interval", base.repeat_interval), (*kp, "repeat_interval")),
        continue_=r.boolean(d.get("continue", False), (*kp, "continue")),
        quiet=r.boolean(d.get("quiet", base.quiet), (*kp, "quiet")),
        escalate=escalate,
        id=rid,
    )
    children = tuple(
        _route(r, c, (*kp, "routes", i), node, receivers, f"{rid}.{i}")
        for i, c in enumerate(r.seq(d.get("routes"), (*kp, "routes")))
    )
    return Route(**{**node.__dict__, "routes": children})


def _inhibit(r: Reader, raw: Any, kp: KeyPath) -> InhibitRule:
    d = r.mapping(raw, kp)
    r.unknown(d, kp, ("source_matchers", "target_matchers", "equal", "within"))
    if not d.get("source_matchers") or not d.get("target_matchers"):
        raise r.error(kp, "needs source_matchers and target_matchers")
    return InhibitRule(
        source=_matchers(r, d["source_matchers"], (*kp, "source_matchers")),
        target=_matchers(r, d["target_matchers"], (*kp, "target_matchers")),
        equal=tuple(r.string(x, (*kp, "equal", i)) for i, x in enumerate(r.seq(d.get("equal"), (*kp, "equal")))),
        within=r.duration(d.get("within", "1h"), (*kp, "within")),
    )


def _quiet(r: Reader, raw: Any, kp: KeyPath) -> QuietHours | None:
    if raw is None:
        return None
    d = r.mapping(raw, kp)
    r.unknown(d, kp, ("from", "to"))

    def minutes(key: str) -> int:
        if key not in d:
            raise r.error(kp, f"missing key {key!r} (HH:MM, local time)")
        m = _HHMM.fullmatch(r.string(d[key], (*kp, key)))
        if m is None:
            raise r.error((*kp, key), f"expected HH:MM such as 22:00, got {d[key]!r}")
        return int(m.group(1)) * 60 + int(m.group(2))

    start, end = minutes("from"), minutes("to")
    if start == end:
        raise r.error(kp, "from and to are equal: quiet hours would be empty")
    return QuietHours(start, end)


def check(config: Config) -> NotifySettings:
    try:
        return load_notify_settings(config)
    except ConfigError:
        raise


declare_section("notify", check=check)
