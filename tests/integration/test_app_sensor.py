"""Crafted login, TLS and QUIC sessions written to a pcap and read by the whole sensor chain."""

from __future__ import annotations

import base64
import subprocess
import sys

import orjson
import pytest
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from tests.unit.test_app_quic import _udp, rfc_client_initial
from tests.unit.test_app_support import TcpSession
from tests.unit.test_app_tls import client_hello

pytestmark = pytest.mark.integration

SECRET = "Wq7$Lp2!nB9x"


def _sessions() -> list:
    ftp = TcpSession("10.20.0.5", "10.20.0.21", 40001, 21, ts=1_700_000_000.0)
    ftp.server(b"220 ready\r\n").client(b"USER biomed\r\n").server(b"331 pw\r\n")
    ftp.client(b"PASS biomed\r\n").server(b"230 ok\r\n")
    telnet = TcpSession("10.20.0.6", "10.20.0.23", 40002, 23, ts=1_700_000_001.0)
    telnet.server(bytes([255, 253, 24]) + b"login: ").keystrokes(b"admin\r\x00")
    telnet.server(b"\r\nPassword: ").keystrokes(SECRET.encode() + b"\r\x00", echo=False)
    telnet.server(b"\r\nLogin incorrect\r\nlogin: ")
    web = TcpSession("10.20.0.7", "10.20.0.80", 40003, 80, ts=1_700_000_002.0)
    auth = base64.b64encode(f"admin:{SECRET}".encode())
    web.client(b"GET /setup HTTP/1.1\r\nHost: infusion-pump\r\nAuthorization: Basic " + auth + b"\r\n\r\n")
    web.server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    tls = TcpSession("10.20.0.8", "93.184.216.34", 40004, 443, ts=1_700_000_003.0)
    tls.client(client_hello(sni="portal.example", pad=2500), segment=1000)
    packets = (
        ftp.packets
        + telnet.packets
        + web.packets
        + tls.packets
        + [_udp(rfc_client_initial(), 1_700_000_004.0)]
    )
    return [Ether() / p for p in sorted(packets, key=lambda p: float(p.time))]


@pytest.fixture
def pcap(tmp_path):
    path = tmp_path / "sessions.pcap"
    wrpcap(str(path), _sessions())
    return path


def test_sensor_cli_emits_app_records_without_passwords(pcap):
    out = subprocess.run(
        [sys.executable, "-m", "wardwatch.cli", "sensor", "--pcap", str(pcap), "--out", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0 and "No module named" in out.stderr:
        pytest.skip("wardwatch.cli not runnable as a module")
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout + out.stderr
    assert SECRET not in text and base64.b64encode(SECRET.encode()).decode() not in text
    recs = [orjson.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    logins = sorted(
        (r["service"], r["user"], r["weak_password"], r.get("success")) for r in recs if r["_path"] == "login"
    )
    assert logins == [
        ("ftp", "biomed", True, True),
        ("http", "admin", False, True),
        ("telnet", "admin", False, False),
    ]
    sni = sorted((r["server_name"], r.get("quic", False)) for r in recs if r["_path"] == "tls")
    assert sni == [("example.com", True), ("portal.example", False)]
    http = [r for r in recs if r["_path"] == "http"]
    assert [(r["host"], r["uri"], r["status_code"], r["username"]) for r in http] == [
        ("infusion-pump", "/setup", 200, "admin")
    ]
    conns = {r["uid"]: r for r in recs if r["_path"] == "conn"}
    for r in recs:
        if r["_path"] in ("tls", "http", "login"):
            assert r["uid"] in conns, r
