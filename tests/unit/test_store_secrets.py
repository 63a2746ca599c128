"""The pseudonymisation key, private files and the pseudonymiser's text scrubbing (issue 11, points 8,
10 and 11)."""

from __future__ import annotations

import ipaddress
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from wardwatch.store.pseudonym import KeyFileError, Pseudonymiser, load_key

from wardwatch.files import open_private, private_dir, write_private


@pytest.fixture
def umask022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_short_key_is_refused_and_never_overwritten(tmp_path: Path) -> None:
    key = tmp_path / "pseudonym.key"
    key.write_bytes(b"0123456789abcdef\n")  # 16 bytes: an operator's truncated copy, say
    key.chmod(0o600)
    with pytest.raises(KeyFileError, match="has 16 bytes, at least 32") as e:
        load_key(key)
    assert "không ghi đè" in str(e.value)  # Vietnamese first
    assert key.read_bytes() == b"0123456789abcdef\n"


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "pseudonym.key"
    key.write_bytes(b"a" * 64 + b"\n")
    for mode in (0o644, 0o640, 0o604):
        key.chmod(mode)
        with pytest.raises(KeyFileError, match=f"mode {mode:04o}.*chmod 600"):
            load_key(key)
    key.chmod(0o600)
    assert load_key(key) == b"a" * 64
    assert key.read_bytes() == b"a" * 64 + b"\n"


def test_new_key_is_private_whatever_the_umask(tmp_path: Path, umask022: None) -> None:
    key = tmp_path / "sub" / "pseudonym.key"
    k = load_key(key)
    assert len(k) == 64 and _mode(key) == 0o600 and _mode(key.parent) == 0o700
    assert load_key(key) == k  # read back, not replaced
    assert [p.name for p in key.parent.iterdir()] == ["pseudonym.key"]  # no temporary left behind


def test_processes_racing_to_create_the_key_agree(tmp_path: Path) -> None:
    key = tmp_path / "pseudonym.key"
    code = "import sys; from pathlib import Path; from wardwatch.store.pseudonym import load_key; print(load_key(Path(sys.argv[1])).decode())"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(key)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert keys == {key.read_text().strip()}


def test_private_helpers_ignore_the_umask(tmp_path: Path, umask022: None) -> None:
    d = private_dir(tmp_path / "a" / "b")
    assert _mode(tmp_path / "a") == 0o700 and _mode(d) == 0o700
    with open_private(d / "x", "ab") as f:
        f.write(b"1")
    write_private(d / "y", b"2")
    assert _mode(d / "x") == 0o600 and _mode(d / "y") == 0o600
    # an existing folder or file open to others is narrowed
    (d / "x").chmod(0o644)
    with open_private(d / "x", "ab") as f:
        f.write(b"3")
    assert _mode(d / "x") == 0o600 and (d / "x").read_bytes() == b"13"
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    private_dir(loose)
    assert _mode(loose) == 0o700


def test_spool_files_are_private(tmp_path: Path, umask022: None) -> None:
    from wardwatch.bus.envelope import Message
    from wardwatch.bus.spool import Spool

    spool = Spool(tmp_path / "spool", max_bytes=1 << 20, segment_bytes=200)
    msgs = [Message("ww.dns", 0, b"k", b'{"query":"his.bvdk.internal"}' * 3, [], 1, 0.0) for _ in range(5)]
    assert spool.append(msgs) == 5
    spool.prepend(msgs[:1])
    got, cursor = spool.read(2)
    spool.ack(cursor)
    paths = [tmp_path / "spool", *(tmp_path / "spool").iterdir()]
    assert len(paths) > 2
    assert {p.name: _mode(p) & 0o077 for p in paths} == {p.name: 0 for p in paths}


def _internal(ip: str) -> bool:
    a = ipaddress.ip_address(ip)
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
        a = a.ipv4_mapped
    return a.is_private


