"""Passwords and second factors: the strength rule (pure), argon2id hashing (argon2-cffi, its
defaults: RFC 9106's low-memory profile) and TOTP (pyotp, RFC 6238, 30 s steps)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MIN_LENGTH = 12
_HASHER = PasswordHasher()
# a hash to verify against when the account does not exist, so that a wrong name costs as much time
# as a wrong password (no user enumeration by timing)
_DUMMY = _HASHER.hash("wardwatch-no-such-account")
COMMON = frozenset(
    {"password", "matkhau", "123456", "12345678", "123456789", "qwerty", "admin", "abc123", "iloveyou",
     "benhvien", "wardwatch", "welcome"}
)  # fmt: skip


def weakness(password: str, name: str = "") -> list[str]:
    """Why ``password`` is too weak (catalogue keys; empty when it is strong enough): at least
    ``MIN_LENGTH`` characters, three of four classes (lower, upper, digit, other), not the account
    name, not a well-known password."""
    out = []
    if len(password) < MIN_LENGTH:
        out.append("console.pw.short")
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if classes < 3:
        out.append("console.pw.classes")
    low = password.lower()
    if len(name) >= 3 and name.lower() in low:  # (a two-letter name is in too many words)
        out.append("console.pw.name")
    if any(w in low for w in COMMON):
        out.append("console.pw.common")
    return out


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_password(stored: str, password: str) -> bool:
    """Constant work whether or not ``stored`` is a real hash (pass "" for an unknown account)."""
    try:
        return _HASHER.verify(stored or _DUMMY, password) and bool(stored)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, name: str, issuer: str = "wardwatch") -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=issuer)


def totp_step(secret: str, code: str, at: float) -> int | None:
    """The 30-second step whose code ``code`` is (the current one, or the one before or after, for
    clock drift); None when it is none of them. The caller refuses a step already used (replay)."""
    code = code.strip().replace(" ", "")
    if not secret or not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now = int(at) // 30
    for step in (now, now - 1, now + 1):
        if hmac.compare_digest(totp.at(step * 30), code):
            return step
    return None


SEALED = "v1:"


def seal(key: bytes, secret: str, name: str) -> str:
    """The TOTP secret encrypted (AES-256-GCM, the account name as associated data) with the key in
    ``data_dir/console.key``: whoever may read the store's tables (``wardwatch query``, Grafana's
    endpoint) does not get second factors with them."""
    nonce = os.urandom(12)
    box = AESGCM(hashlib.sha256(key).digest()).encrypt(nonce, secret.encode(), name.encode())
    return SEALED + base64.b64encode(nonce + box).decode()


def unseal(key: bytes, stored: str, name: str) -> str:
    """The secret, or "" when it does not open (another key, another account's row): no login."""
    if not stored.startswith(SEALED):
        return stored  # (never written so: kept readable for a row made by hand)
    try:
        raw = base64.b64decode(stored[len(SEALED):])
        return AESGCM(hashlib.sha256(key).digest()).decrypt(raw[:12], raw[12:], name.encode()).decode()
    except (ValueError, InvalidTag):
        return ""
