"""Issue 13, points 2 and 3: ``wardwatch serve`` as a real process on a real chdb store.

- SIGTERM after a replay: the store holds exactly what ``wardwatch run --pcap`` stores;
- while it runs, ``wardwatch query`` and ``hunt`` on the same data_dir answer (through its API);
- SIGHUP with a new feed: the next match alerts; a broken config is refused and the old one kept;
- kill -9, then a restart: the stale lock is taken over and nothing flushed is lost;
- /healthz, /metrics, and bad requests (4xx with a message, never a crash).

Every wait is on a state read from /healthz or the process, with a generous deadline.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("chdb")
pytest.importorskip("prometheus_client")

from wardwatch.tools.synth import generate  # noqa: E402

from tests.integration.waiting import wait_for  # noqa: E402

pytestmark = pytest.mark.integration

TABLES = ("dns", "conn", "tls", "http", "login", "alerts")
COUNTS = " , ".join(f"(SELECT count() FROM {t}) AS {t}" for t in TABLES)


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return generate(tmp_path_factory.mktemp("serve_synth"), seed=3)


def _config(synth: Any, folder: Path, **more: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cfg = yaml.safe_load(synth.config.read_text())
    cfg["data_dir"] = str(folder / "var")
    cfg["http"] = {"listen": "127.0.0.1:0"}  # a free port: tests may run side by side
    cfg["store"] = {"flush_seconds": 0.2}
    cfg.update(more)
    path = folder / "hospital.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wardwatch.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def _wait(what: str, cond: Callable[[], Any], deadline: float = 120.0) -> Any:
    return wait_for(what, cond, deadline, step=0.1)


class Served:
    """One ``wardwatch serve`` process and its API, as found in the store's lock file."""

    def __init__(self, config: Path, *args: str) -> None:
        self.config = config
        self.lock = config.parent / "var" / "store" / "wardwatch.pid"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wardwatch.cli", "serve", "--config", str(config), *args],
            cwd=config.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        holder = _wait("the service to announce its API", self._holder)
        self.host, port = holder["api"].removeprefix("http://").rsplit(":", 1)
        self.port = int(port)
        self.token = holder["token"]

    def _holder(self) -> dict[str, Any] | None:
        if self.proc.poll() is not None:
            pytest.fail(f"serve ended early ({self.proc.returncode}): {self.proc.stderr.read()}")  # type: ignore[union-attr]
        with contextlib.suppress(OSError, ValueError):
            d = json.loads(self.lock.read_text())
            if d.get("pid") == self.proc.pid and d.get("api"):
                return d
        return None

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def post(self, path: str, doc: Any, token: str | None = None) -> tuple[int, Any]:
        status, body = self.request(
            "POST", path, json.dumps(doc).encode(), {"Authorization": f"Bearer {token or self.token}"}
        )
        return status, json.loads(body) if body.startswith(b"{") else body

    def health(self) -> dict[str, Any]:
        status, body = self.request("GET", "/healthz")
        assert status == 200
        return json.loads(body)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=120)
        finally:
            self.stderr = self.proc.stderr.read() if self.proc.stderr else ""  # type: ignore[union-attr]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=60)


@contextlib.contextmanager
def serving(config: Path, *args: str) -> Iterator[Served]:
    s = Served(config, *args)
    try:
        yield s
    finally:
        s.kill()


def _counts(config: Path) -> dict[str, int]:
    out = _cli("query", "--config", str(config), f"SELECT {COUNTS}", cwd=config.parent)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _categories(config: Path) -> dict[str, int]:
    out = _cli(
        "query",
        "--config",
        str(config),
        "SELECT category, count() AS n FROM alerts GROUP BY category",
        cwd=config.parent,
    )
    assert out.returncode == 0, out.stderr
    return {r["category"]: r["n"] for r in map(json.loads, out.stdout.splitlines())}


@pytest.fixture(scope="module")
def by_run(synth: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, int], dict[str, int]]:
    """What ``wardwatch run --pcap`` stores from the capture: the reference."""
    config = _config(synth, tmp_path_factory.mktemp("serve_ref"))
    out = _cli("run", "--quiet", "--pcap", str(synth.pcap), "--config", str(config), cwd=config.parent)
    assert out.returncode == 0, out.stderr
    return _counts(config), _categories(config)


