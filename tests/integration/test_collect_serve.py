"""The inputs running for real: ``wardwatch serve`` with ``inputs:`` and no capture interface takes
softflowd's IPFIX export, a growing EVE file and a folder of Zeek logs into the store, through the
detectors; stopped and started again, it reads each log line once. ``wardwatch collect --once``
imports rotated and compressed logs once."""

from __future__ import annotations

import gzip
import json
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.test_serve_service import Served
from tests.integration.waiting import wait_for

DATA = Path(__file__).resolve().parents[1] / "data"


def _free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return int(port)


def _udp_bound(port: int) -> bool:
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        local = line.split()[1]
        if int(local.rsplit(":", 1)[1], 16) == port:
            return True
    return False


def _query(config: Path, sql: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "-m", "wardwatch.cli", "query", "--config", str(config), sql],
        cwd=config.parent, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return [json.loads(x) for x in out.stdout.splitlines()]


def _eve_flow(i: int) -> str:
    return json.dumps(
        {"timestamp": f"2024-05-01T10:{i // 60 % 60:02d}:{i % 60:02d}.000000+0000", "flow_id": 1000 + i,
         "event_type": "flow", "src_ip": "10.20.0.5", "src_port": 40000 + i, "dest_ip": "10.40.0.10",
         "dest_port": 443, "proto": "TCP", "app_proto": "tls",
         "flow": {"pkts_toserver": 3, "pkts_toclient": 2, "bytes_toserver": 300, "bytes_toclient": 200,
                  "start": f"2024-05-01T10:{i // 60 % 60:02d}:{i % 60:02d}.000000+0000"}}
    )  # fmt: skip


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from wardwatch.tools.synth import generate

    folder = tmp_path_factory.mktemp("inputs")
    synth = generate(folder / "synth", seed=5, sessions=60)
    raw = yaml.safe_load(synth.config.read_text())
    raw.pop("data_dir", None)
    port = _free_udp_port()
    (folder / "zeek").mkdir()
    shutil.copy(DATA / "zeek" / "conn.log", folder / "zeek" / "conn.log")
    shutil.copy(DATA / "zeek" / "dns.log", folder / "zeek" / "dns.log")
    (folder / "eve").mkdir()
    eve = folder / "eve" / "eve.json"
    eve.write_text(
        (DATA / "eve" / "tenzir-eve.json").read_text() + "".join(_eve_flow(i) + "\n" for i in range(40))
    )
    raw["inputs"] = {
        "netflow": {"listen": f"127.0.0.1:{port}"},
        "zeek": {"dir": str(folder / "zeek"), "poll_seconds": 0.2},
        "eve": {"path": str(eve), "poll_seconds": 0.2},
    }
    config = folder / "c.yaml"
    config.write_text(yaml.safe_dump(raw))
    return {"config": config, "port": port, "eve": eve, "pcap": synth.pcap, "folder": folder}


