"""Regex trails (Maltrail's ``dga[0-9]+\\.example\\.com``): which entries are regexes, which are refused
and counted, how they match (full name or a parent, after exact and suffix hits, never over the
allow-list), their provenance, and the bulk path agreeing with single lookups."""

from __future__ import annotations

import pickle

import pytest
from wardwatch.threatfeeds import Allowed, IndexBuilder, Match
from wardwatch.threatfeeds.model import Meta
from wardwatch.threatfeeds.normalize import classify
from wardwatch.threatfeeds.regexes import RegexSet, last_labels

DGA = r"dga[0-9]+\.wildcard-test\.com"


def build(feeds: dict[str, list[str]], allow: list[str] = ()):  # type: ignore[assignment,no-untyped-def]
    b = IndexBuilder()
    if allow:
        b.add_allow("config", [(a, None, None) for a in allow])
    for name, entries in feeds.items():
        b.add_feed(name, [(e, None, Meta(threat=name, reference=f"ref-{name}")) for e in entries])
    return b.build()


@pytest.mark.parametrize(
    "text",
    [
        DGA,
        r"backdates[0-9]{1,2}\.(com|net)",
        r"^[a-z]{1,3}\-leboncoin\.(com|info|me|top)$",
        r"nklmtf[0-9][^.]*[0-9].t35.com",  # Maltrail writes some with bare dots
        r"\b(atztds|mtxtds)[0-9a-z]+\.(world|xyz)",
        r"evil.*",
    ],
)
def test_regex_trails_are_recognised(text: str) -> None:
    assert classify(text) == ("r", text)


@pytest.mark.parametrize(
    "text",
    [
        "evil.example",
        "/panel/[home|admin]/gate.php",  # a path with brackets is a literal path trail
        "evil.example/x/[a-z]+",  # so is a host/path
        "(null).evil.example",  # parentheses alone: not Maltrail's regex shape
        r"evil\.example",  # an escape alone: neither
    ],
)
def test_plain_trails_are_not_regexes(text: str) -> None:
    assert classify(text)[0] != "r"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        (r"evil[0-9]+(\.com", "invalid-regex"),  # does not compile
        (r"(?i)evil[0-9]+\.com", "invalid-regex"),  # a global flag cannot join an alternation
        (r"(?P<x>evil)[0-9]+\.com", "invalid-regex"),  # two feeds could name the same group
        (r"(evil)[0-9]+\1\.com", "invalid-regex"),  # back-reference
        (r"evil(?=[0-9])[0-9]+\.com", "invalid-regex"),  # look-ahead
        (r"evil([a-z]+)+\.com", "regex-cost"),  # nested repeat: exponential backtracking
        (r"evil[0-9](ab|a)*\.com", "regex-cost"),  # alternation under a repeat: the same
        (r"ab[a-z.]+[a-z.]+\.evil\.com", "regex-cost"),  # 253 x 253 ways to split a name
        ("evil[0-9]" + "a" * 1100 + r"\.com", "regex-cost"),  # too long
        (r".*\.com", "regex-broad"),  # the whole TLD
        (r"[a-z0-9]+\.co\.uk", "regex-broad"),  # a whole public suffix
        (r"[a-z]+\.(com|net)", "regex-broad"),
        (r"^[a-z]{1}\-[a-z]{1,3}\.top$", "regex-broad"),  # one literal '-' besides the TLD
    ],
)
def test_bad_regexes_are_refused_and_counted(text: str, category: str) -> None:
    assert classify(text) == ("x", category)
    ix = build({"f": [text, "evil.example"]})
    [st] = ix.stats
    assert st.rejected[category] == 1 and st.regexes == 0 and st.accepted == 1
    assert ix.counts()["regexes"] == 0


def test_regex_matches_the_whole_name_or_a_parent() -> None:
    ix = build({"f": [DGA]})
    for name in ("dga1234.wildcard-test.com", "DGA7.Wildcard-Test.COM.", "www.dga1.wildcard-test.com"):
        m = ix.match_domain(name)
        assert m is not None and m.type == "regex" and m.indicator == DGA, name
    # never inside a label, never with something after it, never without the digits
    for name in ("xdga1.wildcard-test.com", "dga1.wildcard-test.com.evil", "dga.wildcard-test.com"):
        assert ix.match_domain(name) is None, name
    assert ix.match_domain("wildcard-test.com") is None
    assert ix.counts()["regexes"] == 1 and len(ix) == 1


def test_anchored_patterns_do_not_cover_subdomains() -> None:
    p = r"^[a-z]{1,3}\-leboncoin\.(com|info|me|top)$"
    ix = build({"f": [p]})
    assert ix.match_domain("ab-leboncoin.info") is not None
    assert ix.match_domain("www.ab-leboncoin.info") is None


def test_exact_and_suffix_hits_keep_priority() -> None:
    ix = build({"regex": [DGA], "plain": ["dga5.wildcard-test.com"]})
    m = ix.match_domain("cdn.dga5.wildcard-test.com")
    assert m is not None and m.type == "domain" and m.indicator == "dga5.wildcard-test.com"
    m = ix.match_domain("dga6.wildcard-test.com")
    assert m is not None and m.type == "regex"


