"""The console's web application over HTTP (Starlette's test client) on a real embedded store filled
by ``wardwatch run`` from the synthetic hospital: login with password and TOTP, lock-out, CSRF,
cookie flags, roles, hostile names, SQL in filters, actions into ``alert_events``, the audit log."""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
import yaml

pytest.importorskip("chdb")
pytest.importorskip("starlette")

with warnings.catch_warnings():  # Starlette 1.x asks for httpx2; httpx serves the test client the same
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from wardwatch.cli import main  # noqa: E402
from wardwatch.console import accounts, manage  # noqa: E402
from wardwatch.console.app import build  # noqa: E402
from wardwatch.console.settings import ConsoleSettings  # noqa: E402
from wardwatch.store import open_store  # noqa: E402
from wardwatch.tools.synth import generate  # noqa: E402

from wardwatch.alerts import Alert  # noqa: E402
from wardwatch.config import load_config  # noqa: E402

pytestmark = pytest.mark.integration
PASSWORD = "Ch4m-soc-benh-nhan!"
HOSTILE = "<img src=x onerror=alert(1)>"


class World:
    def __init__(self, store: Any, config: Any, synth: Any, tmp: Path) -> None:
        self.store, self.config, self.synth, self.tmp = store, config, synth, tmp
        self.secrets: dict[str, str] = {}

    def app(self, https: bool = False, max_failures: int = 5, **kw: Any) -> Any:
        cert = self.tmp / "c.pem" if https else None
        settings = ConsoleSettings("127.0.0.1", 0, cert, cert, max_failures=max_failures, **kw)
        return build(self.store, self.config, settings)

    def client(self, https: bool = False, **kw: Any) -> TestClient:
        return TestClient(self.app(https, **kw), base_url="https://testserver" if https else "http://testserver")

    def login(self, c: TestClient, name: str, code: str | None = None, password: str = PASSWORD) -> Any:
        page = c.get("/login")
        pre = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert pre is not None
        if code is None:
            code = pyotp.TOTP(self.secrets[name]).at(time.time() + 30 * len(c.cookies))  # a fresh step
        data = {"csrf": pre.group(1), "name": name, "password": password, "code": code, "next": "/alerts"}
        return c.post("/login", data=data, follow_redirects=False)

    def session(self, name: str, **kw: Any) -> TestClient:
        c = self.client(**kw)
        r = self.login(c, name, pyotp.TOTP(self.secrets[name]).now())
        assert r.status_code == 303, r.text
        return c


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("console")
    synth = generate(tmp / "synth", seed=3, sessions=20)
    cfg = yaml.safe_load(synth.config.read_text())
    cfg["data_dir"] = str(tmp / "var")
    path = tmp / "hospital.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    assert main(["run", "--quiet", "--pcap", str(synth.pcap), "--config", str(path)]) == 0
    config = load_config(path)
    store = open_store(config)
    try:
        w = World(store, config, synth, tmp)
        for name, role in (("lan", "analyst"), ("minh", "viewer"), ("thu", "admin"), ("khoa", "analyst")):
            w.secrets[name] = manage.apply(store, {"op": "add", "name": name, "role": role, "password": PASSWORD}, "test")["totp"]
        # an alert whose DNS name is hostile markup, with its DNS record
        ts = 1767254500.0
        bad = Alert(ts, "threat_feed_domain", "high", "10.20.0.99", "10.40.0.53", HOSTILE, "feed.dns.query",
                    {"vi": f"Máy 10.20.0.99 truy vấn {HOSTILE}", "en": f"10.20.0.99 looked up {HOSTILE}"},
                    {"log": "dns", "uid": "Cxss00000000000001", "query": HOSTILE, "observed": HOSTILE}, segment="wards")  # fmt: skip
        writer = store.writer()
        writer.add_records([{"_path": "dns", "ts": ts, "uid": "Cxss00000000000001", "id.orig_h": "10.20.0.99",
                             "id.orig_p": 5353, "id.resp_h": "10.40.0.53", "id.resp_p": 53, "proto": "udp",
                             "query": HOSTILE, "qtype_name": "A", "rcode_name": "NOERROR", "answers": []}])  # fmt: skip
        writer.add_alerts([bad])
        writer.flush()
        writer.close()
        w.hostile = bad.uid  # type: ignore[attr-defined]
        (tmp / "c.pem").write_text("not used: the test client speaks ASGI, not TLS")
        yield w
    finally:
        store.close()


