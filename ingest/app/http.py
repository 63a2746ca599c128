"""HTTP/1.x: request heads (http.log) paired with response status lines, and Basic-auth logins.

Own parser: request lines and a handful of headers are split by hand because generic HTTP libraries
want whole, valid messages and cost far more than the sensor can spend per connection.
"""

from __future__ import annotations

import base64
import binascii
from collections import deque

from .passwords import is_weak
from .redact import redact_url

METHODS = (
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"CONNECT",
    b"PATCH",
    b"TRACE",
    b"PROPFIND",
)
MAX_HEAD = 16384  # request heads longer than this are parsed as far as they got
MAX_PENDING = 16  # unanswered requests kept per connection (pipelining)

Record = dict[str, object]


def starts_request(data: bytes) -> bool:
    space = data.find(b" ", 0, 10)
    return space > 0 and data[:space] in METHODS


def _text(value: bytes) -> str:
    return value.decode("utf-8", "backslashreplace")


def parse_request_head(head: bytes) -> tuple[Record, str | None] | None:
    """Request line and headers → (http.log fields, Authorization header value or None)."""
    lines = head.split(b"\r\n") if b"\r\n" in head else head.split(b"\n")
    parts = lines[0].split(b" ")
    if len(parts) < 2 or parts[0] not in METHODS:
        return None
    # Secrets in the URL (``?password=``, ``user:pass@``) are masked here, before any record holds them.
    out: Record = {"method": _text(parts[0]), "uri": redact_url(_text(parts[1]))}
    if len(parts) >= 3 and parts[-1].startswith(b"HTTP/"):
        out["version"] = _text(parts[-1][5:])
    auth = None
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        key = name.strip().lower()
        val = value.strip()
        if key == b"host":
            out["host"] = _host(_text(val))
        elif key == b"user-agent":
            out["user_agent"] = _text(val)
        elif key == b"referer":
            out["referrer"] = redact_url(_text(val))
        elif key == b"authorization":
            auth = val.decode("latin-1")
    return out, auth


def _host(value: str) -> str:
    # Zeek drops the port from the Host header; keep bracketed IPv6 literals whole.
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end > 0 else value
    return value.split(":", 1)[0]


def parse_status_line(line: bytes) -> tuple[int, str] | None:
    parts = line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return None
    return int(parts[1]), _text(parts[2].strip()) if len(parts) == 3 else ""


def basic_credentials(auth: str) -> tuple[str, str] | None:
    """User and password of an ``Authorization: Basic`` header (the caller must drop the password)."""
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


class HttpAnalyser:
    """One HTTP connection: request heads from the client, status lines from the server."""

    service = "http"

    def __init__(self) -> None:
        self.head = bytearray()
        self.head_ts = 0.0
        self.depth = 0
        self.pending: deque[tuple[Record, Record | None]] = deque()
        self.recognised = False
        self.done = False  # never: keep-alive connections carry more requests

    def wants(self, from_client: bool) -> bool:
        """Does it need the following segments of this direction (a request head still open)?"""
        return from_client and bool(self.head)

    def on_data(self, from_client: bool, data: bytes, ts: float) -> list[Record]:
        if from_client:
            return self._client(data, ts)
        return self._server(data)

    def _client(self, data: bytes, ts: float) -> list[Record]:
        out: list[Record] = []
        if not self.head:
            if not starts_request(data):
                return out  # body or mid-stream bytes
            self.head_ts = ts
        self.head += data
        while True:
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                if len(self.head) < MAX_HEAD:
                    return out
                end = len(self.head)
            head = bytes(self.head[:end])
            rest = bytes(self.head[end + 4 :])
            self.head.clear()
            out += self._request(head)
            if not starts_request(rest):
                return out  # a body (or nothing) follows; the next request starts a new segment
            self.head += rest

    def _request(self, head: bytes) -> list[Record]:
        parsed = parse_request_head(head)
        if parsed is None:
            return []
        fields, auth = parsed
        self.recognised = True
        self.depth += 1
        rec: Record = {"_path": "http", "ts": self.head_ts, "trans_depth": self.depth}
        rec.update(fields)
        login: Record | None = None
        creds = basic_credentials(auth) if auth else None
        if creds is not None:
            rec["username"] = creds[0]
            login = {
                "_path": "login",
                "ts": self.head_ts,
                "service": "http",
                "user": creds[0],
                "weak_password": is_weak(creds[1], creds[0]),
            }
            creds = None
        self.pending.append((rec, login))
        if len(self.pending) > MAX_PENDING:
            return self._emit(self.pending.popleft())
        return []

    def _server(self, data: bytes) -> list[Record]:
        status = parse_status_line(data[: data.find(b"\n")] if b"\n" in data else data[:256])
        if status is None or not self.pending:
            return []
        code, msg = status
        if 100 <= code < 200 and code != 101:
            return []  # interim response; the final one follows
        rec, login = self.pending.popleft()
        rec["status_code"] = code
        rec["status_msg"] = msg
        if login is not None:
            login["success"] = 200 <= code < 400
        return self._emit((rec, login))

    @staticmethod
    def _emit(item: tuple[Record, Record | None]) -> list[Record]:
        rec, login = item
        return [rec] if login is None else [rec, login]

    def finish(self) -> list[Record]:
        out: list[Record] = []
        while self.pending:
            out += self._emit(self.pending.popleft())
        return out

    def idle(self) -> bool:
        return not self.pending and not self.head
