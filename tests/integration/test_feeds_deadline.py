"""Issue 11 point 15: a server that trickles its body must not defeat the feed's ``timeout``.

Each line arrives well within the per-read socket timeout, so only a deadline on the whole download
stops it. The loopback server is bounded: it sends at most ``LINES`` lines and stops at once when the
client goes away; it records whether the client hung up before the end (the deadline worked) or read
the whole trickle (it did not, whatever the error said afterwards).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from wardwatch.threatfeeds import FeedStore, update_feeds
from wardwatch.threatfeeds.fetch import FetchError, FetchPolicy, fetch

from wardwatch.config import parse_config

LINES = 80  # at PAUSE each: 8 s of trickle, far beyond the 0.5 s deadline, and then it ends by itself
PAUSE = 0.1


class Trickle(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # close-delimited body: without the deadline, a read ends only at EOF
    content_length = False
    outcome: list[str]
    finished: threading.Event

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        body = [f"slow{i}.example\n".encode() for i in range(LINES)]
        self.send_response(200)
        if self.content_length:
            self.send_header("Content-Length", str(sum(map(len, body))))
        self.end_headers()
        try:
            for line in body:
                self.wfile.write(line)
                self.wfile.flush()
                time.sleep(PAUSE)
            self.outcome.append("sent-everything")
        except (BrokenPipeError, ConnectionResetError):
            self.outcome.append("client-hung-up")
        finally:
            self.finished.set()


@pytest.fixture(params=[False, True], ids=["close-delimited", "content-length"])
def trickle(request: pytest.FixtureRequest) -> Iterator[tuple[str, list[str], threading.Event]]:
    outcome: list[str] = []
    finished = threading.Event()
    attrs = {"content_length": request.param, "outcome": outcome, "finished": finished}
    handler = type("H", (Trickle,), attrs)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/feed.txt", outcome, finished
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_trickled_body_hits_the_whole_download_deadline(
    trickle: tuple[str, list[str], threading.Event],
) -> None:
    url, outcome, finished = trickle
    with pytest.raises(FetchError) as err:
        fetch(url, FetchPolicy(timeout=0.5, retries=0))
    assert "timeout" in err.value.reason
    assert finished.wait(60)  # a bound on the server's own end, not a timing assertion
    assert outcome == ["client-hung-up"]  # the deadline, not the end of the trickle, stopped the download


def test_trickling_feed_fails_without_a_copy(
    tmp_path: Path, trickle: tuple[str, list[str], threading.Event]
) -> None:
    url, outcome, finished = trickle
    cfg = parse_config(
        f"data_dir: st\nfeeds:\n  - {{name: slow, url: '{url}', format: domains, timeout: 0.5, retries: 0}}\n",
        tmp_path / "c.yaml",
    )
    [r] = update_feeds(cfg, sleep=lambda s: None)
    assert r.status == "failed" and "timeout" in r.reason, r
    assert not FeedStore(cfg.data_dir).has_snapshot("slow")
    assert finished.wait(60) and outcome == ["client-hung-up"]
