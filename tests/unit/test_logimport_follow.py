"""Following log files: rotation (rename, then compression), truncation in place, a half-written last
line, and restarts in the middle — every line is read exactly once."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

from wardwatch.ingest.logs import EveInput, Follower, ZeekInput

from wardwatch.counters import Counters


def _line(i: int) -> bytes:
    return b'{"n":%d,"pad":"%s"}\n' % (i, b"x" * (i % 17))


def _follower(folder: Path, state: Path) -> Follower:
    return Follower(lambda: sorted(folder.glob("eve.json*")), state, Counters())


def _read(f: Follower, final: bool = False) -> list[int]:
    out = []
    for chunk in f.poll(final):
        out += [int(ln.split(b",")[0][5:]) for ln in chunk.lines]
    f.commit()
    return out


def test_rotation_compression_truncation_half_lines_and_restarts(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    state = tmp_path / "positions.json"
    live = folder / "eve.json"
    seen: list[int] = []
    n = 0

    def write(count: int, path: Path = live) -> None:
        nonlocal n
        with open(path, "ab") as f:
            for _ in range(count):
                f.write(_line(n))
                n += 1

    write(100)
    f = _follower(folder, state)
    seen += _read(f)
    # a half-written last line waits for its end
    with open(live, "ab") as out:
        out.write(b'{"n":%d,"pad":"' % n)
    seen += _read(f)
    assert seen == list(range(100))
    with open(live, "ab") as out:
        out.write(b'"}\n')
    n += 1
    write(20)
    # restart in the middle: a new follower from the saved positions
    f = _follower(folder, state)
    seen += _read(f)
    assert seen == list(range(121))
    # rotation: renamed, written on for a moment (as Suricata until its HUP), a new live file
    write(30)
    os.rename(live, folder / "eve.json.1")
    write(5, folder / "eve.json.1")
    write(40)
    seen += _read(f)
    # the rotated file compressed (a new inode, the same content); restart before reading it again
    with open(folder / "eve.json.1", "rb") as src, gzip.open(folder / "eve.json.1.gz", "wb") as dst:
        dst.write(src.read())
    os.unlink(folder / "eve.json.1")
    f = _follower(folder, state)
    write(10)
    seen += _read(f)
    # truncated in place (copytruncate) and written anew: a new file, read from its start
    with open(live, "r+b") as out:
        out.truncate(0)
    write(25)
    seen += _read(f)
    assert sorted(seen) == list(range(n)) and len(seen) == n  # each line once, none skipped
    assert _read(f) == []


def test_restart_before_commit_rereads_only_the_uncommitted_batch(tmp_path: Path) -> None:
    folder = tmp_path
    state = tmp_path / "pos.json"
    (folder / "eve.json").write_bytes(b"".join(_line(i) for i in range(50)))
    f = _follower(folder, state)
    assert len(_read(f)) == 50
    with open(folder / "eve.json", "ab") as out:
        out.write(b"".join(_line(i) for i in range(50, 60)))
    chunks = f.poll()  # handed out, never committed: the process dies here
    assert sum(len(c.lines) for c in chunks) == 10
    f = _follower(folder, state)
    assert _read(f) == list(range(50, 60))


def test_final_reads_a_last_line_without_newline_and_gzip_is_complete(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "eve.json.2.gz", "wb") as g:
        g.write(_line(0) + _line(1).rstrip(b"\n"))
    (tmp_path / "eve.json").write_bytes(_line(2) + _line(3).rstrip(b"\n"))
    f = _follower(tmp_path, tmp_path / "p.json")
    assert sorted(_read(f)) == [0, 1, 2]  # the live file's last line may still be being written
    assert _read(f, final=True) == [3]


def test_damaged_positions_file_and_broken_gzip_are_counted(tmp_path: Path) -> None:
    state = tmp_path / "p.json"
    state.write_bytes(b"{not json")
    (tmp_path / "eve.json").write_bytes(_line(0))
    (tmp_path / "eve.json.3.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    f = _follower(tmp_path, state)
    assert _read(f) == [0]
    assert f.counters["logs.positions_unreadable"] == 1 and f.counters["logs.read_errors"] >= 1


def test_zeek_tsv_resumed_mid_file_keeps_its_headers(tmp_path: Path) -> None:
    head = (
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\torig_pkts\n"
        "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\n"
    )
    log = tmp_path / "conn.log"
    log.write_text(head + "".join(f"{i}.0\tC{i}\t10.0.0.1\t{i}\t10.0.0.2\t80\ttcp\t{i}\n" for i in range(10)))
    state = tmp_path / "zeek.json"
    z = ZeekInput(tmp_path, state)
    recs, _ = z.poll()
    z.commit()
    assert [r["uid"] for r in recs] == [f"C{i}" for i in range(10)]
    with open(log, "a") as out:
        out.write("".join(f"{i}.0\tC{i}\t10.0.0.1\t{i}\t10.0.0.2\t80\ttcp\t{i}\n" for i in range(10, 15)))
    z = ZeekInput(tmp_path, state)  # restarted: the headers are read again from the file's start
    recs, _ = z.poll()
    assert [(r["uid"], r["orig_pkts"]) for r in recs] == [(f"C{i}", i) for i in range(10, 15)]
    assert z.counters.get("logs.zeek.malformed", 0) == 0


def test_eve_input_counts_lines_once_across_restart(tmp_path: Path) -> None:
    eve = tmp_path / "eve.json"
    line = (
        '{"timestamp":"2024-05-01T10:00:%02d.000000+0000","flow_id":%d,"event_type":"flow","src_ip":"10.0.0.1",'
        '"src_port":%d,"dest_ip":"10.0.0.2","dest_port":80,"proto":"TCP","flow":{"pkts_toserver":1,'
        '"pkts_toclient":1,"bytes_toserver":60,"bytes_toclient":60,"start":"2024-05-01T10:00:00.000000+0000"}}\n'
    )
    eve.write_text("".join(line % (i % 60, i, 1000 + i) for i in range(30)))
    state = tmp_path / "eve-pos.json"
    a = EveInput(eve, state)
    first, _ = a.poll()
    a.commit()
    with open(eve, "a") as out:
        out.write("".join(line % (i % 60, i, 1000 + i) for i in range(30, 45)))
        out.write(line[:40])  # half a line: not read until its end arrives
    b = EveInput(eve, state)
    second, _ = b.poll()
    b.commit()
    ports = [r["id.orig_p"] for r in first + second]
    assert ports == [1000 + i for i in range(45)]


def test_a_line_longer_than_a_read_is_skipped_and_the_file_moves_on(tmp_path: Path, monkeypatch: Any) -> None:
    from wardwatch.ingest.logs import follow

    monkeypatch.setattr(follow, "READ", 4096)
    with open(tmp_path / "eve.json", "wb") as out:
        out.write(_line(0) + b"x" * 10_000 + b"\n" + _line(1))
    f = _follower(tmp_path, tmp_path / "p.json")
    got: list[int] = []
    for _ in range(6):
        got += _read(f)
    assert got == [0, 1] and f.counters["logs.line_too_long"] == 1
