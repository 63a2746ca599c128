"""Sigma regexes run on RE2 (issue 11, point 12): a rule with a catastrophic pattern cannot stall
detection on a crafted value, patterns RE2 cannot compile are refused with the reason, and the length
of the values matched is bounded."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from typing import Any

import pytest
import yaml
from wardwatch.sigmarules.regex import MAX_MATCH_CHARS, Regex
from wardwatch.sigmarules.ruleset import RuleSet, load_ruleset

DNS = {"category": "dns"}
HTTP = {"product": "wardwatch", "service": "http"}


def _rule(detection: dict[str, Any], logsource: dict[str, str], n: int = 1) -> tuple[str, str]:
    rule = {
        "title": f"r{n}",
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "level": "high",
        "logsource": logsource,
        "detection": detection,
    }
    return f"r{n}.yml", yaml.safe_dump(rule, sort_keys=False)


def _load(*texts: tuple[str, str]) -> RuleSet:
    return load_ruleset([], texts=list(texts))


def test_catastrophic_regex_on_a_crafted_dns_name_finishes() -> None:
    # With a backtracking engine this one lookup takes minutes (2^n paths for n letters); the
    # deadline is only there so that a regression fails instead of hanging the suite.
    script = textwrap.dedent(
        """
        import yaml
        from wardwatch.sigmarules.ruleset import load_ruleset
        rule = {"title": "evil", "id": "00000000-0000-4000-8000-000000000001", "logsource": {"category": "dns"},
                "detection": {"sel": {"query|re": "(a+)+$"}, "condition": "sel"}}
        rs = load_ruleset([], texts=[("evil.yml", yaml.safe_dump(rule))])
        assert not rs.rejected, rs.rejected
        fn, _ = rs.matchers["dns"]
        print(fn({"_path": "dns", "query": "a" * 40 + ".example"}), fn({"_path": "dns", "query": "x.aaa"}))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["[]", "[0]"]


def _patterns(rs: RuleSet) -> list[Any]:
    out = []
    for fn, _ in rs.matchers.values():
        out += [v for v in fn.__globals__.values() if isinstance(v, (re.Pattern, Regex))]
    for r in rs.rules:
        out += [v for v in r.predicate.__globals__.values() if isinstance(v, (re.Pattern, Regex))]
        # keyword matchers hold their pattern in a closure (or a closure of a closure)
        for v in r.predicate.__globals__.values():
            for cell in getattr(v, "__closure__", None) or ():
                if isinstance(cell.cell_contents, (re.Pattern, Regex)):
                    out.append(cell.cell_contents)
                for inner in getattr(cell.cell_contents, "__closure__", None) or ():
                    if isinstance(inner.cell_contents, (re.Pattern, Regex)):
                        out.append(inner.cell_contents)
    return out


def test_every_pattern_the_engine_runs_is_re2() -> None:
    many = [f"word{i}" for i in range(10)]
    rs = _load(
        _rule({"sel": {"uri|re|i": "^/admin"}, "condition": "sel"}, HTTP, 1),
        _rule({"sel": {"uri": "/a?b*c?d"}, "condition": "sel"}, HTTP, 2),  # wildcard glob
        _rule({"sel": {"user_agent|cased": "Mo?illa*x*"}, "condition": "sel"}, HTTP, 3),
        _rule({"sel": {"uri|contains": many}, "condition": "sel"}, HTTP, 4),
        _rule({"kw": ["ev?l*thing"], "condition": "kw"}, HTTP, 5),
        _rule({"kw": {"|re": "b(a|c)d"}, "condition": "kw"}, HTTP, 6),
    )
    assert not rs.rejected, rs.rejected
    found = _patterns(rs)
    assert len({type(p) for p in found}) == 1 and isinstance(found[0], Regex), found
    assert len({p.pattern for p in found}) >= 6
    fn, _ = rs.matchers["http"]
    assert fn({"_path": "http", "uri": "/ADMIN/x"}) == [0]
    assert fn({"_path": "http", "uri": "/A?bxxcXd"}) == [1]
    assert fn({"_path": "http", "user_agent": "Mozilla x"}) == [2]
    assert fn({"_path": "http", "uri": "/word7"}) == [3]
    assert fn({"_path": "http", "host": "an EVIL big thing"}) == [4]
    assert fn({"_path": "http", "host": "xbcdx"}) == [5]
    assert fn({"_path": "http", "uri": "/nothing", "host": "b.example"}) == []


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"(a)\1", "invalid escape sequence"),  # backreference
        (r"foo(?=bar)", "invalid perl operator"),  # lookahead
        (r"(?<!x)y", "invalid perl operator"),  # lookbehind
        (r"(?>a+)b", "invalid perl operator"),  # atomic group
    ],
)
def test_patterns_re2_cannot_compile_are_rejected_with_the_reason(pattern: str, why: str) -> None:
    good = _rule({"sel": {"query|endswith": ".evil"}, "condition": "sel"}, DNS, 2)
    rs = _load(_rule({"sel": {"query|re": pattern}, "condition": "sel"}, DNS, 1), good)
    assert [r.title for r in rs.rules] == ["r2"]  # the others still load
    (rej,) = rs.rejected
    assert "RE2" in rej.reason and why in rej.reason and pattern in rej.reason
    assert "biểu thức chính quy" in rej.reason


def test_rules_check_shows_why_a_regex_is_refused(tmp_path, capsys) -> None:
    from wardwatch.cli import main

    rules = tmp_path / "rules"
    rules.mkdir()
    name, text = _rule({"sel": {"query|re": r"(\w+)\.\1"}, "condition": "sel"}, DNS, 7)
    (rules / name).write_text(text)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("segments:\n  - {name: icu, cidrs: [10.20.0.0/16], zone: clinical}\n"
                   "detectors:\n  sigma:\n    rules: [rules]\n")  # fmt: skip
    assert main(["rules", "check", "--config", str(cfg)]) == 1
    out = capsys.readouterr().out
    assert "REJECTED  00000000-0000-4000-8000-000000000007" in out
    assert "RE2" in out and "invalid escape sequence" in out


def test_values_are_matched_up_to_the_bound() -> None:
    rs = _load(
        _rule({"sel": {"uri|re": "^/p"}, "condition": "sel"}, HTTP, 1),
        _rule({"sel": {"uri|re": "z$"}, "condition": "sel"}, HTTP, 2),
    )
    fn, _ = rs.matchers["http"]
    short = "/p" + "x" * 100 + "z"
    assert fn({"_path": "http", "uri": short}) == [0, 1]
    # only the first MAX_MATCH_CHARS characters are read: the end of a longer value is not seen
    long = "/p" + "x" * MAX_MATCH_CHARS + "z"
    assert fn({"_path": "http", "uri": long}) == [0]
    edge = "/p" + "x" * (MAX_MATCH_CHARS - 3) + "z"
    assert len(edge) == MAX_MATCH_CHARS and fn({"_path": "http", "uri": edge}) == [0, 1]


def test_regex_helper_semantics() -> None:
    assert Regex("b")("abc") and not Regex("b", full=True)("abc") and Regex("a.c", full=True)("abc")
    assert not Regex("x")(None)
    assert Regex("(?i)é")("CAFÉ")  # Unicode text goes in as UTF-8
    assert Regex("a")("\udcff a")  # lone surrogates (surrogateescape) never raise
    with pytest.raises(ValueError, match="missing"):
        Regex("(unclosed")
