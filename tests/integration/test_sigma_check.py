"""Our rule pack passes ``sigma check`` (sigma-cli, which pins pySigma < 2, so it lives in its own
environment: ``SIGMA_CLI`` names the executable, else ``sigma`` on PATH); and ``wardwatch rules``
reports loaded, rejected and per-rule hits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from wardwatch.sigmarules import BUILTIN_RULES

pytestmark = pytest.mark.integration


def _sigma_cli() -> str:
    exe = os.environ.get("SIGMA_CLI") or shutil.which("sigma")
    if not exe:
        pytest.skip("sigma-cli not installed (set SIGMA_CLI to its executable)")
    return exe


def test_rule_pack_passes_sigma_check() -> None:
    proc = subprocess.run([_sigma_cli(), "check", "-x", "attacktag", "-x", "d3_fendtag", str(BUILTIN_RULES)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Found 0 errors, 0 condition errors and 0 issues" in proc.stdout


def test_sigma_check_catches_a_broken_rule(tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text("title: x\nlogsource: {category: dns}\ndetection:\n  sel: {query: a}\n"
                                      "  condition: sel and nothere\n")  # fmt: skip
    proc = subprocess.run([_sigma_cli(), "check", "-x", "attacktag", "-x", "d3_fendtag", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode != 0 or "0 errors, 0 condition errors and 0 issues" not in proc.stdout


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wardwatch.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_rules_list_and_check(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "ok.yml").write_text("title: ok\nid: 40000000-0000-4000-8000-000000000001\nlogsource: {category: dns}\n"
                                  "detection:\n  sel: {QueryName|endswith: .evil}\n  condition: sel\n")  # fmt: skip
    (extra / "win.yml").write_text("title: win\nid: 40000000-0000-4000-8000-000000000002\n"
                                   "logsource: {product: windows, category: process_creation}\n"
                                   "detection:\n  sel: {Image|endswith: cmd.exe}\n  condition: sel\n")  # fmt: skip
    cfg = tmp_path / "c.yaml"
    cfg.write_text("segments:\n  - {name: icu, cidrs: [10.20.0.0/16], zone: clinical}\n"
                   "detectors:\n  sigma:\n    rules: [extra]\n")  # fmt: skip
    recs = tmp_path / "r.jsonl"
    lines = [{"_path": "dns", "ts": 1.0 + i, "id.orig_h": "10.20.0.5", "id.resp_h": "10.40.0.53",
              "query": q} for i, q in enumerate(["a.evil", "b.EVIL", "wetransfer.com", "ok.vn"])]  # fmt: skip
    recs.write_text("".join(json.dumps(x) + "\n" for x in lines))
    proc = _cli("rules", "list", "--config", str(cfg), "--records", str(recs), "--json")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(x) for x in proc.stdout.splitlines()]
    hits = {r["title"]: r["hits"] for r in rows if r["status"] == "loaded"}
    assert hits["ok"] == 2
    assert hits["File-Sharing Service Looked Up from a Clinical Zone"] == 1
    assert hits["DNS Lookup of a Remote-Access Tool Service"] == 0
    (rej,) = [r for r in rows if r["status"] == "rejected"]
    assert "log source" in rej["reason"]
    proc = _cli("rules", "check", "--config", str(cfg))
    assert proc.returncode == 1
    assert "REJECTED" in proc.stdout and "process_creation" in proc.stdout
