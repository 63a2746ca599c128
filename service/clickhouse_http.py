"""A ClickHouse-compatible HTTP endpoint on the embedded store, so that Grafana's ClickHouse plugin
(clickhouse-go v2 with ``protocol: http``) and clickhouse-connect reach the chdb that lives inside
``wardwatch serve``, without a ClickHouse server. Off unless configured:

    http:
      clickhouse:
        listen: 127.0.0.1:8123   # loopback by default; Grafana runs on the same machine
        user: grafana
        password: "…"           # required (or password_file: a file holding it)

What it speaks (the subset of ClickHouse's HTTP interface those drivers use):

- ``GET /ping`` → ``Ok.``; ``GET|POST /?query=…`` or the statement in a POST body;
- credentials as ``X-ClickHouse-User``/``X-ClickHouse-Key``, HTTP Basic, or ``user``/``password``
  parameters, compared in constant time; a wrong one gets ClickHouse's code 516 and HTTP 401;
- ``database`` (only ``default``), ``default_format``, ``param_<name>`` (server-side parameters);
  every other setting a client sends is ignored: the store's limits and ``readonly`` are ours;
- answers in the format the statement or ``default_format`` names (Native, RowBinary…, made by chdb
  itself), uncompressed, with ``X-ClickHouse-Format``, ``-Timezone``, ``-Query-Id``, ``-Summary``;
- errors as ClickHouse words them (``Code: N. DB::Exception: …``, ``X-ClickHouse-Exception-Code``)
  with its HTTP statuses, so that a driver shows the reason.

What a statement may do is ``clickhouse_sql.py``'s business.
"""

from __future__ import annotations

import base64
import gzip
import hmac
import logging
import threading
import uuid
import zlib
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from wardwatch.store import StoreError

from wardwatch.errors import UsageError
from wardwatch.i18n import text

from .clickhouse_native import at_revision, hello_sql, is_hello
from .clickhouse_settings import EndpointSettings
from .clickhouse_sql import DATABASE, ClickhouseError, prepare, wrapped

log = logging.getLogger(__name__)
MAX_BODY = 1 << 20  # a statement, not data: inserts are refused anyway
MAX_BUSY = 8  # queries share one chdb engine (one at a time): more waiting clients only queue
TIMEOUT = 30.0
CONTENT_TYPES = {
    "Native": "application/octet-stream",
    "RowBinary": "application/octet-stream",
    "RowBinaryWithNames": "application/octet-stream",
    "RowBinaryWithNamesAndTypes": "application/octet-stream",
    "Arrow": "application/octet-stream",
    "ArrowStream": "application/octet-stream",
    "Parquet": "application/octet-stream",
    "JSON": "application/json; charset=UTF-8",
    "JSONCompact": "application/json; charset=UTF-8",
    "JSONEachRow": "application/x-ndjson; charset=UTF-8",
    "CSV": "text/csv; charset=UTF-8; header=absent",
}


def start_endpoint(store: Any, settings: EndpointSettings | None) -> ClickhouseEndpoint | None:
    """The endpoint, listening, when ``http.clickhouse`` is configured (else None)."""
    if settings is None:
        return None
    endpoint = ClickhouseEndpoint(store, settings)
    endpoint.start()
    vi, en = text("dashboards.endpoint_listening", address=endpoint.address, user=settings.user)
    log.info("%s · %s", vi, en)
    return endpoint


