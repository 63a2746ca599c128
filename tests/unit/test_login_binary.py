"""Issue 19 point 2: cleartext logins in LDAP simple binds and PostgreSQL's cleartext password
(crafted sessions through the application tracker); passwords never leave the analyser."""

from __future__ import annotations

import struct

from tests.unit.test_app_login import STRONG, assert_no_secret, logins
from tests.unit.test_app_support import TcpSession, run


def ber(tag: int, value: bytes) -> bytes:
    n = len(value)
    size = bytes([n]) if n < 0x80 else bytes([0x82]) + n.to_bytes(2, "big")
    return bytes([tag]) + size + value


def bind(msgid: int, dn: str, password: str) -> bytes:
    req = ber(0x02, b"\x03") + ber(0x04, dn.encode()) + ber(0x80, password.encode())
    return ber(0x30, ber(0x02, bytes([msgid])) + ber(0x60, req))


def bind_response(msgid: int, code: int) -> bytes:
    res = ber(0x0A, bytes([code])) + ber(0x04, b"") + ber(0x04, b"")
    return ber(0x30, ber(0x02, bytes([msgid])) + ber(0x61, res))


def test_ldap_simple_binds() -> None:
    s = TcpSession("10.2.0.5", "10.2.0.38", 40010, 389)
    s.client(bind(1, "", "")).server(bind_response(1, 0))  # anonymous: no login
    s.client(bind(2, "cn=admin,dc=benhvien,dc=vn", "Admin@123")).server(bind_response(2, 49))
    s.client(bind(3, "cn=his,dc=benhvien,dc=vn", STRONG)).server(bind_response(3, 0))
    out, view, _ = run(s.packets)
    assert logins(out) == [
        ("ldap", "cn=admin,dc=benhvien,dc=vn", True, False),
        ("ldap", "cn=his,dc=benhvien,dc=vn", False, True),
    ]
    assert view.services[1] == {"ldap"}
    assert_no_secret(out, STRONG, "Admin@123")


def test_ldap_garbage_is_not_a_login() -> None:
    s = TcpSession("10.2.0.5", "10.2.0.38", 40011, 389)
    s.client(b"\x30\x84\xff\xff\xff\xff" + b"x" * 40).client(b"GET / HTTP/1.0\r\n\r\n")
    out, _, _ = run(s.packets)
    assert logins(out) == []


def pg_startup(user: str, code: int = 196608) -> bytes:
    body = struct.pack("!I", code) + b"user\0" + user.encode() + b"\0database\0his\0\0"
    return struct.pack("!I", len(body) + 4) + body


def pg(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!I", len(body) + 4) + body


def test_postgres_cleartext_password() -> None:
    s = TcpSession("10.2.0.5", "10.2.0.54", 40012, 5432)
    s.client(struct.pack("!II", 8, 80877103)).server(b"N")  # SSL refused: the rest is in clear
    s.client(pg_startup("his_app")).server(pg(b"R", struct.pack("!I", 3)))
    s.client(pg(b"p", b"123456\0")).server(pg(b"E", b"SFATAL\0Mpassword authentication failed\0\0"))
    out, view, _ = run(s.packets)
    assert logins(out) == [("postgresql", "his_app", True, False)]
    s = TcpSession("10.2.0.5", "10.2.0.54", 40013, 5432)
    s.client(pg_startup("his_app")).server(pg(b"R", struct.pack("!I", 3)))
    s.client(pg(b"p", STRONG.encode() + b"\0")).server(pg(b"R", struct.pack("!I", 0)))
    out, view, _ = run(s.packets)
    assert logins(out) == [("postgresql", "his_app", False, True)]
    assert view.services[1] == {"postgresql"}
    assert_no_secret(out, STRONG)


def test_postgres_md5_and_tls_give_no_login() -> None:
    s = TcpSession("10.2.0.5", "10.2.0.54", 40014, 5432)
    s.client(pg_startup("his_app")).server(pg(b"R", struct.pack("!I", 5) + b"salt"))
    s.client(pg(b"p", b"md5abcdef0123456789abcdef0123456789\0"))
    out, _, _ = run(s.packets)
    assert logins(out) == []
    s = TcpSession("10.2.0.5", "10.2.0.54", 40015, 5432)
    s.client(struct.pack("!II", 8, 80877103)).server(b"S").client(b"\x16\x03\x01\x00\x05hello")
    out, _, _ = run(s.packets)
    assert logins(out) == []
