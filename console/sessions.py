"""Sessions, CSRF tokens and the login limiter, in memory: a restart of the service logs everyone
out and clears lock-outs (the failures stay in the audit log). Pure bookkeeping over a clock."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Session:
    name: str
    role: str
    csrf: str
    created: float
    seen: float
    lang: str = "vi"


def _key(token: str) -> str:
    # only a hash of the cookie is kept: a memory dump does not hand out live sessions
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    def __init__(self, idle: float, max_age: float) -> None:
        self.idle = idle
        self.max_age = max_age
        self._by_key: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, name: str, role: str, now: float, lang: str = "vi") -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._by_key[_key(token)] = Session(name, role, secrets.token_urlsafe(32), now, now, lang)
        return token

    def get(self, token: str, now: float) -> Session | None:
        if not token:
            return None
        k = _key(token)
        with self._lock:
            s = self._by_key.get(k)
            if s is None:
                return None
            if now - s.seen > self.idle or now - s.created > self.max_age:
                del self._by_key[k]
                return None
            s.seen = now
            return s

    def close(self, token: str) -> None:
        with self._lock:
            self._by_key.pop(_key(token), None)

    def close_user(self, name: str) -> int:
        """End every session of ``name`` (a disabled account, a changed password or role)."""
        with self._lock:
            gone = [k for k, s in self._by_key.items() if s.name == name]
            for k in gone:
                del self._by_key[k]
        return len(gone)


def same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class Limiter:
    """Lock-out after ``max_failures`` failed logins of one account within ``window`` (and of one
    address after four times as many: one address guessing many names), for ``lockout`` seconds.
    A lock-out refuses even the right password, so guessing cannot go on at any speed."""

    def __init__(self, max_failures: int, lockout: float, window: float = 900.0) -> None:
        self.max_failures = max_failures
        self.lockout = lockout
        self.window = window
        self._f: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def _limit(self, key: str) -> int:
        return self.max_failures * 4 if key.startswith("ip:") else self.max_failures

    def locked(self, keys: list[str], now: float) -> bool:
        with self._lock:
            return any(self._f.get(k, _Failures()).locked_until > now for k in keys)

    def fail(self, keys: list[str], now: float) -> bool:
        """Count a failure; True when it locks one of ``keys``."""
        locked = False
        with self._lock:
            if len(self._f) > 100_000:  # many addresses: forget the quiet ones
                self._f = {k: v for k, v in self._f.items() if v.locked_until > now}
            for k in keys:
                f = self._f.setdefault(k, _Failures())
                f.times.append(now)
                while f.times and f.times[0] < now - self.window:
                    f.times.popleft()
                if len(f.times) >= self._limit(k):
                    f.locked_until = now + self.lockout
                    f.times.clear()
                    locked = True
        return locked

    def succeed(self, name_key: str) -> None:
        with self._lock:
            self._f.pop(name_key, None)

    def unlock(self, key: str) -> None:
        with self._lock:
            self._f.pop(key, None)
