"""Cleartext logins: FTP, POP3, IMAP, SMTP, Telnet; weak-password rules; passwords never leave."""

from __future__ import annotations

import base64

import orjson
import pytest
from wardwatch.ingest.app.login import strip_iac
from wardwatch.ingest.app.passwords import is_weak, weak_list

from tests.unit.test_app_support import TcpSession, run

STRONG = "Zq8!vLx3#Tm9"  # not in any list, long, not derived from the user name
IAC = 0xFF


def b64(text: str) -> bytes:
    return base64.b64encode(text.encode())


def logins(out: list[dict]) -> list[tuple]:
    return [
        (r["service"], r.get("user"), r["weak_password"], r.get("success"))
        for r in out
        if r["_path"] == "login"
    ]


def assert_no_secret(out: list[dict], *secrets: str) -> None:
    text = orjson.dumps(out).decode()
    for secret in secrets:
        assert secret not in text
        assert b64(secret).decode() not in text


# --- weak-password rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password,user",
    [
        ("", "bob"),
        ("bob", "bob"),
        ("Bob", "bob"),
        ("xc3511", "root"),  # Mirai
        ("123456a@", None),  # Vietnamese pattern
        ("Admin@123", None),
        ("admin@2024", None),  # listed word + decoration
        ("2getin", "insite"),  # medical-device default
        ("bob1987!", "bob"),  # user name + decoration
        ("abc", None),  # too short
        ("XXXXXX", None),  # too few distinct characters
    ],
)
def test_weak(password, user):
    assert is_weak(password, user)


@pytest.mark.parametrize("password", [STRONG, "correct-horse-battery", "Tr0ub4dor&3"])
def test_strong(password):
    assert not is_weak(password, "bob")


def test_list_loads_entries_starting_with_hash_and_skips_comments():
    words = weak_list()
    assert "#bigguy1" in words and "xc3511" in words and "123456a@" in words
    assert not any(w.startswith("# ") for w in words)


# --- line protocols -----------------------------------------------------------------------------------


def test_ftp_failed_then_successful_login():
    s = TcpSession("10.2.0.5", "10.2.0.21", 40001, 21)
    s.server(b"220 FTP ready\r\n")
    s.client(b"USER admin\r\n").server(b"331 Password required\r\n")
    s.client(b"PASS admin\r\n").server(b"530 Login incorrect\r\n")
    s.client(b"USER tech\r\n").server(b"331 Password required\r\n")
    s.client(f"PASS {STRONG}\r\n".encode()).server(b"230 Logged in\r\n")
    s.client(b"RETR x\r\n")
    out, view, _ = run(s.packets)
    assert logins(out) == [("ftp", "admin", True, False), ("ftp", "tech", False, True)]
    assert out[0]["id.resp_p"] == 21 and out[0]["uid"] == "C1"
    assert view.services[1] == {"ftp"}
    assert_no_secret(out, STRONG)


def test_pop3_user_pass_and_auth_plain():
    s = TcpSession("10.2.0.5", "10.2.0.110", 40002, 110)
    s.server(b"+OK POP3 ready\r\n")
    s.client(b"USER nurse\r\n").server(b"+OK\r\n")
    s.client(b"PASS nurse\r\n").server(b"-ERR auth failed\r\n")
    s.client(b"AUTH PLAIN\r\n").server(b"+ \r\n")
    s.client(b64(f"\x00nurse\x00{STRONG}") + b"\r\n").server(b"+OK logged in\r\n")
    out, _, _ = run(s.packets)
    assert logins(out) == [("pop3", "nurse", True, False), ("pop3", "nurse", False, True)]
    assert_no_secret(out, STRONG)


def test_imap_login_quoted_and_authenticate_plain_initial_response():
    s = TcpSession("10.2.0.5", "10.2.0.143", 40003, 143)
    s.server(b"* OK IMAP4rev1 ready\r\n")
    s.client(b'a1 LOGIN "dr smith" "123456a@"\r\n').server(b"a1 NO [AUTHENTICATIONFAILED] bad\r\n")
    s.client(b"a2 AUTHENTICATE PLAIN " + b64(f"\x00drsmith\x00{STRONG}") + b"\r\n")
    s.server(b"a2 OK done\r\n")
    out, _, _ = run(s.packets)
    assert logins(out) == [("imap", "dr smith", True, False), ("imap", "drsmith", False, True)]
    assert_no_secret(out, STRONG, "123456a@")


def test_smtp_auth_login_and_plain():
    s = TcpSession("10.2.0.5", "10.2.0.25", 40004, 587)
    s.server(b"220 mail ESMTP\r\n")
    s.client(b"EHLO ws1\r\n").server(b"250-mail\r\n250 AUTH PLAIN LOGIN\r\n")
    s.client(b"AUTH LOGIN\r\n").server(b"334 VXNlcm5hbWU6\r\n")
    s.client(b64("scanner") + b"\r\n").server(b"334 UGFzc3dvcmQ6\r\n")
    s.client(b64("scanner") + b"\r\n").server(b"535 5.7.8 failed\r\n")
    s.client(b"AUTH PLAIN " + b64(f"\x00scanner\x00{STRONG}") + b"\r\n").server(b"235 2.7.0 ok\r\n")
    out, _, _ = run(s.packets, batch_size=5)
    assert logins(out) == [("smtp", "scanner", True, False), ("smtp", "scanner", False, True)]
    assert_no_secret(out, STRONG)


