"""One config reader for every room (issue 11 point 17, issue 12 point 2): unknown keys at every level
are errors naming the file, line and closest valid key; a config missing segments or feeds runs with a
warning that says what will not be detected; the rooms declare their sections to the ground."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from wardwatch.cli import main
from wardwatch.cli.commands.sections import check_sections

import wardwatch.config as config_mod
from wardwatch.config import ConfigError, declare_section, parse_config, parse_duration, parse_size, setting

MINIMAL = """\
segments:
  - {name: icu, cidrs: [10.20.0.0/16], zone: clinical, criticality: high}
feeds:
  - {name: local, path: feeds/local.txt, format: domains}
"""


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "segmnts:\n  - {name: icu, cidrs: [10.0.0.0/8]}\n",
            "c.yaml:1: segmnts: unknown key (did you mean 'segments'?",
        ),
        ("allowlst: [hospital.vn]\n", "c.yaml:1: allowlst: unknown key (did you mean 'allowlist'?"),
        ("detector:\n  noise: {window: 5m}\n", "c.yaml:1: detector: unknown key (did you mean 'detectors'?"),
        ("segments: []\ndata_dri: var\n", "c.yaml:2: data_dri: unknown key (did you mean 'data_dir'?"),
        ("archive: {week: 1}\n", "c.yaml:1: archive: unknown key (expected one of"),
    ],
)
def test_unknown_top_level_keys_are_errors_with_the_closest_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_config(text, Path("/tmp/c.yaml"))
    assert str(e.value).startswith(expected), str(e.value)


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "feeds:\n  - {name: a, path: x, format: hosts, refesh: 1h}\n",
            "c.yaml:2: feeds[0].refesh: unknown key (did you mean 'refresh'?",
        ),
        (
            "segments:\n  - name: a\n    cidrs: [10.0.0.0/8]\n    zon: his\n",
            "c.yaml:4: segments[0].zon: unknown key (did you mean 'zone'?",
        ),
        (
            "detectors:\n  segmentaton: {enabled: false}\n",
            "c.yaml:2: detectors.segmentaton: unknown key (did you mean 'segmentation'?",
        ),
        (
            "detectors:\n  noise:\n    windw: 5m\n",
            "c.yaml:3: detectors.noise.windw: unknown key (did you mean 'window'?",
        ),
        (
            "detectors:\n  dga: {min_name: 3}\n",
            "c.yaml:2: detectors.dga.min_name: unknown key (did you mean 'min_names'?",
        ),
        (
            "detectors:\n  sigma: {enabled: true}\n  sigmaa: {}\n",
            "c.yaml:3: detectors.sigmaa: unknown key (did you mean 'sigma'?",
        ),
        (
            "store:\n  retension: {raw: 7d}\n",
            "c.yaml:2: store.retension: unknown key (did you mean 'retention'?",
        ),
        (
            "store:\n  retention: {rwa: 7d}\n",
            "c.yaml:2: store.retention.rwa: unknown key (did you mean 'raw'?",
        ),
        (
            "store:\n  pseudonymise: {keyfile: k}\n",
            "c.yaml:2: store.pseudonymise.keyfile: unknown key (did you mean 'key_file'?",
        ),
        (
            "clickhouse:\n  url: clickhouse://h:9000/db\n  usr: u\n",
            "c.yaml:3: clickhouse.usr: unknown key (did you mean 'user'?",
        ),
        (
            "kafka:\n  bootstrap: 'h:9092'\n  securty: {protocol: SSL}\n",
            "c.yaml:3: kafka.securty: unknown key (did you mean 'security'?",
        ),
        (
            "kafka:\n  bootstrap: 'h:9092'\n  security:\n    protocl: SSL\n",
            "c.yaml:4: kafka.security.protocl: unknown key (did you mean 'protocol'?",
        ),
        ("sensor:\n  wokers: 2\n", "c.yaml:2: sensor.wokers: unknown key (did you mean 'workers'?"),
        (
            "sensor:\n  flows:\n    tcp_inactivty: 60\n",
            "c.yaml:3: sensor.flows.tcp_inactivty: unknown key (did you mean 'tcp_inactivity'?",
        ),
    ],
)
def test_unknown_keys_at_every_level_name_file_line_and_closest_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as e:
        check_sections(parse_config(MINIMAL + text, Path("/tmp/c.yaml")))
    line, rest = expected.split(":", 2)[1:]
    expected = f"c.yaml:{int(line) + MINIMAL.count(chr(10))}:{rest}"
    assert str(e.value).startswith(expected), str(e.value)


def test_a_config_without_segments_or_feeds_runs_with_a_warning_of_what_is_missed() -> None:
    assert check_sections(parse_config(MINIMAL, Path("/tmp/c.yaml"))) == []
    warnings = check_sections(parse_config("", Path("/tmp/c.yaml")))
    assert len(warnings) == 2
    segments, feeds = warnings
    # Vietnamese first, then English, each saying what will not be detected
    assert segments.index("phân vùng") < segments.index(" · ") < segments.index("no segments")
    assert "segmentation" in segments and "air-gap" in segments
    assert feeds.index("nguồn tin") < feeds.index(" · ") < feeds.index("no threat feeds")
    assert "known malicious domains and addresses will not be detected" in feeds
    disabled = MINIMAL.replace("format: domains}", "format: domains, enabled: false}")
    assert ["no threat feeds" in w for w in check_sections(parse_config(disabled, Path("/tmp/c.yaml")))] == [
        True
    ]


def test_detect_and_run_print_the_warnings(
    tmp_path: Path, testdata: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pcap = testdata / "dpkt" / "dns_icmp.pcap"
    cfg = tmp_path / "empty.yaml"
    cfg.write_text("data_dir: var\n")
    assert (
        main(["detect", "--pcap", str(pcap), "--config", str(cfg), "--alerts-out", str(tmp_path / "a.json")])
        == 0
    )
    err = capsys.readouterr().err
    assert "wardwatch detect: empty.yaml: chưa khai báo phân vùng mạng (segments)" in err
    assert "no threat feeds" in err
    cfg.write_text("data_dir: var\nsegmnts: []\n")
    assert main(["run", "--pcap", str(pcap), "--config", str(cfg), "--quiet"]) == 2
    assert "empty.yaml:2: segmnts: unknown key (did you mean 'segments'?" in capsys.readouterr().err


def test_detect_checks_the_store_section_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(MINIMAL + "store: {batch_rows: many}\n")
    assert main(["detect", "--pcap", str(tmp_path / "none.pcap"), "--config", str(cfg)]) == 2
    assert "c.yaml:5: store.batch_rows: expected an integer" in capsys.readouterr().err


def test_the_sensor_settings_are_reachable_from_the_config() -> None:
    from wardwatch.ingest.sensor import SensorConfig, sensor_config

    c = parse_config(
        "sensor:\n  workers: 2\n  flows: {tcp_inactivity: 600}\n  dns: {udp_ports: [53, 5353]}\n",
        Path("/tmp/c.yaml"),
    )
    s = sensor_config(c)
    assert (s.workers, s.flows.tcp_inactivity, s.dns.udp_ports) == (2, 600.0, frozenset({53, 5353}))
    assert s.decode == SensorConfig().decode
    assert sensor_config(parse_config("", Path("/tmp/c.yaml"))) == SensorConfig()
    with pytest.raises(ConfigError, match=r"c.yaml:2: sensor.workers: expected an integer"):
        sensor_config(parse_config("sensor:\n  workers: many\n", Path("/tmp/c.yaml")))


def test_one_duration_and_one_size_parser_for_every_room() -> None:
    assert [parse_duration(v) for v in (30, "250ms", "5m", "6h", "1d", "2w", "1y", "soon", -1, True)] == [
        30.0, 0.25, 300.0, 21600.0, 86400.0, 1209600.0, 31536000.0, None, None, None,
    ]  # fmt: skip
    assert [parse_size(v) for v in (512, "1k", "10MB", "1MiB", "2G", "1GiB", "big", True)] == [
        512, 1000, 10_000_000, 1 << 20, 2_000_000_000, 1 << 30, None, None,
    ]  # fmt: skip
    from wardwatch.bus.settings import bus_settings
    from wardwatch.detectors.settings import load_settings

    # the same spellings in every room (the detectors' reader took no ms, the bus's no days)
    c = parse_config(
        MINIMAL + "detectors: {noise: {window: 250ms}}\nkafka: {bootstrap: 'h:1', linger: 1d}\n",
        Path("/tmp/c.yaml"),
    )
    assert load_settings(c).window == 0.25
    bus = bus_settings(c)
    assert bus is not None and bus.linger == 86400.0


def test_feed_formats_are_the_threatfeeds_parsers() -> None:
    from wardwatch.threatfeeds.formats import FORMATS

    assert tuple(FORMATS) == config_mod.FEED_FORMATS


def test_a_room_declares_a_new_section_the_same_way(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_mod, "_SECTIONS", dict(config_mod._SECTIONS))
    monkeypatch.setattr(config_mod, "_SECTIONS_TOP", set(config_mod._SECTIONS_TOP))

    @dataclass(frozen=True)
    class ReportSection:
        lang: str = setting("vi", choices=("vi", "en"))
        every: float = setting(7 * 86400.0, kind="duration")

    text = "archive:\n  lang: en\n  every: 1d\n"
    with pytest.raises(ConfigError, match="archive: unknown key"):
        parse_config(text, Path("/tmp/c.yaml"))
    declare_section("archive", ReportSection)
    c = parse_config(text, Path("/tmp/c.yaml"))
    assert c.section("archive") == ReportSection("en", 86400.0)
    with pytest.raises(ConfigError, match=r"c.yaml:2: archive.lang: unknown lang 'fr'"):
        check_sections(parse_config("archive:\n  lang: fr\n", Path("/tmp/c.yaml")))
