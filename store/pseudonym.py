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
import re
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wardwatch.files import private_dir

from .backend import StoreError

KEY_BYTES = 32


class KeyFileError(StoreError):
    """The pseudonymisation key cannot be used as it is; the operator must look at it."""


def load_key(path: Path) -> bytes:
    """Read the key; create a random one (0600, atomically) only when no file exists at ``path``.

    An existing file is never overwritten: one that is too short or readable by others is refused,
    since silently replacing it would make every stored pseudonym unlinkable, and a key others can
    read lets them re-identify hosts."""
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    private_dir(path.parent, tighten=False)
    key = secrets.token_hex(KEY_BYTES).encode()
    # written complete under a private name, then linked into place: link() fails when the name
    # exists, so two processes starting at once cannot both create a key (the loser reads the winner's)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(key + b"\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _read_key(path)
    finally:
        tmp.unlink(missing_ok=True)
    return key


def _read_key(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise KeyFileError(
                f"khóa bí danh {path} không phải tệp thường · pseudonym key {path} is not a regular file"
            )
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise KeyFileError(
                f"khóa bí danh {path} có quyền {mode:04o}, người khác đọc được; chạy `chmod 600 {path}` ·"
                f" pseudonym key {path} has mode {mode:04o}: other users can read it and re-identify"
                f" hosts; run `chmod 600 {path}` (and consider the old key exposed)"
            )
        key = f.read().strip()
    if len(key) < KEY_BYTES:
        raise KeyFileError(
            f"khóa bí danh {path} chỉ có {len(key)} byte, cần ít nhất {KEY_BYTES}; wardwatch không ghi đè"
            f" tệp này · pseudonym key {path} has {len(key)} bytes, at least {KEY_BYTES} are needed;"
            " wardwatch does not overwrite it: restore the right key, or move this file away to have a"
            " new key created (pseudonyms stored with the old key will no longer match)"
        )
    return key


# an IPv4 PTR name (``5.10.20.10.in-addr.arpa``: the host 10.20.10.5), a dotted quad, or IPv6 text
# (also IPv4-mapped); candidates are checked by ``ipaddress``, so a version number or a clock time
# that merely looks like one is left alone
_ADDR_RE = re.compile(
    r"(?<![0-9A-Za-z.])(?P<ptr>(?:\d{1,3}\.){3}\d{1,3})\.in-addr\.arpa\b"
    r"|(?<![0-9.])(?P<v4>(?:\d{1,3}\.){3}\d{1,3})(?![0-9]|\.[0-9])"
    r"|(?<![0-9A-Za-z:.])(?P<v6>(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{0,4}))"
    r"(?![0-9A-Za-z:])",
    re.IGNORECASE,
)
_MAYBE = re.compile(r"\d[.:]|:[0-9A-Fa-f]")  # cheap test before the full search
_UNSPECIFIED = frozenset({"0.0.0.0", "::", "::ffff:0.0.0.0"})


class Pseudonymiser:
    """``p(ip)``: the pseudonym of an internal address (others unchanged); ``p.text(s)``: ``s`` with
    every internal address in it replaced; ``p.deep(v)``: the same through lists and dicts."""

    def __init__(self, key: bytes, internal: Callable[[str], bool]) -> None:
        self.key = key[:64]
        self.internal = internal
        self._cache: dict[str, str] = {}
        self._texts: dict[str, str] = {}

    def __call__(self, ip: str) -> str:
        hit = self._cache.get(ip)
        if hit is not None:
            return hit
        if len(self._cache) > 500_000:
            self._cache.clear()
        out = ip
        if ip and ip not in _UNSPECIFIED and self.internal(ip):
            try:
                addr = ipaddress.ip_address(ip)
                mapped = addr.ipv4_mapped if isinstance(addr, ipaddress.IPv6Address) else None
                # the mapped form is the same host as the dotted quad: one pseudonym for both
                packed = (mapped or addr).packed
            except ValueError:
                packed = ip.encode()
            digest = hashlib.blake2b(packed, key=self.key, digest_size=15).digest()
            out = str(ipaddress.IPv6Address(b"\xfd" + digest))
        self._cache[ip] = out
        return out

    def text(self, s: str) -> str:
        """``s`` with every internal address in it (alone, inside a sentence, a URL, a PTR name)
        replaced by its pseudonym; a PTR name becomes the pseudonym's ``ip6.arpa`` name."""
        if not s or _MAYBE.search(s) is None:
            return s
        hit = self._texts.get(s)
        if hit is not None:
            return hit
        if len(self._texts) > 200_000:
            self._texts.clear()
        out = self._texts[s] = _ADDR_RE.sub(self._replace, s)
        return out

    def _replace(self, m: re.Match[str]) -> str:
        ptr = m.group("ptr")
        if ptr is not None:
            ip = ".".join(reversed(ptr.split(".")))
            if _valid(ip):
                p = self(ip)
                if p != ip:
                    return ipaddress.ip_address(p).reverse_pointer
            return m.group(0)
        ip = m.group("v4") or m.group("v6")
        if not _valid(ip):
            return ip
        out = self(ip)
        if out != ip and ":" not in ip:
            # a dotted quad before a port or after a URL scheme becomes IPv6: bracket it, as URLs do
            after, before = m.string[m.end() : m.end() + 1], m.string[max(m.start() - 2, 0) : m.start()]
            if after == ":" or before.endswith(("//", "@")):
                return f"[{out}]"
        return out

    def deep(self, v: Any) -> Any:
        """``text`` applied to every string in ``v`` (dict keys too), through lists and dicts."""
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, dict):
            return {self.deep(k): self.deep(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return type(v)(self.deep(x) for x in v)
        return v


def _valid(ip: str) -> bool:
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return False
    return True
