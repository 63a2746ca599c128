"""All 3,113 files of Maltrail's static trails load, with accepted/rejected counts by category."""

from __future__ import annotations

import tarfile

from wardwatch.threatfeeds import build_index

from tests import conftest
from wardwatch.config import parse_config


def test_all_maltrail_static_trails_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    tarball = conftest.testdata_path("maltrail", "trails-static.tar.gz")
    with tarfile.open(tarball) as tar:
        files = [m for m in tar if m.isfile()]
    assert len(files) == 3113
    cfg = parse_config(
        f"data_dir: st\nfeeds:\n  - {{name: maltrail, path: '{tarball}', format: maltrail}}\n",
        tmp_path / "c.yaml",
    )
    index = build_index(cfg, update_local=False)
    [stats] = index.stats
    assert stats.accepted > 1_500_000
    assert stats.domains > 1_000_000 and stats.ips > 100_000 and stats.cidrs > 500
    # every reject is explained by a category; generic bare URL paths are most of them
    assert set(stats.rejected) <= {
        "url-path",
        "invalid-domain",
        "non-global-ip",
        "public-suffix",
        "single-label",
        "tld",
        "wildcard",
        "invalid-ip",
        "localhost",
        "invalid-url",
        "huge-cidr",
        "regex-broad",
        "top-domain",
    }
    # the top-domain guard (issue 11 point 14) refuses the few everyday services Maltrail lists whole
    # (dynamic DNS, what-is-my-IP, ngrok), a tiny share of its 1.5M names
    assert 0 < stats.rejected["top-domain"] < 200
    assert index.match_domain("duckdns.org") is None and index.match_domain("ipinfo.io") is None
    # Maltrail's regex rule picks 27 static trails (all compile): 24 are indexed and 3 refused as too
    # broad, with under three literal characters besides their TLD: `q(l|r)[0-9]{5,6}\.pw`,
    # `^[a-z]{1}\-[a-z]{1,3}\.top$`, `^[a-z]{2}\-[a-z]{2,3}\.(top|club)$` (before regexes were indexed,
    # 26 of the 27 counted as invalid-domain and 1 as wildcard)
    assert stats.regexes == 24 and stats.rejected["regex-broad"] == 3
    assert "wildcard" not in stats.rejected  # its one entry was a regex: nklmtf[0-9][^.]*[0-9].t35.com
    m = index.match_domain("backdates7.net")
    assert m is not None and m.type == "regex" and "generic" in m.provenance()["threats"]
    # ~94k URL and path trails: the specific ones are indexed, generic paths (/index.php) refused
    assert stats.urls > 80_000 and 10_000 < stats.rejected["url-path"] < 30_000
    m = index.match_url("any.example", "/mstealer/logs/x.txt")
    assert m is not None and m.type == "path" and "mstealer" in m.provenance()["threats"]
    for uri in ("/", "/index.php", "/login.php", "/wp-login.php", "/admin/", "/favicon.ico", "/gate.php"):
        assert index.match_url("any.example", uri) is None, uri
    assert stats.accepted + stats.rejected_total > 1_800_000
    m = index.match_domain("x.dvr.petcp.com")
    assert m is not None and "emotet" in m.provenance()["threats"]
    assert index.match_ip("129.82.138.12") is not None  # mass_scanner.txt, "IP # comment" lines
