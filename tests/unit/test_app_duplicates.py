"""Every packet twice (a SPAN port often delivers that): the same records as the clean capture.

Each session is run clean and duplicated (each packet followed by its copy), in one batch and split
over batches at every packet (so a copy can fall in the next batch); the records must be identical.
"""

from __future__ import annotations

import base64

import pytest
from scapy.packet import Packet

from tests.unit.test_app_quic import _split_hello_initials, _udp
from tests.unit.test_app_support import TcpSession, run
from tests.unit.test_app_tls import client_hello

STRONG = "Zq8!vLx3#Tm9"


def _b64(text: str) -> bytes:
    return base64.b64encode(text.encode())


def _http() -> list[Packet]:
    s = TcpSession("10.0.0.5", "10.0.0.80", 50000, 80)
    auth = b"Authorization: Basic " + _b64("admin:admin") + b"\r\n"
    s.client(b"GET /a HTTP/1.1\r\nHost: h.example\r\n" + auth + b"\r\n")
    s.server(b"HTTP/1.1 401 Unauthorized\r\n\r\n")
    s.client(b"POST /b HTTP/1.1\r\nHost: h.example\r\nContent-Length: 4\r\n\r\nbody")
    s.server(b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + b"x" * 500)
    s.server(b"y" * 1500)
    s.client(b"GET /c HTTP/1.1\r\nHost: h.example\r\nUser-Agent: " + b"u" * 300 + b"\r\n\r\n", segment=60)
    s.server(b"HTTP/1.1 304 Not Modified\r\n\r\n")
    s.client(b"GET /p1 HTTP/1.1\r\nHost: h\r\n\r\nGET /p2 HTTP/1.1\r\nHost: h\r\n\r\n")  # pipelined
    s.server(b"HTTP/1.1 200 OK\r\n\r\n")
    s.server(b"HTTP/1.1 404 Not Found\r\n\r\n")
    return s.packets


def _tls() -> list[Packet]:
    s = TcpSession("192.168.10.20", "93.184.216.34", 49152, 443)
    s.client(client_hello(sni="dup.example", pad=3000), segment=700)
    s.server(b"\x16\x03\x03\x00\x10" + bytes(16))
    return s.packets


def _quic() -> list[Packet]:
    return [_udp(p, 1.0 + k) for k, p in enumerate(_split_hello_initials(1))]


def _imap() -> list[Packet]:
    s = TcpSession("10.2.0.5", "10.2.0.143", 40003, 143)
    s.server(b"* OK IMAP4rev1 ready\r\n")
    s.client(b'a1 LOGIN "dr smith" "123456a@"\r\n').server(b"a1 NO [AUTHENTICATIONFAILED] bad\r\n")
    s.client(b"a2 AUTHENTICATE PLAIN " + _b64(f"\x00drsmith\x00{STRONG}") + b"\r\n")
    s.server(b"a2 OK done\r\n")
    return s.packets


def _smtp() -> list[Packet]:
    s = TcpSession("10.2.0.5", "10.2.0.25", 40004, 587)
    s.server(b"220 mail ESMTP\r\n")
    s.client(b"EHLO ws1\r\n").server(b"250-mail\r\n250 AUTH PLAIN LOGIN\r\n")
    s.client(b"AUTH LOGIN\r\n").server(b"334 VXNlcm5hbWU6\r\n")
    s.client(_b64("scanner") + b"\r\n").server(b"334 UGFzc3dvcmQ6\r\n")
    s.client(_b64("scanner") + b"\r\n").server(b"535 5.7.8 failed\r\n")
    s.client(b"AUTH PLAIN " + _b64(f"\x00scanner\x00{STRONG}") + b"\r\n").server(b"235 2.7.0 ok\r\n")
    return s.packets


def _ftp() -> list[Packet]:
    s = TcpSession("10.2.0.5", "10.2.0.21", 40001, 21)
    s.server(b"220 hi\r\n").client(b"USER anna\r\n").server(b"331 pw\r\n")
    s.client(b"PASS 123456\r\n").server(b"530 no\r\n")
    s.client(b"USER anna\r\n").server(b"331 pw\r\n")
    s.client(f"PASS {STRONG}\r\n".encode()).server(b"230 ok\r\n")
    return s.packets


def _telnet() -> list[Packet]:
    s = TcpSession("10.3.0.9", "10.3.0.23", 40010, 23)
    s.server(b"\r\nmonitor login: ")
    s.keystrokes(b"root\r\x00")
    s.server(b"\r\nPassword: ")
    s.keystrokes(b"xc3511\r\x00", echo=False)
    s.server(b"\r\n$ ")
    return s.packets


SESSIONS = {
    "http": _http,
    "tls": _tls,
    "quic": _quic,
    "imap": _imap,
    "smtp": _smtp,
    "ftp": _ftp,
    "telnet": _telnet,
}


def doubled(packets: list[Packet]) -> list[Packet]:
    out = []
    for p in packets:
        copy = p.copy()
        copy.time = p.time
        out += [p, copy]
    return out


@pytest.mark.parametrize("name", sorted(SESSIONS))
@pytest.mark.parametrize("batch_size", [0, 1, 2, 3, 7])
def test_duplicated_packets_give_the_same_records(name: str, batch_size: int) -> None:
    # Odd batch sizes put a packet and its copy in different batches (the tracker drops the copy),
    # even ones in the same batch (the vectorised selection drops it).
    packets = SESSIONS[name]()
    clean, _, _ = run(packets)
    assert clean, "the session must produce records for the test to mean anything"
    twice, _, counters = run(doubled(packets), batch_size=batch_size)
    assert twice == clean
    assert not any(k.startswith("malformed") for k in counters)


def test_http_duplicate_request_is_one_transaction() -> None:
    packets = _http()
    out, _, _ = run(doubled(packets))
    http = [r for r in out if r["_path"] == "http"]
    assert [(r["trans_depth"], r["uri"], r.get("status_code")) for r in http] == [
        (1, "/a", 401),
        (2, "/b", 200),
        (3, "/c", 304),
        (4, "/p1", 200),
        (5, "/p2", 404),
    ]


def test_retransmission_after_other_segments_is_still_dropped() -> None:
    # A late retransmission (the request again, after the response) is not a new request.
    s = TcpSession("10.0.0.5", "10.0.0.80", 50002, 80)
    s.client(b"GET /once HTTP/1.1\r\nHost: h\r\n\r\n")
    request = s.packets[-1]
    s.server(b"HTTP/1.1 200 OK\r\n\r\n")
    again = request.copy()
    again.time = request.time + 1
    out, _, _ = run([*s.packets, again], batch_size=1)
    assert [(r["uri"], r["trans_depth"]) for r in out if r["_path"] == "http"] == [("/once", 1)]


def test_reordered_segments_are_not_mistaken_for_duplicates() -> None:
    # Two requests whose segments arrive swapped: both are new data, neither is a copy.
    s = TcpSession("10.0.0.5", "10.0.0.80", 50003, 80)
    s.client(b"GET /first HTTP/1.1\r\nHost: h\r\n\r\n")
    s.client(b"GET /second HTTP/1.1\r\nHost: h\r\n\r\n")
    p = s.packets
    out, _, _ = run([*p[:3], p[4], p[3]])
    assert sorted(r["uri"] for r in out if r["_path"] == "http") == ["/first", "/second"]