def _csrf(page: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m is not None, page[:500]
    return m.group(1)


def _his_attack(store: Any) -> str:
    rows = store.rows("SELECT uid FROM alerts WHERE category = 'policy_segmentation' AND dst_segment = 'his' LIMIT 1")
    assert rows, "the synthetic capture's guest → HIS attack is in the store"
    return str(rows[0]["uid"])


def test_pages_need_a_login(world: World) -> None:
    c = world.client()
    for path in ("/", "/alerts", f"/alerts/{_his_attack(world.store)}", "/hosts/10.20.0.31", "/search?q=x", "/audit"):
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    assert c.get("/alerts/rows", headers={"HX-Request": "true"}, follow_redirects=False).status_code == 401


def test_login_needs_password_and_totp(world: World) -> None:
    app = world.app()
    c = TestClient(app)
    secret = world.secrets["khoa"]
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 1000000:06d}"
    r = world.login(c, "khoa", wrong)
    assert r.status_code == 401 and "ww_session" not in r.headers.get("set-cookie", "")
    assert "không đúng" in r.text
    r = world.login(c, "khoa", pyotp.TOTP(secret).now(), password=PASSWORD + "x")
    assert r.status_code == 401
    r = world.login(c, "khoa", pyotp.TOTP(secret).now())
    assert r.status_code == 303 and r.headers["location"] == "/alerts"
    assert c.get("/alerts").status_code == 200
    # the same code again (replayed) does not open a second session
    again = TestClient(app)
    assert world.login(again, "khoa", pyotp.TOTP(secret).now()).status_code == 401


