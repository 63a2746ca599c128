"""The Public Suffix List sets read from tldextract's snapshot without importing tldextract
(threatfeeds/suffixes.py) are the ones tldextract itself gives."""

from __future__ import annotations

import subprocess
import sys

import tldextract
from wardwatch.threatfeeds.suffixes import is_public_suffix, rules


def test_the_sets_equal_tldextracts_own() -> None:
    extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False)
    want = {r.lower() for r in extractor.tlds}
    plain, wildcards, exceptions = rules()
    got = plain | {f"*.{w}" for w in wildcards} | {f"!{e}" for e in exceptions}
    assert len(want) > 5000 and got == want


def test_suffixes_of_vietnam_and_the_wildcards() -> None:
    assert is_public_suffix("vn") and is_public_suffix("com.vn") and is_public_suffix("gov.vn")
    assert not is_public_suffix("benhvien.gov.vn")
    assert is_public_suffix("anything.ck") and not is_public_suffix("www.ck")  # *.ck and !www.ck


def test_a_command_starts_without_importing_tldextract() -> None:
    code = "import sys, wardwatch.threatfeeds.normalize; print('tldextract' in sys.modules, 'requests' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
