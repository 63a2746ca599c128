"""notify/ against real peers, over a real chdb store, with an injected clock (no sleeping):

- e-mail to an aiosmtpd server with STARTTLS and login (a throwaway certificate), parsed back with
  Vietnamese intact and a hostile DNS name escaped in the HTML;
- Debian's prometheus-alertmanager, started here, receiving and grouping the alerts (its API);
- a local HTTPS server checking the webhook's HMAC signature; the Telegram API at a local server;
- faults: the SMTP server down then up (each message delivered once); a flood of 10,000 scan alerts
  in a minute (one message per route and group); escalation with and without acknowledgement;
  signed links (forged, expired); inhibition and silences recorded as alert state.
Needs: ``aiosmtpd`` (pip) and ``prometheus-alertmanager`` (apt); skipped when absent.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import http.server
import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("chdb")
aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")

from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402
from wardwatch.notify import Notifier, load_notify_settings  # noqa: E402
from wardwatch.notify.endpoints import Endpoints  # noqa: E402
from wardwatch.notify.state import current  # noqa: E402
from wardwatch.store import open_store  # noqa: E402

from tests.integration.waiting import wait_for  # noqa: E402
from wardwatch.alerts import Alert  # noqa: E402
from wardwatch.config import parse_config  # noqa: E402

pytestmark = pytest.mark.integration
ALERTMANAGER = shutil.which("prometheus-alertmanager")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- peers ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 (SMTP STARTTLS, the HTTPS webhook)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    d = tmp_path_factory.mktemp("cert")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    crt = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (d / "cert.pem").write_bytes(crt.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return d / "cert.pem", d / "key.pem"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.rcpts: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        self.rcpts.append(list(envelope.rcpt_tos))
        return "250 OK"

    def to(self, addr: str) -> list[email.message.EmailMessage]:
        return [m for m, r in zip(self.messages, self.rcpts, strict=True) if addr in r]


class Smtp:
    """aiosmtpd with STARTTLS required and LOGIN/PLAIN auth (wardwatch / mật-khẩu)."""

    def __init__(self, cert: tuple[Path, Path], port: int | None = None) -> None:
        self.port = port or free_port()
        self.box = Mailbox()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))

        def auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and data.login == b"wardwatch" and data.password == "mật-khẩu".encode()
            return AuthResult(success=ok)

        self.controller = aiosmtpd_controller.Controller(
            self.box, hostname="127.0.0.1", port=self.port, tls_context=ctx, require_starttls=True,
            authenticator=auth, auth_require_tls=True, auth_exclude_mechanism=["CRAM-MD5"],
        )  # fmt: skip

    def start(self) -> Smtp:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture(scope="session")
def smtp(cert: tuple[Path, Path]) -> Iterator[Smtp]:
    s = Smtp(cert).start()
    yield s
    s.stop()


class Hooks:
    """An HTTPS webhook receiver that checks the signature, and a Telegram Bot API stand-in."""

    def __init__(self, cert: tuple[Path, Path]) -> None:
        from wardwatch.notify.channels.webhook import verify

        self.hooks: list[dict[str, Any]] = []
        self.telegram: list[dict[str, Any]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path.startswith("/bot"):
                    outer.telegram.append({"path": self.path, **json.loads(body)})
                    self._reply(200, b'{"ok": true, "result": {}}')
                    return
                ok = verify("s3cret-khóa", self.headers.get("X-Wardwatch-Timestamp", ""),
                            self.headers.get("X-Wardwatch-Signature", ""), body, time.time())  # fmt: skip
                outer.hooks.append({"ok": ok, "id": self.headers.get("X-Wardwatch-Id"), "body": json.loads(body)})
                self._reply(200 if ok else 401, b"{}")

            def _reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a: Any) -> None:
                pass

        self.https = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
        self.https.socket = ctx.wrap_socket(self.https.socket, server_side=True)
        self.plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        for s in (self.https, self.plain):
            threading.Thread(target=s.serve_forever, daemon=True).start()

    @property
    def hook_url(self) -> str:
        return f"https://127.0.0.1:{self.https.server_address[1]}/hook"

    @property
    def telegram_url(self) -> str:
        return f"http://127.0.0.1:{self.plain.server_address[1]}"


@pytest.fixture(scope="session")
def hooks(cert: tuple[Path, Path]) -> Iterator[Hooks]:
    h = Hooks(cert)
    yield h
    h.https.shutdown()
    h.plain.shutdown()


@pytest.fixture(scope="session")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if ALERTMANAGER is None:
        pytest.skip("prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)")
    d = tmp_path_factory.mktemp("alertmanager")
    (d / "am.yml").write_text(
        "route: {receiver: 'null', group_by: [category, segment], group_wait: 1s}\nreceivers: [{name: 'null'}]\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [ALERTMANAGER, f"--config.file={d / 'am.yml'}", f"--storage.path={d / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            with urllib.request.urlopen(url + "/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        wait_for("alertmanager to be ready", ready, 60)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


# -- the wardwatch side -----------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def email_receiver(name: str, smtp_port: int, cert: Path, to: str, password: str = "mật-khẩu", timeout: int = 30) -> str:
    return (
        f"    - name: {name}\n"
        f"      email: {{to: [{to}], from: wardwatch@bv.vn, host: 127.0.0.1, port: {smtp_port}, starttls: true,"
        f" username: wardwatch, password: '{password}', ca_file: '{cert}', timeout: {timeout}}}\n"
    )


class Env:
    """A config, its chdb store and a notifier with an injected clock."""

    def __init__(self, tmp: Path, notify_yaml: str) -> None:
        self.path = tmp / "hospital.yaml"
        self.path.write_text(
            f"data_dir: {tmp}/var\nsegments:\n"
            "  - {name: icu, cidrs: [10.20.0.0/16], zone: clinical}\n"
            "  - {name: lab, cidrs: [10.30.0.0/16], zone: lis}\n"
            "  - {name: guest, cidrs: [10.90.0.0/16], zone: guest}\n"
            f"notify:\n  ack_url: https://wardwatch.bv.vn:8443\n  retry: {{backoff: 5s, max_backoff: 20s}}\n{notify_yaml}"
        )
        self.config = parse_config(self.path.read_text(), self.path)
        self.settings = load_notify_settings(self.config)
        self.store = open_store(self.config)
        self.clock = Clock()
        self.notifier = Notifier(self.store, self.settings, self.config, clock=self.clock)

    def alerts(self, *alerts: Alert) -> None:
        w = self.store.writer()
        w.add_alerts(alerts)
        w.flush()

    def tick(self, advance: float = 0.0) -> dict[str, int]:
        self.clock.advance(advance)
        return self.notifier.tick()

    def rows(self, sql: str) -> list[dict[str, Any]]:
        return self.store.rows(sql)

    def close(self) -> None:
        self.store.close()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[list[Env]]:
    made: list[Env] = []
    yield made
    for e in made:
        e.close()


def alert(i: int = 1, category: str = "port_scan", severity: str = "high", src: str = "10.20.0.5", **kw: Any) -> Alert:
    return Alert(
        ts=time.time() - 5, category=category, severity=severity, src_ip=src, dst_ip=kw.pop("dst_ip", None),
        indicator=kw.pop("indicator", "10.20.0.0/24"), rule=f"r{i}", summary={"vi": "tóm tắt", "en": "summary"},
        evidence={"payload": "BỆNH NHÂN Nguyễn Văn A, CCCD 001"}, directive=kw.pop("directive", "BYT-CNTT-2021"), **kw,
    )  # fmt: skip


# -- channels -------------------------------------------------------------------------------------------
def test_email_over_starttls_with_login_arrives_with_vietnamese_intact(
    tmp_path: Path, env: list[Env], smtp: Smtp, cert: tuple[Path, Path]
) -> None:
    e = Env(tmp_path, "  receivers:\n" + email_receiver("oncall", smtp.port, cert[0], "truc@bv.vn"))
    env.append(e)
    hostile = "<img src=x onerror=alert(1)>.evil.example"
    e.alerts(alert(1, "threat_feed_domain", "critical", indicator=hostile))
    e.tick()
    assert e.tick(10)["sent"] == 1
    got = wait_for("the mail", lambda: smtp.box.to("truc@bv.vn"))
    msg = got[-1]
    assert "nghiêm trọng" in msg["Subject"] and "Truy vấn tên miền độc hại" in msg["Subject"]
    plain = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Biện pháp khuyến nghị" in plain and "Recommended action" in plain
    assert "Bộ Y tế, Cục Công nghệ thông tin" in plain
    assert "<img" not in html and "&lt;img" in html
    assert "Nguyễn Văn A" not in plain + html and "CCCD" not in plain + html  # never the evidence
    assert "https://wardwatch.bv.vn:8443/ack?t=" in plain
    assert msg["X-Wardwatch-Id"]
    uid = e.rows("SELECT uid FROM alerts")[0]["uid"]
    assert current(e.store, [uid]) == {uid: "notified"}


def test_a_refused_smtp_login_is_a_counted_retry_not_a_crash(
    tmp_path: Path, env: list[Env], smtp: Smtp, cert: tuple[Path, Path]
) -> None:
    e = Env(tmp_path, "  receivers:\n" + email_receiver("oncall", smtp.port, cert[0], "x@bv.vn", "sai", timeout=3))
    env.append(e)
    e.alerts(alert())
    e.tick()
    assert e.tick(10) == {"taken": 0, "queued": 1, "sent": 0, "failed": 1}
    row = e.rows("SELECT status, attempts, last_error FROM notify_outbox FINAL")[0]
    # (aiosmtpd answers a wrong password by closing the session after its delay, or with 535)
    assert row["status"] == "pending" and row["attempts"] == 1 and row["last_error"].startswith(f"SMTP 127.0.0.1:{smtp.port}: ")
    assert e.notifier.counters.get("notify.delivery_failed") == 1
    assert e.tick(1)["failed"] == 0  # backing off: not tried again yet


def test_alertmanager_receives_and_groups_the_alerts(tmp_path: Path, env: list[Env], alertmanager: str) -> None:
    e = Env(tmp_path, f"  receivers:\n    - {{name: oncall, alertmanager: {{url: '{alertmanager}'}}}}\n")
    env.append(e)
    e.alerts(alert(1, src="10.20.0.5"), alert(2, src="10.20.0.6"), alert(3, src="10.30.0.7"))
    e.tick()
    assert e.tick(10)["sent"] == 2  # groups (port_scan, icu) and (port_scan, lab)

    def groups() -> list[dict[str, Any]]:
        with urllib.request.urlopen(alertmanager + "/api/v2/alerts/groups", timeout=5) as r:
            got = json.loads(r.read())
        return got if sum(len(g["alerts"]) for g in got) == 3 else []

    got = wait_for("alertmanager's groups", groups, 60)
    labels = sorted((g["labels"]["category"], g["labels"]["segment"], len(g["alerts"])) for g in got)
    assert labels == [("port_scan", "icu", 2), ("port_scan", "lab", 1)]
    one = got[0]["alerts"][0]
    assert one["labels"]["alertname"] == "wardwatch_port_scan" and "Dò quét cổng" in one["annotations"]["summary"]
    assert "/ack?t=" in one["annotations"]["ack_url"]


def test_webhook_is_signed_and_checked_by_an_https_receiver(
    tmp_path: Path, env: list[Env], hooks: Hooks, cert: tuple[Path, Path]
) -> None:
    e = Env(
        tmp_path,
        "  receivers:\n"
        f"    - {{name: oncall, webhook: {{url: '{hooks.hook_url}', secret: 's3cret-khóa', ca_file: '{cert[0]}'}}}}\n"
        f"    - {{name: soc, webhook: {{url: '{hooks.hook_url}', secret: 'wrong', ca_file: '{cert[0]}'}}}}\n"
        "  route:\n    receiver: oncall\n    group_wait: 0s\n"
        "    routes: [{matchers: ['severity=\"high\"'], receiver: soc, continue: true}, {matchers: ['severity=\"high\"'], receiver: oncall}]\n",
    )
    env.append(e)
    before = len(hooks.hooks)
    e.alerts(alert())
    assert e.tick() == {"taken": 0, "queued": 2, "sent": 1, "failed": 1}
    got = hooks.hooks[before:]
    assert sorted(h["ok"] for h in got) == [False, True]
    good = next(h for h in got if h["ok"])
    assert good["body"]["message"]["categories"][0]["name"][0] == "Dò quét cổng"
    assert "payload" not in json.dumps(good["body"])
    bad = e.rows("SELECT receiver, status, last_error FROM notify_outbox FINAL WHERE receiver = 'soc'")[0]
    assert bad["status"] == "pending" and "HTTP 401" in bad["last_error"]


def test_telegram_gets_plain_text_at_the_configured_api(tmp_path: Path, env: list[Env], hooks: Hooks) -> None:
    (tmp_path / "tg.token").write_text("123:ABC\n")
    e = Env(
        tmp_path,
        f"  receivers:\n    - {{name: oncall, telegram: {{chat_id: '-1001', token_file: tg.token, api_url: '{hooks.telegram_url}'}}}}\n",
    )
    env.append(e)
    e.alerts(alert(1, "policy_ott", "high", indicator="zalo"))
    e.tick()
    assert e.tick(10)["sent"] == 1
    msg = hooks.telegram[-1]
    assert msg["path"] == "/bot123:ABC/sendMessage" and msg["chat_id"] == "-1001" and "parse_mode" not in msg
    assert "Sử dụng ứng dụng nhắn tin OTT" in msg["text"] and "Nguyễn Văn A" not in msg["text"]


# -- faults ---------------------------------------------------------------------------------------------
def test_smtp_down_then_up_delivers_every_message_once(tmp_path: Path, env: list[Env], cert: tuple[Path, Path]) -> None:
    port = free_port()
    e = Env(tmp_path, "  receivers:\n" + email_receiver("oncall", port, cert[0], "truc@bv.vn"))
    env.append(e)
    e.alerts(alert(1, src="10.20.0.5"), alert(2, src="10.30.0.7"))
    e.tick()
    assert e.tick(10) == {"taken": 0, "queued": 2, "sent": 0, "failed": 2}  # nobody listens
    assert e.tick(6)["failed"] == 2  # retried after the back-off, still down
    server = Smtp(cert, port).start()
    try:
        assert e.tick(25)["sent"] == 2
        for _ in range(3):
            assert e.tick(30) == {"taken": 0, "queued": 0, "sent": 0, "failed": 0}
        ids = [m["X-Wardwatch-Id"] for m in server.box.messages]
        assert len(ids) == 2 and len(set(ids)) == 2
    finally:
        server.stop()
    assert e.notifier.counters.get("notify.delivery_failed") == 4


def test_ten_thousand_scan_alerts_in_a_minute_make_one_message_per_route_and_group(
    tmp_path: Path, env: list[Env], smtp: Smtp, hooks: Hooks, cert: tuple[Path, Path]
) -> None:
    e = Env(
        tmp_path,
        "  receivers:\n" + email_receiver("oncall", smtp.port, cert[0], "flood@bv.vn")
        + f"    - {{name: soc, telegram: {{chat_id: 'flood', token: 't', api_url: '{hooks.telegram_url}'}}}}\n"
        "  route:\n    receiver: oncall\n    group_by: [category, segment]\n    group_wait: 1m\n"
        "    routes:\n      - {matchers: ['category=\"port_scan\"'], receiver: soc, group_by: [category], continue: true}\n"
        "      - {matchers: ['category=\"port_scan\"'], receiver: oncall}\n",
    )  # fmt: skip
    env.append(e)
    e.tick()
    tg_before = len(hooks.telegram)
    for batch in range(6):  # 10,000 alerts over one minute, a batch every 10 s
        e.alerts(*(alert(batch * 10_000 + i, src=f"10.{20 if i % 2 else 30}.{i // 250}.{i % 250}") for i in range(1667 if batch < 5 else 1665)))
        e.tick(0 if batch == 0 else 10)
    assert e.rows("SELECT count() AS n FROM alerts")[0]["n"] == 10_000
    e.tick(10)  # a minute after the first alert
    e.tick(30)
    mails = smtp.box.to("flood@bv.vn")
    tg = [m for m in hooks.telegram[tg_before:] if m["chat_id"] == "flood"]
    assert len(mails) == 2 and len(tg) == 1
    counts = [int(m["Subject"].split("(")[-1].split(" ")[0].replace(",", "")) for m in mails]
    assert sum(counts) == 10_000 and sorted(m["Subject"].split(" · ")[-1].split(" ")[0] for m in mails)[0] in ("icu", "lab")
    assert "10,000" in tg[0]["text"]
    states = e.rows("SELECT argMax(state, ts) AS s, count() AS n FROM alert_events GROUP BY alert_uid HAVING s = 'notified' LIMIT 1")
    assert states


def test_escalation_fires_without_acknowledgement_and_not_with_one(
    tmp_path: Path, env: list[Env], smtp: Smtp, cert: tuple[Path, Path]
) -> None:
    e = Env(
        tmp_path,
        "  receivers:\n" + email_receiver("oncall", smtp.port, cert[0], "esc-oncall@bv.vn")
        + email_receiver("head_of_it", smtp.port, cert[0], "esc-head@bv.vn")
        + "  route:\n    receiver: oncall\n    group_wait: 10s\n    escalate: [{after: 15m, receiver: head_of_it}]\n",
    )  # fmt: skip
    env.append(e)
    e.alerts(alert(1, "port_scan", src="10.20.0.5"), alert(2, "beacon", src="10.20.0.6", indicator="c2.example"))
    e.tick()
    assert e.tick(10)["sent"] == 2
    uids = {r["category"]: r["uid"] for r in e.rows("SELECT category, uid FROM alerts")}
    ends = Endpoints(e.store, lambda: b"", e.clock)
    e.clock.advance(1)  # the ack comes after the `notified` row (argMax over equal times is arbitrary)
    status, _c, _b = ends.event({"uid": uids["port_scan"], "action": "ack", "who": "an", "note": "đã kiểm tra"})
    assert status == 200
    assert e.tick(14 * 60 - 1)["queued"] == 0  # not yet due
    assert e.tick(61)["sent"] == 1  # 15 min: only the unacknowledged beacon group escalates
    head = smtp.box.to("esc-head@bv.vn")
    assert len(head) == 1 and "CHUYỂN CẤP 1" in head[0]["Subject"] and "C2" in head[0]["Subject"]
    assert e.tick(3600)["queued"] == 0  # one step configured: no more
    history = e.rows(f"SELECT state, who, note FROM alert_events WHERE alert_uid = '{uids['beacon']}' ORDER BY ts")
    assert [h["note"] for h in history] == ["notify", "escalation level 1"]


def test_open_groups_are_reminded_after_repeat_interval_until_acknowledged(
    tmp_path: Path, env: list[Env], smtp: Smtp, cert: tuple[Path, Path]
) -> None:
    e = Env(
        tmp_path,
        "  receivers:\n" + email_receiver("oncall", smtp.port, cert[0], "rep@bv.vn")
        + "  route:\n    receiver: oncall\n    group_wait: 10s\n    repeat_interval: 1h\n",
    )  # fmt: skip
    env.append(e)
    e.alerts(alert(1, "port_scan", src="10.20.0.5"), alert(2, "beacon", src="10.20.0.6", indicator="c2.example"))
    e.tick()
    assert e.tick(10)["sent"] == 2
    uids = {r["category"]: r["uid"] for r in e.rows("SELECT category, uid FROM alerts")}
    ends = Endpoints(e.store, lambda: b"", e.clock)
    e.clock.advance(1)  # the ack comes after the `notified` row (argMax over equal times is arbitrary)
    assert ends.event({"uid": uids["port_scan"], "action": "ack", "who": "an", "note": ""})[0] == 200
    assert e.tick(59 * 60 - 1)["queued"] == 0  # not yet an hour
    assert e.tick(61)["sent"] == 1  # an hour: only the open beacon group is reminded
    mails = smtp.box.to("rep@bv.vn")
    assert len(mails) == 3 and "NHẮC LẠI" in mails[-1]["Subject"] and "C2" in mails[-1]["Subject"]
    assert e.tick(30 * 60)["queued"] == 0  # the next one counts from the reminder
    assert ends.event({"uid": uids["beacon"], "action": "resolve", "who": "an", "note": ""})[0] == 200
    assert e.tick(3 * 3600)["queued"] == 0  # resolved: the reminders stop
    history = e.rows(f"SELECT state, note FROM alert_events WHERE alert_uid = '{uids['beacon']}' ORDER BY ts")
    assert [h["note"] for h in history][:2] == ["notify", "reminder"]


def test_signed_links_acknowledge_and_refuse_forgery_and_expiry(
    tmp_path: Path, env: list[Env], smtp: Smtp, cert: tuple[Path, Path]
) -> None:
    e = Env(
        tmp_path,
        "  link_ttl: 1h\n  receivers:\n" + email_receiver("oncall", smtp.port, cert[0], "link@bv.vn")
        + email_receiver("head_of_it", smtp.port, cert[0], "link-head@bv.vn")
        + "  route:\n    receiver: oncall\n    group_wait: 0s\n    escalate: [{after: 15m, receiver: head_of_it}]\n",
    )  # fmt: skip
    env.append(e)
    e.alerts(alert(1, "dns_tunnel", "critical", indicator="t.evil.example"))
    assert e.tick()["sent"] == 1
    doc = json.loads(e.rows("SELECT doc FROM notify_outbox FINAL")[0]["doc"])
    token = doc["links"]["ack"].split("?t=")[1]
    uid = doc["items"][0]["uid"]
    ends = Endpoints(e.store, lambda: e.notifier.key, e.clock)
    assert ends.ack("GET", f"t={token}", b"")[0] == 200
    assert current(e.store, [uid])[uid] == "notified"  # a GET (a link preview) records nothing
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    status, _c, page = ends.ack("POST", "", f"t={forged}".encode())
    assert status == 403 and "không hợp lệ".encode() in page
    assert current(e.store, [uid])[uid] == "notified"
    e.clock.advance(1)  # the ack comes after the `notified` row (argMax over equal times is arbitrary)
    assert ends.ack("POST", "", f"t={token}".encode())[0] == 200
    assert current(e.store, [uid])[uid] == "acknowledged"
    assert e.tick(16 * 60)["queued"] == 0  # acknowledged by link: no escalation
    e.clock.advance(3600)
    status, _c, page = ends.ack("POST", "", f"t={token}".encode())
    assert status == 403 and b"expired" in page


def test_inhibit_rules_and_silences_are_recorded_as_alert_state(
    tmp_path: Path, env: list[Env], smtp: Smtp, cert: tuple[Path, Path]
) -> None:
    e = Env(
        tmp_path,
        "  receivers:\n" + email_receiver("oncall", smtp.port, cert[0], "inh@bv.vn")
        + "  route: {receiver: oncall, group_wait: 0s, group_by: [src_ip]}\n"
        "  inhibit_rules:\n    - {source_matchers: ['category=\"port_scan\"'], target_matchers: ['category=\"policy_segmentation\"'], equal: [src_ip]}\n",
    )  # fmt: skip
    env.append(e)
    ends = Endpoints(e.store, lambda: b"", e.clock)
    status, _c, body = ends.silence({"matchers": ['src_ip="10.20.0.99"'], "for": 3600, "author": "bình", "comment": "pentest"})
    assert status == 200
    e.alerts(
        alert(1, "port_scan", src="10.20.0.5"),
        alert(2, "policy_segmentation", src="10.20.0.5", indicator="his"),
        alert(3, "policy_segmentation", src="10.20.0.6", indicator="his"),
        alert(4, "port_scan", src="10.20.0.99"),
    )
    assert e.tick()["sent"] == 2  # the scan of .5 and the segmentation alert of .6
    got = {r["category"] + r["src"]: (r["state"], r["who"], r["note"]) for r in e.rows(
        "SELECT a.category AS category, replaceRegexpOne(toString(a.src_ip), '^::ffff:', '') AS src,"
        " argMax(e.state, e.ts) AS state, argMax(e.who, e.ts) AS who, argMax(e.note, e.ts) AS note"
        " FROM alerts AS a JOIN alert_events AS e ON e.alert_uid = a.uid GROUP BY category, src")}  # fmt: skip
    assert got["policy_segmentation10.20.0.5"] == ("silenced", "inhibit", "inhibited")
    assert got["port_scan10.20.0.99"] == ("silenced", "bình", "pentest")
    assert got["port_scan10.20.0.5"][0] == got["policy_segmentation10.20.0.6"][0] == "notified"


def test_an_offered_alert_goes_out_before_it_is_stored_and_its_stored_row_not_again(
    tmp_path: Path, env: list[Env], smtp: Smtp, cert: tuple[Path, Path]
) -> None:
    """serve hands critical alerts over as they are made (Notifier.offer), before their merge window
    and the writer's flush; the row stored later, with its final count, is the same alert."""
    e = Env(tmp_path, "  receivers:\n" + email_receiver("oncall", smtp.port, cert[0], "som@bv.vn"))
    env.append(e)
    a = alert(1, "threat_feed_domain", "critical", indicator="c2.example")
    writer = e.store.writer()
    rows = writer.preview([a])
    e.notifier.offer(rows)
    e.tick()
    assert e.tick(10)["sent"] == 1
    assert e.rows("SELECT count() AS c FROM alerts")[0]["c"] == 0  # nothing stored yet
    msg = wait_for("the mail", lambda: smtp.box.to("som@bv.vn"))[-1]
    plain = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert rows[0]["src_ip"] in plain  # the host as the store will show it
    if rows[0]["src_ip"] != a.src_ip:
        assert a.src_ip not in plain  # pseudonymised as the store pseudonymises
    a.count = 7  # the window closes: the merged alert is stored under the uid that was notified
    writer.add_alerts([a])
    writer.flush()
    stored = e.rows("SELECT uid, replaceRegexpOne(toString(src_ip), '^::ffff:', '') AS s FROM alerts")
    assert stored == [{"uid": rows[0]["uid"], "s": rows[0]["src_ip"]}]
    e.notifier.seen.clear()  # as if memory had been trimmed: the outbox still knows the pair
    for _ in range(3):
        assert e.tick(60)["queued"] == 0
    assert len(smtp.box.to("som@bv.vn")) == 1
    assert current(e.store, [a.uid]) == {a.uid: "notified"}
