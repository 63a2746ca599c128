"""The synthetic hospital capture through sensor → detectors: every injected attack is reported with
its category, src_ip and indicator; normal traffic raises nothing; a SPAN-style duplicate of every
packet gives the same alerts; the generator is deterministic."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest

from wardwatch.alerts import Alert
from wardwatch.cli import main
from wardwatch.commands.detect import detect_alerts
from wardwatch.config import load_config
from wardwatch.synth import generate

THIS_ISSUE = {
    "threat_feed_domain", "threat_feed_ip", "policy_remote_access", "policy_ott", "policy_plaintext",
    "policy_weak_password", "policy_segmentation", "policy_airgap", "policy_dns_bypass",
}  # fmt: skip


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("synth")
    generate(out, seed=7, sessions=500, duplicate=True)
    return generate(out, seed=7, sessions=500)


def _alerts(pcap: Path, config: Path) -> list[Alert]:
    return [a for batch in detect_alerts([pcap], load_config(config)) for a in batch]


@pytest.fixture(scope="module")
def alerts(synth) -> list[Alert]:
    return _alerts(synth.pcap, synth.config)


def test_every_injected_attack_is_reported(synth, alerts: list[Alert]) -> None:
    got = {(a.category, a.src_ip, a.indicator) for a in alerts}
    assert {a["category"] for a in synth.attacks} == THIS_ISSUE
    missing = [a for a in synth.attacks if (a["category"], a["src_ip"], a["indicator"]) not in got]
    assert missing == []
    rules = {(a.category, a.src_ip, a.indicator): a.rule for a in alerts}
    assert all(rules[(a["category"], a["src_ip"], a["indicator"])] == a["rule"] for a in synth.attacks)


def test_normal_traffic_raises_nothing(synth, alerts: list[Alert]) -> None:
    injected = {(a["category"], a["src_ip"], a["indicator"]) for a in synth.attacks}
    extra = [a.to_dict() for a in alerts if (a.category, a.src_ip, a.indicator) not in injected]
    assert extra == []
    assert len(alerts) == len(injected)


def test_alert_records_are_complete(alerts: list[Alert]) -> None:
    for a in alerts:
        d = orjson.loads(a.to_json())
        assert d["severity"] in ("low", "medium", "high", "critical")
        assert d["summary"]["vi"] and d["summary"]["en"] and d["directive"] and d["mitre"]
        assert d["segment"] or d["src_ip"].startswith(("203.0.113.", "5.188.10."))
    by_src = {a.src_ip: a for a in alerts}
    assert by_src["10.20.0.31"].segment == "wards"
    assert by_src["172.16.1.23"].dst_segment == "his"


def test_duplicate_packets_give_the_same_alerts(synth, alerts: list[Alert]) -> None:
    dup = _alerts(synth.pcap.with_name("hospital-dup.pcap"), synth.config)

    def norm(al: list[Alert]) -> list[dict]:
        out = []
        for a in al:
            d = a.to_dict()
            d["last_seen"] = round(d["last_seen"], 3)  # the copy is 1 µs later
            out.append(d)
        return out

    assert norm(dup) == norm(alerts)


def test_generator_is_deterministic(synth, tmp_path: Path) -> None:
    again = generate(tmp_path, seed=7, sessions=500)
    digest = lambda p: hashlib.sha256(Path(p).read_bytes()).hexdigest()  # noqa: E731
    assert digest(again.pcap) == digest(synth.pcap)
    assert again.attacks == synth.attacks
    other = generate(tmp_path / "other", seed=8, sessions=500)
    assert digest(other.pcap) != digest(synth.pcap)


def test_cli_detect_writes_json_lines(synth, tmp_path: Path, alerts: list[Alert]) -> None:
    out = tmp_path / "alerts.jsonl"
    assert (
        main(["detect", "--pcap", str(synth.pcap), "--config", str(synth.config), "--alerts-out", str(out)])
        == 0
    )
    lines = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    assert [x["uid"] for x in lines] == [a.uid for a in alerts]


def test_cli_detect_reports_config_errors(tmp_path: Path, synth, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("segments:\n  - {name: x, cidrs: [10.0.0.0/8], zone: nowhere}\n")
    assert main(["detect", "--pcap", str(synth.pcap), "--config", str(bad)]) == 2
    assert "bad.yaml:2: segments[0].zone: unknown zone 'nowhere'" in capsys.readouterr().err
