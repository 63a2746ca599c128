"""Issue 11 points 13, 14 and 16: the feed change guard works both ways, top domains are refused unless
the feed is trusted, and the messages about a refused copy say what the index really uses."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from wardwatch.cli import main
from wardwatch.threatfeeds import FeedStore, build_index, topdomains, update_feeds
from wardwatch.threatfeeds.store import Assessment, _judge

from tests import conftest
from wardwatch.config import ConfigError, FeedConfig, parse_config


def names(n: int, prefix: str = "bad") -> bytes:
    return "".join(f"{prefix}{i}.example\n" for i in range(n)).encode()


def local_config(tmp_path: Path, extra: str = "") -> Path:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"data_dir: st\nfeeds:\n  - {{name: f, path: feed.txt, format: domains{extra}}}\n")
    return cfg


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict], str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, [orjson.loads(line) for line in out.out.splitlines()], out.err


# -- point 13: growth poisoning ----------------------------------------------------------------------


def test_growth_poisoning_is_refused_and_never_becomes_the_baseline(tmp_path: Path) -> None:
    feed = tmp_path / "feed.txt"
    cfg = parse_config(local_config(tmp_path).read_text(), tmp_path / "c.yaml")
    store = FeedStore(cfg.data_dir)
    feed.write_bytes(names(200))
    [r] = update_feeds(cfg)
    assert r.status == "updated" and r.accepted == 200
    good = store.snapshot_path("f").read_bytes()

    feed.write_bytes(names(20_000, "junk"))  # 100 times the feed: a poisoned copy
    [r] = update_feeds(cfg)
    assert r.status == "kept-last-good" and r.reason.startswith("grew from 200 to 20000"), r
    assert store.snapshot_path("f").read_bytes() == good
    assert store.meta("f")["accepted"] == 200  # the refused copy is not the new baseline
    index = build_index(cfg, update_local=False)
    assert index.match_domain("bad7.example") is not None and index.match_domain("junk7.example") is None

    feed.write_bytes(names(210))  # the genuine feed comes back: not refused as "shrank"
    [r] = update_feeds(cfg)
    assert r.status == "updated" and r.accepted == 210, r


def test_growth_guard_numbers() -> None:
    feed = FeedConfig(name="f", format="domains")
    assert feed.max_growth == 10
    assert "grew from 200 to 1000000" in (_judge(feed, Assessment(accepted=1_000_000), 200) or "")
    assert _judge(feed, Assessment(accepted=1_000_000), 200, accept_change=True) is None
    assert _judge(feed, Assessment(accepted=2000), 200) is None  # exactly max_growth times
    assert _judge(feed, Assessment(accepted=2001), 200) is not None
    assert _judge(feed, Assessment(accepted=900), 3) is None  # a tiny list filling up, not poisoning
    assert _judge(feed, Assessment(accepted=1_000_000), None) is None  # first copy: nothing to compare
    assert "shrank" in (_judge(feed, Assessment(accepted=99), 200) or "")
    assert _judge(feed, Assessment(accepted=99), 200, accept_change=True) is None
    # accepting a change never waives the garbage check
    garbage = Assessment(accepted=1)
    garbage.rejected["single-label"] = 9
    assert "garbage" in (_judge(feed, garbage, 200, accept_change=True) or "")


def test_max_growth_setting_allows_a_big_jump(tmp_path: Path) -> None:
    feed = tmp_path / "feed.txt"
    cfg = parse_config(local_config(tmp_path, ", max_growth: 1000").read_text(), tmp_path / "c.yaml")
    assert cfg.feeds[0].max_growth == 1000
    feed.write_bytes(names(200))
    update_feeds(cfg)
    feed.write_bytes(names(20_000))
    [r] = update_feeds(cfg)
    assert r.status == "updated" and r.accepted == 20_000


@pytest.mark.parametrize("bad", ["0.5", "'ten'", "true"])
def test_max_growth_must_be_a_factor_of_one_or_more(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigError, match="max_growth"):
        parse_config(local_config(tmp_path, f", max_growth: {bad}").read_text(), tmp_path / "c.yaml")


def test_feeds_update_force_accepts_the_growth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    feed = tmp_path / "feed.txt"
    cfg = local_config(tmp_path)
    feed.write_bytes(names(200))
    assert cli(capsys, "feeds", "update", "--config", str(cfg))[0] == 0
    feed.write_bytes(names(5000, "more"))
    rc, [line], err = cli(capsys, "feeds", "update", "--config", str(cfg))
    assert rc == 0 and line["status"] == "kept-last-good" and "grew from 200 to 5000" in line["reason"]
    assert "--force" in line["reason"] and "vẫn dùng bản tốt gần nhất" in err
    rc, [line], _ = cli(capsys, "feeds", "update", "--config", str(cfg), "--force")
    assert rc == 0 and line["status"] == "updated" and line["accepted"] == 5000
    assert FeedStore(tmp_path / "st").meta("f")["accepted"] == 5000


# -- point 14: top domains ---------------------------------------------------------------------------

TOP_FEED = b"google.com\ngmail.com\nwww.google.com\nevil.google.com\nbad.example\nx.bad2.example\n"


def test_top_domains_are_refused_and_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "feed.txt").write_bytes(TOP_FEED)
    cfg = local_config(tmp_path)
    rc, [line], _ = cli(capsys, "feeds", "update", "--config", str(cfg))
    assert rc == 0 and line["status"] == "updated"
    assert line["accepted"] == 3 and line["rejected_by"] == {"top-domain": 3}
    rc, lines, _ = cli(capsys, "feeds", "stats", "--config", str(cfg))
    [stats] = [x for x in lines if x.get("feed") == "f"]
    assert stats["accepted"] == 3 and stats["rejected_by"] == {"top-domain": 3}
    assert any("top domains (google.com, gmail.com, www.google.com)" in w for w in stats["warnings"])
    rc, lines, _ = cli(
        capsys, "feeds", "check", "--config", str(cfg), "google.com", "mail.gmail.com", "evil.google.com"
    )
    assert [x["match"] for x in lines] == [False, False, True]  # a subdomain stays a good indicator


def test_trusted_feed_may_list_top_domains(tmp_path: Path) -> None:
    (tmp_path / "feed.txt").write_bytes(TOP_FEED)
    cfg = parse_config(local_config(tmp_path, ", trusted: true").read_text(), tmp_path / "c.yaml")
    assert cfg.feeds[0].trusted
    [r] = update_feeds(cfg)
    assert r.accepted == 6 and "top-domain" not in r.rejected
    index = build_index(cfg, update_local=False)
    assert index.match_domain("google.com") is not None


def test_url_on_a_top_domain_keeps_only_the_url(tmp_path: Path) -> None:
    (tmp_path / "feed.txt").write_text("http://pastebin.com/raw/Xk3fQ9zL\nhttps://github.com\n")
    cfg = parse_config(
        "data_dir: st\nfeeds:\n  - {name: u, path: feed.txt, format: openphish}\n", tmp_path / "c.yaml"
    )
    [r] = update_feeds(cfg)
    assert r.accepted == 1 and r.rejected == {"top-domain": 1}
    index = build_index(cfg, update_local=False)
    assert index.match_url("pastebin.com", "/raw/Xk3fQ9zL") is not None
    assert index.match_url("pastebin.com", "/raw/other") is None
    assert index.match_domain("pastebin.com") is None and index.match_domain("github.com") is None


def test_allow_lists_are_not_guarded(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("google.com\n")
    cfg = parse_config(
        "data_dir: st\nallowlist:\n  - {path: ok.txt, format: domains}\nfeeds: []\n", tmp_path / "c.yaml"
    )
    index = build_index(cfg)
    assert index.check("google.com")["allowlisted"]


def test_guard_list_is_pinned_in_the_package_and_reproducible() -> None:
    guard = topdomains.names()
    assert {"google.com", "gmail.com", "youtube.com", "zalo.me"} <= guard and 1000 < len(guard) < 20_000
    header = topdomains.DATA.read_text(encoding="ascii").split("\n", 8)
    assert any("CC0-1.0" in line for line in header) and any("84f0610aaf3b" in line for line in header)
    from wardwatch.threatfeeds.topdomains_build import build

    rebuilt, _ = build(conftest.testdata_path("misp-warninglists"))
    assert frozenset(rebuilt) == guard


# -- point 16: what a refused copy leaves in use -----------------------------------------------------

GARBAGE = b"evil-one.example\nevil-two.example\n<html>\n<body>\n<h1>x</h1>\n</body>\n</html>\n"


def test_garbage_local_feed_says_its_valid_lines_are_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "feed.txt"
    feed.write_bytes(GARBAGE)
    cfg = local_config(tmp_path)
    rc, [line], err = cli(capsys, "feeds", "update", "--config", str(cfg))
    assert rc == 1 and line["status"] == "failed" and line["reason"].startswith("garbage")
    assert line["accepted"] == 2
    assert str(feed) in line["using"] and "2 valid entries used" in line["using"]
    assert "None" not in err and "adds nothing" not in err and str(feed) in err
    rc, lines, _ = cli(capsys, "feeds", "stats", "--config", str(cfg))
    [stats] = [x for x in lines if x.get("feed") == "f"]
    assert stats["accepted"] == 2
    [warning] = stats["warnings"]
    assert "None" not in warning and "read in place" in warning and str(feed) in warning
    rc, [hit], _ = cli(capsys, "feeds", "check", "--config", str(cfg), "evil-one.example")
    assert hit["match"]  # what the messages say is used is indeed used


def test_kept_copy_without_a_recorded_time_never_says_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "feed.txt"
    feed.write_bytes(names(10))
    cfg = local_config(tmp_path)
    cli(capsys, "feeds", "update", "--config", str(cfg))
    store = FeedStore(tmp_path / "st")
    meta = store.meta("f")
    del meta["fetched_at"]  # as an older wardwatch left it
    store.write_meta("f", meta)
    feed.write_bytes(GARBAGE)
    rc, [line], err = cli(capsys, "feeds", "update", "--config", str(cfg))
    assert line["status"] == "kept-last-good" and line["using"].startswith("the last good copy")
    assert "None" not in err
    rc, lines, _ = cli(capsys, "feeds", "stats", "--config", str(cfg))
    [stats] = [x for x in lines if x.get("feed") == "f"]
    assert stats["accepted"] == 10 and all("None" not in w for w in stats["warnings"])


def test_url_feed_without_a_copy_says_it_adds_nothing(tmp_path: Path) -> None:
    cfg = parse_config(
        "data_dir: st\nfeeds:\n  - {name: u, url: 'http://127.0.0.1:9/f.txt', format: domains, retries: 0}\n",
        tmp_path / "c.yaml",
    )
    [r] = update_feeds(cfg)
    assert r.status == "failed" and r.using.startswith("nothing")
    [stats] = build_index(cfg).stats
    [warning] = stats.warnings
    assert "adds nothing" in warning and "connection failed" in warning and "None" not in warning
