"""The Public Suffix List (ICANN section) from tldextract's bundled snapshot, as plain sets.

tldextract is built with ``suffix_list_urls=()`` so that it never goes to the network (by default it
downloads the list and logs tracebacks when offline). We only ask "is this name itself a public suffix?",
which a set answers far faster than tldextract's per-name extraction.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def rules() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """``(suffixes, wildcard parents, exceptions)`` of the PSL's ICANN section."""
    import tldextract

    extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False)
    plain: set[str] = set()
    wildcards: set[str] = set()  # "*.ck" stored as "ck"
    exceptions: set[str] = set()  # "!www.ck" stored as "www.ck"
    for rule in extractor.tlds:
        rule = rule.lower()
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
