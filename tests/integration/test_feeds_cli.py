"""``wardwatch feeds …`` end to end, offline, on the sample feeds."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import orjson
import pytest
from wardwatch.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "feeds"


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    p = tmp_path / "hospital.yaml"
    p.write_text(
        f"""data_dir: state
feeds:
  - {{name: tf, path: {DATA / "threatfox.csv"}, format: threatfox-csv, tags: [abuse.ch]}}
  - {{name: doms, path: {DATA / "domains.txt"}, format: domains, confidence: 60, min_valid: 0.2}}
  - {{name: drop, path: {DATA / "spamhaus-drop.txt"}, format: spamhaus-drop}}
allowlist:
  - ok.bad.example
"""
    )
    return p


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict]]:
    rc = main(list(argv))
    out = capsys.readouterr().out
    return rc, [orjson.loads(line) for line in out.splitlines()]


def test_check(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, lines = run(
        capsys,
        "feeds",
        "check",
        "--config",
        str(cfg),
        "cdn.bad.example",
        "notbad.example",
        "x.ok.bad.example",
        "185.220.101.4",
        "1.10.16.5",
        "http://c2-panel.example/x",
    )
    assert rc == 0
    assert [(x["input"], x["match"]) for x in lines] == [
        ("cdn.bad.example", True),
        ("notbad.example", False),
        ("x.ok.bad.example", False),
        ("185.220.101.4", True),
        ("1.10.16.5", True),
        ("http://c2-panel.example/x", True),
    ]
    first = lines[0]
    assert first["indicator"] == "bad.example" and first["feeds"] == ["doms"] and first["confidence"] == 60
    assert lines[1] == {"input": "notbad.example", "match": False, "indicator": None, "feeds": []}
    assert lines[2]["allowlisted"] == {"entry": "ok.bad.example", "source": "config"}
    assert lines[3]["threats"] == ["Cobalt Strike"] and "abuse.ch" in lines[3]["tags"]
    assert lines[4]["indicator"] == "1.10.16.0/20" and lines[4]["references"] == ["SBL256894"]


def test_check_stdin(cfg: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("bad.example.vn\n\nEVIL-CDN.example.\n"))
    rc, lines = run(capsys, "feeds", "check", "--config", str(cfg), "-")
    assert [x["match"] for x in lines] == [False, True]


def test_update_list_stats(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, lines = run(capsys, "feeds", "update", "--config", str(cfg))
    assert rc == 0 and {x["status"] for x in lines} == {"updated"}
    rc, lines = run(capsys, "feeds", "list", "--config", str(cfg))
    assert [x["feed"] for x in lines] == ["tf", "doms", "drop"] and all(x["snapshot"] for x in lines)
    rc, lines = run(capsys, "feeds", "stats", "--config", str(cfg))
    by = {x.get("feed"): x for x in lines}
    assert by["doms"]["rejected_by"]["public-suffix"] == 2
    assert by["drop"]["rejected_by"] == {"huge-cidr": 1}
    assert lines[-1]["index"]["domains"] == 5


def test_config_error_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("feeds:\n  - {name: x, path: y, format: csvv}\n")
    assert main(["feeds", "stats", "--config", str(p)]) == 2
    assert "bad.yaml:2: feeds[0].format: unknown format 'csvv'" in capsys.readouterr().err
