"""Retro-hunting: a domain added to a feed after its traffic was stored is found and stored as a
``retro`` alert, once."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

pytest.importorskip("chdb")

from wardwatch.cli import main  # noqa: E402
from wardwatch.store import open_store  # noqa: E402
from wardwatch.tools.synth import generate  # noqa: E402

from wardwatch.config import load_config  # noqa: E402


def test_hunt_finds_domain_added_later(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    res = generate(tmp_path / "synth", seed=3)
    cfg = yaml.safe_load(res.config.read_text())
    cfg["feeds"] = []  # the traffic is stored while no feed lists the domain
    cfg["data_dir"] = str(tmp_path / "var")
    conf = tmp_path / "c.yaml"
    conf.write_text(yaml.safe_dump(cfg))
    assert main(["run", "--quiet", "--pcap", str(res.pcap), "--config", str(conf)]) == 0

    (tmp_path / "late.txt").write_text("zalo.me\n")
    # zalo.me is a top domain: only a trusted feed may list it (the top-domain guard, issue 11)
    cfg["feeds"] = [
        {"name": "late", "path": str(tmp_path / "late.txt"), "format": "domains", "trusted": True}
    ]
    conf.write_text(yaml.safe_dump(cfg))
    capsys.readouterr()
    assert main(["hunt", "--config", str(conf), "--since", "all"]) == 0
    assert "retro" in capsys.readouterr().err

    store = open_store(load_config(conf))
    try:
        rows = store.rows(
            "SELECT category, indicator, retro, count, segment FROM alerts WHERE retro ORDER BY ts"
        )
        clients = store.rows(
            "SELECT uniqExact(id_orig_h) AS n, count() AS c FROM dns WHERE query = 'chat.zalo.me' OR endsWith(query, '.zalo.me')"
            " AND NOT id_orig_h IN (SELECT toIPv6('10.40.0.53'))"
        )[0]
    finally:
        store.close()
    assert rows and all(r["indicator"] == "zalo.me" and r["category"] == "threat_feed_domain" for r in rows)
    assert sum(r["count"] for r in rows if r["count"]) >= 1
    assert len({r["segment"] for r in rows}) >= 1 and len(rows) <= clients["n"] * 3

    assert main(["hunt", "--config", str(conf), "--since", "all"]) == 0  # again: nothing new
    assert "0 new retro alerts" in capsys.readouterr().err
