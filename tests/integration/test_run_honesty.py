"""What `wardwatch run`, `detect` and `synth` tell the operator (issue 11, points 1, 3, 18 and 19): synth
needs no test tool, the summary reads one language a line with the most critical segments first and no
counter dump, a Kafka that cannot be reached is reported as such (records spooled, where, how to send
them) and quickly, and detect refuses what run refuses and names a Sigma rule that did not load."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import yaml

pytest.importorskip("chdb")

from wardwatch.cli import main  # noqa: E402
from wardwatch.tools.synth import generate  # noqa: E402

VI = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹáàãéèíìóòõúùý]", re.I)


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return generate(tmp_path_factory.mktemp("honesty"), seed=3, sessions=40)


def _config(synth, dest: Path, **extra: object) -> Path:  # type: ignore[no-untyped-def]
    cfg = yaml.safe_load(Path(synth.config).read_text())
    cfg["data_dir"] = str(dest.parent / f"{dest.stem}-var")
    cfg.update(extra)
    dest.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_synth_runs_without_scapy(tmp_path: Path) -> None:
    # scapy is a test tool; the demo's first step must work where only `pip install .` ran
    code = (
        "import sys; sys.modules['scapy'] = None\n"
        "from wardwatch.cli import main\n"
        f"sys.exit(main(['synth', '--out', {str(tmp_path / 'out')!r}, '--sessions', '10']))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tmp_path / "out" / "hospital.pcap").stat().st_size > 10_000


def test_run_summary_is_bilingual_sorted_and_without_counter_dump(
    synth, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    cfg = _config(synth, tmp_path / "embedded.yaml")
    assert main(["run", "--quiet", "--pcap", str(synth.pcap), "--config", str(cfg)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert not [x for x in lines if x.lstrip().startswith("{")]  # no JSON in the middle of the text
    assert "counters" not in err
    # sentences come as a Vietnamese line then its English line, never both in one line
    row = re.compile(r"  \S+ +[\d,]+ +[\d,]+ ")  # a segment's numbers: no language
    prose = [x for x in lines if not row.match(x)]
    assert len(prose) % 2 == 0
    for vi, en in zip(prose[::2], prose[1::2], strict=True):
        assert VI.search(vi), vi
        assert not VI.search(en), en
    rows = [x.split()[0] for x in lines if row.match(x)]
    assert rows[0] == "emr"  # HIS/EMR first (his has no traffic in this capture)
    crit = {"emr": 0, "secret-lan": 1, "wards": 2, "servers": 2, "office": 3, "guest-wifi": 4, "internet": 5}
    assert [crit[r] for r in rows] == sorted(crit[r] for r in rows)

    # the numbers stay available for scripts, on stdout
    assert main(["run", "--quiet", "--json", "--pcap", str(synth.pcap), "--config", str(cfg)]) == 0
    out, _ = capsys.readouterr()
    data = orjson.loads(out)
    assert data["records"] > 0 and "counters" in data


def test_unreachable_kafka_is_reported_as_spooled_not_stored(
    synth, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    port = _closed_port()
    cfg = _config(
        synth, tmp_path / "kafka.yaml", kafka={"bootstrap": f"127.0.0.1:{port}", "spool_after": "200ms"}
    )
    spool = tmp_path / "kafka-var" / "spool"
    assert main(["run", "--quiet", "--json", "--pcap", str(synth.pcap), "--config", str(cfg)]) == 1
    out, err = capsys.readouterr()
    data = orjson.loads(out)
    sent = data["records"] + data["alerts"]
    assert "stored" not in err.replace("not stored", "")
    assert f"kafka://127.0.0.1:{port}" in err
    assert f"({sent:,} records and alerts) were NOT delivered" in err
    assert f"({sent:,} bản ghi và cảnh báo) chưa được gửi" in err
    assert str(spool) in err and any(spool.glob("*.seg"))
    assert f"wardwatch run --drain --config {cfg}" in err

    # --drain with the broker still away: says the same, and keeps everything
    assert main(["run", "--drain", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert f"({sent:,} records and alerts) were NOT delivered" in err


def test_detect_refuses_the_store_section_run_refuses(
    synth, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    cfg = _config(synth, tmp_path / "bad-store.yaml", clickhouse={"url": "ftp://example.org/db"})
    out = tmp_path / "alerts.json"
    assert main(["run", "--quiet", "--pcap", str(synth.pcap), "--config", str(cfg)]) == 2
    run_err = capsys.readouterr().err
    assert main(["detect", "--pcap", str(synth.pcap), "--config", str(cfg), "--alerts-out", str(out)]) == 2
    detect_err = capsys.readouterr().err
    assert "clickhouse.url" in run_err and "clickhouse.url" in detect_err
    assert not out.exists()


@pytest.mark.parametrize("command", ["detect", "run"])
def test_a_custom_sigma_rule_that_fails_to_load_is_named(
    synth, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "my-rule.yml"
    bad.write_text("title: broken\nlogsource: {product: wardwatch, service: dns}\ndetection: [oops\n")
    cfg = yaml.safe_load(Path(synth.config).read_text())
    cfg.setdefault("detectors", {})["sigma"] = {"rules": [str(bad)]}
    cfg["data_dir"] = str(tmp_path / "var")
    path = tmp_path / "sigma.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    args = ["--pcap", str(synth.pcap), "--config", str(path)]
    args += ["--alerts-out", str(tmp_path / "a.json")] if command == "detect" else ["--quiet"]
    assert main([command, *args]) == 0
    err = capsys.readouterr().err
    vi = [x for x in err.splitlines() if "không được nạp" in x]
    en = [x for x in err.splitlines() if "was not loaded" in x]
    assert len(vi) == len(en) == 1
    assert str(bad) in vi[0] and str(bad) in en[0]
