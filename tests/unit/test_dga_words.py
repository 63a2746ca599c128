"""Issue 19 point 4: the word-list DGA model and the volume rule (word-made and near-the-bar names
count once a host has many of them), the dynamic-DNS parents, and the tuned character rule."""

from __future__ import annotations

import random

import pytest
from wardwatch.detectors.behaviour.dga import counts, judged_label
from wardwatch.detectors.behaviour.options import DgaOptions
from wardwatch.detectors.behaviour.words import word_like, word_split

from tests.unit.test_behaviour_detectors import dns, engine, run

WORDS = ["journey", "destroy", "against", "night", "within", "increase", "inside", "would", "instead",
         "remember", "explain", "surface", "drawing", "station", "history", "careful", "summer", "window"]  # fmt: skip


def word_pairs(n: int, seed: int = 1) -> list[str]:
    rnd = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        a, b = rnd.sample(WORDS, 2)
        name = f"{a}{rnd.choice(['', '-'])}{b}.net"
        if name not in out:
            out.append(name)
    return out


def test_word_split_and_word_like() -> None:
    assert word_split("wouldinstead") == ["would", "instead"]
    assert word_like("surfaces-drawing") and word_like("increaseinside")
    assert not word_like("xkqwzlvbnmfghjd")  # not words
    assert not word_like("benhvien")  # Vietnamese, one word to its speakers: not split
    assert not word_like("history")  # one word
    assert not word_like("xn--benhvin-7ua")  # punycode


@pytest.mark.parametrize(
    ("name", "kind"),
    [("wouldinstead.net", "word"), ("xkqwzlvbnmfghjd.com", "char"), ("google.com", None),
     ("lkhylm0mhyfuhgq.ddns.net", "char"), ("a6f3e2d1.com", "near")],
)  # fmt: skip
def test_kinds(name: str, kind: str | None) -> None:
    assert counts(name, DgaOptions()) == kind


def test_dynamic_dns_parent_judges_the_label_in_front() -> None:
    assert judged_label("lkhylm0mhyfuhg.ddns.net") == ("lkhylm0mhyfuhg.ddns.net", "lkhylm0mhyfuhg")
    assert judged_label("www.example.com") == ("example.com", "example")


def host_alerts(names: list[str], src: str = "10.30.0.9") -> list:
    recs = [dns(src, n, 1000.0 + i * 5, rcode="NXDOMAIN") for i, n in enumerate(names)]
    return [a for a in run(engine(), recs) if a.rule == "behaviour.dga.host"]


def test_word_list_dga_needs_volume() -> None:
    names = word_pairs(12)
    assert host_alerts(names[:9]) == []  # nine word-made names: not yet
    (a,) = host_alerts(names)
    assert a.indicator == names[9] and a.evidence["volume_names"] == 10


def test_many_failing_names_under_one_domain_are_not_a_dga() -> None:
    # a mail server's blocklist lookups: many names, one registered domain
    names = [f"{i}.{i + 1}.0.10.zen-blocklist-example.org" for i in range(40)]
    assert host_alerts(names) == []


def test_word_rule_can_be_turned_off() -> None:
    recs = [dns("10.30.0.9", n, 1000.0 + i * 5, rcode="NXDOMAIN") for i, n in enumerate(word_pairs(12))]
    got = run(engine("  dga: {words: false, near: 0}\n"), recs)
    assert [a for a in got if a.category == "dga"] == []
