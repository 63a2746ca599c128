"""The flow collector against a real exporter and a real collector: Debian's ``softflowd`` reads the
shared captures and the synthetic hospital and exports NetFlow v5, v9 and IPFIX; the very datagrams it
sent go both to our collector (on its own UDP socket) and to ``nfcapd``.

- per flow, our records' bytes and packets equal softflowd's own view (its ``-D`` EXPIRED lines);
- flow counts and byte/packet totals equal what ``nfdump`` reads from nfcapd's file.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from wardwatch.ingest.netflow import Collector

from tests.conftest import testdata_path as shared
from wardwatch.counters import Counters

pytestmark = pytest.mark.skipif(
    not (shutil.which("softflowd") and shutil.which("nfcapd") and shutil.which("nfdump")),
    reason="softflowd and nfdump (Debian packages) are needed: apt-get install softflowd nfdump",
)

_EXPIRED = re.compile(
    r"EXPIRED: seq:\d+ \[(?P<a>[^\]]+)\]:(?P<ap>\d+) <> \[(?P<b>[^\]]+)\]:(?P<bp>\d+) proto:(?P<proto>\d+) "
    r"octets>:(?P<ob>\d+) packets>:(?P<op>\d+) octets<:(?P<rb>\d+) packets<:(?P<rp>\d+)"
)
MALTRAIL = ("mixed_soup.pcap", "ipv6.pcap", "icmp.pcap", "port_scan.pcap", "vlan.pcap")
VERSIONS = ("5", "9", "10")


def _wait(cond: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _key(proto: int, a: str, ap: int, b: str, bp: int) -> tuple[Any, ...]:
    if proto in (1, 58):  # exporters carry ICMP type and code in the destination port; Zeek in the ports
        return (proto, a, bp >> 8, b, bp & 0xFF)
    return (proto, a, ap, b, bp)


def _softflowd(pcap: Path, version: str, work: Path) -> tuple[list[bytes], Counter[tuple[Any, ...]]]:
    """softflowd's datagrams for ``pcap`` and its own per-direction view: key → (bytes, packets)."""
    tee = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tee.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024 * 1024)
    tee.bind(("127.0.0.1", 0))
    port = tee.getsockname()[1]
    try:
        out = subprocess.run(
            ["softflowd", "-D", "-a", "-r", str(pcap), "-n", f"127.0.0.1:{port}", "-v", version,
             "-c", "none", "-p", str(work / "sf.pid")],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        tee.setblocking(False)
        datagrams = []
        while True:
            try:
                datagrams.append(tee.recv(65535))
            except BlockingIOError:
                break
    finally:
        tee.close()
    view: Counter[tuple[Any, ...]] = Counter()
    for line in (out.stdout + out.stderr).splitlines():
        m = _EXPIRED.search(line)
        if m is None:
            continue
        proto = int(m["proto"])
        if version == "5" and ":" in m["a"]:
            continue  # v5 has no IPv6 records
        a, b, ap, bp = m["a"], m["b"], int(m["ap"]), int(m["bp"])
        view[_key(proto, a, ap, b, bp) + ("bytes",)] += int(m["ob"])
        view[_key(proto, a, ap, b, bp) + ("pkts",)] += int(m["op"])
        if int(m["rp"]):
            view[_key(proto, b, bp, a, ap) + ("bytes",)] += int(m["rb"])
            view[_key(proto, b, bp, a, ap) + ("pkts",)] += int(m["rp"])
    assert datagrams or not view, f"softflowd sent nothing for {pcap.name}: {out.stderr[-500:]}"
    return datagrams, view


def _collect(datagrams: list[bytes]) -> tuple[list[dict[str, Any]], Counters]:
    """Send the datagrams to a running collector (its UDP socket, its batching thread)."""
    counters = Counters()
    records: list[dict[str, Any]] = []
    stop = threading.Event()
    with Collector(("127.0.0.1", 0), counters) as col:

        def run() -> None:
            for batch in col.batches(stop, every=0.05):
                records.extend(batch)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i, d in enumerate(datagrams):
            out.sendto(d, col.address)
            # paced so that the kernel's buffer never overflows (this test is about decoding)
            _wait(lambda i=i: counters.get("netflow.datagrams", 0) > i, "the collector to read a datagram")
        out.close()
        stop.set()
        t.join(10)
    return records, counters


def _nfdump(datagrams: list[bytes], work: Path) -> dict[str, int]:
    if not datagrams:
        return {"flows": 0, "packets": 0, "bytes": 0}
    folder = work / "nfcapd"
    folder.mkdir()
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    log = open(work / "nfcapd.log", "w")  # noqa: SIM115 — closed below, after the process ends
    proc = subprocess.Popen(
        ["nfcapd", "-b", "127.0.0.1", "-p", str(port), "-w", str(folder), "-t", "3600"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait(lambda: "Startup" in (work / "nfcapd.log").read_text(), "nfcapd to start")
        out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for d in datagrams:
            out.sendto(d, ("127.0.0.1", port))
            time.sleep(0.002)  # pacing only: nfcapd has no counter to wait on
        out.close()
    finally:
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        log.close()
    stats = subprocess.run(
        ["nfdump", "-R", str(folder), "-I"], capture_output=True, text=True, check=True
    ).stdout
    got = {k.lower(): int(v) for k, v in re.findall(r"^(Flows|Packets|Bytes): (\d+)$", stats, re.M)}
    return got


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from wardwatch.tools.synth import generate

    out = [generate(tmp_path_factory.mktemp("synth"), seed=7, sessions=120).pcap]
    for name in MALTRAIL:
        out.append(shared("maltrail", "sensor-tests", name))
    return out


@pytest.fixture(scope="module", params=VERSIONS)
def exported(
    request: pytest.FixtureRequest, captures: list[Path], tmp_path_factory: pytest.TempPathFactory
) -> Any:
    version = request.param
    runs = []
    for pcap in captures:
        work = tmp_path_factory.mktemp(f"v{version}")
        datagrams, view = _softflowd(pcap, version, work)
        records, counters = _collect(datagrams)
        nf = _nfdump(datagrams, work)
        runs.append((pcap, datagrams, view, records, counters, nf))
    return version, runs


def test_per_flow_counts_equal_softflowd(exported: Any) -> None:
    version, runs = exported
    paired = 0
    for pcap, _datagrams, view, records, counters, _nf in runs:
        ours: Counter[tuple[Any, ...]] = Counter()
        for r in records:
            proto = {"tcp": 6, "udp": 17}.get(r["proto"], 58 if ":" in r["id.orig_h"] else 1)
            if r["proto"] == "unknown_transport":
                continue
            k = (proto, r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"])
            ours[k + ("bytes",)] += r["orig_ip_bytes"]
            ours[k + ("pkts",)] += r["orig_pkts"]
            if r["resp_pkts"]:  # both directions joined into one record, as softflowd sees them
                rk = (proto, r["id.resp_h"], r["id.resp_p"], r["id.orig_h"], r["id.orig_p"])
                ours[rk + ("bytes",)] += r["resp_ip_bytes"]
                ours[rk + ("pkts",)] += r["resp_pkts"]
                paired += 1
            assert r["source"] == "netflow" and "history" not in r and "conn_state" not in r
        theirs = Counter({k: v for k, v in view.items() if k[0] in (1, 6, 17, 58)})
        assert ours == theirs, f"v{version} {pcap.name}: {len(ours)} vs {len(theirs)} counts differ"
        assert counters.get("netflow.malformed", 0) == 0
        assert counters.get("netflow.no_template", 0) == 0
        assert counters.get("netflow.lost_flows", 0) == 0 and counters.get("netflow.lost_packets", 0) == 0
    assert paired > 100  # the two directions of most connections became one record


def test_totals_equal_nfdump(exported: Any) -> None:
    version, runs = exported
    seen_v6 = False
    for pcap, _datagrams, _view, records, _counters, nf in runs:
        seen_v6 |= any(":" in r["id.orig_h"] for r in records)
        got = {
            "flows": sum(r.get("flow_records", 1) for r in records),  # nfdump counts export records
            "packets": sum(r["orig_pkts"] + r["resp_pkts"] for r in records),
            "bytes": sum(r["orig_ip_bytes"] + r["resp_ip_bytes"] for r in records),
        }
        assert got == nf, f"v{version} {pcap.name}: ours {got}, nfdump {nf}"
        assert got["flows"] > 0 or (version == "5" and pcap.name == "ipv6.pcap")
    assert seen_v6 == (version != "5"), "IPv6 flows travel in v9 and IPFIX only"
