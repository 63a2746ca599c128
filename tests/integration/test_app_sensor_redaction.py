"""Secrets sent in URLs, form bodies, Basic auth and Telnet prompts never leave the real sensor
(issue 11, point 9): a crafted capture read by ``wardwatch sensor``."""

from __future__ import annotations

import base64
import subprocess
import sys

import orjson
import pytest
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from tests.unit.test_app_support import TcpSession

pytestmark = pytest.mark.integration

URL_SECRET = "Ur1Pa55w0rd"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.tok3n.sig"
BODY_SECRET = "B0dyPa55w0rd"
BASIC_SECRET = "Ba5icPa55w0rd"
TELNET_SECRET = "T3ln3tMatKhau"
SECRETS = (URL_SECRET, TOKEN, BODY_SECRET, BASIC_SECRET, TELNET_SECRET)


def _sessions() -> list:
    web = TcpSession("10.20.0.7", "10.20.0.80", 40101, 80, ts=1_700_000_000.0)
    web.client(
        f"GET /his/login?user=bs.lan&password={URL_SECRET}&lang=vi HTTP/1.1\r\nHost: his.bvdk.vn\r\n"
        f"Referer: http://his.bvdk.vn/cb?access_token={TOKEN}\r\n\r\n".encode()
    )
    web.server(b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n")
    body = f"username=bs.lan&password={BODY_SECRET}".encode()
    web.client(b"POST /his/login HTTP/1.1\r\nHost: his.bvdk.vn\r\nContent-Length: "
               + str(len(body)).encode() + b"\r\n\r\n" + body)  # fmt: skip
    web.server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    proxy = TcpSession("10.20.0.8", "10.20.0.3", 40102, 3128, ts=1_700_000_001.0)
    auth = base64.b64encode(f"admin:{BASIC_SECRET}".encode())
    proxy.client(f"GET http://admin:{BASIC_SECRET}@pump.local/cfg?sid={TOKEN} HTTP/1.1\r\nHost: pump.local\r\n"
                 "Authorization: Basic ".encode() + auth + b"\r\n\r\n")  # fmt: skip
    proxy.server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    telnet = TcpSession("10.20.0.9", "10.20.0.23", 40103, 23, ts=1_700_000_002.0)
    telnet.server("Mật khẩu: ".encode()).keystrokes(TELNET_SECRET.encode() + b"\r\x00", echo=False)
    telnet.server(b"\r\nWelcome\r\n# ")
    packets = web.packets + proxy.packets + telnet.packets
    return [Ether() / p for p in sorted(packets, key=lambda p: float(p.time))]


def test_sensor_masks_secrets_before_records_leave(tmp_path) -> None:
    pcap = tmp_path / "secrets.pcap"
    wrpcap(str(pcap), _sessions())
    proc = subprocess.run(
        [sys.executable, "-m", "wardwatch.cli", "sensor", "--pcap", str(pcap), "--out", "-"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = proc.stdout + proc.stderr
    for secret in SECRETS:
        assert secret not in text
        assert base64.b64encode(secret.encode()).decode() not in text
    recs = [orjson.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    http = sorted((r["uri"], r.get("referrer")) for r in recs if r["_path"] == "http")
    assert http == [
        ("/his/login", None),
        (
            "/his/login?user=bs.lan&password=[REDACTED]&lang=vi",
            "http://his.bvdk.vn/cb?access_token=[REDACTED]",
        ),
        ("http://admin:[REDACTED]@pump.local/cfg?sid=[REDACTED]", None),
    ]
    logins = sorted((r["service"], r.get("user"), r["weak_password"]) for r in recs if r["_path"] == "login")
    assert logins == [("http", "admin", False), ("telnet", None, False)]
