"""Schema version 7: the dns table keeps a response's authority section (``auth``, Zeek's auth-addl
field, and ``auth_zone``, its SOA's owner); a record without one reads ``[]`` and ``''``."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("chdb")

from wardwatch.store import open_store  # noqa: E402

from wardwatch.config import parse_config  # noqa: E402

from .test_store_chdb import CONFIG, T0, _dns  # noqa: E402


def test_auth_and_auth_zone_round_trip(tmp_path: Path) -> None:
    store = open_store(parse_config(CONFIG, tmp_path / "c.yaml"))
    try:
        with_soa = _dns(1, "10.30.0.7", "wouldinstead.net", T0, rcode="NXDOMAIN")
        with_soa.update(auth=["a.gtld-servers.net"], auth_zone="net")
        root = _dns(2, "10.30.0.7", "x.nosuchtld", T0 + 1, rcode="NXDOMAIN")
        root.update(auth=["a.root-servers.net"], auth_zone=".")
        bare = _dns(3, "10.30.0.7", "old.example.com", T0 + 2, rcode="NXDOMAIN")
        w = store.writer()
        w.add_records([with_soa, root, bare])
        w.flush()
        rows = store.rows("SELECT query, auth, auth_zone FROM dns ORDER BY ts")
    finally:
        store.close()
    assert [(r["query"], list(r["auth"]), r["auth_zone"]) for r in rows] == [
        ("wouldinstead.net", ["a.gtld-servers.net"], "net"),
        ("x.nosuchtld", ["a.root-servers.net"], "."),
        ("old.example.com", [], ""),
    ]
