"""The Public Suffix List (ICANN section) from tldextract's bundled snapshot, as plain sets.

We only ask "is this name itself a public suffix?", which a set answers far faster than tldextract's
per-name extraction. The snapshot is read and parsed here the way tldextract parses it (its
``PUBLIC_SUFFIX_RE`` and section separator; tests/unit/test_threatfeeds_suffixes.py checks that the
sets equal ``TLDExtract(suffix_list_urls=()).tlds``), without importing tldextract: its import pulls
in requests and urllib3, about a quarter of a second on every start of every command.
"""

from __future__ import annotations

import importlib.util
import re
from functools import lru_cache
from pathlib import Path

SNAPSHOT = ".tld_set_snapshot"  # tldextract's bundled copy of the list (tldextract 5.x)
_SUFFIX_RE = re.compile(r"^(?P<suffix>[.*!]*\w[\S]*)", re.UNICODE | re.MULTILINE)  # tldextract's
_PRIVATE = "// ===BEGIN PRIVATE DOMAINS==="


def _snapshot_text() -> str:
    spec = importlib.util.find_spec("tldextract")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("tldextract is not installed: the Public Suffix List snapshot is missing")
    return (Path(next(iter(spec.submodule_search_locations))) / SNAPSHOT).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def rules() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """``(suffixes, wildcard parents, exceptions)`` of the PSL's ICANN section."""
    icann = _snapshot_text().partition(_PRIVATE)[0]
    plain: set[str] = set()
    wildcards: set[str] = set()  # "*.ck" stored as "ck"
    exceptions: set[str] = set()  # "!www.ck" stored as "www.ck"
    for m in _SUFFIX_RE.finditer(icann):
        rule = m.group("suffix").lower()
        if rule.startswith("*."):
            wildcards.add(rule[2:])
        elif rule.startswith("!"):
            exceptions.add(rule[1:])
        else:
            plain.add(rule)
    return frozenset(plain), frozenset(wildcards), frozenset(exceptions)


def is_public_suffix(name: str) -> bool:
    """True when ``name`` (lower-case, ASCII/punycode, no trailing dot) is a public suffix or a TLD."""
    plain, wildcards, exceptions = rules()
    if name in plain:
        return True
    _, dot, parent = name.partition(".")
    return bool(dot) and parent in wildcards and name not in exceptions


def is_tld(name: str) -> bool:
    plain, _, _ = rules()
    return "." not in name and name in plain
