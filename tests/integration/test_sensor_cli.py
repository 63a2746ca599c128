"""End to end through the real CLI: ``python -m wardwatch.cli sensor`` on a generated mixed capture.

The generator's sidecar says how many DNS transactions and connections it produced; the sensor
must report exactly those, in Zeek's field names.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKETS = 6000  # big enough for every kind of traffic, scans included

pytestmark = pytest.mark.integration

ID_FIELDS = {"id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"}
# Field names as Zeek's JSON writer prints them (base scripts plus the common policy additions).
CONN_FIELDS = ID_FIELDS | {
    "ts", "uid", "proto", "service", "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig",
    "local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
    "tunnel_parents", "ip_proto", "vlan", "inner_vlan", "orig_l2_addr", "resp_l2_addr", "community_id",
    "id.ctx.vlan", "id.ctx.inner_vlan", "orig_cc", "resp_cc", "speculative_service",
}  # fmt: skip
DNS_FIELDS = ID_FIELDS | {
    "ts", "uid", "proto", "trans_id", "rtt", "query", "qclass", "qclass_name", "qtype", "qtype_name",
    "rcode", "rcode_name", "AA", "TC", "RD", "RA", "Z", "answers", "TTLs", "rejected", "auth", "addl",
    "original_query", "opcode", "opcode_name", "icann_host_subdomain", "icann_domain", "icann_tld",
    "is_trusted_domain", "id.ctx.vlan", "id.ctx.inner_vlan",
}  # fmt: skip
PATHS = {"dns", "conn", "tls", "http", "login"}


@dataclass
class Run:
    returncode: int
    stdout: bytes
    stderr: str


def sensor(*args: str) -> Run:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    res = subprocess.run(
        [sys.executable, "-m", "wardwatch.cli", "sensor", *args], capture_output=True, env=env, timeout=300
    )
    return Run(res.returncode, res.stdout, res.stderr.decode(errors="replace"))


def parse(lines: bytes) -> list[dict]:
    return [json.loads(line) for line in lines.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sensor") / "mixed.pcap"
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_mixed.py"), "--packets", str(PACKETS), "--seed", "11",
         "--out", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    return out, json.loads(out.with_name("mixed.pcap.json").read_text())


@pytest.fixture(scope="module")
def to_file(capture: tuple[Path, dict]) -> tuple[Run, list[dict]]:
    pcap, _ = capture
    out = pcap.with_name("records.json")
    run = sensor("--pcap", str(pcap), "--out", str(out))
    assert run.returncode == 0, run.stderr
    return run, parse(out.read_bytes())


def by_path(records: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for rec in records:
        out.setdefault(rec["_path"], []).append(rec)
    return out


def test_records_are_zeek_shaped(to_file: tuple[Run, list[dict]]) -> None:
    _, records = to_file
    assert records
    for rec in records:
        assert next(iter(rec)) == "_path" and rec["_path"] in PATHS, rec
        assert not any(key.startswith("id_") or key.endswith("_h") and "." not in key for key in rec), rec
        if rec["_path"] != "login":
            assert ID_FIELDS | {"ts", "uid"} <= rec.keys(), rec
            assert isinstance(rec["ts"], float) and isinstance(rec["id.orig_p"], int), rec
            assert re.fullmatch(r"C[0-9A-Za-z]+", rec["uid"]), rec
        assert all(value is not None for value in rec.values()), rec  # unset fields are omitted
    logs = by_path(records)
    for rec in logs["conn"]:
        assert rec.keys() - {"_path"} <= CONN_FIELDS, rec.keys() - CONN_FIELDS
        assert rec["proto"] in ("tcp", "udp", "icmp"), rec
    for rec in logs["dns"]:
        ours = {"_path", "auth_zone"}  # auth_zone: the authority section's SOA owner, ours (docs/ZEEK.md)
        assert rec.keys() - ours <= DNS_FIELDS, rec.keys() - DNS_FIELDS
        assert rec["proto"] in ("tcp", "udp") and rec["id.resp_p"] == 53, rec


def test_dns_count_matches_generator(to_file: tuple[Run, list[dict]], capture: tuple[Path, dict]) -> None:
    _, records = to_file
    expected = capture[1]["dns"]
    dns = by_path(records).get("dns", [])
    assert len(dns) == expected["transactions"]
    assert sum(1 for r in dns if r.get("rcode_name") == "NXDOMAIN") == expected["nxdomain"]
    assert sum(1 for r in dns if "rcode" not in r) == expected["unanswered"]
    assert sum(1 for r in dns if r["proto"] == "tcp") == expected["tcp"]


def test_conn_count_matches_generator(to_file: tuple[Run, list[dict]], capture: tuple[Path, dict]) -> None:
    _, records = to_file
    expected = capture[1]["connections"]
    conn = by_path(records).get("conn", [])
    protos = Counter(r["proto"] for r in conn)
    assert dict(protos) == {k: v for k, v in expected.items() if k != "total" and v}
    assert len(conn) == expected["total"]
    assert len({r["uid"] for r in conn}) == len(conn)


def test_app_records_match_generator(to_file: tuple[Run, list[dict]], capture: tuple[Path, dict]) -> None:
    _, records = to_file
    logs = by_path(records)
    assert len(logs.get("http", [])) == capture[1]["http_requests"]
    assert sum(1 for r in logs.get("tls", []) if r.get("server_name")) == capture[1]["tls_client_hellos"]


def test_summary_reports_packet_count(to_file: tuple[Run, list[dict]]) -> None:
    run, records = to_file
    match = re.search(r"(\d+) packets, (\d+) records", run.stderr)
    assert match, run.stderr
    assert int(match.group(1)) == PACKETS
    assert int(match.group(2)) == len(records)
    assert "Traceback" not in run.stderr


def test_stdout_and_gzip_give_the_same_records(
    to_file: tuple[Run, list[dict]], capture: tuple[Path, dict]
) -> None:
    _, records = to_file
    pcap, _ = capture
    run = sensor("--pcap", str(pcap), "--out", "-")
    assert run.returncode == 0, run.stderr
    assert parse(run.stdout) == records

    zipped = pcap.with_name("mixed.pcap.gz")
    zipped.write_bytes(gzip.compress(pcap.read_bytes(), compresslevel=1))
    run = sensor("--pcap", str(zipped))
    assert run.returncode == 0, run.stderr
    assert Counter(r["_path"] for r in parse(run.stdout)) == Counter(r["_path"] for r in records)


@pytest.mark.parametrize("content", [None, b"this is not a capture file\n" * 40, b"\xd4\xc3\xb2\xa1\x02\x00"])
def test_bad_input_fails_cleanly(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "input.pcap"
    if content is not None:
        path.write_bytes(content)
    run = sensor("--pcap", str(path), "--out", str(tmp_path / "out.json"))
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert "input.pcap" in run.stderr, run.stderr  # the message names the file
