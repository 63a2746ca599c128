"""The console's own listener (``service/console_app.py``) with a configured certificate: HTTPS with
uvicorn on a real socket, a Secure session cookie from a real login, plain HTTP refused on that port,
a bad certificate or a taken port refused at start with the reason (never a traceback)."""

from __future__ import annotations

import http.client
import re
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

pytest.importorskip("chdb")
pytest.importorskip("uvicorn")

from wardwatch.console import manage  # noqa: E402
from wardwatch.console.settings import ConsoleSettings  # noqa: E402
from wardwatch.service.api import Api  # noqa: E402
from wardwatch.service.console_app import ConsoleServer, start_console  # noqa: E402
from wardwatch.store import open_store  # noqa: E402

from tests.integration.test_notify_channels import cert as cert  # noqa: E402, F401 (the fixture)
from wardwatch.config import parse_config  # noqa: E402
from wardwatch.errors import UsageError  # noqa: E402

pytestmark = pytest.mark.integration
PASSWORD = "Ch4m-soc-benh-nhan!"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    d = tmp_path_factory.mktemp("console-tls")
    config = parse_config(f"data_dir: {d}\n", d / "c.yaml")
    s = open_store(config)
    s.test_config = config
    try:
        yield s
    finally:
        s.close()


def _https(port: int, ca: Path) -> http.client.HTTPSConnection:
    ctx = ssl.create_default_context(cafile=str(ca))
    return http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)


def test_https_login_sets_a_secure_cookie_and_plain_http_is_refused(store: Any, cert: tuple[Path, Path]) -> None:
    secret = manage.apply(store, {"op": "add", "name": "hoa", "role": "analyst", "password": PASSWORD}, "test")["totp"]
    api = Api("127.0.0.1", 0, 1 << 20, "token")
    server = start_console(store, store.test_config, ConsoleSettings("127.0.0.1", 0, cert[0], cert[1]), api)
    assert server is not None and server.address.startswith("https://127.0.0.1:")
    assert "/console/users" in api.post
    port = int(server.address.rsplit(":", 1)[1])
    try:
        conn = _https(port, cert[0])
        conn.request("GET", "/login")
        resp = conn.getresponse()
        page = resp.read().decode()
        pre = resp.getheader("set-cookie") or ""
        assert resp.status == 200 and "secure" in pre.lower() and "strict-transport-security" in {k.lower() for k, _ in resp.getheaders()}
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        body = f"csrf={token}&name=hoa&password={PASSWORD}&code={pyotp.TOTP(secret).now()}&next=/alerts"
        conn = _https(port, cert[0])
        conn.request("POST", "/login", body=body.replace("!", "%21"), headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": pre.split(";")[0]})  # fmt: skip
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 303, resp.status
        cookie = next(v for k, v in resp.getheaders() if k.lower() == "set-cookie" and v.startswith("ww_session="))
        assert {"httponly", "secure", "samesite=strict"} <= {p.strip().lower() for p in cookie.split(";")[1:]}
        # plain HTTP on the HTTPS port gets no page
        plain = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
            plain.request("GET", "/login")
            plain.getresponse().read()
        # accounts through the service's API (what `wardwatch users` uses while serve runs)
        status, _, out = api.post["/console/users"]({"op": "disable", "name": "hoa", "who": "test"})
        assert status == 200 and b'"ended":1' in out
    finally:
        server.stop()


def test_a_bad_certificate_or_a_taken_port_is_a_clear_error(store: Any, tmp_path: Path, cert: tuple[Path, Path]) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    with pytest.raises(UsageError, match="cannot load the console's certificate"):
        ConsoleServer(store, store.test_config, ConsoleSettings("127.0.0.1", 0, bad, cert[1]))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(UsageError, match="cannot listen on 127.0.0.1:.* for the console"):
            ConsoleServer(store, store.test_config, ConsoleSettings("127.0.0.1", port, None, None))
