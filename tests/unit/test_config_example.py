"""The shipped example config must stay valid for every part that reads it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from wardwatch.bus.settings import bus_settings
from wardwatch.cli.commands.sections import check_sections
from wardwatch.detectors.engine import Engine
from wardwatch.detectors.settings import load_settings
from wardwatch.store.settings import load_store_settings

from tests.conftest import ROOT
from wardwatch.config import load_config


def test_example_config_loads_everywhere() -> None:
    config = load_config(ROOT / "deploy" / "hospital.example.yaml")
    assert {s.name for s in config.segments} >= {"his", "emr", "guest-wifi", "secret-lan"}
    assert {f.format for f in config.feeds} >= {"hosts", "ip-list", "spamhaus-drop"}
    assert load_settings(config).resolvers == frozenset({"10.40.0.53"})
    assert load_store_settings(config).retention.days["raw"] == 30
    engine = Engine.from_config(config, None)
    assert engine.detectors  # policy, behavioural and Sigma detectors are all built


def _uncomment(text: str) -> tuple[str, int]:
    """Every commented-out block of the example turned on: a comment whose text starts with a
    lower-case ``key:`` and the more indented comment lines that continue it (prose is left alone)."""
    out, blocks, inside = [], 0, False
    for line in text.splitlines():
        m = re.match(r"^(\s*)# ?(.*)$", line)
        if m and re.match(r"[a-z_]+:", m.group(2)):
            out.append(m.group(1) + m.group(2))
            blocks, inside = blocks + 1, True
        elif m and inside and m.group(2).startswith(" "):
            out.append(m.group(1) + m.group(2))
        else:
            out.append(line)
            inside = False
    return "\n".join(out) + "\n", blocks


def test_every_commented_block_of_the_example_is_valid_when_uncommented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, blocks = _uncomment((ROOT / "deploy" / "hospital.example.yaml").read_text(encoding="utf-8"))
    assert blocks >= 5  # segmentation, sigma, sensor, kafka, clickhouse
    path = tmp_path / "hospital.yaml"  # relative paths in the example resolve from here
    path.write_text(text, encoding="utf-8")
    (tmp_path / "rules").mkdir()
    monkeypatch.setenv("WARDWATCH_KAFKA_PASSWORD", "kafka-secret")
    monkeypatch.setenv("WARDWATCH_CLICKHOUSE_PASSWORD", "ch-secret")
    config = load_config(path)
    assert check_sections(config) == []  # every room's section, unknown keys at every level
    bus = bus_settings(config)
    assert bus is not None and bus.security.protocol == "SASL_SSL" and bus.security.username == "hospital-a"
    assert bus.security.client_options()["sasl_plain_password"] == "kafka-secret"
    store = load_store_settings(config)
    assert store.backend == "server" and store.options["password"] == "ch-secret" and store.options["secure"]
    assert "guest" in load_settings(config).zones.deny
