"""QUIC client Initial packets: remove protection (RFC 9001 §5) and return the CRYPTO frame data.

Initial packets are encrypted with keys anyone can derive from the Destination Connection ID, so a
passive sensor can read the TLS ClientHello (and its SNI) inside. Versions 1 (RFC 9000) and 2 (RFC 9369).
Own HKDF (stdlib hmac) and frame walker: a few lines, and no TLS stack needed; AES comes from
``cryptography``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from dataclasses import dataclass

from wardwatch.errors import WardwatchError

from .tls import hello_record, parse_client_hello

QUIC_V1 = 0x00000001
QUIC_V2 = 0x6B3343CF

_SALTS = {
    QUIC_V1: bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"),
    QUIC_V2: bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"),
}
_LABEL_PREFIX = {QUIC_V1: "quic", QUIC_V2: "quicv2"}
# Long-header packet type of Initial (bits 4-5 of the first byte) differs between versions.
INITIAL_TYPE = {QUIC_V1: 0, QUIC_V2: 1}

FRAME_PADDING = 0x00
FRAME_PING = 0x01
FRAME_ACK = 0x02
FRAME_ACK_ECN = 0x03
FRAME_CRYPTO = 0x06
FRAME_CLOSE = 0x1C


class QuicError(WardwatchError):
    """Not a decryptable client Initial (counted by the caller, never fatal)."""


class Unauthenticated(WardwatchError):
    """Decrypted CRYPTO frames whose AEAD tag did not verify (carried for the caller to judge)."""

    def __init__(self, dcid: bytes, frames: list[tuple[int, bytes]], end: int) -> None:
        super().__init__("QUIC Initial with a bad authentication tag")
        self.dcid, self.frames, self.end = dcid, frames, end


@dataclass(frozen=True, slots=True)
class InitialKeys:
    key: bytes
    iv: bytes
    hp: bytes


def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand_label(secret: bytes, label: str, length: int) -> bytes:
    """TLS 1.3 HKDF-Expand-Label with an empty context (RFC 8446 §7.1); one block suffices here."""
    full = b"tls13 " + label.encode()
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    return hmac.new(secret, info + b"\x01", hashlib.sha256).digest()[:length]


def client_initial_keys(dcid: bytes, version: int = QUIC_V1) -> InitialKeys:
    initial = hkdf_extract(_SALTS[version], dcid)
    secret = hkdf_expand_label(initial, "client in", 32)
    prefix = _LABEL_PREFIX[version]
    return InitialKeys(
        key=hkdf_expand_label(secret, f"{prefix} key", 16),
        iv=hkdf_expand_label(secret, f"{prefix} iv", 12),
        hp=hkdf_expand_label(secret, f"{prefix} hp", 16),
    )


class KeyCache:
    """Initial keys by (version, DCID): a client's retransmitted or split Initials reuse them."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._keys: OrderedDict[tuple[int, bytes], InitialKeys] = OrderedDict()

    def get(self, version: int, dcid: bytes) -> InitialKeys:
        k = (version, dcid)
        keys = self._keys.get(k)
        if keys is None:
            keys = self._keys[k] = client_initial_keys(dcid, version)
            if len(self._keys) > self.size:
                self._keys.popitem(last=False)
        return keys


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """QUIC variable-length integer at ``pos``: (value, next position)."""
    if pos >= len(data):
        raise QuicError("truncated varint")
    first = data[pos]
    n = 1 << (first >> 6)
    if pos + n > len(data):
        raise QuicError("truncated varint")
    value = first & 0x3F
    for b in data[pos + 1 : pos + n]:
        value = (value << 8) | b
    return value, pos + n


def looks_like_initial(datagram: bytes) -> bool:
    """Long header, a version we can decrypt, and the Initial packet type."""
    if len(datagram) < 7 or datagram[0] & 0xC0 != 0xC0:
        return False
    version = int.from_bytes(datagram[1:5], "big")
    return version in INITIAL_TYPE and (datagram[0] >> 4) & 3 == INITIAL_TYPE[version]


def decrypt_initials(
    datagram: bytes, cache: KeyCache, unauthenticated: list[bool] | None = None
) -> tuple[bytes, list[tuple[int, bytes]]]:
    """Decrypt the client Initial packet(s) coalesced at the start of a UDP datagram.

    Returns the original DCID and the CRYPTO frames as (offset, data); appends to ``unauthenticated``
    for each packet decrypted despite a bad tag. Raises QuicError.
    """
    if unauthenticated is None:
        unauthenticated = []
    pos = 0
    frames: list[tuple[int, bytes]] = []
    dcid = b""
    while pos < len(datagram) and looks_like_initial(datagram[pos:]):
        try:
            dcid, pkt_frames, pos = _decrypt_one(datagram, pos, cache)
        except Unauthenticated as bad:
            dcid, pkt_frames, pos = bad.dcid, bad.frames, bad.end
            unauthenticated.append(True)
        frames += pkt_frames
    if not dcid:
        raise QuicError("no Initial packet")
    return dcid, frames


