"""tls/http records from the real sensor chain, compared with tshark on third-party captures."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from wardwatch.ingest.sensor import sense

from tests.conftest import testdata_path as data_path
from wardwatch.counters import Counters

pytestmark = pytest.mark.integration

HTTP_PCAPS = [
    "dpkt/http.pcap",
    "maltrail/sensor-tests/web_scan.pcap",
    "maltrail/sensor-tests/http_heuristics.pcap",
    "maltrail/sensor-tests/http_trails.pcap",
    "maltrail/sensor-tests/mixed_soup.pcap",
    "suricata-verify/tests/bug-2491-02/simple_http_download.onesided.nosyn.pcap",
    "suricata-verify/tests/tcp-stream-after-swap/http-start-from-response.pcap",
    "suricata-verify/tests/eve-metadata/testmyids.pcap",
    "suricata-verify/tests/datasets-04-http-dns/input.pcap",
    "suricata-verify/tests/base64-issue-5223/input.pcap",
    "suricata-verify/tests/decode-teredo-01/input.pcap",
]
TLS_PCAPS = [
    "maltrail/sensor-tests/tls_sni.pcap",
    "suricata-verify/tests/community-id-ipv6/input.pcap",
    "suricata-verify/tests/bug-2646-01/input.pcap",
]


def _records(path: Path) -> list[dict]:
    return [r for batch in sense([path], Counters()) for r in batch]


def _tshark(path: Path, display_filter: str, fields: list[str]) -> list[tuple[str, ...]]:
    if shutil.which("tshark") is None:
        pytest.skip("tshark not installed")
    args = ["tshark", "-n", "-r", str(path), "-Y", display_filter, "-T", "fields"]
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return sorted(tuple(line.split("\t")) for line in out.splitlines() if line.strip())


def _strip_port(host: str) -> str:
    return host if host.startswith("[") else host.split(":", 1)[0]


@pytest.mark.parametrize("rel", HTTP_PCAPS)
def test_http_requests_match_tshark(rel):
    path = data_path(*rel.split("/"))
    ours = sorted((r["method"], r.get("host", ""), r["uri"]) for r in _records(path) if r["_path"] == "http")
    theirs = [
        (m, _strip_port(h), u)
        for m, h, u in _tshark(path, "http.request", ["http.request.method", "http.host", "http.request.uri"])
    ]
    assert ours == sorted(theirs)
    assert ours


@pytest.mark.parametrize("rel", TLS_PCAPS)
def test_tls_sni_and_ja3_match_tshark(rel):
    path = data_path(*rel.split("/"))
    recs = _records(path)
    ours = sorted((r.get("server_name", ""), r["ja3"]) for r in recs if r["_path"] == "tls")
    theirs = _tshark(
        path, "tls.handshake.type == 1", ["tls.handshake.extensions_server_name", "tls.handshake.ja3"]
    )
    assert ours == theirs
    assert ours
    # each tls record belongs to a conn record that names the ssl service
    conns = {r["uid"]: r for r in recs if r["_path"] == "conn"}
    for r in recs:
        if r["_path"] == "tls":
            assert "ssl" in conns[r["uid"]].get("service", "")


def test_quic_sni_from_maltrail_manifest():
    folder = data_path("maltrail", "sensor-tests")
    case = next(c for c in json.loads((folder / "manifest.json").read_text()) if c["name"] == "quic_sni")
    recs = [r for r in _records(folder / case["pcap"]) if r["_path"] == "tls"]
    assert [r["server_name"] for r in recs] == case["expect"]
    assert recs[0]["quic"] is True


def test_tls_sni_from_maltrail_manifest():
    folder = data_path("maltrail", "sensor-tests")
    case = next(c for c in json.loads((folder / "manifest.json").read_text()) if c["name"] == "tls_sni")
    names = {r.get("server_name") for r in _records(folder / case["pcap"]) if r["_path"] == "tls"}
    assert set(case["expect"]) <= names


@pytest.mark.parametrize(
    "rel,expected",
    [
        ("suricata-verify/tests/imap-detection/input.pcap", [("imap", "neulingern", True, True)]),
        ("suricata-verify/tests/bug-3616-smtp/input.pcap", [("smtp", "gurpartap@patriots.in", False, True)]),
    ],
)
def test_logins_in_real_mail_captures(rel, expected):
    # the IMAP capture logs in with the placeholder password "XXXXXX" (weak: one distinct character)
    recs = _records(data_path(*rel.split("/")))
    logins = [
        (r["service"], r["user"], r["weak_password"], r.get("success")) for r in recs if r["_path"] == "login"
    ]
    assert logins == expected
