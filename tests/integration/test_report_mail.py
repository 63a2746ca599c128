"""The weekly report by e-mail: built from a store filled by ``wardwatch run`` on the synthetic
hospital, it reaches a real SMTP server (aiosmtpd, STARTTLS and a Vietnamese password, as
tests/integration/test_notify_channels.py runs it) with the PDF attached, and the PDF opens; its HTML
is kept in data_dir/reports/. Sent once a week (a second look sends nothing), never before its
time, and a dead SMTP server is a logged retry, not a crash. Then inside a real ``wardwatch serve``.

Needs: aiosmtpd, WeasyPrint with Pango, poppler-utils; skipped when absent."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

pytest.importorskip("chdb")
pytest.importorskip("aiosmtpd")
pytest.importorskip("weasyprint")
if shutil.which("pdftotext") is None:
    pytest.skip("pdftotext not found (apt-get install poppler-utils)", allow_module_level=True)

from wardwatch.cli import main  # noqa: E402
from wardwatch.cli.commands.sections import check_sections  # noqa: E402
from wardwatch.service.reporting import Weekly  # noqa: E402
from wardwatch.store import open_store  # noqa: E402
from wardwatch.tools.synth import generate  # noqa: E402

from tests.integration.test_notify_channels import Smtp, free_port  # noqa: E402
from tests.integration.test_notify_channels import cert as cert  # noqa: E402, F401 (the fixture)
from tests.integration.test_notify_channels import smtp as smtp  # noqa: E402, F401 (the fixture)
from tests.integration.test_serve_service import Served  # noqa: E402
from tests.integration.waiting import wait_for  # noqa: E402
from wardwatch import i18n  # noqa: E402
from wardwatch.config import load_config  # noqa: E402

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
BOSS = "giamdoc@bv.vn"
ORG = "Bệnh viện Đa khoa tỉnh Điện Biên"


def _config(base: Path, out: Path, port: int, cert: tuple[Path, Path], data_dir: Path) -> Path:
    cfg = yaml.safe_load(base.read_text())
    cfg["data_dir"] = str(data_dir)
    cfg["notify"] = {
        "receivers": [{"name": "leadership", "email": {
            "to": [BOSS], "from": "wardwatch@bv.vn", "host": "127.0.0.1", "port": port,
            "username": "wardwatch", "password": "mật-khẩu", "ca_file": str(cert[0]), "timeout": "5s"}}],
        "route": {"receiver": "report"},  # alerts go to the weekly report only: the mailbox gets reports
    }  # fmt: skip
    cfg["report"] = {
        "receiver": "leadership",
        "organisation": ORG,
        "contact": {"name": "Nguyễn Thị Hạnh", "role": "Trưởng phòng CNTT", "phone": "0912 345 678"},
    }
    out.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return out


def _reports(box: Any) -> list[Any]:
    return [m for m in box.to(BOSS) if str(m["Subject"]).startswith("[wardwatch] Báo cáo tuần")]


def _pdf(msg: Any, where: Path) -> tuple[Path, str]:
    parts = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(parts) == 1
    path = where / parts[0].get_filename()
    path.write_bytes(parts[0].get_content())
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return path, " ".join(text.split())


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("report-mail")
    synth = generate(work / "synth", seed=7)
    assert main(["run", "--quiet", "--pcap", str(synth.pcap), "--config", str(synth.config)]) == 0
    return synth.config


def test_the_weekly_report_arrives_with_its_pdf_once(
    filled: Path, smtp: Smtp, cert: tuple[Path, Path], tmp_path: Path
) -> None:
    cfg_path = _config(filled, tmp_path / "hospital.yaml", smtp.port, cert, filled.parent / "var")
    config = load_config(cfg_path)
    check_sections(config)
    monday = datetime(2026, 1, 5, 7, 30, tzinfo=TZ).timestamp()  # the Monday after the capture's week
    before = len(_reports(smtp.box))
    store = open_store(config)
    try:
        weekly = Weekly(store, config)
        assert weekly.due(monday - 3600) is None  # 06:30: not yet
        assert weekly.tick(monday) is True
        assert weekly.tick(monday + 600) is False  # once a week
    finally:
        store.close()
    got = _reports(smtp.box)[before:]
    assert len(got) == 1
    msg = got[0]
    assert "2026-W01" in msg["Subject"] and i18n.text("report.risk.critical")[0] in msg["Subject"]
    body = msg.get_body(("plain",)).get_content()
    assert "2026-W01" in body and "attached (PDF)" in body
    path, text = _pdf(msg, tmp_path)
    assert path.read_bytes().startswith(b"%PDF-")
    assert i18n.text("report.title")[0] in text and ORG in text and "Nguyễn Thị Hạnh" in text
    assert "10.11.0.30" in text  # the EMR exfiltration, in the summary's things to do
    kept = filled.parent / "var" / "reports" / "report-2026-W01.vi.html"
    assert kept.is_file() and ORG in kept.read_text(encoding="utf-8")


def test_a_dead_smtp_server_is_a_retry_not_a_crash(
    filled: Path, cert: tuple[Path, Path], tmp_path: Path
) -> None:
    port = free_port()
    cfg_path = _config(filled, tmp_path / "hospital.yaml", port, cert, tmp_path / "var")
    # a fresh data_dir with the same store is not possible (one store, one path): use the filled one's
    # records through a second config that only moves the sent-marker
    config = load_config(cfg_path)
    store_cfg = load_config(_config(filled, tmp_path / "store.yaml", port, cert, filled.parent / "var"))
    store = open_store(store_cfg)
    try:
        weekly = Weekly(store, config)
        monday = datetime(2026, 1, 12, 8, 0, tzinfo=TZ).timestamp()  # week 2026-W02 (no data)
        assert weekly.tick(monday) is False  # nobody listens: logged, retried later
        assert not (tmp_path / "var" / "reports" / "sent.json").exists()
        assert weekly.due(monday + 60) is None  # waits before the next try
        server = Smtp(cert, port).start()
        try:
            assert weekly.tick(monday + 3600) is True
            got = _reports(server.box)
            assert len(got) == 1 and "2026-W02" in got[0]["Subject"]
            _path, text = _pdf(got[0], tmp_path)
            assert " ".join(i18n.text("report.no_data")[0].split()) in text  # a week without data says so
        finally:
            server.stop()
    finally:
        store.close()


def test_serve_sends_last_weeks_report(tmp_path: Path, cert: tuple[Path, Path], smtp: Smtp) -> None:
    synth = generate(tmp_path / "synth", seed=3, sessions=20)
    cfg_path = _config(synth.config, tmp_path / "hospital.yaml", smtp.port, cert, tmp_path / "var")
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["http"] = {"listen": "127.0.0.1:0"}
    cfg_path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    before = len(_reports(smtp.box))
    served = Served(cfg_path, "--pcap", str(synth.pcap))
    try:
        got = wait_for("the weekly report mail from serve", lambda: _reports(smtp.box)[before:], 180)
        kept = wait_for("the sent marker", lambda: (tmp_path / "var" / "reports" / "sent.json").is_file(), 60)
        assert kept

        # while serve holds the embedded store, the command reads it through the service's query API
        def exfiltration_stored() -> bool:
            status, body = served.request(
                "POST", "/query", b'{"sql": "SELECT count() AS n FROM alerts WHERE category = \'exfiltration\'"}',
                {"Authorization": f"Bearer {served.token}"},
            )  # fmt: skip
            return status == 200 and b'"n":0' not in body.replace(b" ", b"")

        wait_for("the replay's EMR exfiltration alert in the store", exfiltration_stored, 180)
        out = tmp_path / "now.html"
        done = subprocess.run(
            [sys.executable, "-m", "wardwatch.cli", "report", "--config", str(cfg_path), "--week", "2026-W01",
             "--format", "html", "--out", str(out)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "10.11.0.30" in out.read_text(encoding="utf-8")  # the capture's EMR exfiltration, via the API
    finally:
        assert served.stop() == 0
    assert len(got) == 1
    path, text = _pdf(got[0], tmp_path)
    assert i18n.text("report.title")[0] in text
    assert list((tmp_path / "var" / "reports").glob("report-*.vi.html"))
