"""HTTP(S) download of one feed: conditional requests, retries with back-off, a size limit, a deadline.

Plain ``urllib``: feeds are a few requests an hour, so a faster client would buy nothing and add a
dependency. Every failure becomes a ``FetchError`` with a short reason; nothing here touches the store.

``timeout`` bounds each attempt as a whole, not only each socket operation: a server that sends one
line a second never trips a per-read timeout (nor requests'/urllib3's), so a watchdog timer shuts the
connection's socket down when the attempt's time is up, wherever the reader is blocked (status line,
headers or body).
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from wardwatch.errors import WardwatchError

log = logging.getLogger(__name__)

USER_AGENT = "wardwatch-feeds/0.1 (+hospital network monitoring)"
_CHUNK = 1 << 16


class FetchError(WardwatchError):
    """A download that failed after its retries; ``retryable`` tells transient from final failures."""

    def __init__(self, reason: str, retryable: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass(frozen=True)
class Fetched:
    not_modified: bool
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    status: int = 200
    attempts: int = 1


@dataclass(frozen=True)
class FetchPolicy:
    timeout: float = 30.0  # seconds per socket operation and for the whole body
    retries: int = 3  # extra attempts after the first
    backoff: float = 2.0  # first wait; doubles each retry
    max_backoff: float = 60.0
    max_bytes: int = 256 << 20


def _read_limited(resp: http.client.HTTPResponse, policy: FetchPolicy, deadline: float) -> bytes:
    length = resp.headers.get("Content-Length")
    expected = int(length) if length and length.isdigit() else None
    if expected is not None and expected > policy.max_bytes:
        raise FetchError(f"too large: Content-Length {expected} > {policy.max_bytes}", retryable=False)
    chunks: list[bytes] = []
    total = 0
    while True:
        if time.monotonic() > deadline:
            raise FetchError("timeout reading body")
        chunk = resp.read(_CHUNK)
        if not chunk:
            break
        total += len(chunk)
        if total > policy.max_bytes:
            raise FetchError(f"too large: more than {policy.max_bytes} bytes", retryable=False)
        chunks.append(chunk)
    if expected is not None and total != expected:
        raise FetchError(f"truncated body: {total} of {expected} bytes")
    body = b"".join(chunks)
    if (resp.headers.get("Content-Encoding") or "").lower() in ("gzip", "x-gzip"):
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = d.decompress(body, policy.max_bytes + 1)
        except zlib.error as e:
            raise FetchError(f"bad gzip body: {e}") from None
        if len(body) > policy.max_bytes:
            raise FetchError(f"too large after gzip: more than {policy.max_bytes} bytes", retryable=False)
        if not d.eof:
            raise FetchError("truncated gzip body")
    return body


class _Watchdog:
    """Shuts down the socket of the connection in use once the attempt's deadline passes.

    The reader then sees EOF or a reset; ``fired`` (set before the shutdown) tells that apart from a
    server that really closed, so a partial body is never taken for a whole one.
    """

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def connection(self, cls: type[http.client.HTTPConnection]) -> type[http.client.HTTPConnection]:
        watchdog = self

        class Watched(cls):  # type: ignore[valid-type,misc]
            def connect(self) -> None:
                super().connect()
                # urllib drops the connection's reference once the headers are read and reads the body
                # through the response, so the socket itself is what must be kept
                watchdog.watch(self.sock)

        return Watched

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock  # a redirect opens a new connection: watch the latest
            if self.fired:
                self._shutdown()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            self._shutdown()

    def _shutdown(self) -> None:
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                # the plain socket call: SSLSocket.shutdown would also drop its TLS state under the
                # reading thread's feet
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self._watchdog = watchdog

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._watchdog.connection(http.client.HTTPConnection), req)  # type: ignore[arg-type]


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self._watchdog = watchdog

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        make = self._watchdog.connection(http.client.HTTPSConnection)
        return self.do_open(make, req, context=self._context)  # type: ignore[arg-type,attr-defined]


def _attempt(url: str, headers: dict[str, str], policy: FetchPolicy) -> Fetched:
    with _Watchdog(policy.timeout) as watchdog:
        try:
            got = _attempt_once(url, headers, policy, watchdog)
        except FetchError:
            if watchdog.fired:
                raise _overtime(policy) from None
            raise
        if watchdog.fired:
            raise _overtime(policy)
        return got


def _overtime(policy: FetchPolicy) -> FetchError:
    return FetchError(f"timeout: the download took longer than {policy.timeout:g}s in all")


def _attempt_once(url: str, headers: dict[str, str], policy: FetchPolicy, watchdog: _Watchdog) -> Fetched:
    req = urllib.request.Request(url, headers=headers)
    deadline = time.monotonic() + policy.timeout
    opener = urllib.request.build_opener(_HTTPHandler(watchdog), _HTTPSHandler(watchdog))
    try:
        with opener.open(req, timeout=policy.timeout) as resp:
            body = _read_limited(resp, policy, deadline)
            return Fetched(
                False,
                body,
                resp.headers.get("ETag"),
                resp.headers.get("Last-Modified"),
                resp.status,
            )
    except urllib.error.HTTPError as e:
        if e.code == 304:
            return Fetched(True, status=304)
        retryable = e.code >= 500 or e.code in (408, 429)
        raise FetchError(f"HTTP {e.code}", retryable=retryable) from None
    except TimeoutError:
        raise FetchError("timeout") from None
    except http.client.IncompleteRead as e:
        raise FetchError(f"truncated body: {len(e.partial)} bytes then the connection closed") from None
    except urllib.error.URLError as e:
        reason = e.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise FetchError("timeout") from None
        raise FetchError(f"connection failed: {reason}") from None
    except (http.client.HTTPException, ConnectionError, OSError) as e:
        raise FetchError(f"connection failed: {e.__class__.__name__}: {e}") from None


def fetch(
    url: str,
    policy: FetchPolicy,
    etag: str | None = None,
    last_modified: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Fetched:
    """GET ``url``; a 304 answer to our ``If-None-Match``/``If-Modified-Since`` is ``not_modified``."""
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    wait = policy.backoff
    attempt = 0
    while True:
        attempt += 1
        try:
            got = _attempt(url, headers, policy)
            return Fetched(got.not_modified, got.body, got.etag, got.last_modified, got.status, attempt)
        except FetchError as e:
            if not e.retryable or attempt > policy.retries:
                if attempt > 1:
                    e.reason = f"{e.reason} (after {attempt} attempts)"
                    e.args = (e.reason,)
                raise
            log.warning("feed download %s failed (%s); retrying in %.1fs", url, e.reason, wait)
            sleep(wait)
            wait = min(wait * 2, policy.max_backoff)