def test_serve_answers_while_running_and_stores_what_run_stores(
    synth: Any, tmp_path: Path, by_run: tuple[dict[str, int], dict[str, int]]
) -> None:
    config = _config(synth, tmp_path / "a")
    with serving(config, "--pcap", str(synth.pcap)) as s:
        _wait("the replay to end", lambda: s.health()["replays_done"] >= 1)
        health = s.health()
        assert health["ok"] and health["mode"] == "replay" and health["packets"] > 0
        assert health["store"]["backend"] == "chdb" and set(health["feeds"]) == {"synth-domains", "synth-ips"}
        assert health["feeds_age"] is not None and health["last_packet"]

        # the store is held by serve: query and hunt go through its API, and answer
        ref, _ = by_run
        got = _wait("every row to be flushed", lambda: (c := _counts(config)) == ref and c)
        assert got == ref
        hunt = _cli("hunt", "--config", str(config), "--since", "all", "--dry-run", cwd=config.parent)
        assert hunt.returncode == 0, hunt.stderr
        assert "sigma:" in hunt.stderr and hunt.stdout.strip()
        refused = _cli(
            "query", "--config", str(config), "SELECT * FROM file('/etc/passwd')", cwd=config.parent
        )
        assert refused.returncode == 1 and "file()" in refused.stderr and "Traceback" not in refused.stderr
        # a write cannot get through the service either (the session itself writes: readonly per query)
        write = _cli(
            "query", "--config", str(config), "INSERT INTO alerts (uid) VALUES ('x')", cwd=config.parent
        )
        assert write.returncode == 1 and "Traceback" not in write.stderr

        status, text = s.request("GET", "/metrics")
        assert status == 200
        metrics = text.decode()
        for name in (
            "wardwatch_packets_total",
            "wardwatch_stored_rows_total{",
            'table="dns"',
            "wardwatch_alerts_total{",
            "wardwatch_store_insert_seconds_bucket",
            'wardwatch_feed_age_seconds{feed="synth-domains"}',
            "wardwatch_kernel_drops_total",
            'wardwatch_behaviour_evictions_total{detector="beacon"}',
        ):
            assert name in metrics, name

        # bad requests: a status and a message, and the service goes on
        assert s.request("GET", "/nowhere")[0] == 404
        assert s.request("GET", "/query")[0] == 405
        assert s.post("/query", {"sql": "SELECT 1"}, token="wrong")[0] == 401
        status, body = s.request("POST", "/query", b"{not json", {"Authorization": f"Bearer {s.token}"})
        assert status == 400 and b"not JSON" in body
        # refused on its announced length, before a byte of it is read
        big = {"Authorization": f"Bearer {s.token}", "Content-Length": str(2 << 20)}
        assert s.request("POST", "/query", b"x", big)[0] == 413
        assert s.post("/query", {"sql": 42})[0] == 400
        assert s.post("/query", ["SELECT 1"])[0] == 400
        assert s.post("/replay", {"pcap": ["/no/such.pcap"]})[0] == 400
        assert s.post("/hunt", {"since": "yesterday"})[0] == 400
        status, rows = s.post("/query", {"sql": "SELECT {n:UInt8} + 1 AS x", "params": {"n": "2"}})
        assert status == 200 and rows == {"x": 3}
        assert s.health()["ok"]

        assert s.stop() == 0, s.stderr
    assert "Traceback" not in s.stderr
    assert json.loads(config.parent.joinpath("var/store/wardwatch.pid").read_text() or "{}") == {}
    assert _counts(config) == by_run[0]  # opened directly now: the service closed it properly
    assert _categories(config) == by_run[1]
    assert (config.parent / "var" / "behaviour").is_dir()  # behaviour state kept for the next start


def test_sighup_new_feed_alerts_on_the_next_match_and_a_bad_config_is_refused(
    synth: Any, tmp_path: Path
) -> None:
    config = _config(synth, tmp_path / "b")
    late = "SELECT count() AS n FROM alerts WHERE category = 'threat_feed_domain' AND indicator = 'zalo.me'"
    with serving(config, "--pcap", str(synth.pcap)) as s:
        _wait("the replay to end", lambda: s.health()["replays_done"] >= 1)
        assert s.post("/query", {"sql": late}) == (200, {"n": 0})

        good = config.read_text()
        config.write_text(good + "unknown_section: 1\n")
        s.proc.send_signal(signal.SIGHUP)
        health = _wait("the bad config to be refused", lambda: (h := s.health())["reloads"]["refused"] and h)
        assert "unknown_section" in health["last_reload_error"] and health["ok"]

        (tmp_path / "late.txt").write_text("zalo.me\n")
        cfg = yaml.safe_load(good)
        cfg["feeds"].append(
            {"name": "late", "path": str(tmp_path / "late.txt"), "format": "domains", "trusted": True}
        )
        config.write_text(yaml.safe_dump(cfg))
        s.proc.send_signal(signal.SIGHUP)
        _wait("the reload", lambda: s.health()["reloads"]["applied"] == 1)
        assert "late" in s.health()["feeds"]

        assert s.post("/replay", {"pcap": [str(synth.pcap)]})[0] == 202
        _wait("the second replay", lambda: s.health()["replays_done"] >= 2)
        _wait(
            "the new feed's alert in the store",
            lambda: (r := s.post("/query", {"sql": late}))[0] == 200 and r[1]["n"] > 0,
        )
        assert s.stop() == 0, s.stderr


