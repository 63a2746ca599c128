"""HTTP requests (http.log fields), response pairing, trans_depth, and Basic-auth logins."""

from __future__ import annotations

import base64

import orjson
import pytest
from wardwatch.ingest.app.http import parse_request_head, parse_status_line
from wardwatch.ingest.app.redact import redact_url

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


# --- secrets in URLs are masked before the record leaves the sensor (issue 11, point 9) ----------------

URL_CASES = [
    ("/login?user=bs.lan&password=Xk9!mQ2z", "/login?user=bs.lan&password=[REDACTED]"),
    ("/a?pwd=1&pass=2&passwd=3&pw=4", "/a?pwd=[REDACTED]&pass=[REDACTED]&passwd=[REDACTED]&pw=[REDACTED]"),
    ("/api?access_token=eyJh.b.c&page=2", "/api?access_token=[REDACTED]&page=2"),
    ("/m?API_KEY=k1;secret=s2;auth=a3", "/m?API_KEY=[REDACTED];secret=[REDACTED];auth=[REDACTED]"),
    ("/f?New-Password=x&user%5Bpassword%5D=y", "/f?New-Password=[REDACTED]&user%5Bpassword%5D=[REDACTED]"),
    ("/f?pass%77ord=x", "/f?pass%77ord=[REDACTED]"),  # a percent-encoded name is still a password
    (
        "/s3/o?X-Amz-Signature=ab12&X-Amz-Credential=AKIA",
        "/s3/o?X-Amz-Signature=[REDACTED]&X-Amz-Credential=[REDACTED]",
    ),
    ("/app;jsessionid=A1B2C3/page?x=1", "/app;jsessionid=[REDACTED]/page?x=1"),
    ("/x?PHPSESSID=abc&sid=9&session=s", "/x?PHPSESSID=[REDACTED]&sid=[REDACTED]&session=[REDACTED]"),
    ("/vn?tk=benhnhan&mk=123456", "/vn?tk=benhnhan&mk=[REDACTED]"),  # tài khoản / mật khẩu
    ("/cb#access_token=t0k&state=1", "/cb#access_token=[REDACTED]&state=1"),
    ("/p?password=ab#cd&next=/", "/p?password=[REDACTED]&next=/"),  # a raw '#' does not end the secret
    ("/p?password=a?b=c&x=1", "/p?password=[REDACTED]&x=1"),
    ("http://admin:Xk9!mQ2z@10.20.0.80/setup?a=1", "http://admin:[REDACTED]@10.20.0.80/setup?a=1"),
    ("http://proxy.example/?token=t", "http://proxy.example/?token=[REDACTED]"),
    # nothing secret: kept byte for byte
    ("/search?q=password+reset&lang=vi", "/search?q=password+reset&lang=vi"),
    ("/img/logo.png", "/img/logo.png"),
    ("/a?password", "/a?password"),
    ("/wp-admin/admin-ajax.php?action=x&cmd=id", "/wp-admin/admin-ajax.php?action=x&cmd=id"),
    ("mailto:a@b", "mailto:a@b"),
]


@pytest.mark.parametrize(("url", "want"), URL_CASES, ids=[c[0][:40] for c in URL_CASES])
def test_redact_url(url: str, want: str) -> None:
    assert redact_url(url) == want
    assert redact_url(want) == want  # masking is idempotent


def test_request_head_masks_uri_and_referrer() -> None:
    head = (
        b"GET /portal/login?username=bs.lan&password=Xk9%21mQ2z HTTP/1.1\r\nHost: his.bvdk.vn\r\n"
        b"Referer: http://nurse:S3cr3t@his.bvdk.vn/home?token=abc123\r\n"
    )
    fields, _ = parse_request_head(head)
    assert fields["uri"] == "/portal/login?username=bs.lan&password=[REDACTED]"
    assert fields["referrer"] == "http://nurse:[REDACTED]@his.bvdk.vn/home?token=[REDACTED]"


def test_no_password_from_a_url_or_a_form_body_reaches_any_record() -> None:
    secrets = ("Xk9!mQ2z", "Xk9%21mQ2z", "s3ss10nT0k3n", "B0dyPa55!")
    s = TcpSession("10.0.0.5", "10.0.0.80", 50003, 80)
    s.client(_req("/login?user=a&password=Xk9%21mQ2z&sid=s3ss10nT0k3n"))
    s.server(b"HTTP/1.1 302 Found\r\n\r\n")
    body = b"username=bs.lan&password=B0dyPa55%21&remember=1"
    s.client(b"POST /login HTTP/1.1\r\nHost: his\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)  # fmt: skip
    s.server(b"HTTP/1.1 200 OK\r\n\r\n")
    s.client(b"POST /api/login HTTP/1.1\r\nHost: his\r\nContent-Length: 40\r\n\r\n")
    s.client(b'{"user":"bs.lan","password":"B0dyPa55!"}')  # the body in its own segment
    s.server(b"HTTP/1.1 200 OK\r\n\r\n")
    out, _, counters = run(s.packets)
    http = [r for r in out if r["_path"] == "http"]
    assert [r["uri"] for r in http] == [
        "/login?user=a&password=[REDACTED]&sid=[REDACTED]",
        "/login",
        "/api/login",
    ]
    text = orjson.dumps(out).decode() + " ".join(counters)
    for secret in secrets:
        assert secret not in text and secret.replace("!", "%21") not in text
