"""Is a cleartext password weak? The list lives in weak_passwords.txt; this module adds the rules.

Only a boolean leaves this module: callers pass the password in and must drop it right after.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

MIN_LENGTH = 6
MIN_DISTINCT = 4  # "xxxxxx", "abab12" and keyboard mashes of few keys
# Digits and symbols people wrap around a base word ("admin@2024", "!root123").
_DECORATION = re.compile(r"^[\d\W_]+|[\d\W_]+$")


@lru_cache(maxsize=1)
def weak_list() -> frozenset[str]:
    text = resources.files(__package__).joinpath("weak_passwords.txt").read_text(encoding="utf-8")
    out = set()
    for line in text.splitlines():
        entry = line.strip()
        if not entry or entry == "#" or entry.startswith("# "):
            continue
        out.add(entry.lower())
    return frozenset(out)


def is_weak(password: str, user: str | None = None) -> bool:
    lowered = password.lower()
    name = (user or "").strip().lower()
    if len(password) < MIN_LENGTH or len(set(lowered)) < MIN_DISTINCT or lowered in weak_list():
        return True
    if name and (lowered == name or lowered == name[::-1]):
        return True
    base = _DECORATION.sub("", lowered)
    return len(base) <= 2 or base in weak_list() or (bool(name) and base == name)