def _decrypt_one(data: bytes, start: int, cache: KeyCache) -> tuple[bytes, list[tuple[int, bytes]], int]:
    version = int.from_bytes(data[start + 1 : start + 5], "big")
    pos = start + 5
    dcid_len = data[pos]
    if dcid_len > 20:
        raise QuicError("bad DCID length")
    dcid = data[pos + 1 : pos + 1 + dcid_len]
    pos += 1 + dcid_len
    if pos >= len(data):
        raise QuicError("truncated header")
    pos += 1 + data[pos]  # SCID
    token_len, pos = read_varint(data, pos)
    pos += token_len
    length, pn_offset = read_varint(data, pos)
    end = pn_offset + length
    if end > len(data) or length < 20:
        raise QuicError("truncated packet")
    # imported here: loading `cryptography` costs ~0.1 s of start-up, and most captures hold no QUIC
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    keys = cache.get(version, dcid)
    sample = data[pn_offset + 4 : pn_offset + 20]
    encryptor = Cipher(algorithms.AES(keys.hp), modes.ECB()).encryptor()
    mask = encryptor.update(sample) + encryptor.finalize()
    first = data[start] ^ (mask[0] & 0x0F)
    pn_len = (first & 0x03) + 1
    pn_bytes = bytes(
        a ^ b for a, b in zip(data[pn_offset : pn_offset + pn_len], mask[1 : 1 + pn_len], strict=False)
    )
    header = bytes([first]) + data[start + 1 : pn_offset] + pn_bytes
    pn = int.from_bytes(pn_bytes, "big")
    nonce = (int.from_bytes(keys.iv, "big") ^ pn).to_bytes(12, "big")
    sealed = data[pn_offset + pn_len : end]
    try:
        plain = AESGCM(keys.key).decrypt(nonce, sealed, header)
    except InvalidTag:
        # Some crafted or damaged captures carry a wrong tag over correctly encrypted data. GCM is
        # CTR mode from counter 2, so decrypt anyway: the frame walker and the ClientHello parser
        # reject garbage, and the caller counts the packet as unauthenticated.
        ctr = Cipher(algorithms.AES(keys.key), modes.CTR(nonce + b"\x00\x00\x00\x02")).decryptor()
        plain = ctr.update(sealed[:-16]) + ctr.finalize()
        frames = crypto_frames(plain)
        if not frames or any(off + len(c) > 65536 or (off == 0 and c[:1] != b"\x01") for off, c in frames):
            raise QuicError("authentication failed (not a client Initial?)") from None
        raise Unauthenticated(dcid, frames, end) from None
    return dcid, crypto_frames(plain), end


def crypto_frames(plain: bytes) -> list[tuple[int, bytes]]:
    """CRYPTO frames of a decrypted Initial payload; stops at a frame type Initial packets cannot carry."""
    out = []
    pos = 0
    while pos < len(plain):
        ftype = plain[pos]
        if ftype in (FRAME_PADDING, FRAME_PING):
            pos += 1
        elif ftype == FRAME_CRYPTO:
            offset, pos = read_varint(plain, pos + 1)
            length, pos = read_varint(plain, pos)
            out.append((offset, plain[pos : pos + length]))
            pos += length
        elif ftype in (FRAME_ACK, FRAME_ACK_ECN):
            pos = _skip_ack(plain, pos + 1, ftype == FRAME_ACK_ECN)
        else:
            break  # CONNECTION_CLOSE or garbage: nothing more we want
    return out


def _skip_ack(data: bytes, pos: int, ecn: bool) -> int:
    _, pos = read_varint(data, pos)  # largest acknowledged
    _, pos = read_varint(data, pos)  # delay
    ranges, pos = read_varint(data, pos)
    _, pos = read_varint(data, pos)  # first range
    for _ in range(2 * ranges):
        _, pos = read_varint(data, pos)
    if ecn:
        for _ in range(3):
            _, pos = read_varint(data, pos)
    return pos


def assemble(fragments: dict[int, bytes]) -> bytes:
    """Contiguous CRYPTO stream from offset 0 (fragments may repeat or overlap)."""
    out = bytearray()
    for offset in sorted(fragments):
        data = fragments[offset]
        if offset > len(out):
            break
        out += data[len(out) - offset :]
    return bytes(out)


class QuicAnalyser:
    """Client Initial datagrams of one QUIC connection, until their CRYPTO stream holds a ClientHello."""

    service = "quic"

    def __init__(self, cache: KeyCache, limit: int = 16384) -> None:
        self.cache = cache
        self.limit = limit
        self.fragments: dict[int, bytes] = {}
        self.dcid: bytes | None = None
        self.ts: float | None = None
        self.recognised = False
        self.done = False
        self.malformed = False
        self.unauthenticated = 0

    def wants(self, from_client: bool) -> bool:
        return from_client and not self.done

    def on_data(self, from_client: bool, data: bytes, ts: float) -> list[dict[str, object]]:
        if not from_client or self.done or not looks_like_initial(data):
            return []
        try:
            bad: list[bool] = []
            dcid, frames = decrypt_initials(data, self.cache, bad)
            self.unauthenticated += len(bad)
        except (QuicError, IndexError, ValueError):
            self.malformed = True
            return []
        if self.dcid is not None and dcid != self.dcid:
            return []  # another connection attempt (after Retry) or not a client Initial
        self.dcid = dcid
        if self.ts is None:
            self.ts = ts
        for offset, chunk in frames:
            if offset + len(chunk) <= self.limit:
                self.fragments.setdefault(offset, chunk)
        stream = assemble(self.fragments)
        if len(stream) < 4 or len(stream) < 4 + int.from_bytes(stream[1:4], "big"):
            return []
        self.done = True
        hello = parse_client_hello(stream)
        if hello is None:
            self.malformed = True
            return []
        self.recognised = True
        return [hello_record(self.ts, hello, quic=True)]

    def finish(self) -> list[dict[str, object]]:
        return []
