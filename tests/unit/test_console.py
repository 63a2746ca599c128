"""The console's pure parts: the password rule, argon2 hashes, TOTP steps, sessions' time-outs, the
login limiter, the queue's filter reading, redirects and the config section."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest

pytest.importorskip("argon2")

from wardwatch.console import passwords  # noqa: E402
from wardwatch.console.app import _next  # noqa: E402
from wardwatch.console.queries import Filters, guess_kind  # noqa: E402
from wardwatch.console.sessions import Limiter, Sessions  # noqa: E402
from wardwatch.console.settings import ConsoleSection, console_settings  # noqa: E402
from wardwatch.service.listen import parse_listen  # noqa: E402


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("Ab1!", "console.pw.short"),
        ("abcdefghijklmnop", "console.pw.classes"),
        ("Lan-Nguyen-2026!", "console.pw.name"),
        ("Password-12345!x", "console.pw.common"),
    ],
)
def test_weak_passwords_are_refused_with_their_reason(password: str, why: str) -> None:
    assert why in passwords.weakness(password, "lan-nguyen")


def test_a_strong_password_passes_and_hashes_with_argon2id() -> None:
    pw = "Ch4m-soc-benh-nhan!"
    assert passwords.weakness(pw, "lan") == []
    h = passwords.hash_password(pw)
    assert h.startswith("$argon2id$") and pw not in h
    assert passwords.check_password(h, pw)
    assert not passwords.check_password(h, pw + "x")
    assert not passwords.check_password("", pw)  # an unknown account never matches
    assert not passwords.check_password("not-a-hash", pw)


def test_totp_accepts_the_current_step_and_its_neighbours_only() -> None:
    secret = pyotp.random_base32()
    t = 1_800_000_000.0
    totp = pyotp.TOTP(secret)
    step = int(t) // 30
    assert passwords.totp_step(secret, totp.at(t), t) == step
    assert passwords.totp_step(secret, totp.at(t - 30), t) == step - 1
    assert passwords.totp_step(secret, totp.at(t - 90), t) is None
    assert passwords.totp_step(secret, "12345", t) is None
    assert passwords.totp_step(secret, "abcdef", t) is None
    assert passwords.totp_uri(secret, "lan").startswith("otpauth://totp/wardwatch:lan?secret=")


def test_sessions_end_when_idle_and_at_their_maximum_age() -> None:
    s = Sessions(idle=60, max_age=300)
    tok = s.open("lan", "analyst", 0.0)
    got = s.get(tok, 50.0)
    assert got is not None and got.name == "lan" and len(got.csrf) >= 32
    assert s.get(tok, 100.0) is not None  # used at 50: still fresh at 100
    assert s.get(tok, 170.0) is None  # idle for 70 s
    tok = s.open("lan", "analyst", 0.0)
    for t in range(50, 300, 50):
        assert s.get(tok, float(t)) is not None
    assert s.get(tok, 301.0) is None  # never idle, but over its maximum age
    assert s.get("forged", 1.0) is None and s.get("", 1.0) is None
    a, b = s.open("minh", "viewer", 0.0), s.open("minh", "viewer", 0.0)
    assert s.close_user("minh") == 2 and s.get(a, 1.0) is None and s.get(b, 1.0) is None


def test_limiter_locks_an_account_and_an_address_then_forgets() -> None:
    lim = Limiter(max_failures=3, lockout=600, window=900)
    keys = ["name:lan", "ip:10.0.0.5"]
    assert not lim.fail(keys, 0.0) and not lim.fail(keys, 1.0)
    assert lim.fail(keys, 2.0)
    assert lim.locked(["name:lan"], 3.0) and not lim.locked(["name:lan"], 603.0)
    # one address guessing many names is locked after four times as many failures
    for i in range(11):
        lim.fail([f"name:u{i}", "ip:10.0.0.9"], 10.0)
    assert not lim.locked(["ip:10.0.0.9"], 11.0)
    lim.fail(["name:u12", "ip:10.0.0.9"], 10.0)
    assert lim.locked(["name:other", "ip:10.0.0.9"], 11.0)
    # failures older than the window do not count
    lim2 = Limiter(max_failures=2, lockout=60, window=10)
    assert not lim2.fail(["name:x"], 0.0) and not lim2.fail(["name:x"], 20.0)


def test_filters_keep_only_known_values_and_addresses() -> None:
    f = Filters.read(
        {"status": "new' OR 1=1", "severity": "high", "category": "nope", "segment": "his", "host": "1.2.3.4; --", "hours": "2"},
        1000.0 * 3600,
    )
    assert (f.status, f.severity, f.category, f.segment, f.host) == ("", "high", "", "his", "")
    assert f.since == 998.0 * 3600
    assert Filters.read({"host": "10.20.0.31", "since": "nan"}, 0.0).host == "10.20.0.31"
    assert Filters.read({"since": "nan"}, 0.0).since == 0.0
    assert "segment=his" in f.query_string() and "hours=2" in f.query_string()


def test_search_kind_is_guessed() -> None:
    assert guess_kind("10.0.0.1") == "ip"
    assert guess_kind("e7d705a3286e19ea42f587b344ee6865") == "ja3"
    assert guess_kind("evil.example") == "domain"
    assert guess_kind("bacsi01") == "user"


def test_redirects_stay_on_this_site() -> None:
    assert _next("/alerts?segment=his") == "/alerts?segment=his"
    for bad in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        assert _next(bad) == "/"


def test_plain_http_only_on_loopback_and_cert_with_key(tmp_path: Path) -> None:
    class Err(Exception):
        pass

    def error(key: str, msg: str) -> Err:
        return Err(f"{key}: {msg}")

    assert not console_settings(ConsoleSection(), error, parse_listen).https
    with pytest.raises(Err, match="listen: the console serves plain HTTP only on 127.0.0.1"):
        console_settings(ConsoleSection(listen="0.0.0.0:8443"), error, parse_listen)
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(Err, match="cert and key go together"):
        console_settings(ConsoleSection(listen="0.0.0.0:8443", cert=cert), error, parse_listen)
    with pytest.raises(Err, match="no such file"):
        console_settings(ConsoleSection(listen="0.0.0.0:8443", cert=cert, key=tmp_path / "none"), error, parse_listen)
    s = console_settings(ConsoleSection(listen="0.0.0.0:8443", cert=cert, key=cert), error, parse_listen)
    assert s.https and s.port == 8443


def test_the_http_console_section_is_read_and_checked_with_the_config(tmp_path: Path) -> None:
    from wardwatch.service.settings import http_settings

    from wardwatch.config import ConfigError, parse_config

    def read(text: str):  # type: ignore[no-untyped-def]
        return http_settings(parse_config(f"data_dir: {tmp_path}\nhttp:\n  console:\n{text}", tmp_path / "c.yaml")).console

    s = read("    listen: '[::1]:9443'\n    lockout: 5m\n")
    assert (s.host, s.port, s.lockout, s.https) == ("::1", 9443, 300.0, False)
    with pytest.raises(ConfigError, match=r"http\.console\.bogus: unknown key"):
        read("    bogus: 1\n")
    with pytest.raises(ConfigError, match=r"http\.console\.listen: the console serves plain HTTP only"):
        read("    listen: 10.0.0.1:8443\n")
    with pytest.raises(ConfigError, match=r"http\.console\.max_failures"):
        read("    max_failures: 0\n")
    assert http_settings(parse_config(f"data_dir: {tmp_path}\n", tmp_path / "c.yaml")).console is None


def test_totp_secrets_are_sealed_to_the_key_and_the_account() -> None:
    secret = pyotp.random_base32()
    key = b"0" * 64
    box = passwords.seal(key, secret, "lan")
    assert box.startswith("v1:") and secret not in box
    assert passwords.seal(key, secret, "lan") != box  # a fresh nonce each time
    assert passwords.unseal(key, box, "lan") == secret
    assert passwords.unseal(b"1" * 64, box, "lan") == ""  # another key
    assert passwords.unseal(key, box, "minh") == ""  # moved onto another account's row
    assert passwords.unseal(key, "v1:!!!", "lan") == ""
