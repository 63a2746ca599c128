"""The shipped example config must stay valid for every part that reads it."""

from __future__ import annotations

from wardwatch.detectors.engine import Engine
from wardwatch.detectors.settings import load_settings

from tests.conftest import ROOT
from wardwatch.config import load_config
from wardwatch.store.settings import load_store_settings


def test_example_config_loads_everywhere() -> None:
    config = load_config(ROOT / "deploy" / "hospital.example.yaml")
    assert {s.name for s in config.segments} >= {"his", "emr", "guest-wifi", "secret-lan"}
    assert {f.format for f in config.feeds} >= {"hosts", "ip-list", "spamhaus-drop"}
    assert load_settings(config).resolvers == frozenset({"10.40.0.53"})
    assert load_store_settings(config).retention.days["raw"] == 30
    engine = Engine.from_config(config, None)
    assert engine.detectors  # policy, behavioural and Sigma detectors are all built
