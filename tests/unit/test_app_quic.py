"""QUIC Initial decryption against the RFC 9001 Appendix A (and RFC 9369 Appendix A) test vectors."""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from scapy.layers.inet import IP, UDP
from wardwatch.ingest.app.quic import (
    QUIC_V1,
    QUIC_V2,
    KeyCache,
    assemble,
    client_initial_keys,
    decrypt_initials,
    hkdf_expand_label,
    hkdf_extract,
    read_varint,
)

from tests.unit.test_app_support import run

DCID = bytes.fromhex("8394c8f03e515708")
# RFC 9001 A.2: the client's CRYPTO frame (a ClientHello for example.com), then PADDING to 1162 bytes.
RFC_FRAMES = bytes.fromhex(
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47f06a2b69484c"
    "00000413011302010000c000000010000e00000b6578616d706c652e636f6dff01000100000a00080006"
    "001d0017001800100007000504616c706e000500050100000000003300260024001d00209370b2c9caa4"
    "7fbabaf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b0003020304000d0010000e040305"
    "0306030203080408050806002d00020101001c00024001003900320408ffffffffffffffff05048000ff"
    "ff07048000ffff0801100104800075300901100f088394c8f03e51570806048000ffff"
)
RFC_HEADER = bytes.fromhex("c300000001088394c8f03e5157080000449e00000002")
RFC_KEY = bytes.fromhex("1f369613dd76d5467730efcbe3b1a22d")
RFC_IV = bytes.fromhex("fa044b2f42a3fd3b46fb255c")
RFC_HP = bytes.fromhex("9f50449e04a0e810283a1e9933adedd2")


def protect(header: bytes, payload: bytes, key: bytes, iv: bytes, hp: bytes, pn: int, pn_len: int) -> bytes:
    """RFC 9001 §5.3-5.4 packet protection, written independently of the code under test."""
    nonce = (int.from_bytes(iv, "big") ^ pn).to_bytes(12, "big")
    packet = bytearray(header + AESGCM(key).encrypt(nonce, payload, header))
    pn_offset = len(header) - pn_len
    sample = bytes(packet[pn_offset + 4 : pn_offset + 20])
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = enc.update(sample) + enc.finalize()
    packet[0] ^= mask[0] & 0x0F
    for k in range(pn_len):
        packet[pn_offset + k] ^= mask[1 + k]
    return bytes(packet)


def rfc_client_initial() -> bytes:
    payload = RFC_FRAMES + bytes(1162 - len(RFC_FRAMES))
    return protect(RFC_HEADER, payload, RFC_KEY, RFC_IV, RFC_HP, pn=2, pn_len=4)


def test_v1_key_derivation_matches_rfc9001():
    keys = client_initial_keys(DCID, QUIC_V1)
    assert (keys.key, keys.iv, keys.hp) == (RFC_KEY, RFC_IV, RFC_HP)


def test_v2_key_derivation_matches_rfc9369():
    keys = client_initial_keys(DCID, QUIC_V2)
    assert keys.key.hex() == "8b1a0bc121284290a29e0971b5cd045d"
    assert keys.iv.hex() == "91f73e2351d8fa91660e909f"
    assert keys.hp.hex() == "45b95e15235d6f45a6b19cbcb0294ba9"


def test_fixture_is_the_rfc_protected_packet():
    packet = rfc_client_initial()
    assert len(packet) == 1200
    assert packet[:22].hex() == "c000000001088394c8f03e5157080000449e7b9aec34"
    assert packet[-16:].hex() == "e221af44860018ab0856972e194cd934"


def test_decrypt_rfc_client_initial():
    dcid, frames = decrypt_initials(rfc_client_initial(), KeyCache())
    assert dcid == DCID
    assert len(frames) == 1 and frames[0][0] == 0
    assert frames[0][1][:4].hex() == "010000ed"


def test_varint_examples_from_rfc9000():
    # RFC 9000 §A.1 sample encodings
    assert read_varint(bytes.fromhex("c2197c5eff14e88c"), 0) == (151288809941952652, 8)
    assert read_varint(bytes.fromhex("9d7f3e7d"), 0) == (494878333, 4)
    assert read_varint(bytes.fromhex("7bbd"), 0) == (15293, 2)
    assert read_varint(bytes.fromhex("25"), 0) == (37, 1)


