"""HTTP requests (http.log fields), response pairing, trans_depth, and Basic-auth logins."""

from __future__ import annotations

import base64

import orjson
from wardwatch.ingest.app.http import parse_request_head, parse_status_line

from tests.unit.test_app_support import TcpSession, run


def _req(uri: str = "/index.html", host: str = "www.example.com:8080", extra: bytes = b"") -> bytes:
    return (
        f"GET {uri} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: curl/8.0\r\nReferer: http://a.example/\r\n".encode()
        + extra
        + b"\r\n"
    )


def test_parse_request_head():
    fields, auth = parse_request_head(_req()[:-4])
    assert fields == {
        "method": "GET",
        "uri": "/index.html",
        "version": "1.1",
        "host": "www.example.com",
        "user_agent": "curl/8.0",
        "referrer": "http://a.example/",
    }
    assert auth is None
    assert parse_request_head(b"HELLO world") is None
    assert parse_request_head(b"GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080")[0]["host"] == "[2001:db8::1]"


def test_parse_status_line():
    assert parse_status_line(b"HTTP/1.1 404 Not Found") == (404, "Not Found")
    assert parse_status_line(b"HTTP/1.0 200") == (200, "")
    assert parse_status_line(b"SSH-2.0-OpenSSH") is None


def test_keepalive_requests_are_paired_with_responses():
    s = TcpSession("10.0.0.5", "10.0.0.80", 50000, 80)
    s.client(_req("/a"))
    s.server(b"HTTP/1.1 100 Continue\r\n\r\n")
    s.server(b"HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n" + b"x" * 1000)
    s.server(b"GET /not-a-request HTTP/1.1\r\n" + b"y" * 1000)  # body bytes that look odd
    s.server(b"z" * 1000)
    s.client(b"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody")
    s.server(b"HTTP/1.1 302 Found\r\nLocation: /c\r\n\r\n")
    s.client(_req("/c", host="h"), segment=20)  # a head split over tiny segments
    out, view, _ = run(s.packets, batch_size=4)
    http = [r for r in out if r["_path"] == "http"]
    assert [(r["trans_depth"], r["method"], r["uri"], r.get("status_code")) for r in http] == [
        (1, "GET", "/a", 200),
        (2, "POST", "/b", 302),
        (3, "GET", "/c", None),
    ]
    assert http[0]["status_msg"] == "OK" and http[0]["host"] == "www.example.com"
    assert view.services[1] == {"http"}


def test_pipelined_requests_in_one_segment():
    s = TcpSession("10.0.0.5", "10.0.0.80", 50001, 8080)
    s.client(_req("/1") + _req("/2"))
    out, _, _ = run(s.packets)
    assert [r["uri"] for r in out] == ["/1", "/2"]


def test_http_on_any_port_by_content():
    s = TcpSession("10.0.0.5", "10.0.0.80", 50001, 5555)
    s.client(_req("/x"))
    s.server(b"HTTP/1.0 404 Not Found\r\n\r\n")
    out, _, _ = run(s.packets)
    assert [(r["uri"], r["status_code"]) for r in out] == [("/x", 404)]


def _basic(user: str, password: str) -> bytes:
    return b"Authorization: Basic " + base64.b64encode(f"{user}:{password}".encode()) + b"\r\n"


def test_basic_auth_login_records_never_hold_the_password():
    secret_weak, secret_strong = "admin@123", "vR7#qLp2!xZe"
    s = TcpSession("10.0.0.5", "10.0.0.99", 50002, 80)
    s.client(_req("/cgi", host="pump.local", extra=_basic("admin", secret_weak)))
    s.server(b"HTTP/1.1 401 Unauthorized\r\n\r\n")
    s.client(_req("/cgi", host="pump.local", extra=_basic("nurse1", secret_strong)))
    s.server(b"HTTP/1.1 200 OK\r\n\r\n")
    out, _, _ = run(s.packets)
    logins = [r for r in out if r["_path"] == "login"]
    assert [(r["service"], r["user"], r["weak_password"], r["success"]) for r in logins] == [
        ("http", "admin", True, False),
        ("http", "nurse1", False, True),
    ]
    text = orjson.dumps(out).decode()
    for secret in (secret_weak, secret_strong):
        assert secret not in text
        assert base64.b64encode(secret.encode()).decode() not in text
