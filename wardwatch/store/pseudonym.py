"""Optional client-IP pseudonymisation (Decree 13/2023 on personal data protection).

An internal address (in a configured segment or a private range) is replaced, before it is stored,
by a keyed BLAKE2 pseudonym in ``fd00::/8`` (a unique-local IPv6 range that no real hospital host
uses here), so columns keep their IPv6 type, a host keeps one pseudonym (counting, top talkers and
joins still work), and without the key the address cannot be recovered. External addresses (servers
on the internet) are not personal data and stay as they are. Deleting the key makes the stored
pseudonyms unlinkable for good.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import secrets
from collections.abc import Callable
from pathlib import Path


def load_key(path: Path) -> bytes:
    """Read the key, creating a random one (mode 0600) on first use."""
    try:
        key = path.read_bytes().strip()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key + b"\n")
    return key


class Pseudonymiser:
    def __init__(self, key: bytes, internal: Callable[[str], bool]) -> None:
        self.key = key[:64]
        self.internal = internal
        self._cache: dict[str, str] = {}

    def __call__(self, ip: str) -> str:
        hit = self._cache.get(ip)
        if hit is not None:
            return hit
        if len(self._cache) > 500_000:
            self._cache.clear()
        out = ip
        if ip and self.internal(ip):
            try:
                packed = ipaddress.ip_address(ip).packed
            except ValueError:
                packed = ip.encode()
            digest = hashlib.blake2b(packed, key=self.key, digest_size=15).digest()
            out = str(ipaddress.IPv6Address(b"\xfd" + digest))
        self._cache[ip] = out
        return out
