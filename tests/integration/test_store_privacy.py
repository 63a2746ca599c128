"""Personal data at rest (issue 11, points 8 and 11): after `wardwatch run` on the synthetic hospital
with `store: {pseudonymise: true}`, no stored column of any table holds an internal address in clear
(records, rollups, passive DNS, alerts' texts and evidence), and nothing under data_dir is readable by
group or others, although the test process runs with umask 022."""

from __future__ import annotations

import ipaddress
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("chdb")

from wardwatch.store import Store, open_store, segment_lookup  # noqa: E402

from wardwatch.config import load_config  # noqa: E402

_V4 = re.compile(r"(?<![0-9.])(?:\d{1,3}\.){3}\d{1,3}(?![0-9])")
_PTR = re.compile(r"((?:\d{1,3}\.){4})in-addr\.arpa", re.I)


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("privacy")
    old = os.umask(0o022)  # the usual umask: files would be 0644 unless wardwatch says otherwise
    try:
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        for args in (
            ["synth", "--out", str(out / "syn"), "--sessions", "60"],
            ["run", "--quiet", "--pcap", str(out / "syn" / "hospital.pcap"), "--config", str(out / "c.yaml")],
        ):
            if args[0] == "run":
                cfg = (out / "syn" / "hospital.yaml").read_text()
                (out / "c.yaml").write_text(cfg + "\nstore: {pseudonymise: true}\n")
            r = subprocess.run(
                [sys.executable, "-m", "wardwatch.cli", *args],
                capture_output=True,
                text=True,
                env=env,
                timeout=300,
            )
            assert r.returncode == 0, r.stderr
    finally:
        os.umask(old)
    yield out


@pytest.fixture(scope="module")
def store(hospital: Path) -> Iterator[Store]:
    s = open_store(load_config(hospital / "c.yaml"), create=False)
    yield s
    s.close()


def _text_columns(store: Store) -> dict[str, list[str]]:
    rows = store.rows(
        "SELECT table, name, type FROM system.columns WHERE database = currentDatabase() ORDER BY table, position"
    )
    out: dict[str, list[str]] = {}
    for r in rows:
        if re.search(r"String|IPv6|IPv4|Map|Array", r["type"]):
            out.setdefault(r["table"], []).append(r["name"])
    return out


def _clear_addresses(text: str, internal: Any) -> set[str]:
    found = {ip for ip in _V4.findall(text) if _ok(ip) and internal(ip)}
    found |= {
        ip
        for ip in (".".join(reversed(m.rstrip(".").split("."))) for m in _PTR.findall(text))
        if _ok(ip) and internal(ip)
    }
    return found


def _ok(ip: str) -> bool:
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return False
    return ip not in ("0.0.0.0",)


def test_no_internal_address_is_stored_in_clear(hospital: Path, store: Store) -> None:
    _, internal = segment_lookup(store.config)  # type: ignore[arg-type]
    columns = _text_columns(store)
    assert {"dns", "conn", "tls", "http", "login", "alerts", "pdns", "talkers_minute"} <= set(columns)
    leaks: dict[str, set[str]] = {}
    scanned = 0
    for table, cols in columns.items():
        sel = ", ".join(f"toString(`{c}`) AS `{c}`" for c in cols)
        for row in store.rows(f"SELECT {sel} FROM `{table}`"):
            for col, value in row.items():
                scanned += 1
                hit = _clear_addresses(value or "", internal)
                if hit:
                    leaks.setdefault(f"{table}.{col}", set()).update(hit)
    assert scanned > 5000
    assert not leaks, leaks
    # what pseudonymising must keep working: the segments, one pseudonym per host, internet servers
    alerts = store.rows("SELECT segment, toString(src_ip) AS s, summary FROM alerts")
    assert alerts and {a["segment"] for a in alerts} >= {"wards", "office"}
    assert all(a["s"].startswith("fd") for a in alerts if a["segment"] not in ("internet",))
    quoted = [a for a in alerts if a["s"] in a["summary"]["en"]]
    assert quoted, "the summary names the client by the same pseudonym as src_ip"
    assert (
        store.rows("SELECT count() AS n FROM conn WHERE NOT startsWith(toString(id_resp_h), 'fd')")[0]["n"]
        > 0
    )


def test_nothing_under_data_dir_is_open_to_others(hospital: Path, store: Store) -> None:
    data_dir = hospital / "syn" / "var"
    assert (data_dir / "store" / "wardwatch.pid").exists() and (data_dir / "pseudonym.key").exists()
    open_modes = []
    checked = 0
    for root, dirs, files in os.walk(data_dir):
        for name in [*dirs, *files]:
            p = Path(root) / name
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                continue  # (chdb links tables to their folders; a link's own mode means nothing)
            checked += 1
            if stat.S_IMODE(st.st_mode) & 0o077:
                open_modes.append(f"{stat.S_IMODE(st.st_mode):04o} {p.relative_to(data_dir)}")
    assert checked > 50
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert not open_modes, open_modes
