"""The service's local HTTP API (standard library ``http.server``: a handful of small endpoints on
loopback need nothing more).

    GET  /healthz   JSON: ok, uptime, last packet, store, feeds' age            (anyone)
    GET  /metrics   Prometheus text (prometheus_client)                          (anyone)
    POST /query     {"sql": "...", "params": {...}} → one JSON row a line         (token)
    POST /hunt      {"since": s, "until": s, "dry_run": false} → the hunt's JSON  (token)
    POST /replay    {"pcap": ["/path/a.pcap", ...]} → 202, replayed in turn       (token)
    GET|POST /ack   a notification's signed link (notify/endpoints.py)             (the link)
    POST /alerts/event, /alerts/silence   alert state from `wardwatch alerts`      (token)

The token is in the store's owner-only lock file (``store/lock.py``): whoever may read the store
may ask the service to read it. A bad request gets a 4xx and a JSON ``{"error": …}``, never a
traceback; bodies over ``http.max_request`` are refused before they are read; at most ``MAX_BUSY``
requests are worked on at once (the others get 503), and a client that stops sending is dropped
after ``TIMEOUT`` seconds.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from wardwatch.errors import UsageError, WardwatchError

log = logging.getLogger(__name__)
MAX_BUSY = 16
TIMEOUT = 30.0


class BadRequest(WardwatchError):
    """What the caller sent cannot be worked on (HTTP ``status``)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


Handler = Callable[[dict[str, Any]], tuple[int, str, bytes]]


class Api:
    """The server and its routes: ``get`` maps a path to a function of nothing, ``post`` to a
    function of the decoded JSON body; each returns (status, content type, body)."""

    def __init__(self, host: str, port: int, max_request: int, token: str) -> None:
        self.max_request = max_request
        self.token = token
        self.get: dict[str, Callable[[], tuple[int, str, bytes]]] = {}
        self.post: dict[str, Handler] = {}
        # routes that check their own credentials (notify's signed links): (method, query, raw body)
        self.public: dict[str, Callable[[str, str, bytes], tuple[int, str, bytes]]] = {}
        self._busy = threading.BoundedSemaphore(MAX_BUSY)
        api = self

        class _Handler(BaseHTTPRequestHandler):
            server_version = "wardwatch"
            sys_version = ""
            timeout = TIMEOUT  # a stalled client cannot hold a thread forever
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:  # noqa: N802 - http.server's names
                api.serve(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                api.serve(self, "POST")

            def do_PUT(self) -> None:  # noqa: N802
                api.serve(self, "PUT")

            def do_DELETE(self) -> None:  # noqa: N802
                api.serve(self, "DELETE")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                log.debug("http: %s %s", self.address_string(), format % args)

        try:
            self.server = ThreadingHTTPServer((host, port), _Handler)
        except OSError as e:
            raise UsageError(
                f"không mở được cổng API {host}:{port} ({e.strerror or e}) · cannot listen on {host}:{port}"
                f" ({e.strerror or e}): another program (or another wardwatch serve) uses it; set"
                " http.listen in the config"
            ) from None
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        host, port = (str(x) for x in self.server.server_address[:2])
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, name="wardwatch-api", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- one request -------------------------------------------------------------------------------
    def serve(self, req: BaseHTTPRequestHandler, method: str) -> None:
        if not self._busy.acquire(blocking=False):
            self._reply(req, 503, _error("the service is busy: too many requests at once; retry"))
            return
        try:
            status, ctype, body = self._route(req, method)
        except BadRequest as e:
            status, ctype, body = e.status, "application/json", _error(str(e))
        except WardwatchError as e:  # the store refused the query, a config problem…
            status, ctype, body = 400, "application/json", _error(str(e))
        except Exception as e:  # noqa: BLE001 - one request's bug must not end the service
            log.exception("http: %s %s failed", method, req.path)
            status, ctype, body = 500, "application/json", _error(f"internal error: {type(e).__name__}: {e}")
        finally:
            self._busy.release()
        self._reply(req, status, body, ctype)

    def _route(self, req: BaseHTTPRequestHandler, method: str) -> tuple[int, str, bytes]:
        path, _, query = req.path.partition("?")
        if path in self.public:
            return self.public[path](method, query, self._raw(req) if method == "POST" else b"")
        if path in self.get:
            if method != "GET":
                raise BadRequest(f"{path} answers GET only", 405)
            return self.get[path]()
        if path not in self.post:
            raise BadRequest(
                f"no such endpoint {path!r} (GET /healthz, /metrics; POST /query, /hunt, /replay)", 404
            )
        if method != "POST":
            raise BadRequest(f"{path} answers POST only", 405)
        given = req.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
            raise BadRequest(
                f"{path} needs the token in the store's lock file (Authorization: Bearer …)", 401
            )
        return self.post[path](self._body(req))

    def _body(self, req: BaseHTTPRequestHandler) -> dict[str, Any]:
        raw = self._raw(req)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise BadRequest(f"the body is not JSON: {e}") from None
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        return body

    def _raw(self, req: BaseHTTPRequestHandler) -> bytes:
        length = req.headers.get("Content-Length")
        if length is None:
            raise BadRequest("a POST needs a Content-Length", 411)
        try:
            n = int(length)
        except ValueError:
            raise BadRequest(f"bad Content-Length {length!r}") from None
        if n < 0:
            raise BadRequest(f"bad Content-Length {length!r}")
        if n > self.max_request:
            raise BadRequest(f"request body over {self.max_request} bytes (http.max_request)", 413)
        raw = req.rfile.read(n)
        if len(raw) < n:
            raise BadRequest("the request body ended early")
        return bytes(raw)

    def _reply(
        self, req: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str = "application/json"
    ) -> None:
        try:
            req.send_response(
                status, HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
            )
            req.send_header("Content-Type", ctype)
            req.send_header("Content-Length", str(len(body)))
            req.send_header("Connection", "close")
            req.end_headers()
            req.wfile.write(body)
        except OSError:  # the client went away: nothing to tell it
            pass


def _error(message: str) -> bytes:
    return orjson.dumps({"error": message})


def json_reply(doc: Any, status: int = 200) -> tuple[int, str, bytes]:
    return status, "application/json", orjson.dumps(doc)
