"""Runtime helpers the generated rule code calls: how a record value reads as text, as a number, as an
address, and the small matchers that do not fit in one inline expression (CIDR sets, keywords).

Kept free of pySigma so that the hot path imports nothing heavy.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

Net = tuple[int, int, int]  # (address family bits: 32 or 128, network value, mask)


def text(v: Any) -> str | None:
    """A field value as the text a Sigma string is matched against; None when absent or a list."""
    c = v.__class__
    if c is str:
        return v  # type: ignore[no-any-return]
    if v is None or c is list or c is dict:
        return None
    if c is bool:
        return "true" if v else "false"
    if c is float and v.is_integer():
        return str(int(v))
    return str(v)


def number(v: Any) -> int | float | None:
    """A field value as a number for ``lt``/``gt``/plain number matches; None when it is not one."""
    c = v.__class__
    if c is int or c is float:
        return v  # type: ignore[no-any-return]
    if c is str:
        try:
            f = float(v)
        except ValueError:
            return None
        return int(f) if f.is_integer() else f
    return None


def elements(v: Any) -> list[tuple[Any, str | None, str | None, int | float | None]]:
    """(value, text, lowered text, number) for each element of a list field (or the one value)."""
    items = v if v.__class__ is list else ([] if v is None else [v])
    out = []
    for x in items:
        t = text(x)
        out.append((x, t, t.lower() if t is not None else None, number(x)))
    return out


@lru_cache(maxsize=1 << 16)
def ip_value(s: str) -> tuple[int, int] | None:
    """(32 or 128, integer) for an address text; cached because the same few hosts repeat.
    Own code: ``ipaddress.ip_address`` costs several microseconds per call."""
    try:
        if ":" in s:
            if "%" in s:
                s = s.split("%", 1)[0]
            return 128, int.from_bytes(socket.inet_pton(socket.AF_INET6, s), "big")
        return 32, int.from_bytes(socket.inet_pton(socket.AF_INET, s), "big")
    except (OSError, ValueError):
        return None


def cidr_matcher(nets: Iterable[Net]) -> Callable[[str | None], bool]:
    """True when the text is an address inside any of the networks."""
    v4 = tuple((n, m) for fam, n, m in nets if fam == 32)
    v6 = tuple((n, m) for fam, n, m in nets if fam == 128)

    def match(t: str | None) -> bool:
        if t is None:
            return False
        got = ip_value(t)
        if got is None:
            return False
        fam, x = got
        if fam == 32:
            return any(x & m == n for n, m in v4)
        if v4 and x >> 32 == 0xFFFF:  # ::ffff:a.b.c.d against IPv4 networks
            y = x & 0xFFFFFFFF
            if any(y & m == n for n, m in v4):
                return True
        return any(x & m == n for n, m in v6)

    return match


def keyword_matcher(pred: Callable[[str], bool]) -> Callable[[dict[str, Any]], bool]:
    """A fieldless (keyword) value: true when any field of the record, read as text, matches."""

    def match(r: dict[str, Any]) -> bool:
        for k, v in r.items():
            if k == "_path":
                continue
            if v.__class__ is list:
                if any((t := text(x)) is not None and pred(t) for x in v):
                    return True
                continue
            t = text(v)
            if t is not None and pred(t):
                return True
        return False

    return match
