"""HTTP feed sources against a real local http.server on 127.0.0.1: 304, 500, timeouts, truncated and
empty bodies, garbage, a 90% shrink. A feed that goes bad never empties the live index."""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from wardwatch.threatfeeds import FeedStore, LiveIndex, update_feeds

from wardwatch.config import parse_config

GOOD = "".join(f"bad{i}.example\n" for i in range(100)).encode()


class Script:
    """What the server answers next, per path: a queue of (status, headers, body, mode)."""

    def __init__(self) -> None:
        self.queue: list[tuple[int, dict[str, str], bytes, str]] = []
        self.requests: list[dict[str, str]] = []


class Handler(BaseHTTPRequestHandler):
    script: Script

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.script.requests.append(dict(self.headers))
        status, headers, body, mode = self.script.queue.pop(0) if self.script.queue else (404, {}, b"", "")
        if mode == "sleep":
            time.sleep(1.0)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        length = len(body) * 2 if mode == "truncate" else len(body)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)
        if mode == "truncate":
            self.close_connection = True


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()
    handler = type("H", (Handler,), {"script": script})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()
        httpd.server_close()


def config(tmp_path: Path, base: str, **extra: object):  # type: ignore[no-untyped-def]
    opts = ", ".join(f"{k}: {v}" for k, v in {"timeout": 0.5, "retries": 2, "backoff": 0.01, **extra}.items())
    text = f"data_dir: state\nfeeds:\n  - {{name: f, url: '{base}/feed.txt', format: domains, {opts}}}\n"
    return parse_config(text, tmp_path / "c.yaml")


def ok(body: bytes = GOOD, etag: str = '"v1"') -> tuple[int, dict[str, str], bytes, str]:
    return (200, {"ETag": etag, "Last-Modified": "Thu, 01 Jan 2026 00:00:00 GMT"}, body, "")


def test_download_snapshot_and_conditional_304(tmp_path: Path, server: tuple[str, Script]) -> None:
    base, script = server
    cfg = config(tmp_path, base)
    script.queue.append(ok())
    [r] = update_feeds(cfg, sleep=lambda s: None)
    assert r.status == "updated" and r.accepted == 100
    meta = FeedStore(cfg.data_dir).meta("f")
    assert meta["etag"] == '"v1"'
    # fresh: no request at all until `refresh` has passed
    [r] = update_feeds(cfg)
    assert r.status == "fresh" and len(script.requests) == 1
    script.queue.append((304, {}, b"", ""))
    [r] = update_feeds(cfg, force=True)
    assert r.status == "not-modified"
    assert script.requests[-1]["If-None-Match"] == '"v1"'
    assert script.requests[-1]["If-Modified-Since"] == "Thu, 01 Jan 2026 00:00:00 GMT"
    live = LiveIndex(cfg)
    assert live.index.match_domain("x.bad7.example") is not None


def test_gzip_body(tmp_path: Path, server: tuple[str, Script]) -> None:
    base, script = server
    script.queue.append((200, {"Content-Encoding": "gzip"}, gzip.compress(GOOD), ""))
    [r] = update_feeds(config(tmp_path, base), sleep=lambda s: None)
    assert r.status == "updated" and r.accepted == 100


BAD_ANSWERS = {
    "http-500": [(500, {}, b"oops", "")] * 3,
    "timeout": [(200, {}, GOOD, "sleep")] * 3,
    "truncated": [(200, {}, GOOD[:500], "truncate")] * 3,
    "empty": [(200, {}, b"", "")],
    "garbage": [(200, {}, b"<html><body>\n<h1>502 Bad Gateway</h1>\n</body></html>\n", "")],
    "shrink-90%": [(200, {}, GOOD[: GOOD.index(b"bad10.")], "")],
    "too-large": [(200, {}, GOOD * 20, "")],
}


@pytest.mark.parametrize("failure", list(BAD_ANSWERS))
def test_bad_feed_never_empties_the_live_index(
    tmp_path: Path, server: tuple[str, Script], failure: str
) -> None:
    base, script = server
    cfg = config(tmp_path, base, max_size=3000)
    script.queue.append(ok())
    update_feeds(cfg, sleep=lambda s: None)
    live = LiveIndex(cfg)
    assert len(live.index) == 100
    good_snapshot = FeedStore(cfg.data_dir).snapshot_path("f").read_bytes()

    script.queue.extend(BAD_ANSWERS[failure])
    waits: list[float] = []
    [r] = live.refresh(force=True, sleep=waits.append)
    assert r.status == "kept-last-good", r
    assert r.reason
    assert len(live.index) == 100
    assert live.index.match_domain("cdn.bad42.example") is not None
    assert FeedStore(cfg.data_dir).snapshot_path("f").read_bytes() == good_snapshot
    assert FeedStore(cfg.data_dir).meta("f")["last_error"] == r.reason
    if failure in ("http-500", "timeout", "truncated"):
        assert waits == [0.01, 0.02]  # two retries with doubling back-off
        assert len(script.requests) == 4
    # a fresh process starts offline from the last good snapshot
    assert len(LiveIndex(cfg).index) == 100


def test_no_retry_on_404_and_failed_without_copy(tmp_path: Path, server: tuple[str, Script]) -> None:
    base, script = server
    script.queue.append((404, {}, b"", ""))
    cfg = config(tmp_path, base)
    [r] = update_feeds(cfg, sleep=lambda s: None)
    assert r.status == "failed" and r.reason == "HTTP 404" and len(script.requests) == 1
    assert len(LiveIndex(cfg).index) == 0


def test_unreachable_server(tmp_path: Path) -> None:
    cfg = config(tmp_path, "http://127.0.0.1:9", retries=0)
    [r] = update_feeds(cfg)
    assert r.status == "failed" and r.reason.startswith("connection failed")


def test_local_file_that_goes_bad_keeps_last_good(tmp_path: Path) -> None:
    feed = tmp_path / "local.txt"
    feed.write_bytes(GOOD)
    cfg = parse_config(
        "data_dir: st\nfeeds:\n  - {name: l, path: local.txt, format: domains}\n", tmp_path / "c.yaml"
    )
    live = LiveIndex(cfg)
    assert len(live.index) == 100
    feed.write_bytes(b"")
    [r] = live.refresh()
    assert r.status == "kept-last-good"
    assert len(live.index) == 100
    feed.write_bytes(GOOD + b"new.example\n")
    live.refresh()
    assert len(live.index) == 101
