"""``wardwatch dashboards push`` against a small local HTTP server that records what it is sent and
answers as Grafana's API does (no Grafana server can be installed on these machines)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

pytest.importorskip("grafana_client")

from wardwatch.cli import main  # noqa: E402

TOKEN = "glsa_test_token_1234"


class FakeGrafana:
    """Folders and dashboards kept in memory; every request recorded (method, path, auth, body)."""

    def __init__(self, token: str = TOKEN) -> None:
        self.requests: list[dict[str, Any]] = []
        self.folders: dict[str, str] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        grafana = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, doc: Any) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n)) if n else None
                grafana.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "auth": self.headers.get("Authorization"),
                        "body": body,
                    }
                )
                if self.headers.get("Authorization") != f"Bearer {token}":
                    return self._answer(401, {"message": "Unauthorized"})
                if self.command == "GET" and self.path.startswith("/api/folders/"):
                    uid = self.path.rsplit("/", 1)[1]
                    if uid in grafana.folders:
                        return self._answer(200, {"uid": uid, "title": grafana.folders[uid]})
                    return self._answer(404, {"message": "folder not found"})
                if self.command == "POST" and self.path == "/api/folders":
                    grafana.folders[body["uid"]] = body["title"]
                    return self._answer(200, {"uid": body["uid"], "title": body["title"]})
                if self.command == "POST" and self.path == "/api/dashboards/db":
                    if body["folderUid"] not in grafana.folders:
                        return self._answer(400, {"message": "folder not found"})
                    grafana.dashboards[body["dashboard"]["uid"]] = body
                    return self._answer(200, {"status": "success", "uid": body["dashboard"]["uid"]})
                return self._answer(404, {"message": "not found"})

            do_GET = do_POST = _handle  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    g = FakeGrafana()
    yield g
    g.close()


def test_push_creates_one_folder_per_language_and_every_board_with_the_token(
    grafana: FakeGrafana, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)
    assert main(["dashboards", "push", "--url", grafana.url]) == 0
    assert set(grafana.folders) == {"wardwatch-vi", "wardwatch-en"}
    assert len(grafana.dashboards) == 12 and {"ww-soc-vi", "ww-triage-en"} <= set(grafana.dashboards)
    assert all(r["auth"] == f"Bearer {TOKEN}" for r in grafana.requests)
    sent = grafana.dashboards["ww-dns-en"]
    assert (
        sent["overwrite"] is True and sent["folderUid"] == "wardwatch-en" and sent["dashboard"]["id"] is None
    )
    assert (
        sent["dashboard"]["panels"][0]["targets"][0]["datasource"]["type"] == "grafana-clickhouse-datasource"
    )
    assert "12" in capsys.readouterr().err
    # again: the folders exist, the boards are overwritten in place
    before = len([r for r in grafana.requests if r["path"] == "/api/folders"])
    assert main(["dashboards", "push", "--url", grafana.url, "--lang", "en"]) == 0
    assert len([r for r in grafana.requests if r["path"] == "/api/folders"]) == before
    assert len(grafana.dashboards) == 12


def test_push_without_a_token_is_a_usage_error_and_sends_nothing(
    grafana: FakeGrafana, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    assert main(["dashboards", "push", "--url", grafana.url]) == 2
    err = capsys.readouterr().err
    assert "GRAFANA_TOKEN" in err and "thiếu mã truy cập" in err and "Traceback" not in err
    assert grafana.requests == []


def test_a_wrong_token_or_a_bad_url_is_a_clear_error(
    grafana: FakeGrafana, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRAFANA_TOKEN", "wrong")
    assert main(["dashboards", "push", "--url", grafana.url]) == 1
    err = capsys.readouterr().err
    assert "HTTP 401" in err and "từ chối" in err and "Traceback" not in err
    monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)
    assert main(["dashboards", "push", "--url", "ftp://grafana"]) == 2
    assert (
        main(["dashboards", "push", "--url", f"http://admin:{TOKEN}@127.0.0.1:3000"]) == 2
    )  # no secrets in argv
    closed = FakeGrafana()
    closed.close()
    assert main(["dashboards", "push", "--url", closed.url]) == 1
    err = capsys.readouterr().err
    assert "không kết nối được" in err and "cannot reach" in err and "Traceback" not in err


def test_export_refuses_a_file_and_a_bad_config(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["dashboards", "export", "--out", str(f)]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("http:\n  clickhouse:\n    listen: nowhere\n    password: x\n")
    assert main(["dashboards", "export", "--out", str(tmp_path / "o"), "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "http.clickhouse.listen" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as e:
        main(["dashboards", "export", "--out", str(tmp_path / "o"), "--lang", "fr"])
    assert e.value.code == 2