def test_kill_9_then_restart_keeps_what_was_flushed(
    synth: Any, tmp_path: Path, by_run: tuple[dict[str, int], dict[str, int]]
) -> None:
    config = _config(synth, tmp_path / "c")
    ref = by_run[0]
    total = sum(ref.values())
    with serving(config, "--pcap", str(synth.pcap)) as s:
        _wait("every row to be flushed", lambda: s.health()["store"]["committed"] >= total)
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait(timeout=60)
    # the pid file outlived the process; query must not try its dead API
    assert json.loads(config.parent.joinpath("var/store/wardwatch.pid").read_text())["pid"] == s.proc.pid
    after = _cli("query", "--config", str(config), f"SELECT {COUNTS}", cwd=config.parent)
    assert after.returncode == 0 and json.loads(after.stdout) == ref
    assert "stale lock" in after.stderr  # the next opener takes the lock over, and says so
    # a restart replays the same capture: nothing is stored twice
    again = _cli("serve", "--config", str(config), "--pcap", str(synth.pcap), "--once", cwd=config.parent)
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    assert _counts(config) == ref


def test_serve_without_anything_to_capture_says_so(synth: Any, tmp_path: Path) -> None:
    config = _config(synth, tmp_path / "d")
    out = _cli("serve", "--config", str(config), cwd=config.parent)
    assert out.returncode == 2 and "sensor.interfaces" in out.stderr and "Traceback" not in out.stderr
    out = _cli("serve", "--config", str(config), "--once", cwd=config.parent)
    assert out.returncode == 2 and "--pcap" in out.stderr
    busy = _config(synth, tmp_path / "e", http={"listen": "127.0.0.1:nope"})
    out = _cli("serve", "--config", str(busy), "--pcap", str(synth.pcap), cwd=busy.parent)
    assert out.returncode == 2 and "http.listen" in out.stderr and "Traceback" not in out.stderr


def test_shared_session_query_keeps_its_limits_and_the_session_writable(synth: Any, tmp_path: Path) -> None:
    """The service's session also writes, so ``readonly`` and the limits go with each query: the
    query's own SETTINGS cannot lift them, and the writer keeps writing afterwards."""
    from wardwatch.store import StoreError, open_store
    from wardwatch.store.query import read_only

    from wardwatch.config import load_config

    config = _config(synth, tmp_path / "f", store={"query": {"max_result_rows": 10}})
    store = open_store(load_config(config))
    try:
        with pytest.raises(StoreError, match="too many result rows"):
            list(
                read_only(
                    store,
                    "SELECT number FROM numbers(100) SETTINGS max_result_rows = 1000, readonly = 0",
                    shared=True,
                )
            )
        with pytest.raises(StoreError):
            list(read_only(store, "INSERT INTO alerts (uid) VALUES ('x')", shared=True))
        assert list(read_only(store, "SELECT count() AS n FROM alerts", shared=True)) == [b'{"n":0}']
        # not refused: the session itself was never made read-only
        assert store.rows("SELECT getSetting('readonly') AS r") == [{"r": 0}]
        store.backend.execute("CREATE TABLE serve_probe (x UInt8) ENGINE = Memory")
        store.backend.execute("DROP TABLE serve_probe")
    finally:
        store.close()


# -- systemd: deploy/wardwatch.service is Type=notify; a datagram socket stands where systemd's would be
class Listener:
    """systemd's side: every datagram the service sends, as a dict of its KEY=VALUE lines."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[dict[str, str]] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while not self.done.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            self.messages.append(dict(line.split("=", 1) for line in data.decode().splitlines()))

    def seen(self, key: str) -> list[dict[str, str]]:
        return [m for m in list(self.messages) if key in m]

    def close(self) -> None:
        self.done.set()
        self.thread.join(5)
        self.sock.close()


def test_ready_watchdog_reload_and_stopping_reach_systemd(
    synth: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listener = Listener(tmp_path / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    monkeypatch.setenv("WATCHDOG_USEC", "400000")  # a ping every 0.2 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    config = _config(synth, tmp_path / "a")
    try:
        with serving(config, "--pcap", str(synth.pcap)) as s:
            ready = _wait("READY=1", lambda: listener.seen("READY"))
            assert ready[0]["READY"] == "1" and "records" in ready[0]["STATUS"]
            assert not listener.seen("STOPPING")
            _wait("the replay to end", lambda: s.health()["replays_done"] >= 1)
            # the loop turns (idle after the replay) and keeps pinging the watchdog
            pings = len(listener.seen("WATCHDOG"))
            _wait("more watchdog pings", lambda: len(listener.seen("WATCHDOG")) >= pings + 3)

            s.proc.send_signal(signal.SIGHUP)  # the same config: a reload that applies
            _wait("the reload", lambda: s.health()["reloads"]["applied"] == 1)
            reloading = listener.seen("RELOADING")
            assert len(reloading) == 1 and int(reloading[0]["MONOTONIC_USEC"]) > 0
            # READY=1 again after the reload, and after it in time
            wait_for("READY after RELOADING", lambda: listener.seen("READY")[1:] or None, 30, step=0.1)
            order = [k for m in list(listener.messages) for k in m if k in ("READY", "RELOADING")]
            assert order == ["READY", "RELOADING", "READY"]
            assert s.stop() == 0, s.stderr
        stopping = _wait("STOPPING=1", lambda: listener.seen("STOPPING"))
        assert stopping[0]["STOPPING"] == "1"
    finally:
        listener.close()