def test_session_cookie_flags(world: World) -> None:
    c = world.client(https=True)
    r = world.login(c, "thu", pyotp.TOTP(world.secrets["thu"]).now())
    assert r.status_code == 303
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("ww_session="))
    flags = {p.strip().lower() for p in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= flags
    assert "strict-transport-security" in r.headers
    page = c.get("/alerts")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_lockout_after_repeated_failures_refuses_even_the_right_password(world: World) -> None:
    manage.apply(world.store, {"op": "add", "name": "bao", "role": "viewer", "password": PASSWORD}, "test")
    secret = accounts.get(world.store, "bao").totp  # type: ignore[union-attr]
    c = world.client(max_failures=3)
    codes = [world.login(c, "bao", "000000", password="sai-mat-khau").status_code for _ in range(3)]
    assert codes[:2] == [401, 401] and codes[2] == 429
    r = world.login(c, "bao", pyotp.TOTP(secret).now())
    assert r.status_code == 429 and "khóa tạm thời" in r.text
    audit = world.store.rows("SELECT action FROM console_audit WHERE who = 'bao' ORDER BY ts")
    assert [a["action"] for a in audit].count("login_failed") == 3 and audit[-1]["action"] == "login_locked"


def test_a_disabled_account_cannot_log_in_and_loses_its_sessions(world: World) -> None:
    manage.apply(world.store, {"op": "add", "name": "cuong", "role": "viewer", "password": PASSWORD}, "test")
    secret = accounts.get(world.store, "cuong").totp  # type: ignore[union-attr]
    app = world.app()
    c = TestClient(app)
    assert world.login(c, "cuong", pyotp.TOTP(secret).now()).status_code == 303
    assert c.get("/alerts").status_code == 200
    out = manage.apply(world.store, {"op": "disable", "name": "cuong"}, "test", app.state.console.sessions.close_user)
    assert out["ended"] == 1
    assert c.get("/alerts", follow_redirects=False).status_code == 303
    assert world.login(TestClient(app), "cuong", pyotp.TOTP(secret).at(time.time() + 30)).status_code == 401


def test_post_without_csrf_token_is_refused(world: World) -> None:
    c = world.session("lan")
    uid = _his_attack(world.store)
    before = world.store.rows("SELECT count() AS n FROM alert_events WHERE alert_uid = {u:String}", {"u": uid})[0]["n"]
    assert c.post(f"/alerts/{uid}/action", data={"action": "ack"}, follow_redirects=False).status_code == 403
    bad = c.post(f"/alerts/{uid}/action", data={"action": "ack", "csrf": "x" * 43}, follow_redirects=False)
    assert bad.status_code == 403
    token = _csrf(c.get(f"/alerts/{uid}").text)
    cross = c.post(f"/alerts/{uid}/action", data={"action": "ack", "csrf": token},
                   headers={"Origin": "https://evil.example"}, follow_redirects=False)  # fmt: skip
    assert cross.status_code == 403
    after = world.store.rows("SELECT count() AS n FROM alert_events WHERE alert_uid = {u:String}", {"u": uid})[0]["n"]
    assert after == before
    # the login form's own token
    assert c.post("/login", data={"name": "lan", "password": PASSWORD, "code": "123456"}).status_code == 403


def test_hostile_dns_name_renders_as_text(world: World) -> None:
    c = world.session("minh")
    uid = world.hostile  # type: ignore[attr-defined]
    for page in (c.get(f"/alerts/{uid}").text, c.get("/alerts").text, c.get("/search?q=10.20.0.99").text):
        assert "<img src=x" not in page
    page = c.get(f"/alerts/{uid}").text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert c.get("/search", params={"q": HOSTILE, "kind": "domain"}).status_code == 200


def test_sql_in_a_filter_is_a_value(world: World) -> None:
    c = world.session("minh")
    n = world.store.rows("SELECT count() AS n FROM alerts")[0]["n"]
    for evil in ("his' OR 1=1 --", "') OR ('1'='1", "his; DROP TABLE alerts"):
        r = c.get("/alerts", params={"segment": evil})
        assert r.status_code == 200 and "<tbody>\n<tr><td colspan=\"7\">" in r.text  # nothing matches
        r = c.get("/search", params={"q": evil, "kind": "user"})
        assert r.status_code == 200
    r = c.get("/alerts", params={"host": "10.0.0.1' OR '1'='1", "status": "new' OR 1=1"})
    assert r.status_code == 200
    assert world.store.rows("SELECT count() AS n FROM alerts")[0]["n"] == n


def test_queue_filters_to_his_and_opens_the_attack_with_its_records(world: World) -> None:
    c = world.session("minh")
    uid = _his_attack(world.store)
    page = c.get("/alerts", params={"segment": "his"}).text
    shown = set(re.findall(r'data-uid="([^"]+)"', page))
    assert uid in shown
    his = world.store.rows("SELECT uid FROM alerts WHERE segment = 'his' OR dst_segment = 'his'")
    assert shown == {r["uid"] for r in his}
    alert = c.get(f"/alerts/{uid}").text
    evidence = world.store.rows("SELECT JSONExtractString(evidence, 'uid') AS c FROM alerts WHERE uid = {u:String}", {"u": uid})[0]["c"]
    behind = alert.split('id="behind"')[1].split("</div>")[0]
    assert evidence and evidence in behind
    assert "SYT-BDI-2024" not in alert or "Bình Định" in alert  # the order's issuer and text
    assert "Sở Y tế yêu cầu" in alert  # the order's own text, copied into the package
    grouped = c.get("/alerts", params={"group": "1", "segment": "his"}).text
    assert f"/alerts/{uid}" in grouped


def test_viewer_cannot_act_analyst_can_and_it_is_alert_events(world: World) -> None:
    uid = _his_attack(world.store)
    viewer = world.session("minh")
    page = viewer.get(f"/alerts/{uid}").text
    assert 'id="act-ack"' not in page and 'id="readonly"' in page
    r = viewer.post(f"/alerts/{uid}/action", data={"action": "ack", "csrf": _csrf(page)}, follow_redirects=False)
    assert r.status_code == 403
    analyst = world.session("lan")
    token = _csrf(analyst.get(f"/alerts/{uid}").text)
    r = analyst.post(f"/alerts/{uid}/action", data={"action": "fp", "csrf": token}, follow_redirects=False)
    assert r.status_code == 400  # a false positive needs a reason
    r = analyst.post(f"/alerts/{uid}/action", data={"action": "ack", "note": "máy khách đã bị chặn", "csrf": token}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    r = analyst.post(f"/alerts/{uid}/action", data={"action": "assign", "assignee": "thu", "csrf": token}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    events = world.store.rows("SELECT state, who, note FROM alert_events WHERE alert_uid = {u:String} ORDER BY ts", {"u": uid})
    assert events[-2] == {"state": "acknowledged", "who": "lan", "note": "máy khách đã bị chặn"}
    assert events[-1]["state"] == "acknowledged" and "thu" in events[-1]["note"]
    assert 'id="alert-state" data-state="acknowledged">đã xác nhận<' in analyst.get(f"/alerts/{uid}").text
    acked = set(re.findall(r'data-uid="([^"]+)"', analyst.get("/alerts", params={"status": "acknowledged"}).text))
    fresh = set(re.findall(r'data-uid="([^"]+)"', analyst.get("/alerts", params={"status": "new"}).text))
    assert uid in acked and uid not in fresh and fresh and not (acked & fresh)
    grouped = analyst.get("/alerts", params={"group": "1", "segment": "his"}).text
    assert re.search(r"<td>1</td><td>0</td></tr>", grouped)  # the HIS group: one alert, none open now
    actions = {r["action"] for r in world.store.rows("SELECT action FROM console_audit WHERE who = 'lan'")}
    assert {"login", "view_alert", "ack", "assign"} <= actions
    refused = world.store.rows("SELECT count() AS n FROM console_audit WHERE who = 'minh' AND action = 'refused'")
    assert refused[0]["n"] >= 1


def test_false_positive_adds_the_allow_list_entry(world: World) -> None:
    allow = world.tmp / "allow-console.txt"
    c = world.session("lan", allowlist_file=allow)
    uid = world.store.rows("SELECT uid FROM alerts WHERE category = 'threat_feed_domain' AND rule = 'feed.tls.sni' LIMIT 1")[0]["uid"]
    token = _csrf(c.get(f"/alerts/{uid}").text)
    r = c.post(f"/alerts/{uid}/action", data={"action": "fp", "note": "trang đào tạo nội bộ", "allow": "1", "csrf": token}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    lines = allow.read_text().splitlines()
    assert lines[-1] == "login.phish-bank.example" and "lan" in lines[-2] and lines[-2].startswith("#")
    state = world.store.rows("SELECT argMax(state, ts) AS s FROM alert_events WHERE alert_uid = {u:String}", {"u": uid})
    assert state[0]["s"] == "false_positive"


def test_only_admin_reads_the_audit_log_which_records_views(world: World) -> None:
    analyst = world.session("lan")
    analyst.get("/hosts/10.20.0.31")
    analyst.get("/search", params={"q": "evil-c2.example"})
    assert analyst.get("/audit").status_code == 403
    admin = world.session("thu")
    page = admin.get("/audit")
    assert page.status_code == 200
    assert "view_host" in page.text and "10.20.0.31" in page.text and "search" in page.text


def test_other_pages_answer_in_both_languages(world: World) -> None:
    c = world.session("thu")
    for path in ("/", "/hosts/10.20.0.31", "/search?q=evil-c2.example", "/silences", "/status"):
        vi = c.get(path)
        assert vi.status_code == 200 and 'lang="vi"' in vi.text, path
    c.get("/lang", params={"to": "en", "next": "/alerts"})
    en = c.get("/alerts")
    assert 'lang="en"' in en.text and "Alert queue" in en.text
    assert c.get("/lang", params={"to": "vi", "next": "//evil.example/"}, follow_redirects=False).headers["location"] == "/"
    ov = c.get("/").text
    assert ov.index("/alerts?segment=his") < ov.index("/alerts?segment=emr") < ov.index("/alerts?segment=dmz")
    his_tile = ov.split('href="/alerts?segment=his"')[1].split("</a>")[0]
    assert "/ 1<" in his_tile  # the guest-Wi-Fi → HIS attack counts for the HIS segment
    for odd in ("/?span=abc", "/?span=nan", "/alerts?since=x&until=inf&hours=-3", "/hosts/not-an-ip", "/alerts/nope"):
        assert c.get(odd).status_code in (200, 404), odd
    search = c.get("/search", params={"q": "evil-c2.example"}).text
    assert "beacon.evil-c2.example" in search


def test_silences_from_the_console_are_notify_silences(world: World) -> None:
    viewer = world.session("minh")
    page = viewer.get("/silences").text
    assert 'id="silence-form"' not in page
    refused = viewer.post("/silences/action", data={"csrf": _csrf(page), "matchers": 'category="port_scan"', "for": "2h", "comment": "x"}, follow_redirects=False)  # fmt: skip
    assert refused.status_code == 403
    c = world.session("lan")
    page = c.get("/silences", params={"category": "port_scan", "src_ip": "10.30.0.66"}).text
    assert 'category="port_scan"\nsrc_ip="10.30.0.66"' in page.replace("&#34;", '"')  # prefilled from an alert
    token = _csrf(page)
    for bad in ({"matchers": "category port_scan", "for": "2h", "comment": "x"},
                {"matchers": 'category="port_scan"', "for": "forever", "comment": "x"},
                {"matchers": 'category="port_scan"', "for": "2h", "comment": ""}):  # fmt: skip
        assert c.post("/silences/action", data={"csrf": token, **bad}, follow_redirects=False).status_code == 400
    ok = c.post("/silences/action", data={"csrf": token, "matchers": 'category="port_scan"\nsrc_ip="10.30.0.66"',
                                          "for": "2h", "comment": "kiểm thử xâm nhập"}, follow_redirects=False)  # fmt: skip
    assert ok.status_code == 303
    rows = world.store.rows("SELECT id, matchers, author, comment FROM notify_silences FINAL WHERE author = 'lan'")
    assert len(rows) == 1 and rows[0]["comment"] == "kiểm thử xâm nhập"
    assert sorted(rows[0]["matchers"]) == ['category="port_scan"', 'src_ip="10.30.0.66"']
    assert rows[0]["id"] in c.get("/silences").text
    assert c.post("/silences/action", data={"csrf": token, "expire": rows[0]["id"]}, follow_redirects=False).status_code == 303
    assert rows[0]["id"] not in c.get("/silences").text