def test_login_without_verdict_is_emitted_at_flush():
    s = TcpSession("10.2.0.5", "10.2.0.21", 40005, 21)
    s.server(b"220 hi\r\n").client(b"USER a\r\n").client(f"PASS {STRONG}\r\n".encode())
    out, _, _ = run(s.packets)
    assert logins(out) == [("ftp", "a", False, None)]
    assert "success" not in out[0]


# --- telnet -------------------------------------------------------------------------------------------


def test_strip_iac_negotiation_split_across_packets():
    state = bytearray()
    assert strip_iac(bytes([IAC, 0xFB, 0x01, ord("a"), IAC]), state) == b"a"
    assert strip_iac(bytes([0xFD]), state) == b""
    assert strip_iac(bytes([0x03, IAC, IAC, ord("b")]), state) == b"\xffb"
    assert strip_iac(bytes([IAC, 0xFA, 0x18, 0x00]) + b"VT100", state) == b""
    assert strip_iac(bytes([IAC, 0xF0]) + b"c", state) == b"c"


def test_telnet_character_mode_with_echo_and_negotiation():
    s = TcpSession("10.3.0.9", "10.3.0.23", 40010, 23)
    s.server(bytes([IAC, 0xFD, 0x18, IAC, 0xFB, 0x01, IAC, 0xFB, 0x03]))
    s.client(bytes([IAC, 0xFB, 0x18, IAC, 0xFD, 0x01, IAC, 0xFD, 0x03]))
    s.server(b"\r\nmonitor login: ")
    s.keystrokes(b"roott\x7f\r\x00")  # a typo corrected with DEL
    s.server(b"\r\nPassword: ")
    s.keystrokes(b"xc3511\r\x00", echo=False)
    s.server(b"\r\nLogin incorrect\r\nmonitor login: ")
    s.keystrokes(b"admin\r\n")
    s.server(b"\r\nPassword: ")
    s.keystrokes(STRONG.encode() + b"\r\n", echo=False)
    s.server(b"\r\nLast login: Mon Jan 1\r\n$ ")
    s.keystrokes(b"cat /etc/passwd\r\n")
    out, view, _ = run(s.packets, batch_size=7)
    assert logins(out) == [("telnet", "root", True, False), ("telnet", "admin", False, True)]
    assert view.services[1] == {"telnet"}
    assert_no_secret(out, STRONG, "xc3511")


def test_telnet_line_mode_password_only_prompt():
    s = TcpSession("10.3.0.9", "10.3.0.23", 40011, 23)
    s.server(b"Password: ")
    s.client(b"\r\n")  # empty password
    s.server(b"\r\nWelcome\r\n> ")
    out, _, _ = run(s.packets)
    assert logins(out) == [("telnet", None, True, True)]


def test_password_not_in_exceptions_or_counters():
    # garbage after a login must be counted, not raised, and counter names must not carry input
    s = TcpSession("10.2.0.5", "10.2.0.143", 40012, 143)
    s.client(f"a1 LOGIN u {STRONG}\r\n".encode() + bytes(range(256)) * 4 + b"\r\n")
    out, _, counters = run(s.packets)
    assert all(STRONG not in name for name in counters)
    assert_no_secret(out, STRONG)


@pytest.mark.parametrize(
    "prompt",
    ["Mật khẩu: ".encode(), b"MAT KHAU: ", b"Passwort: ", b"Enter PIN or passcode:"],
    ids=["vi", "vi-ascii", "de", "passcode"],
)
def test_telnet_password_prompt_in_other_languages_never_stores_the_password_as_user(prompt: bytes):
    # A password-only prompt the analyser did not understand used to take the typed password as the
    # user name, and ``user`` is stored in clear.
    s = TcpSession("10.3.0.9", "10.3.0.23", 40013, 23)
    s.server(prompt)
    s.client(STRONG.encode() + b"\r\n")
    s.server(b"\r\nWelcome\r\n> ")
    out, _, _ = run(s.packets)
    assert logins(out) == [("telnet", None, False, True)]
    assert_no_secret(out, STRONG)


def test_telnet_vietnamese_user_then_password_prompt():
    s = TcpSession("10.3.0.9", "10.3.0.23", 40014, 23)
    s.server("Tên đăng nhập: ".encode())
    s.client(b"ktv.xquang\r\n")
    s.server("\r\nMật khẩu: ".encode())
    s.client(b"123456\r\n")
    s.server("\r\nĐăng nhập thất bại\r\nLogin incorrect\r\n".encode())
    out, view, _ = run(s.packets)
    assert logins(out) == [("telnet", "ktv.xquang", True, False)]
    assert view.services[1] == {"telnet"}
    assert "123456" not in orjson.dumps(out).decode()