class ClickhouseEndpoint:
    """The server; ``store`` is the service's own (its chdb session, its query lock)."""

    def __init__(self, store: Any, settings: EndpointSettings) -> None:
        if getattr(getattr(store, "settings", None), "backend", None) != "chdb" or not hasattr(
            store, "backend"
        ):
            raise UsageError(
                "http.clickhouse: cổng tương thích ClickHouse chỉ dùng cho kho nhúng (chdb) · the ClickHouse-compatible"
                " endpoint serves the embedded store (chdb) only: with a ClickHouse server, point Grafana at it"
            )
        self.store = store
        self.settings = settings
        self.version = self._version()
        self._busy = threading.BoundedSemaphore(MAX_BUSY)
        endpoint = self

        class _Handler(BaseHTTPRequestHandler):
            server_version = "wardwatch-clickhouse"
            sys_version = ""
            timeout = TIMEOUT
            protocol_version = "HTTP/1.1"  # keep-alive: the drivers reuse their connections
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK wait

            def do_GET(self) -> None:  # noqa: N802 - http.server's names
                endpoint.serve(self)

            def do_POST(self) -> None:  # noqa: N802
                endpoint.serve(self)

            def do_HEAD(self) -> None:  # noqa: N802
                endpoint.reply(self, 200, b"", "text/plain; charset=UTF-8", {})

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                log.debug("clickhouse-http: %s %s", self.address_string(), format % args)

        try:
            self.server = ThreadingHTTPServer((settings.host, settings.port), _Handler)
        except OSError as e:
            raise UsageError(
                f"không mở được cổng ClickHouse {settings.host}:{settings.port} ({e.strerror or e}) · cannot"
                f" listen on {settings.host}:{settings.port} ({e.strerror or e}): another program uses it;"
                " set http.clickhouse.listen in the config"
            ) from None
        self.server.daemon_threads = True

    def _version(self) -> str:
        try:
            return str(self.store.rows("SELECT version() AS v")[0]["v"])
        except (StoreError, IndexError, KeyError):
            return "0.0.0"

    @property
    def address(self) -> str:
        host, port = (str(x) for x in self.server.server_address[:2])
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, name="wardwatch-clickhouse", daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- one request -------------------------------------------------------------------------------
    def serve(self, req: BaseHTTPRequestHandler) -> None:
        url = urlsplit(req.path)
        if url.path in ("/ping", "/replicas_status"):
            self.reply(req, 200, b"Ok.\n", "text/plain; charset=UTF-8", {})
            return
        query_id = str(uuid.uuid4())
        if not self._busy.acquire(blocking=False):
            self.fail(req, ClickhouseError(202, "Too many simultaneous queries; retry"), query_id, status=503)
            return
        try:
            body, fmt = self._answer(req, url.path, url.query, query_id)
        except ClickhouseError as e:
            self.fail(req, e, query_id)
            return
        except StoreError as e:
            self.fail(req, ClickhouseError.from_store(e), query_id)
            return
        except Exception as e:  # noqa: BLE001 - one request's bug must not end the service
            log.exception("clickhouse-http: request failed")
            self.fail(req, ClickhouseError(1001, f"internal error: {type(e).__name__}: {e}"), query_id)
            return
        finally:
            self._busy.release()
        headers = {
            "X-ClickHouse-Format": fmt,
            "X-ClickHouse-Timezone": "UTC",
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Server-Display-Name": "wardwatch",
            "X-ClickHouse-Summary": '{"read_rows":"0","read_bytes":"0","written_rows":"0","written_bytes":"0",'
            '"total_rows_to_read":"0","result_rows":"0","result_bytes":"0"}',
        }
        self.reply(req, 200, body, CONTENT_TYPES.get(fmt, "text/plain; charset=UTF-8"), headers)

    def _answer(self, req: BaseHTTPRequestHandler, path: str, query: str, query_id: str) -> tuple[bytes, str]:
        body = self._body(req)  # read first: the connection is kept alive for the next request
        if path != "/":
            raise ClickhouseError(60, f"There is no handle {path}: this endpoint answers / and /ping")
        args = dict(parse_qsl(query, keep_blank_values=True))
        self._authenticate(req, args)
        database = req.headers.get("X-ClickHouse-Database") or args.get("database") or DATABASE
        if database != DATABASE:
            raise ClickhouseError(81, f"Database {database} does not exist")
        if args.get("decompress") in ("1", "true"):
            raise ClickhouseError(1000, "compressed request bodies (decompress=1) are not supported here")
        text = args.get("query", "")
        if body.strip():
            text = f"{text}\n{body}" if text else body
        if not text.strip():
            raise ClickhouseError(62, "Empty query")
        params = {k[6:]: v for k, v in args.items() if k.startswith("param_")}
        default_format = (
            req.headers.get("X-ClickHouse-Format") or args.get("default_format") or "TabSeparated"
        )
        prepared = prepare(self.store, text, params, default_format)
        try:
            revision = int(args.get("client_protocol_version") or 0)
        except ValueError:
            revision = 0
        hello = prepared.fmt == "Native" and revision > 0 and is_hello(prepared.sql)
        if hello:  # clickhouse-go's first question (see clickhouse_native.py)
            prepared = replace(prepared, sql=hello_sql(prepared.sql))
        limits = dict(self.store.settings.query_limits)
        log.debug("clickhouse-http: %s runs %s", query_id, prepared.sql)
        data = self.store.backend.raw(wrapped(prepared, limits), prepared.fmt, params or None)
        if hello:
            data = at_revision(data, revision)
        return data, prepared.fmt

    def _body(self, req: BaseHTTPRequestHandler) -> str:
        if req.command != "POST":
            return ""
        length = req.headers.get("Content-Length")
        if req.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raw = _read_chunked(req)
        else:
            try:
                n = int(length or 0)
            except ValueError:
                raise ClickhouseError(62, f"bad Content-Length {length!r}") from None
            if n > MAX_BODY:
                raise ClickhouseError(62, f"the request body is over {MAX_BODY} bytes: a statement, not data")
            raw = req.rfile.read(n)
        encoding = req.headers.get("Content-Encoding", "").lower()
        try:
            if encoding == "gzip":
                raw = gzip.decompress(raw)
            elif encoding == "deflate":
                raw = zlib.decompress(raw)
            elif encoding not in ("", "identity"):
                raise ClickhouseError(
                    1000, f"Content-Encoding {encoding} is not supported here (use none or gzip)"
                )
        except (OSError, zlib.error) as e:
            raise ClickhouseError(1000, f"cannot decompress the request body: {e}") from None
        return raw.decode("utf-8", "replace")

    def _authenticate(self, req: BaseHTTPRequestHandler, args: dict[str, str]) -> None:
        user = req.headers.get("X-ClickHouse-User")
        password = req.headers.get("X-ClickHouse-Key")
        auth = req.headers.get("Authorization", "")
        if user is None and auth.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                user = password = None
        if user is None:
            user, password = args.get("user", "default"), args.get("password", "")
        # both compared, always, in constant time: no hint which of the two was wrong
        ok_user = hmac.compare_digest(user.encode(), self.settings.user.encode())
        ok_password = hmac.compare_digest((password or "").encode(), self.settings.password.encode())
        if not (ok_user and ok_password):
            log.warning(
                "clickhouse-http: authentication failed for user %r from %s", user, req.client_address[0]
            )
            raise ClickhouseError(
                516,
                f"{user}: Authentication failed: password is incorrect, or there is no user with such name",
            )

    # -- answers -------------------------------------------------------------------------------------
    def fail(
        self, req: BaseHTTPRequestHandler, e: ClickhouseError, query_id: str, status: int | None = None
    ) -> None:
        headers = {
            "X-ClickHouse-Exception-Code": str(e.code),
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Format": "TabSeparated",
        }
        self.reply(
            req, status or e.status, e.text(self.version).encode(), "text/plain; charset=UTF-8", headers
        )

    def reply(
        self, req: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str, headers: dict[str, str]
    ) -> None:
        try:
            req.send_response(status)
            req.send_header("Content-Type", ctype)
            req.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                req.send_header(k, v)
            req.end_headers()
            if req.command != "HEAD":
                req.wfile.write(body)
        except OSError:  # the client went away
            pass


def _read_chunked(req: BaseHTTPRequestHandler) -> bytes:
    out = bytearray()
    while True:
        line = req.rfile.readline(65537)
        try:
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        except ValueError:
            raise ClickhouseError(62, "bad chunked request body") from None
        if size == 0:
            req.rfile.readline()
            return bytes(out)
        if len(out) + size > MAX_BODY:
            raise ClickhouseError(62, f"the request body is over {MAX_BODY} bytes: a statement, not data")
        out += req.rfile.read(size)
        req.rfile.readline()
