"""notify/ inside a real ``wardwatch serve``: the service is killed (SIGKILL) while its messages wait for
a dead SMTP server; after a restart with the server up, each message arrives exactly once. Then a
signed link from a received mail acknowledges through the service's API, and ``wardwatch alerts``
works through the running service (it holds the embedded store). Waits are on states only."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("chdb")
pytest.importorskip("aiosmtpd")

from wardwatch.tools.synth import generate  # noqa: E402

from tests.integration.test_notify_channels import Smtp, free_port  # noqa: E402
from tests.integration.test_notify_channels import cert as cert  # noqa: E402, F401 (the fixture)
from tests.integration.test_notify_channels import smtp as smtp  # noqa: E402, F401 (the fixture)
from tests.integration.test_serve_service import Served  # noqa: E402
from tests.integration.waiting import wait_for  # noqa: E402

pytestmark = pytest.mark.integration


class Serve(Served):
    """``wardwatch serve`` replaying ``pcap`` (tests/integration/test_serve_service.py), asked in SQL."""

    def __init__(self, config: Path, pcap: Path) -> None:
        super().__init__(config, "--pcap", str(pcap))

    def query(self, sql: str) -> list[dict[str, Any]]:
        status, body = self.request(
            "POST", "/query", json.dumps({"sql": sql}).encode(), {"Authorization": f"Bearer {self.token}"}
        )
        assert status == 200, body
        return [json.loads(x) for x in body.splitlines() if x.strip()]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wardwatch.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_serve_killed_with_messages_pending_delivers_each_once_after_restart(
    tmp_path: Path, cert: tuple[Path, Path]
) -> None:
    synth = generate(tmp_path / "synth", seed=3, sessions=20)
    port = free_port()
    cfg = yaml.safe_load(synth.config.read_text())
    cfg["data_dir"] = str(tmp_path / "var")
    cfg["http"] = {"listen": "127.0.0.1:0"}
    cfg["store"] = {"flush_seconds": 0.2}
    cfg["notify"] = {
        "poll": "0.2s",
        "ack_url": "https://wardwatch.bv.vn:8443",
        "retry": {"backoff": "0.5s", "max_backoff": "1s"},
        "receivers": [{"name": "oncall", "email": {
            "to": ["truc@bv.vn"], "from": "wardwatch@bv.vn", "host": "127.0.0.1", "port": port,
            "username": "wardwatch", "password": "mật-khẩu", "ca_file": str(cert[0]), "timeout": "5s"}}],
        "route": {"receiver": "oncall", "group_by": ["category"], "group_wait": "0s", "quiet": False},
    }  # fmt: skip
    config = tmp_path / "hospital.yaml"
    config.write_text(yaml.safe_dump(cfg, allow_unicode=True))

    first = Serve(config, synth.pcap)
    pending = "SELECT count() AS n FROM notify_outbox FINAL WHERE status = 'pending' AND attempts >= 1"
    n = wait_for("messages failing against the dead SMTP server", lambda: first.query(pending)[0]["n"], 120)
    assert n >= 1
    first.stop(signal.SIGKILL)

    server = Smtp(cert, port).start()
    try:
        second = Serve(config, synth.pcap)
        try:
            rows = "SELECT id, status FROM notify_outbox FINAL"
            wait_for("every message sent", lambda: (r := second.query(rows)) and all(x["status"] == "sent" for x in r), 120)
            total = len(second.query(rows))
            ids = [m["X-Wardwatch-Id"] for m in server.box.messages]
            assert len(ids) == total and len(set(ids)) == total  # each once, none lost, none doubled

            # a signed link from a received mail acknowledges through the service's API
            mail = server.box.messages[0]
            token = mail.get_body(("plain",)).get_content().split("/ack?t=")[1].split()[0]  # type: ignore[union-attr]
            status, page = second.request("GET", f"/ack?t={token}")
            assert status == 200 and b"<form" in page
            status, page = second.request(
                "POST", "/ack", f"t={token}".encode(), {"Content-Type": "application/x-www-form-urlencoded"}
            )
            assert status == 200, page
            status, _ = second.request("POST", "/ack", f"t={token[:-2]}xx".encode())
            assert status == 403
            uid = mail["X-Wardwatch-Id"] and second.query(
                f"SELECT arrayJoin(uids) AS u FROM notify_outbox FINAL WHERE id = '{mail['X-Wardwatch-Id']}'"
            )[0]["u"]
            shown = _cli("alerts", "show", uid, "--config", str(config), cwd=tmp_path)
            assert shown.returncode == 0, shown.stderr
            assert json.loads(shown.stdout)["state"] == "acknowledged"

            # `alerts` through the running service
            other = second.query("SELECT uid FROM alerts ORDER BY uid DESC LIMIT 1")[0]["uid"]
            done = _cli("alerts", "resolve", other, "--config", str(config), "--note", "đã xử lý xong", cwd=tmp_path)
            assert done.returncode == 0, done.stderr
            assert "đã xử lý" in done.stderr and "resolved" in done.stderr
            missing = _cli("alerts", "ack", "Anothere", "--config", str(config), cwd=tmp_path)
            assert missing.returncode == 1 and "no alert Anothere" in missing.stderr
            listed = _cli("alerts", "list", "--config", str(config), "--since", "3650d", "--json", cwd=tmp_path)
            states = {json.loads(x)["uid"]: json.loads(x)["state"] for x in listed.stdout.splitlines()}
            assert states[other] == "resolved" and states[uid] == "acknowledged"
        finally:
            second.stop(signal.SIGTERM)
    finally:
        server.stop()


def test_a_critical_alert_is_mailed_before_its_merge_window_and_flush_store_it(
    tmp_path: Path, cert: tuple[Path, Path], smtp: Smtp
) -> None:
    """The store holds an alert for its merge window (5 min) and the writer's flush; serve hands
    critical and high alerts to the notifier as they are made, so the mail does not wait for either,
    and the alert stored at the end carries the uid the mail named."""
    synth = generate(tmp_path / "synth", seed=3, sessions=20)
    cfg = yaml.safe_load(synth.config.read_text())
    cfg["data_dir"] = str(tmp_path / "var")
    cfg["http"] = {"listen": "127.0.0.1:0"}
    cfg["store"] = {"flush_seconds": 3600}  # nothing reaches the store until SIGTERM
    cfg["notify"] = {
        "poll": "30s",  # the hand-over wakes the notifier: a poll is not what sends the mail
        "receivers": [{"name": "oncall", "email": {
            "to": ["som@bv.vn"], "from": "wardwatch@bv.vn", "host": "127.0.0.1", "port": smtp.port,
            "username": "wardwatch", "password": "mật-khẩu", "ca_file": str(cert[0]), "timeout": "5s"}}],
        "route": {"receiver": "oncall", "group_by": ["category"], "group_wait": "0s", "quiet": False},
    }  # fmt: skip
    config = tmp_path / "hospital.yaml"
    config.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    s = Serve(config, synth.pcap)
    try:
        mail = wait_for("a mail", lambda: smtp.box.to("som@bv.vn"), 120)[0]
        assert s.query("SELECT count() AS n FROM alerts")[0]["n"] == 0  # sent before anything was stored
        uids = [r["u"] for r in s.query(
            f"SELECT arrayJoin(uids) AS u FROM notify_outbox FINAL WHERE id = '{mail['X-Wardwatch-Id']}'"
        )]  # fmt: skip
        assert uids
    finally:
        s.stop(signal.SIGTERM)
    stored = _cli("query", "--config", str(config), "SELECT uid, severity FROM alerts", cwd=tmp_path)
    assert stored.returncode == 0, stored.stderr
    severity = {json.loads(x)["uid"]: json.loads(x)["severity"] for x in stored.stdout.splitlines() if x.strip()}
    assert set(uids) <= set(severity)  # the notified alerts are the stored ones, under the same uids
    assert {severity[u] for u in uids} <= {"critical", "high"}
