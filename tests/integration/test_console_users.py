"""``wardwatch users`` on the store directly (no service running): add with a strong password and a
TOTP secret, refuse weak passwords and unknown accounts with exit 2, change password, disable, new
TOTP secret, role, list; each change a ``console_audit`` row."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("chdb")

pytestmark = pytest.mark.integration
PASSWORD = "Ch4m-soc-benh-nhan!"


def _users(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wardwatch.cli", "users", *args, "--config", str(config)],
        input=stdin, capture_output=True, text=True, timeout=120, cwd=config.parent,
    )  # fmt: skip


def test_users_command_on_the_store(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"data_dir: {tmp_path / 'var'}\n")
    added = _users(config, "add", "lan", "--role", "analyst", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("otpauth://totp/wardwatch:lan?secret=")
    assert "Đã tạo tài khoản lan" in added.stderr and "Account lan (analyst) created" in added.stderr
    again = _users(config, "add", "lan", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode == 2 and "exists" in again.stderr
    weak = _users(config, "passwd", "lan", "--password-stdin", stdin="matkhau123\n")
    assert weak.returncode == 2 and "12" in weak.stderr and "Traceback" not in weak.stderr
    assert _users(config, "passwd", "lan", "--password-stdin", stdin="Khac-Hoan-Toan-9\n").returncode == 0
    secret = added.stdout.split("secret=")[1].split("&")[0]
    totp = _users(config, "totp", "lan")
    assert totp.returncode == 0 and secret not in totp.stdout and "secret=" in totp.stdout
    assert _users(config, "role", "lan", "viewer").returncode == 0
    assert _users(config, "disable", "lan").returncode == 0
    missing = _users(config, "disable", "nobody")
    assert missing.returncode == 2 and "no account nobody" in missing.stderr
    listed = _users(config, "list", "--json")
    assert listed.returncode == 0
    (doc,) = [json.loads(x) for x in listed.stdout.splitlines()]
    assert doc["name"] == "lan" and doc["role"] == "viewer" and doc["disabled"] is True
    # `wardwatch query` refuses these two tables (store.schema.PRIVATE_TABLES): read the store itself
    refused = subprocess.run(
        [sys.executable, "-m", "wardwatch.cli", "query", "--config", str(config), "SELECT * FROM console_users"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode != 0 and "console_users" in refused.stderr and "$argon2" not in refused.stdout
    from wardwatch.store import open_store

    from wardwatch.config import load_config

    store = open_store(load_config(config), create=False)
    try:
        audit = store.rows("SELECT action FROM console_audit WHERE target = 'lan' ORDER BY ts")
        rows = store.rows("SELECT totp, password FROM console_users")
    finally:
        store.close()
    actions = [r["action"] for r in audit]
    assert actions == ["user_add", "user_passwd", "user_totp", "user_role", "user_disable"]
    assert rows and all(r["totp"].startswith("v1:") and secret not in r["totp"] for r in rows)  # sealed
    assert all(r["password"].startswith("$argon2id$") for r in rows)
    assert (tmp_path / "var" / "console.key").stat().st_mode & 0o077 == 0
