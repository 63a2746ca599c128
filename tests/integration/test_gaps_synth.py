"""Issue 19's regression guard: the synthetic hospital's normal traffic raises no new alert with the
new rules (the fast-beacon guard, the DGA volume rule, the tunnel bytes rule, segmentation's per-service
alerts, two findings per weak cleartext login), on seeds and sizes other than
tests/integration/test_detect_synth.py's: every alert is one the generator injected on purpose."""

from __future__ import annotations

import pytest
from wardwatch.cli.commands.detect import detect_alerts
from wardwatch.tools.synth import generate

from wardwatch.config import load_config

from .test_detect_synth import _explained


@pytest.mark.parametrize(("seed", "sessions"), [(11, 1500), (23, 3000)])
def test_normal_traffic_raises_no_new_alert(tmp_path, seed: int, sessions: int) -> None:
    synth = generate(tmp_path, seed=seed, sessions=sessions)
    alerts = [a for b in detect_alerts([synth.pcap], load_config(synth.config)) for a in b]
    exact, loose = _explained(synth)
    extra = [
        (a.category, a.src_ip, a.indicator, a.rule)
        for a in alerts
        if (a.category, a.src_ip, a.indicator) not in exact
        and a.indicator not in loose.get((a.category, a.src_ip), ())
    ]
    assert extra == []
    assert {a.category for a in alerts} >= {"policy_plaintext", "policy_weak_password", "beacon", "dga"}
