"""The YAML config loader: values, relative paths, and errors that name the file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from wardwatch.config import ConfigError, load_config, parse_config

GOOD = """\
data_dir: state
segments:
  - {name: icu, cidrs: [10.20.0.0/16, "fd00:20::/48"], zone: clinical, criticality: high}
  - name: guest
    cidrs: 192.168.100.0/24
    zone: guest
feeds:
  - name: urlhaus
    url: https://urlhaus.abuse.ch/downloads/hostfile/
    format: hosts
    refresh: 30m
    confidence: 80
    tags: [malware]
    max_size: 10MB
  - name: local
    path: feeds/local.txt
    format: domains
allowlist:
  - hospital.vn
  - 10.0.0.0/8
  - {value: partner.com.vn, match: exact}
  - {path: lists/tranco10k.json, format: misp-warninglist}
kafka: {bootstrap: ["127.0.0.1:9092", "127.0.0.1:9093"], topic_prefix: ww}
clickhouse: {url: "chdb:var/store"}
detectors:
  dga: {threshold: 3.5}
notify: {email: soc@hospital.vn}
"""


def test_good_config(tmp_path: Path) -> None:
    p = tmp_path / "hospital.yaml"
    p.write_text(GOOD)
    c = load_config(p)
    assert c.data_dir == tmp_path / "state"
    assert [s.name for s in c.segments] == ["icu", "guest"]
    assert str(c.segments[0].cidrs[1]) == "fd00:20::/48" and c.segments[0].criticality == "high"
    assert len(c.segments[1].cidrs) == 1
    f = c.feeds[0]
    assert (f.url, f.format, f.refresh, f.confidence, f.tags, f.max_size) == (
        "https://urlhaus.abuse.ch/downloads/hostfile/",
        "hosts",
        1800.0,
        80,
        ("malware",),
        10_000_000,
    )
    assert c.feeds[1].path == tmp_path / "feeds" / "local.txt"
    assert [(e.value, e.exact) for e in c.allowlist.entries] == [
        ("hospital.vn", False),
        ("10.0.0.0/8", False),
        ("partner.com.vn", True),
    ]
    src = c.allowlist.sources[0]
    assert src.kind == "allow" and src.match == "exact" and src.path == tmp_path / "lists" / "tranco10k.json"
    assert c.kafka is not None and c.kafka.bootstrap == "127.0.0.1:9092,127.0.0.1:9093"
    assert c.kafka.options == {"topic_prefix": "ww"}
    assert c.clickhouse is not None and c.clickhouse.url == "chdb:var/store"
    assert c.detectors == {"dga": {"threshold": 3.5}}
    assert c.extra == {"notify": {"email": "soc@hospital.vn"}}
    assert c.where(("detectors", "dga", "threshold")) == "hospital.yaml:26"
    assert str(c.error(("notify", "email"), "bad")) == "hospital.yaml:27: notify.email: bad"
    assert len(c.all_feeds) == 3


def test_allow_reserved_is_off_unless_a_feed_turns_it_on(tmp_path: Path) -> None:
    c = parse_config(
        "feeds:\n  - {name: a, path: a, format: hosts}\n"
        "  - {name: b, path: b, format: maltrail, allow_reserved: true}\n",
        tmp_path / "c.yaml",
    )
    assert [f.allow_reserved for f in c.feeds] == [False, True]


def test_empty_config_has_defaults(tmp_path: Path) -> None:
    c = parse_config("", tmp_path / "c.yaml")
    assert c.data_dir == tmp_path / "var" and c.feeds == () and c.kafka is None


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "feeds:\n  - {name: a, path: a, format: hosts}\n  - {name: b, path: b, format: hosts}\n"
            "  - name: c\n    path: c\n    format: csvv\n",
            "c.yaml:6: feeds[2].format: unknown format 'csvv' (expected one of hosts, domains,",
        ),
        (
            "feeds:\n  - {name: a, format: hosts}\n",
            "c.yaml:2: feeds[0]: needs exactly one of 'path' or 'url'",
        ),
        (
            "feeds:\n  - name: a\n    path: x\n    format: hosts\n    urll: y\n",
            "c.yaml:5: feeds[0].urll: unknown key",
        ),
        ("feeds:\n  - {name: a, url: ftp://x, format: hosts}\n", "c.yaml:2: feeds[0].url: expected an http"),
        (
            "feeds:\n  - {name: a, path: x, format: hosts, refresh: soon}\n",
            "c.yaml:2: feeds[0].refresh: expected a duration",
        ),
        (
            "feeds:\n  - {name: a, path: x, format: hosts, confidence: 101}\n",
            "c.yaml:2: feeds[0].confidence: expected an integer",
        ),
        (
            "feeds:\n  - {name: a, path: x, format: hosts}\n  - {name: a, path: y, format: hosts}\n",
            "c.yaml:3: feeds[1].name: duplicate feed name 'a'",
        ),
        (
            "segments:\n  - name: icu\n    cidrs: [10.0.0.0/33]\n",
            "c.yaml:3: segments[0].cidrs[0]: not a CIDR",
        ),
        ("segments:\n  - {name: icu}\n", "c.yaml:2: segments[0]: missing key 'cidrs'"),
        (
            "feeds:\n  - name: a\n    path: x\n    format: hosts\n    allow_reserved: yes please\n",
            "c.yaml:5: feeds[0].allow_reserved: expected true or false",
        ),
        ("kafka: {topic: x}\n", "c.yaml:1: kafka: missing key 'bootstrap'"),
        ("feeds: {a: 1}\n", "c.yaml:1: feeds: expected a list"),
        ("allowlist:\n  - {value: x, match: maybe}\n", "c.yaml:2: allowlist[0].match: unknown match 'maybe'"),
        ("feeds:\n  - [unclosed\n", "c.yaml:3: (yaml):"),
        ("- just\n- a list\n", "c.yaml:1: (top level): expected a mapping"),
    ],
)
def test_errors_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_config(text, tmp_path / "c.yaml")
    assert str(e.value).startswith(expected), str(e.value)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.yaml")
