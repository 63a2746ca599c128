"""The console in a real headless Chromium (Debian's, driven by Playwright) against a real
``wardwatch serve`` replaying the synthetic hospital, with notify delivering to a real SMTP server and
escalating: log in with password and TOTP (a wrong code is refused), filter the queue to the HIS
segment, open the injected guest-Wi-Fi → HIS attack, see its records, acknowledge it; the
acknowledgement shows in ``wardwatch alerts show`` and keeps the alert out of the escalation; a viewer
cannot acknowledge; axe-core finds no serious or critical accessibility violation on any page.

Screenshots of each page go to ``$WARDWATCH_CONSOLE_SHOTS`` (docs/CONSOLE.md: ``docs/img``) when set,
else to the test's temporary folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
import yaml

pytest.importorskip("chdb")
pytest.importorskip("aiosmtpd")
playwright = pytest.importorskip("playwright.sync_api")

from wardwatch.tools.synth import generate  # noqa: E402

from tests.integration.test_notify_channels import Smtp, free_port  # noqa: E402
from tests.integration.test_notify_channels import cert as cert  # noqa: E402, F401 (the fixture)
from tests.integration.test_notify_channels import smtp as smtp  # noqa: E402, F401 (the fixture)
from tests.integration.test_notify_serve import Serve  # noqa: E402
from tests.integration.waiting import wait_for  # noqa: E402

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe" / "axe.min.js"
PASSWORD = "Ch4m-soc-benh-nhan!"
ESCALATE_AFTER = 60  # seconds after a group's first mail; the acknowledgement comes well before
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


def _cli(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wardwatch.cli", *args], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120
    )


class Site:
    def __init__(self, serve: Serve, url: str, secrets: dict[str, str], config: Path, tmp: Path) -> None:
        self.serve, self.url, self.secrets, self.config, self.tmp = serve, url, secrets, config, tmp
        self.shots = Path(os.environ.get("WARDWATCH_CONSOLE_SHOTS") or tmp / "shots")
        self.shots.mkdir(parents=True, exist_ok=True)
        self.used: dict[str, int] = {}

    def code(self, name: str) -> str:
        """A code for a 30-second step not used yet by this account (the console refuses a replay)."""
        import time

        totp = pyotp.TOTP(self.secrets[name])
        step = int(time.time()) // 30
        if self.used.get(name, -1) >= step:
            step = self.used[name] + 1  # the next step: accepted as clock drift
        self.used[name] = step
        return totp.at(step * 30)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, smtp: Smtp, cert: tuple[Path, Path]) -> Iterator[Site]:  # noqa: F811
    tmp = tmp_path_factory.mktemp("console-browser")
    synth = generate(tmp / "synth", seed=3, sessions=20)
    port = free_port()
    cfg = yaml.safe_load(synth.config.read_text())
    cfg["data_dir"] = str(tmp / "var")
    cfg["http"] = {"listen": "127.0.0.1:0", "console": {"listen": f"127.0.0.1:{port}"}}
    cfg["store"] = {"flush_seconds": 0.2}
    mail = {"from": "wardwatch@bv.vn", "host": "127.0.0.1", "port": smtp.port, "username": "wardwatch",
            "password": "mật-khẩu", "ca_file": str(cert[0]), "timeout": "5s"}  # fmt: skip
    cfg["notify"] = {
        "poll": "0.5s",
        "receivers": [{"name": "oncall", "email": {**mail, "to": ["truc@bv.vn"]}},
                      {"name": "head_of_it", "email": {**mail, "to": ["truongphong@bv.vn"]}}],
        "route": {"receiver": "oncall", "group_by": ["category"], "group_wait": "0s", "quiet": False,
                  "escalate": [{"after": f"{ESCALATE_AFTER}s", "receiver": "head_of_it"}]},
    }  # fmt: skip
    config = tmp / "hospital.yaml"
    config.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    secrets = {}
    for name, role in (("lan", "analyst"), ("minh", "viewer"), ("thu", "admin")):
        made = _cli("users", "add", name, "--role", role, "--password-stdin", "--config", str(config), cwd=tmp, stdin=PASSWORD + "\n")
        assert made.returncode == 0, made.stderr
        secrets[name] = re.search(r"secret=([A-Z2-7]+)", made.stdout).group(1)  # type: ignore[union-attr]
    weak = _cli("users", "add", "yen", "--password-stdin", "--config", str(config), cwd=tmp, stdin="123456\n")
    assert weak.returncode == 2 and "12" in weak.stderr  # refused: too short, too simple
    serve = Serve(config, synth.pcap)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for("the console", lambda: _up(url + "/login"), 60)
        wait_for("the HIS attack stored", lambda: serve.query(HIS_SQL), 120)
        yield Site(serve, url, secrets, config, tmp)
    finally:
        serve.stop(signal.SIGTERM)


HIS_SQL = "SELECT uid FROM alerts WHERE category = 'policy_segmentation' AND dst_segment = 'his'"


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 - the test's own loopback console
            return r.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def _page(browser: Any) -> Any:
    # axe is injected as a script: the console's CSP (script-src 'self') would refuse it, rightly
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, bypass_csp=True, locale="vi-VN")
    return ctx.new_page()


def _login(page: Any, site: Site, name: str, code: str | None = None) -> None:
    page.goto(site.url + "/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.fill("#code", code or site.code(name))
    page.click("button[type=submit]")


def _axe(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_login_filter_open_acknowledge_stops_escalation(site: Site, browser: Any) -> None:
    page = _page(browser)
    secret = pyotp.TOTP(site.secrets["lan"])
    wrong = f"{(int(secret.now()) + 500000) % 1000000:06d}"
    _login(page, site, "lan", wrong)
    assert page.locator("#login-error").is_visible()
    assert "/login" in page.url
    page.screenshot(path=str(site.shots / "console-login.png"))

    _login(page, site, "lan")
    page.wait_for_url(re.compile(r"/$|/alerts"))
    page.goto(site.url + "/alerts")
    page.select_option("#f-segment", "his")
    page.click("#apply")
    page.wait_for_url(re.compile(r"segment=his"))
    (uid,) = [r["uid"] for r in site.serve.query(HIS_SQL)]
    row = page.locator(f'tr[data-uid="{uid}"]')
    assert row.count() == 1
    shown = page.locator("tr[data-uid]").evaluate_all("rows => rows.map(r => r.dataset.uid)")
    his = {r["uid"] for r in site.serve.query("SELECT uid FROM alerts WHERE segment = 'his' OR dst_segment = 'his'")}
    assert set(shown) == his
    page.screenshot(path=str(site.shots / "console-queue.png"), full_page=False)

    # a second tab keeps the filtered queue open: it must show the decision without being reloaded
    watcher = page.context.new_page()
    watcher.goto(page.url)

    row.locator("a").first.click()
    page.wait_for_url(re.compile(f"/alerts/{uid}"))
    conn_uid = site.serve.query(f"SELECT JSONExtractString(evidence, 'uid') AS c FROM alerts WHERE uid = '{uid}'")[0]["c"]
    assert conn_uid in page.locator("#behind").inner_text()
    assert page.locator("#alert-state").get_attribute("data-state") in ("new", "notified")
    page.screenshot(path=str(site.shots / "console-alert.png"), full_page=False)
    page.fill("#note", "đã chặn máy khách Wi-Fi khách")
    page.click("#act-ack")
    page.wait_for_url(re.compile(r"done=ack"))
    assert page.locator("#alert-state").get_attribute("data-state") == "acknowledged"
    assert page.locator("#alert-state").inner_text().strip() == "đã xác nhận"

    watcher.wait_for_selector(f'tr[data-uid="{uid}"] td[data-state="acknowledged"]', timeout=60_000)  # htmx polling

    shown_cli = _cli("alerts", "show", uid, "--config", str(site.config), cwd=site.tmp)
    assert shown_cli.returncode == 0, shown_cli.stderr
    doc = json.loads(shown_cli.stdout)
    assert doc["state"] == "acknowledged"

    # the escalation goes out for the group's other alert (guest → EMR), not for the acknowledged one
    (emr,) = [r["uid"] for r in site.serve.query(
        "SELECT uid FROM alerts WHERE category = 'policy_segmentation' AND dst_segment = 'emr'")]  # fmt: skip
    esc = f"SELECT id, uids FROM notify_outbox FINAL WHERE kind = 'escalation' AND has(uids, '{emr}')"
    wait_for("the escalation of the unacknowledged alert", lambda: site.serve.query(esc), ESCALATE_AFTER + 90)
    escalated = site.serve.query("SELECT arrayJoin(uids) AS u FROM notify_outbox FINAL WHERE kind = 'escalation'")
    assert uid not in {r["u"] for r in escalated}


def test_a_viewer_cannot_acknowledge(site: Site, browser: Any) -> None:
    page = _page(browser)
    _login(page, site, "minh")
    page.wait_for_url(re.compile(r"/$|/alerts"))
    # the queue by keyboard: j selects the first row, Enter opens it
    page.goto(site.url + "/alerts")
    first = page.locator("tr[data-uid]").first.get_attribute("data-uid")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(f"/alerts/{first}$"))
    uid = site.serve.query("SELECT uid FROM alerts WHERE category = 'port_scan' LIMIT 1")[0]["uid"]
    page.goto(f"{site.url}/alerts/{uid}")
    assert page.locator("#readonly").is_visible()
    assert page.locator("#act-ack").count() == 0
    # a forged form post from the viewer's own session is refused too
    token = page.evaluate("() => JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")
    status = page.evaluate(
        """async ([uid, token]) => (await fetch('/alerts/' + uid + '/action', {method: 'POST',
              headers: {'Content-Type': 'application/x-www-form-urlencoded'},
              body: 'action=ack&csrf=' + encodeURIComponent(token)})).status""",
        [uid, token],
    )
    assert status == 403
    state = site.serve.query(f"SELECT count() AS n FROM alert_events WHERE alert_uid = '{uid}' AND who = 'minh'")
    assert state[0]["n"] == 0


def test_every_page_passes_axe_and_is_photographed(site: Site, browser: Any) -> None:
    page = _page(browser)
    _login(page, site, "thu")
    page.wait_for_url(re.compile(r"/$|/alerts"))
    uid = site.serve.query("SELECT uid FROM alerts WHERE category = 'threat_feed_domain' LIMIT 1")[0]["uid"]
    host = site.serve.query(f"SELECT replaceRegexpOne(toString(src_ip), '^::ffff:', '') AS h FROM alerts WHERE uid = '{uid}'")[0]["h"]
    pages = {
        "overview": "/",
        "queue": "/alerts?group=1",
        "alert": f"/alerts/{uid}",
        "host": f"/hosts/{host}",
        "search": "/search?q=evil-c2.example",
        "silences": "/silences",
        "status": "/status",
        "audit": "/audit",
    }
    problems = {}
    for name, path in pages.items():
        page.goto(site.url + path)
        page.wait_for_load_state("networkidle")
        bad = _axe(page)
        if bad:
            problems[name] = [(v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]]) for v in bad]
        if name != "queue" or not (site.shots / "console-queue.png").exists():
            page.screenshot(path=str(site.shots / f"console-{name}.png"))
        else:
            page.screenshot(path=str(site.shots / "console-queue-grouped.png"))
    assert problems == {}
    # the English switch
    page.goto(site.url + "/lang?to=en&next=/alerts")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Alert queue" in page.locator("h1").inner_text()
    assert _axe(page) == []
