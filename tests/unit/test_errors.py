"""One error base (issue 12): every exception class the project defines derives from WardwatchError,
and the CLI turns one into its message and exit code, never a traceback."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import wardwatch
from wardwatch.errors import UsageError, WardwatchError


def _modules():
    from tests.unit.test_layout import ROOMS

    for package in ROOMS:
        top = importlib.import_module(package)
        yield top
        # each room is mapped to its folder, so walk every room's own path, not only the ground's
        for info in pkgutil.walk_packages(top.__path__, package + "."):
            if info.name.endswith("__main__") or info.name.rsplit(".", 1)[-1].count(".") or (
                package == "wardwatch" and info.name.split(".")[1] in {p.split(".")[1] for p in ROOMS if "." in p}
            ):
                continue
            yield importlib.import_module(info.name)


def test_every_project_exception_derives_from_the_one_base():
    strays = []
    seen = 0
    for mod in _modules():
        for name, obj in vars(mod).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == mod.__name__:
                seen += 1
                if not issubclass(obj, WardwatchError):
                    strays.append(f"{mod.__name__}.{name}")
    assert seen > 20  # the walk really found the project's errors, in every room
    assert strays == []


def test_exit_codes():
    from wardwatch.config import ConfigError

    assert issubclass(ConfigError, UsageError) and ConfigError("x").exit_code == 2
    assert WardwatchError("x").exit_code == 1
    # the built-in base each had before still catches it
    assert issubclass(ConfigError, ValueError)


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "wardwatch.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_config_error_is_a_message_and_exit_2(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("segmnts: []\n")
    r = _cli("query", "--config", str(cfg), "SELECT 1")
    assert r.returncode == 2
    assert "segmnts" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("where", [["--version"], ["sensor", "--version"]])
def test_version_anywhere(where):
    r = _cli(*where)
    assert r.returncode == 0
    assert r.stdout.strip() == f"wardwatch {wardwatch.__version__}"


def test_verbose_after_the_command(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("segmnts: []\n")
    r = _cli("query", "--config", str(cfg), "-v", "SELECT 1")
    assert "unrecognized arguments" not in r.stderr
    assert r.returncode == 2
