"""The one catalogue of user-facing text: every alert category and severity has readable words in both
languages, and every message fills the same placeholders on both sides."""

from __future__ import annotations

import string

import pytest

from wardwatch import i18n
from wardwatch.alerts import CATEGORIES, SEVERITIES


@pytest.mark.parametrize("name", CATEGORIES)
def test_every_alert_category_has_readable_names(name: str) -> None:
    vi, en = i18n.category(name)
    assert "_" not in vi and "_" not in en  # never the code name (`policy_airgap`)
    assert vi != en and vi and en


def test_airgap_reads_as_words() -> None:
    vi, en = i18n.category("policy_airgap")
    assert "bí mật nhà nước" in vi and "Internet" in vi
    assert en.startswith("Air-gapped")


def test_every_severity_in_both_languages_most_severe_first() -> None:
    assert set(i18n.SEVERITIES) == set(SEVERITIES)
    assert i18n.SEVERITY_ORDER[0] == "critical" and set(i18n.SEVERITY_ORDER) == set(SEVERITIES)
    assert i18n.severity("critical") == ("nghiêm trọng", "critical")


@pytest.mark.parametrize("key", sorted(i18n.MESSAGES))
def test_messages_use_the_same_placeholders_in_both_languages(key: str) -> None:
    vi, en = i18n.MESSAGES[key]
    fields = lambda t: sorted(f for _, f, _, _ in string.Formatter().parse(t) if f)  # noqa: E731
    assert fields(vi) == fields(en)
    assert vi != en


def test_say_gives_a_vietnamese_line_then_an_english_line() -> None:
    out = i18n.say("run.duplicates", prefix="  ", rows=1234)
    assert out.splitlines() == [
        "  1,234 dòng đã có sẵn trong kho và được bỏ qua (đã chạy bản ghi này trước đó?)",
        "  1,234 rows were already stored and were skipped (same capture run before?)",
    ]
    with pytest.raises(KeyError, match="no message"):
        i18n.text("no.such.message")


def test_catalogue_parts_merge_and_refuse_a_key_defined_twice() -> None:
    from wardwatch import catalogue

    for part in catalogue.PARTS:
        for key in part:
            assert i18n.MESSAGES[key] == part[key]
    with pytest.raises(RuntimeError, match="defined twice"):
        i18n._merge({"a.b": ("x", "y")}, {"a.b": ("z", "w")})
