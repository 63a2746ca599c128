"""Conformance of the Sigma compiler: every modifier and condition form, each checked both ways (an
event that must match and one that must not), through both the per-rule predicate and the merged
per-log matcher the detector uses."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml
from wardwatch.sigmarules.ruleset import RuleSet, load_ruleset

HTTP = {"product": "wardwatch", "service": "http"}


def compile_rule(detection: dict[str, Any], logsource: dict[str, str] | None = None) -> RuleSet:
    rule = {
        "title": "conformance",
        "id": "00000000-0000-4000-8000-000000000001",
        "status": "test",
        "level": "medium",
        "logsource": logsource or HTTP,
        "detection": detection,
    }
    rs = load_ruleset([], texts=[("t.yml", yaml.safe_dump(rule, sort_keys=False))])
    assert not rs.rejected, rs.rejected
    assert len(rs.rules) == 1
    return rs


def both(rs: RuleSet, event: dict[str, Any], info: Any = None) -> bool:
    rule = rs.rules[0]
    one = rule.matches(event, info)
    (log,) = rule.logs
    fn, _ = rs.matchers[log]
    merged = bool(fn({"_path": log, **event}, info))
    assert one == merged, (rule.expr, event)
    return one


# (detection, must match, must not match)
CASES: list[tuple[str, dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]] = [
    (
        "plain equality, case-insensitive",
        {"sel": {"host": "Example.COM"}, "condition": "sel"},
        [{"host": "example.com"}, {"host": "EXAMPLE.com"}],
        [{"host": "example.co"}, {"host": "x.example.com"}, {}],
    ),
    (
        "list of values is OR",
        {"sel": {"method": ["POST", "PUT"]}, "condition": "sel"},
        [{"method": "post"}, {"method": "PUT"}],
        [{"method": "GET"}, {}],
    ),
    (
        "map is AND",
        {"sel": {"method": "POST", "host": "a.com"}, "condition": "sel"},
        [{"method": "POST", "host": "a.com"}],
        [{"method": "POST", "host": "b.com"}, {"method": "POST"}],
    ),
    (
        "list of maps is OR",
        {"sel": [{"method": "POST"}, {"host": "a.com"}], "condition": "sel"},
        [{"method": "POST"}, {"host": "A.com"}],
        [{"method": "GET", "host": "b.com"}],
    ),
    (
        "wildcard *",
        {"sel": {"uri": "/admin/*.php"}, "condition": "sel"},
        [{"uri": "/admin/x.php"}, {"uri": "/ADMIN/a/b.PHP"}],
        [{"uri": "/admin/x.phpx"}, {"uri": "/user/x.php"}],
    ),
    (
        "wildcard ?",
        {"sel": {"uri": "/v?/api"}, "condition": "sel"},
        [{"uri": "/v1/api"}, {"uri": "/V2/API"}],
        [{"uri": "/v10/api"}, {"uri": "/v/api"}],
    ),
    (
        "escaped wildcards are literal",
        {"sel": {"uri": "/a\\*b\\?"}, "condition": "sel"},
        [{"uri": "/a*b?"}],
        [{"uri": "/axb?"}, {"uri": "/a*bc"}],
    ),
    (
        "escaped backslash then wildcard",
        {"sel": {"uri": "c:\\\\*"}, "condition": "sel"},
        [{"uri": "c:\\windows"}, {"uri": "c:\\"}],
        [{"uri": "c:windows"}],
    ),
    (
        "plain backslash stays",
        {"sel": {"uri": "a\\b"}, "condition": "sel"},
        [{"uri": "a\\b"}],
        [{"uri": "ab"}],
    ),
    (
        "contains",
        {"sel": {"user_agent|contains": "sqlmap"}, "condition": "sel"},
        [{"user_agent": "sqlmap/1.5"}, {"user_agent": "x SQLMAP y"}],
        [{"user_agent": "sqlma"}, {}],
    ),
    (
        "contains many (regex path)",
        {"sel": {"user_agent|contains": [f"tool{i}" for i in range(10)]}, "condition": "sel"},
        [{"user_agent": "x TOOL7 y"}],
        [{"user_agent": "tool"}],
    ),
    (
        "startswith",
        {"sel": {"uri|startswith": "/cgi-bin/"}, "condition": "sel"},
        [{"uri": "/CGI-BIN/x"}],
        [{"uri": "/x/cgi-bin/"}],
    ),
    (
        "endswith",
        {"sel": {"host|endswith": [".xyz", ".top"]}, "condition": "sel"},
        [{"host": "a.XYZ"}, {"host": "b.top"}],
        [{"host": "xyz.com"}, {"host": "top"}],
    ),
    (
        "contains|all",
        {"sel": {"uri|contains|all": ["cmd=", "exec"]}, "condition": "sel"},
        [{"uri": "/?cmd=1&exec=2"}],
        [{"uri": "/?cmd=1"}, {"uri": "/exec"}],
    ),
    (
        "cased",
        {"sel": {"user_agent|cased": "Mozilla"}, "condition": "sel"},
        [{"user_agent": "Mozilla"}],
        [{"user_agent": "mozilla"}, {"user_agent": "MOZILLA"}],
    ),
    (
        "contains|cased",
        {"sel": {"uri|contains|cased": "Admin"}, "condition": "sel"},
        [{"uri": "/x/Admin/y"}],
        [{"uri": "/x/admin/y"}],
    ),
    (
        "re is case-sensitive and unanchored",
        {"sel": {"uri|re": "id=[0-9]+$"}, "condition": "sel"},
        [{"uri": "/a?id=42"}],
        [{"uri": "/a?ID=42"}, {"uri": "/a?id=42x"}],
    ),
    (
        "re|i",
        {"sel": {"uri|re|i": "^/admin"}, "condition": "sel"},
        [{"uri": "/ADMIN/x"}],
        [{"uri": "/x/admin"}],
    ),
    (
        "re|m",
        {"sel": {"uri|re|m": "^line2$"}, "condition": "sel"},
        [{"uri": "line1\nline2\nline3"}],
        [{"uri": "line1 line2"}],
    ),
    (
        "re|s",
        {"sel": {"uri|re|s": "a.b"}, "condition": "sel"},
        [{"uri": "a\nb"}, {"uri": "axb"}],
        [{"uri": "ab"}],
    ),
    (
        "re without s: dot does not cross newline",
        {"sel": {"uri|re": "a.b"}, "condition": "sel"},
        [{"uri": "axb"}],
        [{"uri": "a\nb"}],
    ),
    (
        "cidr v4",
        {"sel": {"id.resp_h|cidr": ["10.0.0.0/8", "192.168.1.0/24"]}, "condition": "sel"},
        [{"id.resp_h": "10.2.3.4"}, {"id.resp_h": "192.168.1.200"}],
        [{"id.resp_h": "11.0.0.1"}, {"id.resp_h": "192.168.2.1"}, {"id.resp_h": "not-an-ip"}, {}],
    ),
    (
        "cidr v6",
        {"sel": {"id.resp_h|cidr": "2001:db8::/32"}, "condition": "sel"},
        [{"id.resp_h": "2001:db8::1"}],
        [{"id.resp_h": "2001:db9::1"}, {"id.resp_h": "10.0.0.1"}],
    ),
    (
        "base64",
        {"sel": {"uri|base64": "admin:secret"}, "condition": "sel"},
        [{"uri": base64.b64encode(b"admin:secret").decode()}],
        [{"uri": "admin:secret"}],
    ),
    (
        "base64offset|contains",
        {"sel": {"uri|base64offset|contains": "powershell"}, "condition": "sel"},
        [{"uri": "/x?" + base64.b64encode(p + b"powershell -enc").decode()} for p in (b"", b"a", b"ab")],
        [{"uri": "/x?" + base64.b64encode(b"cmd.exe /c").decode()}],
    ),
    (
        "windash",
        {"sel": {"uri|windash|contains": " -enc "}, "condition": "sel"},
        [{"uri": "x -enc y"}, {"uri": "x /enc y"}, {"uri": "x \u2013enc y"}],
        [{"uri": "x enc y"}],
    ),
    (
        "exists true",
        {"sel": {"username|exists": True}, "condition": "sel"},
        [{"username": "bob"}, {"username": ""}],
        [{}],
    ),
    ("exists false", {"sel": {"username|exists": False}, "condition": "sel"}, [{}], [{"username": "bob"}]),
    (
        "null matches absent",
        {"sel": {"referrer": None}, "condition": "sel"},
        [{}, {"referrer": None}],
        [{"referrer": "x"}, {"referrer": ""}],
    ),
    (
        "empty string matches only empty",
        {"sel": {"referrer": ""}, "condition": "sel"},
        [{"referrer": ""}],
        [{}, {"referrer": "x"}],
    ),
    (
        "number equality",
        {"sel": {"id.resp_p": [3389, 445]}, "condition": "sel"},
        [{"id.resp_p": 3389}, {"id.resp_p": 445}, {"id.resp_p": "445"}],
        [{"id.resp_p": 80}, {}],
    ),
    (
        "string value against a number field",
        {"sel": {"status_code": "404"}, "condition": "sel"},
        [{"status_code": 404}],
        [{"status_code": 200}],
    ),
    (
        "lt",
        {"sel": {"status_code|lt": 300}, "condition": "sel"},
        [{"status_code": 200}],
        [{"status_code": 300}, {"status_code": 404}, {}],
    ),
    (
        "lte",
        {"sel": {"status_code|lte": 300}, "condition": "sel"},
        [{"status_code": 300}],
        [{"status_code": 301}],
    ),
    (
        "gt",
        {"sel": {"status_code|gt": 499}, "condition": "sel"},
        [{"status_code": 500}],
        [{"status_code": 499}, {"status_code": "n/a"}],
    ),
    (
        "gte",
        {"sel": {"status_code|gte": 500}, "condition": "sel"},
        [{"status_code": 500}, {"status_code": "503"}],
        [{"status_code": 404}],
    ),
    (
        "neq",
        {"sel": {"method": "POST", "host|neq": "ok.com"}, "condition": "sel"},
        [{"method": "POST", "host": "bad.com"}, {"method": "POST"}],
        [{"method": "POST", "host": "OK.com"}],
    ),
    (
        "fieldref equal",
        {"sel": {"referrer|fieldref": "host"}, "condition": "sel"},
        [{"referrer": "A.com", "host": "a.com"}],
        [{"referrer": "b.com", "host": "a.com"}, {"host": "a.com"}],
    ),
    (
        "fieldref|contains",
        {"sel": {"uri|fieldref|contains": "host"}, "condition": "sel"},
        [{"uri": "/go?u=a.com/x", "host": "a.com"}],
        [{"uri": "/go", "host": "a.com"}],
    ),
    (
        "fieldref|startswith",
        {"sel": {"uri|fieldref|startswith": "username"}, "condition": "sel"},
        [{"uri": "bob/x", "username": "bob"}],
        [{"uri": "x/bob", "username": "bob"}],
    ),
    (
        "fieldref|endswith",
        {"sel": {"uri|fieldref|endswith": "username"}, "condition": "sel"},
        [{"uri": "x/bob", "username": "bob"}],
        [{"uri": "bob/x", "username": "bob"}],
    ),
    (
        "bool",
        {"sel": {"method": "GET", "username|exists": True}, "condition": "sel"},
        [{"method": "GET", "username": "x"}],
        [{"method": "GET"}],
    ),
    (
        "and / or / not with parentheses",
        {
            "a": {"method": "POST"},
            "b": {"host": "x.com"},
            "c": {"uri": "/ok"},
            "condition": "a and (b or not c)",
        },
        [
            {"method": "POST", "host": "x.com", "uri": "/ok"},
            {"method": "POST", "uri": "/bad"},
            {"method": "POST"},
        ],
        [{"method": "POST", "host": "y.com", "uri": "/ok"}, {"method": "GET", "host": "x.com"}],
    ),
    (
        "not binds tighter than and",
        {"a": {"method": "POST"}, "b": {"host": "x.com"}, "condition": "not a and b"},
        [{"method": "GET", "host": "x.com"}, {"host": "x.com"}],
        [{"method": "POST", "host": "x.com"}],
    ),
    (
        "1 of pattern",
        {
            "sel_a": {"method": "PUT"},
            "sel_b": {"host": "x.com"},
            "other": {"uri": "/"},
            "condition": "1 of sel_*",
        },
        [{"method": "PUT"}, {"host": "x.com"}],
        [{"uri": "/"}, {"method": "GET"}],
    ),
    (
        "all of pattern",
        {"sel_a": {"method": "PUT"}, "sel_b": {"host": "x.com"}, "condition": "all of sel_*"},
        [{"method": "PUT", "host": "x.com"}],
        [{"method": "PUT"}, {"host": "x.com"}],
    ),
    (
        "1 of them",
        {"a": {"method": "PUT"}, "b": {"host": "x.com"}, "condition": "1 of them"},
        [{"method": "PUT"}, {"host": "x.com"}],
        [{"method": "GET"}],
    ),
    (
        "all of them",
        {"a": {"method": "PUT"}, "b": {"host": "x.com"}, "condition": "all of them"},
        [{"method": "PUT", "host": "x.com"}],
        [{"method": "PUT"}],
    ),
    (
        "any of + not",
        {
            "sel": {"method": "POST"},
            "filter_a": {"host": "a.com"},
            "filter_b": {"host": "b.com"},
            "condition": "sel and not 1 of filter_*",
        },
        [{"method": "POST", "host": "c.com"}],
        [{"method": "POST", "host": "a.com"}, {"method": "POST", "host": "b.com"}],
    ),
    (
        "keywords (contains over every field)",
        {"kw": ["evil.example", "*backdoor*"], "condition": "kw"},
        [{"uri": "/get/EVIL.example/x"}, {"user_agent": "my backdoor"}],
        [{"uri": "/ok", "host": "good.example"}],
    ),
]


@pytest.mark.parametrize(("detection", "yes", "no"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_modifiers_and_conditions(detection: dict[str, Any], yes: list[dict], no: list[dict]) -> None:
    rs = compile_rule(detection)
    for ev in yes:
        assert both(rs, ev), (rs.rules[0].expr, ev)
    for ev in no:
        assert not both(rs, ev), (rs.rules[0].expr, ev)


def test_list_field_matches_any_element() -> None:
    rs = compile_rule({"sel": {"answers|cidr": "203.0.113.0/24"}, "condition": "sel"}, {"category": "dns"})
    assert both(rs, {"answers": ["a.example", "203.0.113.9"]})
    assert not both(rs, {"answers": ["198.51.100.1"]})
    assert not both(rs, {"answers": []})
    rs = compile_rule({"sel": {"QueryResults|endswith": ".evil"}, "condition": "sel"}, {"category": "dns"})
    assert both(rs, {"answers": ["cdn.ok", "x.EVIL"]})
    assert not both(rs, {})


def test_generic_fields_are_mapped_per_log_source() -> None:
    rs = compile_rule(
        {"sel": {"c-uri|contains": "/wp-admin", "cs-host": "a.com"}, "condition": "sel"},
        {"category": "proxy"},
    )
    assert rs.rules[0].logs == ("http",)
    assert both(rs, {"uri": "/wp-admin/x", "host": "A.com"})
    rs = compile_rule(
        {"sel": {"dst_ip|cidr": "10.0.0.0/8", "dst_port": 445}, "condition": "sel"}, {"category": "firewall"}
    )
    assert rs.rules[0].logs == ("conn",)
    assert both(rs, {"id.resp_h": "10.9.9.9", "id.resp_p": 445})
    rs = compile_rule(
        {"sel": {"query|endswith": ".onion"}, "condition": "sel"}, {"product": "zeek", "service": "dns"}
    )
    assert both(rs, {"query": "abc.ONION"})


class _Info:
    def __init__(self, zone: str, external: bool) -> None:
        self.zone = zone
        self.external = external
        self.segment = None


def test_enriched_zone_fields() -> None:
    rs = compile_rule(
        {"sel": {"src_zone": ["clinical", "emr"], "dst_external": True}, "condition": "sel"},
        {"category": "firewall"},
    )
    assert both(rs, {}, (_Info("clinical", False), _Info("internet", True)))
    assert not both(rs, {}, (_Info("guest", False), _Info("internet", True)))
    assert not both(rs, {}, (_Info("emr", False), _Info("server", False)))
    assert not both(rs, {}, None)


def _rejected(detection: dict[str, Any], logsource: dict[str, str] | None = None) -> str:
    rule = {
        "title": "r",
        "id": "00000000-0000-4000-8000-000000000002",
        "logsource": logsource or HTTP,
        "detection": detection,
    }
    rs = load_ruleset([], texts=[("r.yml", yaml.safe_dump(rule))])
    assert not rs.rules
    assert len(rs.rejected) == 1
    return rs.rejected[0].reason


def test_unsupported_is_rejected_with_reason() -> None:
    assert "log source" in _rejected(
        {"sel": {"Image": "x"}, "condition": "sel"}, {"product": "windows", "category": "process_creation"}
    )
    assert "'Image'" in _rejected({"sel": {"Image": "x"}, "condition": "sel"})
    assert "SigmaTimestampPart" in _rejected({"sel": {"ts|hour": 3}, "condition": "sel"})
    assert "placeholder" in _rejected({"sel": {"host|expand": "%servers%"}, "condition": "sel"})
    assert "not defined" in _rejected({"sel": {"host": "x"}, "condition": "sel and missing"})
    assert "Unknown modifier" in _rejected({"sel": {"host|nosuch": "x"}, "condition": "sel"})


def test_a_bad_rule_does_not_stop_the_others() -> None:
    good = {
        "title": "g",
        "id": "00000000-0000-4000-8000-000000000003",
        "logsource": HTTP,
        "detection": {"sel": {"host": "a"}, "condition": "sel"},
    }
    rs = load_ruleset(
        [],
        texts=[
            ("bad.yml", "title: [unclosed"),
            ("good.yml", yaml.safe_dump(good)),
            ("weird.yml", "- just\n- a list\n"),
        ],
    )
    assert [r.title for r in rs.rules] == ["g"]
    assert {x.source for x in rs.rejected} >= {"bad.yml"}


def test_unsupported_field_allowed_when_not_strict() -> None:
    rule = {
        "title": "r",
        "id": "00000000-0000-4000-8000-000000000004",
        "logsource": HTTP,
        "detection": {"sel": {"resp_mime_types": "application/x-dosexec"}, "condition": "sel"},
    }
    rs = load_ruleset([], strict_fields=False, texts=[("r.yml", yaml.safe_dump(rule))])
    assert not rs.rejected
    assert rs.rules[0].matches({"resp_mime_types": ["text/html", "application/x-dosexec"]})
    assert not rs.rules[0].matches({"resp_mime_types": "text/html"})
