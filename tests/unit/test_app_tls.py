"""TLS ClientHello over TCP: SNI, version, ALPN, JA3; segmented and out-of-order handshakes."""

from __future__ import annotations

import hashlib

from scapy.all import load_layer
from wardwatch.ingest.app.tls import is_grease, parse_client_hello

from tests.unit.test_app_support import TcpSession, run

load_layer("tls")
from scapy.layers.tls.extensions import (  # noqa: E402
    ProtocolName,
    ServerName,
    TLS_Ext_ALPN,
    TLS_Ext_Padding,
    TLS_Ext_ServerName,
    TLS_Ext_SupportedGroups,
    TLS_Ext_SupportedPointFormat,
    TLS_Ext_SupportedVersion_CH,
)
from scapy.layers.tls.handshake import TLSClientHello  # noqa: E402
from scapy.layers.tls.record import TLS  # noqa: E402


def client_hello(sni: str = "tls-test.example", pad: int = 0, versions=(0x0A0A, 0x0304, 0x0303)) -> bytes:
    ext = [
        TLS_Ext_ServerName(servernames=[ServerName(servername=sni.encode())]),
        TLS_Ext_ALPN(protocols=[ProtocolName(protocol=b"h2"), ProtocolName(protocol=b"http/1.1")]),
        TLS_Ext_SupportedGroups(groups=[0x2A2A, 29, 23]),
        TLS_Ext_SupportedPointFormat(ecpl=[0]),
    ]
    if versions:
        ext.append(TLS_Ext_SupportedVersion_CH(versions=list(versions)))
    if pad:
        ext.append(TLS_Ext_Padding(padding=bytes(pad)))
    return bytes(TLS(msg=[TLSClientHello(ciphers=[0x1A1A, 0x1301, 0x1302, 0xC02F], ext=ext)]))


def test_grease_values():
    assert is_grease(0x0A0A) and is_grease(0xFAFA) and not is_grease(0x0A1A) and not is_grease(0x1301)


def test_parse_fields_and_ja3_without_grease():
    hello = parse_client_hello(client_hello()[5:])
    assert hello is not None
    assert hello["server_name"] == "tls-test.example"
    assert hello["version"] == "TLSv13"
    assert hello["alpn"] == ["h2", "http/1.1"]
    # JA3 string: legacy version 771, ciphers/extensions/groups without GREASE, point formats.
    expected = hashlib.md5(b"771,4865-4866-49199,0-16-10-11-43,29-23,0").hexdigest()
    assert hello["ja3"] == expected


def test_version_without_supported_versions_is_the_legacy_one():
    hello = parse_client_hello(client_hello(versions=())[5:])
    assert hello is not None and hello["version"] == "TLSv12"


def test_truncated_and_garbage_give_none():
    raw = client_hello()[5:]
    assert parse_client_hello(raw[:60]) is None
    assert parse_client_hello(b"\x01\x00\x00\x05abcde") is None
    assert parse_client_hello(b"") is None


def _session(hello: bytes, segment: int = 0) -> TcpSession:
    s = TcpSession("192.168.10.20", "93.184.216.34", 49152, 443)
    s.client(hello, segment=segment)
    s.server(b"\x16\x03\x03\x00\x10" + bytes(16))
    return s


def test_tracker_single_segment():
    out, view, counters = run(_session(client_hello()).packets)
    tls = [r for r in out if r["_path"] == "tls"]
    assert len(tls) == 1
    r = tls[0]
    assert r["uid"] == "C1" and r["id.orig_h"] == "192.168.10.20" and r["id.resp_p"] == 443
    assert r["server_name"] == "tls-test.example"
    assert "quic" not in r
    assert view.services[1] == {"ssl"}
    assert counters["records.tls"] == 1


def test_tracker_reassembles_a_hello_split_over_segments_and_batches():
    hello = client_hello(sni="big-hello.example", pad=3000)  # like a post-quantum key share
    s = _session(hello, segment=700)
    for batch_size in (0, 3):
        out, _, _ = run(s.packets, batch_size=batch_size)
        assert [r["server_name"] for r in out if r["_path"] == "tls"] == ["big-hello.example"]


def test_tracker_out_of_order_and_retransmitted_segments():
    hello = client_hello(sni="ooo.example", pad=2000)
    s = _session(hello, segment=600)
    data = [p for p in s.packets if len(p.payload.payload) and p.sport == 49152]
    rest = [p for p in s.packets if p not in data]
    # second segment first, then the first, then a retransmission of the first, then the others
    reordered = rest[:3] + [data[1], data[0], data[0].copy()] + data[2:] + rest[3:]
    out, _, _ = run(reordered)
    assert [r["server_name"] for r in out if r["_path"] == "tls"] == ["ooo.example"]


def test_tls_on_unusual_port_is_found_by_content():
    s = TcpSession("10.0.0.1", "10.0.0.2", 40000, 9999)
    s.client(client_hello(sni="odd-port.example"))
    out, _, _ = run(s.packets)
    assert [r["server_name"] for r in out] == ["odd-port.example"]


def test_midstream_https_is_dropped_quietly_after_a_few_packets():
    s = TcpSession("10.0.0.1", "10.0.0.2", 40000, 443)
    for _ in range(50):
        s.client(b"\x17\x03\x03\x00\x20" + bytes(32))
        s.server(b"\x17\x03\x03\x00\x20" + bytes(32))
    out, _, counters = run(s.packets, batch_size=10)
    assert out == []
    # the connection is finished after its first client bytes: later packets are not even selected
    assert counters["app.candidate_packets"] < 15