def test_assemble_out_of_order_and_overlapping():
    assert assemble({5: b"fghij", 0: b"abcde", 3: b"defg"}) == b"abcdefghij"
    assert assemble({4: b"xyz"}) == b""


def _udp(payload: bytes, ts: float, sport: int = 51000, reply: bool = False):
    ips = ("10.1.1.5", "142.250.1.1")
    src, dst = (ips[1], ips[0]) if reply else ips
    sp, dp = (443, sport) if reply else (sport, 443)
    p = IP(src=src, dst=dst) / UDP(sport=sp, dport=dp) / payload
    p.time = ts
    return p


def test_tracker_reads_sni_from_quic_initial():
    out, view, counters = run([_udp(rfc_client_initial(), 1.0)])
    tls = [r for r in out if r["_path"] == "tls"]
    assert len(tls) == 1
    rec = tls[0]
    assert list(rec)[:7] == ["_path", "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"]
    assert rec["server_name"] == "example.com"
    assert rec["quic"] is True
    assert rec["version"] == "TLSv13"
    assert rec["alpn"] == ["alpn"]
    assert view.services[1] == {"quic", "ssl"}


def _split_hello_initials(version: int) -> list[bytes]:
    """A ClientHello split over two Initial packets (as post-quantum key shares make it), any version."""
    hello = RFC_FRAMES[4:]  # drop the CRYPTO frame header (type, offset 0, 2-byte length)
    halves = [(0, hello[:100]), (100, hello[100:])]
    first_byte = 0xC3 if version == QUIC_V1 else 0xD3  # Initial type is 0 in v1, 1 in v2; 4-byte PN
    keys = client_initial_keys(DCID, version)
    packets = []
    for pn, (offset, chunk) in enumerate(halves):
        frame = bytes(
            [0x06, 0x40 | (offset >> 8), offset & 0xFF, 0x40 | (len(chunk) >> 8), len(chunk) & 0xFF]
        )
        payload = frame + chunk
        payload += bytes(1170 - len(payload))  # clients pad Initial datagrams to 1200 bytes
        length = len(payload) + 16 + 4
        header = (
            bytes([first_byte])
            + version.to_bytes(4, "big")
            + bytes([len(DCID)])
            + DCID
            + b"\x00\x00"  # empty SCID, no token
            + bytes([0x40 | (length >> 8), length & 0xFF])
            + pn.to_bytes(4, "big")
        )
        packets.append(protect(header, payload, keys.key, keys.iv, keys.hp, pn=pn, pn_len=4))
    return packets


def test_tracker_reassembles_crypto_across_initials_v1_and_v2():
    for version in (QUIC_V1, QUIC_V2):
        first, second = _split_hello_initials(version)
        out, _, _ = run([_udp(first, 1.0), _udp(second, 1.01)])
        tls = [r for r in out if r["_path"] == "tls"]
        assert [r["server_name"] for r in tls] == ["example.com"], hex(version)
        assert tls[0]["ts"] == 1.0


def test_garbage_long_header_is_counted_not_raised():
    junk = bytes([0xC0]) + QUIC_V1.to_bytes(4, "big") + bytes([8]) + DCID + bytes(1200)
    out, _, counters = run([_udp(junk, 1.0)])
    assert out == []
    assert counters["malformed.quic"] >= 1


def test_server_initial_is_not_reported():
    # same packet layout, protected with the server's Initial keys: client keys cannot open it
    initial = hkdf_extract(bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"), DCID)
    secret = hkdf_expand_label(initial, "server in", 32)
    key, iv, hp = (
        hkdf_expand_label(secret, f"quic {n}", size) for n, size in (("key", 16), ("iv", 12), ("hp", 16))
    )
    payload = RFC_FRAMES + bytes(1162 - len(RFC_FRAMES))
    packet = protect(RFC_HEADER, payload, key, iv, hp, pn=2, pn_len=4)
    out, _, counters = run([_udp(b"hello", 0.5), _udp(packet, 1.0, reply=True)])
    assert out == []
    assert counters["malformed.quic"] == 1


def test_short_datagram_is_not_a_candidate():
    out, _, counters = run([_udp(rfc_client_initial()[:600], 1.0)])
    assert out == [] and counters["app.candidate_packets"] == 0
