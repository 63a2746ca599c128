"""notify/'s pure parts: matchers, the route tree (Alertmanager's semantics), grouping, quiet hours,
inhibition, silences, signed links, the webhook signature, messages and their rendering, and the
config section's errors. No store, no network, no clock: every time is given."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from wardwatch.notify import links, render
from wardwatch.notify.channels import webhook
from wardwatch.notify.group import Groups
from wardwatch.notify.inhibit import Inhibitor
from wardwatch.notify.labels import Item, item_of
from wardwatch.notify.matchers import parse_matcher, parse_matchers
from wardwatch.notify.message import build, defang
from wardwatch.notify.outbox import Message, backoff, failed
from wardwatch.notify.quiet import is_quiet, quiet_ends
from wardwatch.notify.route import match
from wardwatch.notify.settings import QuietHours, Retry, load_notify_settings
from wardwatch.notify.silence import Silence, covering

from wardwatch.config import ConfigError, parse_config

TZ = "Asia/Ho_Chi_Minh"
T0 = 1_796_400_000.0


def _settings(notify_yaml: str, tmp_path: Path = Path("/tmp")):  # type: ignore[no-untyped-def]
    cfg = parse_config(f"data_dir: {tmp_path}/var\nnotify:\n{notify_yaml}", tmp_path / "hospital.yaml")
    return load_notify_settings(cfg)


HOOK = "{url: 'https://hook.example/x', secret: s}"
TREE = f"""
  receivers:
    - {{name: oncall, webhook: {HOOK}}}
    - {{name: soc, webhook: {HOOK}}}
    - {{name: head_of_it, webhook: {HOOK}}}
  route:
    receiver: oncall
    group_by: [category, segment]
    group_wait: 30s
    routes:
      - matchers: ['severity=~"critical|high"']
        group_wait: 10s
        escalate: [{{after: 15m, receiver: head_of_it}}]
        routes:
          - matchers: ['zone="airgap"']
            receiver: head_of_it
      - matchers: ['category=~"policy_.*"']
        receiver: soc
        continue: true
      - matchers: ['category="policy_ott"']
        receiver: oncall
        group_wait: 1h