def test_text_scrubbing_replaces_every_internal_address() -> None:
    p = Pseudonymiser(b"k" * 64, _internal)
    host = p("10.20.10.241")
    assert host.startswith("fd") and p("::ffff:10.20.10.241") == host  # one host, one pseudonym
    assert p.text("Máy 10.20.10.241 truy vấn evil.vn.") == f"Máy {host} truy vấn evil.vn."
    assert p.text("10.20.10.241") == host
    assert p.text("http://10.20.10.241:8080/a?b=8.8.8.8") == f"http://[{host}]:8080/a?b=8.8.8.8"
    assert p.text("241.10.20.10.in-addr.arpa") == ipaddress.ip_address(host).reverse_pointer
    # internet addresses, versions and times are not addresses to hide
    for s in ("8.8.8.8", "Chrome/120.0.6099.109", "12:30:45", "8.8.8.8.in-addr.arpa", "0.0.0.0"):
        assert p.text(s) == s
    assert p.deep({"top": [["10.20.10.241", 3]], "10.20.10.241": "x"}) == {"top": [[host, 3]], host: "x"}


class _Backend:
    """Takes the per-value batches (no chdb fast path) and keeps them."""

    kind = "fake"

    def __init__(self) -> None:
        self.batches: dict[str, Any] = {}

    def rows(self, sql: str, params: Any = None, readonly: bool = False) -> list[dict[str, Any]]:
        return []

    def execute(self, sql: str, params: Any = None) -> None:
        pass

    def insert(self, batch: Any) -> None:
        self.batches[batch.table] = batch

    def close(self) -> None:
        pass


def test_writer_pseudonymises_alerts_and_arrow_records_once() -> None:
    from wardwatch.store.privacy import PseudonymisingWriter
    from wardwatch.store.writer import record_struct

    from wardwatch.alerts import Alert

    p = Pseudonymiser(b"k" * 64, _internal)
    backend = _Backend()
    w = PseudonymisingWriter(
        backend, lambda ip: "wards" if ip.startswith("10.20.") else "x", pseudonymise=p, dedup=False
    )
    live = Alert(
        ts=1.0,
        category="policy_segmentation",
        severity="high",
        src_ip="10.20.10.241",
        dst_ip="10.40.0.5",
        indicator="10.40.0.5",
        rule="r",
        summary={"vi": "Máy 10.20.10.241 tới 10.40.0.5", "en": "10.20.10.241 reached 10.40.0.5"},
        evidence={"client": "10.20.10.241", "top": [["10.40.0.5", 2]]},
        segment="wards",
    )
    stored = p("10.20.10.99")  # a retro alert quotes the pseudonym the store holds
    retro = Alert(ts=2.0, category="sigma", severity="low", src_ip=stored, dst_ip=None, indicator="x.vn",
                  rule="r2", summary={"en": f"{stored} looked up x.vn"}, evidence={"retro": True}, segment="wards")  # fmt: skip
    w.add_alerts([live, retro])
    rows = [{"ts": 1.0, "uid": "D1", "id.orig_h": "10.20.10.241", "id.resp_h": "10.40.0.53", "query": "241.10.20.10.in-addr.arpa", "answers": ["10.40.0.5", "8.8.8.8"]}]  # fmt: skip
    st = record_struct("dns")
    assert st is not None
    w.add_arrow("dns", pa.array(rows, type=st))
    w.flush()
    a = backend.batches["alerts"].columns
    src, dst = p("10.20.10.241"), p("10.40.0.5")
    assert a["src_ip"] == [src, stored] and a["dst_ip"] == [dst, None] and a["segment"] == ["wards", "wards"]
    assert a["summary"][0] == [("vi", f"Máy {src} tới {dst}"), ("en", f"{src} reached {dst}")]
    assert a["indicator"][0] == dst and "10.20" not in a["evidence"][0] and "10.40" not in a["evidence"][0]
    d = backend.batches["dns"].columns
    assert d["id_orig_h"] == [src] and d["segment"] == ["wards"] and d["id_resp_h"] == [p("10.40.0.53")]
    assert d["answers"] == [[dst, "8.8.8.8"]] and d["query"] == [ipaddress.ip_address(src).reverse_pointer]