def test_allowlist_wins_over_a_regex_hit() -> None:
    ix = build({"f": [DGA]}, allow=["dga7.wildcard-test.com", "safe.wildcard-test.com"])
    r = ix.lookup_domain("dga7.wildcard-test.com")
    assert isinstance(r, Allowed) and r.source == "config"
    assert ix.match_domain("x.dga7.wildcard-test.com") is None  # the allow entry covers subdomains
    assert ix.match_domain("dga8.wildcard-test.com") is not None
    hits = ix.match_domains(["dga7.wildcard-test.com", "dga8.wildcard-test.com"])
    assert hits.rows.tolist() == [1]


def test_regex_in_an_allowlist_is_refused() -> None:
    b = IndexBuilder()
    st = b.add_allow("config", [(DGA, None, None)])
    assert st.accepted == 0 and st.rejected["unsupported-type"] == 1


def test_attribution_merges_feeds_listing_the_same_pattern() -> None:
    ix = build({"maltrail": [DGA], "other": [DGA, r"helplog[0-9]{3,4}\.(ml|ga)"]})
    m = ix.match_domain("dga42.wildcard-test.com")
    assert m is not None
    p = m.provenance()
    assert p["indicator"] == DGA and p["type"] == "regex"
    assert p["feeds"] == ["maltrail", "other"] and p["references"] == ["ref-maltrail", "ref-other"]
    m = ix.match_domain("helplog123.ga")
    assert m is not None and m.feeds == ["other"]
    assert ix.counts()["regexes"] == 2
    # `feeds check` with the pattern itself says whether it is listed
    assert ix.check(DGA)["match"] is True and ix.check(r"nope[0-9]+\.example\.com")["match"] is False


def test_bulk_lookup_agrees_with_single_lookups() -> None:
    ix = build(
        {"f": [DGA, "evil.example", r"\b(atztds|mtxtds)[0-9a-z]+\.(world|xyz)", "listed.xyz"]},
        allow=["dga9.wildcard-test.com"],
    )
    names = [
        "a.example",
        "dga1.wildcard-test.com",
        "cdn.evil.example",
        "dga9.wildcard-test.com",
        "atztds77.world",
        "x.mtxtds1.xyz.",
        "listed.xyz",
        "dga.wildcard-test.com",
        "q.atztds1.xyz",
    ]
    single = [(i, ix.match_domain(n)) for i, n in enumerate(names)]
    want = [(i, m.indicator) for i, m in single if m is not None]
    for hits in (ix.match_domains(names), ix._match_domains_py(names)):
        assert list(zip(hits.rows.tolist(), hits.indicators, strict=True)) == want
        for ind, v in zip(hits.indicators, hits.values, strict=True):
            r = ix.resolve(ind, v)
            assert isinstance(r, Match) and r.indicator == ind
    assert [i for i, _ in want] == [1, 2, 4, 5, 6, 8]


def test_patterns_are_bucketed_by_their_last_label() -> None:
    assert last_labels(DGA) == {"com"}
    assert last_labels(r"helplog[0-9]{3,4}\.(ml|ga|gq)") == {"ml", "ga", "gq"}
    assert last_labels(r"seek[0-9]+\.(mootseek|zootseek)\.com") == {"com"}
    assert last_labels(r"\b(a1|b2)[a-z]+\.[a-z0-9.]+") is None  # ends in a class: any TLD
    assert last_labels(r"nklmtf[0-9][^.]*[0-9].t35.com") is None  # bare dot: "t35xcom" would do
    rs = RegexSet({DGA: 0, r"\b(a1|b2)[a-z]+\.[a-z0-9.]+": 1})
    assert rs.match("a1x.anything.org") == (r"\b(a1|b2)[a-z]+\.[a-z0-9.]+", -2)
    assert rs.match("dga5.wildcard-test.com") == (DGA, -1)


def test_capitals_in_a_pattern_still_match_lower_case_names() -> None:
    ix = build({"f": [r"Evil[0-9]+\.Example\.com"]})
    assert ix.match_domain("evil12.example.com") is not None


def test_index_with_regexes_pickles() -> None:
    ix = build({"f": [DGA]})
    again = pickle.loads(pickle.dumps(ix))
    m = again.match_domain("dga3.wildcard-test.com")
    assert m is not None and m.indicator == DGA


def test_the_number_of_patterns_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    from wardwatch.threatfeeds import index as index_module

    monkeypatch.setattr(index_module, "MAX_REGEXES", 2)
    ix = build({"a": [DGA, r"helplog[0-9]{3}\.ga"], "b": [DGA, r"backdates[0-9]{1,2}\.com"]})
    a, b = ix.stats
    assert a.regexes == 2 and b.regexes == 1  # b's copy of DGA merges into the listed one
    assert b.rejected["regex-cost"] == 1 and ix.counts()["regexes"] == 2
    assert ix.match_domain("dga1.wildcard-test.com").feeds == ["a", "b"]  # type: ignore[union-attr]