@pytest.mark.skipif(not shutil.which("softflowd"), reason="softflowd (Debian package) is needed")
def test_serve_runs_the_inputs_and_reads_each_line_once(setup: dict[str, Any]) -> None:
    config, port, eve = setup["config"], setup["port"], setup["eve"]
    served = Served(config)
    try:
        wait_for("the collector's socket", lambda: _udp_bound(port), 60, step=0.1)
        sf = subprocess.run(
            ["softflowd", "-D", "-a", "-r", str(setup["pcap"]), "-n", f"127.0.0.1:{port}", "-v", "10",
             "-c", "none", "-p", str(setup["folder"] / "sf.pid")],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        packets = (
            int(sf.stdout.split("Packets processed: ")[1].split()[0])
            if "Packets processed" in sf.stdout
            else None
        )
        pkts = "SELECT sum(orig_pkts + resp_pkts) AS p FROM conn WHERE source = 'netflow'"
        if packets is not None:
            wait_for(
                "every exported packet counted",
                lambda: _query(config, pkts)[0]["p"] == packets,
                120,
                step=0.5,
            )
        eve_rows = "SELECT count() AS n FROM conn WHERE source = 'eve'"
        wait_for("the EVE flows stored", lambda: _query(config, eve_rows)[0]["n"] >= 41, 120, step=0.5)
        by_source = {
            r["source"]: r["n"]
            for r in _query(config, "SELECT source, count() AS n FROM conn GROUP BY source")
        }
        assert by_source.get("netflow", 0) > 50 and by_source.get("zeek") == 1
        alerts = _query(config, "SELECT category, rule FROM alerts WHERE category = 'external_ids'")
        assert alerts == [{"category": "external_ids", "rule": "suricata:1:2017318"}]
        assert served.stop(signal.SIGTERM) == 0, served.stderr
    finally:
        served.kill()
    # more lines while it is down, half a line at the end; then up again
    with open(eve, "a") as f:
        f.write("".join(_eve_flow(i) + "\n" for i in range(40, 60)))
        f.write(_eve_flow(60)[:30])
    served = Served(config)
    try:
        eve_rows = "SELECT count() AS n FROM conn WHERE source = 'eve'"
        wait_for("the new EVE flows stored", lambda: _query(config, eve_rows)[0]["n"] >= 61, 120, step=0.5)
        with open(eve, "a") as f:
            f.write(_eve_flow(60)[30:] + "\n")
        wait_for("the completed line stored", lambda: _query(config, eve_rows)[0]["n"] >= 62, 120, step=0.5)
        assert served.stop(signal.SIGTERM) == 0, served.stderr
    finally:
        served.kill()
    # every line stored once (the sample's netflow event repeats its flow event: one row) and the
    # saved position is the file's end, the completed half line included
    dup = _query(config, "SELECT count() AS n, uniqExact(uid) AS u FROM conn WHERE source = 'eve'")[0]
    assert dup["n"] == dup["u"] == 1 + 61
    [pos] = json.loads((config.parent / "var" / "inputs" / "eve-positions.json").read_text())
    assert pos["offset"] == eve.stat().st_size


def test_collect_once_reads_rotated_and_compressed_logs_once(setup: dict[str, Any], tmp_path: Path) -> None:
    logs = tmp_path / "zeek"
    logs.mkdir()
    text = (DATA / "zeek" / "http.log").read_text()
    (logs / "http.log").write_text(text)
    with gzip.open(logs / "dns.2018-09-21-20-48-53.log.gz", "wt") as g:
        g.write((DATA / "zeek" / "dns.log").read_text())
    raw = yaml.safe_load(setup["config"].read_text())
    raw["inputs"] = {"zeek": {"dir": str(logs)}}
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(raw))
    cmd = [sys.executable, "-m", "wardwatch.cli", "collect", "--config", str(config), "--once", "--json"]
    first = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["counters"]["logs.zeek.records"] == 9  # 5 http + 4 dns
    # rotation: the live log renamed and compressed, a new one started
    with open(logs / "http.log", "rb") as src, gzip.open(logs / "http.2009-11-18.log.gz", "wb") as dst:
        dst.write(src.read())
    (logs / "http.log").unlink()
    # the next file Zeek opens (its #open line differs, as in every file Zeek writes)
    (logs / "http.log").write_text(
        text.replace("#open\t2020-04-30-00-47-12", "#open\t2020-04-30-01-00-00").replace(
            "CHhAvVGS1DHFjwGM9", "CNewConnection0001"
        )
    )
    second = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["counters"]["logs.zeek.records"] == 5  # only the new file
    rows = _query(config, "SELECT source, count() AS n FROM http GROUP BY source")
    assert rows == [{"source": "zeek", "n": 10}]


@pytest.mark.skipif(not shutil.which("softflowd"), reason="softflowd (Debian package) is needed")
def test_collect_takes_netflow_until_sigterm_and_loses_nothing(setup: dict[str, Any], tmp_path: Path) -> None:
    raw = yaml.safe_load(setup["config"].read_text())
    port = _free_udp_port()
    raw["inputs"] = {"netflow": {"listen": f"127.0.0.1:{port}"}}
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(raw))
    proc = subprocess.Popen(
        [sys.executable, "-m", "wardwatch.cli", "collect", "--config", str(config), "--json"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for("the collector's socket", lambda: _udp_bound(port) or proc.poll() is not None, 60, step=0.1)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        sf = subprocess.run(
            ["softflowd", "-D", "-a", "-r", str(setup["pcap"]), "-n", f"127.0.0.1:{port}", "-v", "5",
             "-c", "none", "-p", str(tmp_path / "sf.pid")],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        exported = int(sf.stdout.split("Flows exported: ")[1].split()[0])
        packets = int(sf.stdout.split("Packets processed: ")[1].split()[0])
        proc.send_signal(signal.SIGTERM)  # at once: what the kernel holds must still be read
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    counters = json.loads(out)["counters"]
    assert counters["netflow.flows"] == exported and counters.get("netflow.lost_flows", 0) == 0
    rows = _query(config, "SELECT sum(orig_pkts + resp_pkts) AS p, any(source) AS s FROM conn")
    assert rows == [{"p": packets, "s": "netflow"}]
