"""Issue 11, point 4: an output path that is an input (the same file, a symlink or a hard link to it)
is refused before anything is written, and a path that cannot be written is a clear error (exit 2),
never a traceback or an emptied capture."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest
from wardwatch.cli import main

from tests.conftest import testdata_path as _testdata
from wardwatch.outputs import OutputError, check_output, open_output, prepare_output_dir

pytestmark = pytest.mark.integration


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    # a copy: the shared test material is read-only to tests, and root could truncate it anyway
    dst = tmp_path / "evidence.pcap"
    shutil.copyfile(_testdata("dpkt", "dns_icmp.pcap"), dst)
    return dst


@pytest.fixture
def config(tmp_path: Path) -> Path:
    cfg = tmp_path / "hospital.yaml"
    cfg.write_text(
        "data_dir: var\nsegments:\n  - {name: his, cidrs: [10.0.0.0/8], zone: his, criticality: high}\n"
    )
    return cfg


def _aliases(capture: Path) -> dict[str, Path]:
    link = capture.with_name("link.pcap")
    link.symlink_to(capture.name)
    hard = capture.with_name("hard.pcap")
    os.link(capture, hard)
    dotted = capture.parent / "." / capture.name
    return {"same": capture, "symlink": link, "hardlink": hard, "dotted": dotted}


@pytest.mark.parametrize("alias", ["same", "symlink", "hardlink", "dotted"])
def test_sensor_refuses_an_input_as_out(
    capture: Path, alias: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = capture.read_bytes()
    out = _aliases(capture)[alias]
    rc = main(["sensor", "--pcap", str(capture), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert capture.read_bytes() == before  # not one byte lost
    vi, en = err.strip().splitlines()[-2:]
    assert "tệp đầu vào" in vi and "is the input" in en


@pytest.mark.parametrize("alias", ["same", "symlink", "hardlink"])
def test_detect_refuses_an_input_as_alerts_out(
    capture: Path, config: Path, alias: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = capture.read_bytes()
    out = _aliases(capture)[alias]
    rc = main(["detect", "--pcap", str(capture), "--config", str(config), "--alerts-out", str(out)])
    assert rc == 2
    assert capture.read_bytes() == before
    assert "is the input" in capsys.readouterr().err


def test_detect_refuses_its_config_as_alerts_out(
    capture: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = config.read_bytes()
    rc = main(["detect", "--pcap", str(capture), "--config", str(config), "--alerts-out", str(config)])
    assert rc == 2
    assert config.read_bytes() == before


@pytest.mark.parametrize("bad", ["folder", "missing-folder", "under-a-file"])
@pytest.mark.parametrize("command", ["sensor", "detect"])
def test_bad_output_path_is_a_clear_error(
    capture: Path, config: Path, tmp_path: Path, bad: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = {
        "folder": tmp_path,
        "missing-folder": tmp_path / "no-such-folder" / "out.json",
        "under-a-file": capture / "out.json",
    }[bad]
    argv = (
        ["sensor", "--pcap", str(capture), "--out", str(out)]
        if command == "sensor"
        else ["detect", "--pcap", str(capture), "--config", str(config), "--alerts-out", str(out)]
    )
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2
    assert "Traceback" not in err
    assert f"không ghi được {argv[-2]} {out}" in err
    assert f"cannot write {argv[-2]} {out}" in err


def test_a_distinct_output_is_written(
    capture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "records.json"
    out.write_bytes(b"stale content that must go\n" * 1000)
    assert main(["sensor", "--pcap", str(capture), "--out", str(out)]) == 0
    lines = out.read_bytes().splitlines()
    assert lines and all(line.startswith(b'{"_path":') for line in lines)


def test_synth_refuses_a_file_as_its_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "hospital.pcap"
    f.write_bytes(b"evidence")
    assert main(["synth", "--out", str(f)]) == 2
    assert f.read_bytes() == b"evidence"
    err = capsys.readouterr().err
    assert "đó là một tệp, cần một thư mục" in err and "it is a file, not a folder" in err


def test_no_permission_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (as root a chmod proves nothing, so the refusal the kernel would give is staged)
    def denied(*a: object, **k: object) -> int:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(OutputError, match="không có quyền ghi\ncannot write --out .*: permission denied"):
        open_output(tmp_path / "x.json", [], "--out")


def test_helper_opens_nothing_when_refusing(capture: Path) -> None:
    before = capture.stat()
    with pytest.raises(OutputError):
        check_output(capture, [capture])
    assert capture.stat().st_mtime_ns == before.st_mtime_ns
    assert open_output("-", [capture]) is not None  # stdout is always fine


def test_missing_input_still_guards_its_path(tmp_path: Path) -> None:
    # the reader reports a missing capture; the output must not be created under its name meanwhile
    ghost = tmp_path / "not-yet.pcap"
    with pytest.raises(OutputError):
        open_output(ghost, [ghost])
    assert not ghost.exists()


def test_prepare_output_dir_creates_it(tmp_path: Path) -> None:
    assert prepare_output_dir(tmp_path / "a" / "b").is_dir()