"""


def _item(uid: str = "A1", ts: float = T0, **labels: str) -> Item:
    base = {"category": "port_scan", "severity": "high", "segment": "icu", "zone": "clinical", "src_ip": "10.20.0.5"}
    base.update(labels)
    return Item(uid=uid, ts=ts, seen=ts, count=1, labels=base)


# -- matchers -----------------------------------------------------------------------------------------
def test_matchers_are_anchored_and_missing_labels_read_empty() -> None:
    m = parse_matcher('severity=~"critical|high"')
    assert m.matches({"severity": "high"}) and not m.matches({"severity": "highish"})
    assert parse_matcher('segment=""').matches({})
    assert parse_matcher("zone!=guest").matches({"zone": "icu"})
    assert not parse_matcher('category!~"policy_.*"').matches({"category": "policy_ott"})
    with pytest.raises(ValueError, match="bad regular expression"):
        parse_matcher('category=~"("')
    with pytest.raises(ValueError, match="expected name"):
        parse_matcher("no operator here")


# -- the route tree -----------------------------------------------------------------------------------
def test_routes_follow_alertmanager_semantics() -> None:
    s = _settings(TREE)
    assert s.route is not None
    # first matching child wins; the deepest match is taken
    got = match(s.route, {"severity": "critical", "zone": "airgap", "category": "policy_airgap"})
    assert [r.receiver for r in got] == ["head_of_it"]
    # `continue: true` lets the next siblings try too
    got = match(s.route, {"severity": "medium", "category": "policy_ott"})
    assert [r.receiver for r in got] == ["soc", "oncall"]
    assert got[1].group_wait == 3600
    # nothing below matches: the parent keeps it
    got = match(s.route, {"severity": "low", "category": "dga"})
    assert [r.id for r in got] == ["0"]
    # children inherit what they leave unset
    urgent = s.route.routes[0]
    assert urgent.group_by == ("category", "segment") and urgent.routes[0].group_wait == 10
    assert urgent.routes[0].escalate == urgent.escalate


def test_default_route_is_the_hospital_one() -> None:
    s = _settings(f"  receivers:\n    - {{name: oncall, webhook: {HOOK}}}\n    - {{name: head_of_it, webhook: {HOOK}}}\n")
    assert s.enabled and s.route is not None
    crit = match(s.route, {"severity": "critical"})[0]
    assert crit.receiver == "oncall" and crit.group_wait == 10 and crit.escalate[0].receiver == "head_of_it"
    medium = match(s.route, {"severity": "medium"})[0]
    assert medium.group_wait == 3600 and medium.group_by == ()
    low = match(s.route, {"severity": "low"})[0]
    assert low.receiver == "report" and not s.receivers["report"].channels  # weekly report only


@pytest.mark.parametrize(
    ("yaml_text", "where", "what"),
    [
        (f"  receivers:\n    - {{name: oncall, webhook: {HOOK}}}\n  route: {{receiver: nobody}}\n", "hospital.yaml:5: notify.route.receiver", "no receiver named 'nobody'"),
        (f"  receivers:\n    - {{name: oncall, webhook: {HOOK}}}\n  route:\n    receiver: oncall\n    routes:\n      - matchers: ['severity=~\"(\"']\n", "notify.route.routes[0].matchers[0]", "bad regular expression"),
        (f"  receivers:\n    - {{name: pager, webhook: {HOOK}}}\n", "notify.route", "no receiver named 'oncall'"),
        ("  receivers:\n    - {name: oncall, email: {to: a@b.vn, from: w@b.vn}}\n", "notify.receivers[0].email", "missing key 'host'"),
        ("  recievers: []\n", "notify.recievers", "did you mean 'receivers'"),
        (f"  receivers:\n    - {{name: oncall, webhook: {HOOK}}}\n  quiet_hours: {{from: '25:00', to: '06:00'}}\n", "notify.quiet_hours.from", "HH:MM"),
        ("  receivers:\n    - {name: oncall, telegram: {chat_id: 1, token_file: /nonexistent/tg}}\n", "notify.receivers[0].telegram.token_file", "cannot read"),
    ],
)
def test_config_errors_name_file_line_and_key(yaml_text: str, where: str, what: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        _settings(yaml_text, tmp_path)
    assert where in str(e.value) and what in str(e.value)
    assert str(e.value).startswith("hospital.yaml:")


# -- grouping -----------------------------------------------------------------------------------------
def test_a_flood_waits_group_wait_and_goes_out_as_one_group_per_key() -> None:
    s = _settings(TREE)
    assert s.route is not None
    g = Groups()
    for i in range(10_000):
        item = _item(f"A{i}", T0 + i * 0.006, segment="icu" if i % 2 else "lab", src_ip=f"10.{i // 256}.{i % 256}.1")
        for r in match(s.route, item.labels):
            g.add(r, item, T0 + i * 0.006)
    assert g.flush(T0 + 9.9) == []
    out = g.flush(T0 + 10.01)  # (the icu group began 6 ms later)
    assert sorted((x.key, len(x.items)) for x in out) == [
        ("category=port_scan,segment=icu", 5000),
        ("category=port_scan,segment=lab", 5000),
    ]
    # a late alert of a notified group waits group_interval after the last message
    late = _item("Alate", T0 + 20)
    g.add(match(s.route, late.labels)[0], late, T0 + 20)
    assert g.flush(T0 + 60) == [] and len(g.flush(T0 + 10.01 + 300)) == 1


def test_quiet_hours_hold_non_critical_groups_only() -> None:
    q = QuietHours(22 * 60, 6 * 60 + 30)
    night = datetime(2026, 12, 4, 23, 15, tzinfo=ZoneInfo(TZ)).timestamp()
    day = datetime(2026, 12, 4, 9, 0, tzinfo=ZoneInfo(TZ)).timestamp()
    assert is_quiet(q, night, TZ) and not is_quiet(q, day, TZ)
    assert quiet_ends(q, night, TZ) == datetime(2026, 12, 5, 6, 30, tzinfo=ZoneInfo(TZ)).timestamp()
    s = _settings(TREE)
    assert s.route is not None
    g = Groups()
    for it in (_item("Ahigh"), _item("Acrit", severity="critical", category="beacon")):
        g.add(match(s.route, it.labels)[0], it, night)

    def held(group):  # type: ignore[no-untyped-def]
        return is_quiet(q, night + 60, TZ) and group.route.quiet and not group.critical

    out = g.flush(night + 60, held)
    assert [x.items[0].uid for x in out] == ["Acrit"]
    assert [x.items[0].uid for x in g.flush(quiet_ends(q, night, TZ))] == ["Ahigh"]


# -- inhibition and silences --------------------------------------------------------------------------
def test_a_port_scan_mutes_the_same_hosts_segmentation_alerts() -> None:
    s = _settings(
        TREE
        + "  inhibit_rules:\n    - {source_matchers: ['category=\"port_scan\"'], target_matchers: ['category=\"policy_segmentation\"'], equal: [src_ip]}\n"
    )
    scan = _item("Ascan", category="port_scan")
    inh = Inhibitor(s.inhibit, [scan])
    assert inh.muted_by(_item("Aseg", category="policy_segmentation")) == "Ascan"
    assert inh.muted_by(_item("Aother", category="policy_segmentation", src_ip="10.20.0.9")) is None
    assert inh.muted_by(_item("Aold", ts=T0 - 7200, category="policy_segmentation")) is None  # outside `within`
    assert inh.muted_by(scan) is None  # never itself


def test_silences_cover_matching_alerts_while_active() -> None:
    sil = Silence("S1", parse_matchers(['category="port_scan"', 'src_ip="10.20.0.5"']), T0, T0 + 3600, "an")
    assert covering([sil], _item().labels, T0 + 10) is sil
    assert covering([sil], _item(src_ip="10.20.0.6").labels, T0 + 10) is None
    assert covering([sil], _item().labels, T0 + 3600) is None  # expired


# -- links and signatures -----------------------------------------------------------------------------
def test_signed_links_refuse_forgery_other_keys_and_expiry() -> None:
    key = b"k" * 32
    token = links.sign(key, links.Grant("M1", "ack", "oncall", T0 + 3600))
    assert links.verify(key, token, T0).message == "M1"
    payload, mac = token.split(".")
    forged = links.sign(b"other" * 8, links.Grant("M1", "ack", "oncall", T0 + 10**9))
    for bad in (forged, payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + mac, "nonsense", ""):
        with pytest.raises(links.BadLink):
            links.verify(key, bad, T0)
    with pytest.raises(links.BadLink, match="expired"):
        links.verify(key, token, T0 + 3600)


def test_webhook_signature_and_replay_window() -> None:
    body = webhook.payload({"id": "M1"})
    sig = webhook.signature("s3cret", int(T0), body)
    assert webhook.verify("s3cret", str(int(T0)), sig, body, T0 + 10)
    assert not webhook.verify("s3cret", str(int(T0)), sig, body + b" ", T0)
    assert not webhook.verify("wrong", str(int(T0)), sig, body, T0)
    assert not webhook.verify("s3cret", str(int(T0)), sig, body, T0 + 3600)  # replayed an hour later


def test_backoff_doubles_to_a_cap_and_gives_up_after_the_deadline() -> None:
    r = Retry(backoff=10, max_backoff=60, give_up=3600)
    assert [backoff(r, n) for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 60, 60]
    m = Message("M1", T0, "0", "oncall", "k", "notify", 0, "M1", ("A1",), {})
    m2 = failed(m, "down", T0 + 5, r)
    assert (m2.status, m2.attempts, m2.next_try, m2.version) == ("pending", 1, T0 + 15, 2)
    assert failed(m2, "down", T0 + 3600, r).status == "failed"


# -- messages -----------------------------------------------------------------------------------------
def test_messages_carry_what_to_act_on_and_no_payload_and_escape_hostile_names() -> None:
    row = {
        "uid": "A1",
        "ts": T0,
        "category": "threat_feed_domain",
        "severity": "critical",
        "segment": "icu",
        "src_ip": "::ffff:10.20.0.5",
        "indicator": "<script>alert(1)</script>.evil.example",
        "directive": "BYT-CNTT-2021",
        "evidence": '{"uri": "/patient?id=123"}',
    }
    item = item_of(row, {"icu": "clinical"})
    assert item.host == "10.20.0.5" and item.labels["zone"] == "clinical"
    doc = build([item], message_id="M1", receiver="oncall", route="0", group={}, tz=TZ, max_items=20,
                ack_url="https://ww.bv.vn", key=b"k" * 32, link_expires=T0 + 3600)  # fmt: skip
    html = render.html(doc)
    text = render.text(doc)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "patient" not in html + text  # evidence is never read
    assert "Truy vấn tên miền độc hại" in text and "Lookup of a malicious domain" in text
    assert "Bộ Y tế, Cục Công nghệ thông tin" in text  # the order it breaks
    assert "chặn tên miền" in text  # what to do first
    assert "evil[.]example" in text  # defanged
    assert "https://ww.bv.vn/ack?t=" in text
    assert "nghiêm trọng" in render.subject(doc)
    # a login alert's indicator (it names an account) is left out
    login = item_of({**row, "category": "policy_weak_password", "indicator": "nguyen.van.a@ftp"}, {})
    assert login.indicator == ""
    assert defang("http://a.b") == "hxxp://a[.]b"


def test_message_time_is_local() -> None:
    doc = build([_item(ts=time.mktime((2026, 12, 4, 12, 0, 0, 0, 0, 0)))], message_id="M", receiver="r", route="0",
                group={}, tz="UTC", max_items=5)  # fmt: skip
    assert doc["first"].startswith("2026-12-04")


# -- reminders (repeat_interval) ----------------------------------------------------------------------
def test_a_group_still_open_is_reminded_after_repeat_interval_and_not_after_an_ack() -> None:
    from wardwatch.notify import repeat
    from wardwatch.notify.message import build, reminded
    from wardwatch.notify.render import subject, text

    s = _settings(TREE)
    assert s.route is not None
    route = match(s.route, _item().labels)[0]
    assert route.repeat_interval == 4 * 3600  # the hospital default (Alertmanager's)
    items = [_item("A1"), _item("A2", src_ip="10.20.0.6")]
    doc = build(items, message_id="M1-0", receiver="oncall", route=route.id, group={}, tz=TZ, max_items=20)
    first = Message(
        id="M1-0", created=T0, route=route.id, receiver="oncall", group_key="k", kind="notify", level=0,
        root="M1", uids=("A1", "A2"), doc=doc, status="sent", sent_at=T0 + 1,
    )  # fmt: skip
    every = {route.id: route.repeat_interval}
    notified = {"A1": "notified", "A2": "notified"}
    # not before the interval (counted from when it was sent)
    assert repeat.due([first], notified, every, T0 + 1 + 4 * 3600 - 1) == []
    # after it: one reminder for the group, both alerts still open
    (d,) = repeat.due([first], notified, every, T0 + 1 + 4 * 3600)
    assert (d.route, d.group_key, d.open, d.latest.id) == (route.id, "k", ("A1", "A2"), "M1-0")
    # one alert acknowledged: the reminder names only the other
    (d,) = repeat.due([first], {"A1": "acknowledged", "A2": "notified"}, every, T0 + 5 * 3600)
    assert d.open == ("A2",)
    # all settled (acknowledged / resolved / false positive): no more reminders
    done = {"A1": "acknowledged", "A2": "resolved"}
    assert repeat.due([first], done, every, T0 + 5 * 3600) == []
    assert repeat.due([first], {"A1": "false_positive", "A2": "acknowledged"}, every, T0 + 99 * 3600) == []
    # the next reminder counts from the previous one; a pending one holds the group; no interval: never
    rdoc = reminded(doc, message_id="R1-0", receiver="oncall", hours=4, open_uids={"A2"}, tz=TZ, ack_url=None, key=None, link_expires=0)
    again = Message(
        id="R1-0", created=T0 + 4 * 3600 + 1, route=route.id, receiver="oncall", group_key="k", kind="reminder",
        level=0, root="M1", uids=("A2",), doc=rdoc, status="sent", sent_at=T0 + 4 * 3600 + 2,
    )  # fmt: skip
    assert repeat.due([first, again], notified, every, T0 + 8 * 3600) == []
    assert len(repeat.due([first, again], notified, every, T0 + 8 * 3600 + 2)) == 1
    assert repeat.due([first, replace(again, status="pending")], notified, every, T0 + 99 * 3600) == []
    assert repeat.due([first], notified, {route.id: 0}, T0 + 99 * 3600) == []
    # the message says it is a reminder, Vietnamese first, and lists only the open alert
    subj = subject(rdoc)
    assert subj.index("NHẮC LẠI") < subj.index("REMINDER") and "1 cảnh báo" in subj
    body = text(rdoc)
    assert body.index("Đây là tin nhắc lại") < body.index("This is a reminder")
    assert [i["uid"] for i in rdoc["items"]] == ["A2"]
