"""The analyst console (``console/``) inside ``wardwatch serve``: its own listener (``http.console``),
HTTPS with the configured certificate (plain HTTP only on loopback: ``console/settings.py``), served by
uvicorn on a thread beside the API. Off unless ``http.console`` is set.

It also mounts ``POST /console/users`` on the service's API (token), so that ``wardwatch users``
manages accounts while the service holds the embedded store."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
import time
from typing import Any

from wardwatch.console.settings import ConsoleSettings

from wardwatch.config import Config
from wardwatch.errors import UsageError
from wardwatch.i18n import say_log

from .api import Api, BadRequest, json_reply

log = logging.getLogger(__name__)
START_TIMEOUT = 20.0


class ConsoleServer:
    def __init__(self, store: Any, config: Config, settings: ConsoleSettings) -> None:
        import uvicorn
        from wardwatch.console.app import build

        self.app = build(store, config, settings)
        family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((settings.host, settings.port))
        except OSError as e:
            self.sock.close()
            raise UsageError(
                f"không mở được cổng bảng điều khiển {settings.host}:{settings.port} ({e.strerror or e})"
                f" · cannot listen on {settings.host}:{settings.port} for the console ({e.strerror or e}):"
                " set http.console.listen"
            ) from None
        self.sock.listen(128)
        cfg = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            ssl_certfile=str(settings.cert) if settings.cert else None,
            ssl_keyfile=str(settings.key) if settings.key else None,
            server_header=False,
            proxy_headers=False,  # the client address is the peer's: the lock-out counts addresses
            timeout_keep_alive=5,
            limit_concurrency=64,
        )
        try:
            cfg.load()  # the certificate and key, read now: a bad one stops the start with its reason
        except (ssl.SSLError, OSError) as e:
            self.sock.close()
            raise UsageError(
                f"không đọc được chứng chỉ của bảng điều khiển · cannot load the console's certificate/key"
                f" ({settings.cert}, {settings.key}): {e}"
            ) from None
        self.server = uvicorn.Server(cfg)
        self.scheme = "https" if settings.https else "http"
        self._thread = threading.Thread(target=self._run, name="wardwatch-console", daemon=True)

    @property
    def address(self) -> str:
        host, port = self.sock.getsockname()[:2]
        host = f"[{host}]" if ":" in host else host
        return f"{self.scheme}://{host}:{port}"

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self.server.started:
            raise UsageError(f"the console did not start on {self.address}")

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
        self.sock.close()


def start_console(store: Any, config: Config, settings: ConsoleSettings | None, api: Api) -> ConsoleServer | None:
    """The console, listening, when ``http.console`` is configured and the service holds a store."""
    if not hasattr(store, "rows"):  # Kafka: the service holds no store (the console needs one)
        if settings is not None:
            log.warning("console: this service sends to Kafka and holds no store; the console is off")
        return None
    server = ConsoleServer(store, config, settings) if settings is not None else None
    sessions = server.app.state.console.sessions if server is not None else None
    api.post["/console/users"] = lambda body: _users(store, body, sessions)
    if server is None:
        return None
    server.start()
    say_log(log, "console.listening", address=server.address)
    return server


def _users(store: Any, body: dict[str, Any], sessions: Any) -> tuple[int, str, bytes]:
    from wardwatch.console.accounts import AccountError
    from wardwatch.console.manage import apply

    try:
        out = apply(store, body, str(body.get("who") or "cli"), sessions.close_user if sessions else None)
    except AccountError as e:
        raise BadRequest(str(e), 404 if e.key == "console.user.unknown" else 400) from None
    return json_reply(out)
