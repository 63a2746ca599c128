"""The service: one loop that reads (live interfaces, or capture files for testing), detects and
stores, forever; the threads beside it (the API, the reloader) only hand it work between batches.

- SIGTERM / SIGINT: capture stops (the live sensor flushes its open connections), the engine's
  held-back alerts and every pending row go into the store, the store is closed: exit 0.
- SIGHUP: the config is read again off the loop's thread (feeds, allow-list, rules, segments); a
  config that does not load is refused with its reason in the log and the old one is kept. The new
  engine replaces the old one between two batches: capture never stops.
- Feeds: checked every ``http.feeds_check``; a feed that changed (its own ``refresh`` says when a
  URL is fetched again) brings a new index and engine the same way.
- Behaviour state: saved under ``detectors.behaviour.state_dir`` (default here ``data_dir/behaviour``)
  every ``save_every`` and at each engine change and stop, restored at start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from wardwatch.config import Config, ConfigError
from wardwatch.counters import Counters
from wardwatch.errors import UsageError, WardwatchError
from wardwatch.i18n import say_log as log_pair
from wardwatch.i18n import text

from .api import Api, BadRequest, json_reply
from .clickhouse_http import start_endpoint
from .console_app import start_console
from .flow import Flow, feed_index, open_writer
from .inputs import configured as inputs_configured
from .inputs import start_inputs
from .metrics import CONTENT_TYPE, INTERFACE_PACKETS, KERNEL_DROPS, Metrics, TimedBackend, per_interface
from .reporting import start as start_weekly_report
from .settings import http_settings
from .systemd import Notifier

log = logging.getLogger(__name__)
TICK = 2.0  # seconds between the clock-driven chores (coverage watchdog, behaviour state saves)
IDLE = 0.5  # how often an idle loop (files replayed, nothing queued) looks for work and signals
# sections a reload cannot change under a running capture: they take effect at the next start
RESTART_ONLY = ("data_dir", "store", "clickhouse", "kafka", "sensor", "http")



def say_log(key: str, level: int = logging.INFO, **values: object) -> None:
    log_pair(log, key, level, **values)


class Service:
    def __init__(
        self,
        config_path: str,
        load: Callable[[str], Config],
        pcaps: Sequence[str] = (),
        once: bool = False,
    ) -> None:
        self.config_path = config_path
        self.load = load  # reads and checks the whole config (every room's section): the CLI's
        self.pcaps = list(pcaps)
        self.once = once
        self.counters = Counters()
        self.started = time.time()
        self.last_packet = 0.0
        self.flow: Flow | None = None
        self.inputs: Any = None  # service/inputs.py: NetFlow, Zeek, EVE beside the sensor
        self.config: Config | None = None
        self.index: Any = None
        self.store: Any = None
        self.stop = threading.Event()
        self._reload = threading.Event()
        self._pending: queue.Queue[tuple[str, Config, Any]] = queue.Queue()
        self._replays: queue.Queue[list[str]] = queue.Queue()
        self._hunting = threading.Lock()
        self.live = False
        self.replaying = False
        self.replays_done = 0
        self.reloads = {"applied": 0, "refused": 0, "feeds": 0}
        self.last_reload_error = ""
        self.oncall: Any = None  # notify/'s thread (on-call notification), when receivers are configured
        self.weekly: Any = None  # report/'s weekly thread (service/reporting.py)
        self._announced: tuple[str, str] | None = None
        self.notifier = Notifier()  # systemd's READY/RELOADING/STOPPING/WATCHDOG (nothing outside it)

    # -- start and stop ----------------------------------------------------------------------------
    def run(self) -> int:
        self.config_path = os.path.abspath(self.config_path)  # SIGHUP reads it again, whatever the cwd
        euid = os.geteuid()
        config = self.config = self.load(self.config_path)
        http = http_settings(config)
        sensor = self._sensor_source(config)
        feed: Iterator[list[dict[str, Any]]] | None = None
        if sensor is not None:
            self._hand_over(config)
            feed = sensor()
            # The first (empty) yield comes once the capture sockets are open and privileges are dropped
            # (``sensor.user``): from here on every file, the store's first, is the capture user's.
            next(feed, None)
            if os.geteuid() != euid:
                # The folder we were started from may be closed to the capture user, and libraries
                # imported from now on (chdb) return to it: work from data_dir, as a daemon should.
                os.chdir(config.data_dir)
        try:
            self.store = self._open_store(config)
        except BaseException:
            self.stop.set()
            close = getattr(feed, "close", None)  # a generator: stops the capture and its workers
            if close is not None:
                close()
            raise
        try:
            self.metrics = Metrics(self)
            if hasattr(self.store, "backend"):  # chdb or a server: time every insert
                self.store.backend = TimedBackend(self.store.backend, self.metrics.insert_seconds)
            self.index = feed_index(config)
            self.flow = Flow(self._engine(config, self.index), open_writer(self.store, self.counters))
            self.flow.watchdogs = self._watchdogs(config)
            self.inputs = start_inputs(config, self.counters, self.stop)  # service/inputs.py; None: none
            self.oncall = self._oncall(config)
            if self.oncall is not None:
                # critical and high alerts reach the notifier as they are made, not after their merge
                # window and the next flush (packet → mail within group_wait + 2 s: bench/bench_notify.py)
                oncall, writer = self.oncall, self.flow.writer
                self.flow.early(URGENT, lambda alerts: oncall.offer(writer.preview(alerts)))
            token = secrets.token_urlsafe(32)
            api = Api(http.host, http.port, http.max_request, token)
            self._routes(api)
            api.start()
            clickhouse = None  # Grafana's way into the embedded store (http.clickhouse), when configured
            console = None  # the analyst console (http.console; service/console_app.py), when configured
            try:
                clickhouse = start_endpoint(self.store, http.clickhouse)
                console = start_console(self.store, config, http.console, api)
                self._announce(api.address, token)
                self.weekly = start_weekly_report(self.store, config)  # report/: Monday mornings
                say_log("serve.listening", address=api.address, pid=_pid())
                self.notifier.ready(self._status())
                threading.Thread(
                    target=self._chores, args=(http.feeds_check,), name="wardwatch-reloader", daemon=True
                ).start()
                with self._signals():
                    self._loop(feed)
                    if self.inputs is not None:
                        self.inputs.close(self.flow)
                    self.flow.finish()
            finally:
                api.stop()
                if console is not None:
                    console.stop()
                if clickhouse is not None:
                    clickhouse.stop()
                if self.oncall is not None:
                    self.oncall.stop()  # what is not sent stays in the store's outbox for the next start
                if self.weekly is not None:
                    self.weekly.stop()
                self.flow.writer.close()
        finally:
            self.store.close()  # (chdb: the lock file is emptied: closed properly)
            self.notifier.close()
        say_log("serve.stopped", records=self.flow.records, alerts=self.flow.alerts)
        return 0

    def _sensor_source(self, config: Config) -> Callable[[], Iterator[list[dict[str, Any]]]] | None:
        """The live capture, or None when only files are replayed."""
        from wardwatch.ingest.sensor import sensor_config

        sc = sensor_config(config)
        interfaces = getattr(sc, "interfaces", None) or ()
        if self.pcaps or self.once:
            if not self.pcaps:
                raise UsageError("\n".join(text("serve.once_needs_pcap")))
            return None
        if not interfaces:
            if inputs_configured(config):
                return None  # the inputs alone (NetFlow, Zeek, EVE: service/inputs.py), no capture
            raise UsageError("\n".join(text("serve.nothing", config=config.path.name)))
        try:
            from wardwatch.ingest.sensor import sense_live  # type: ignore[attr-defined]
        except ImportError:
            raise UsageError("\n".join(text("serve.no_live"))) from None
        self.live = True
        return lambda: sense_live(sc, self.counters, self.stop)

    def _hand_over(self, config: Config) -> None:
        """Running as root with ``sensor.user`` set, the capture drops to that user once its sockets are
        open; give ``data_dir`` (store, feeds, state, spool) to that user first, or the service could
        no longer write what it created as root. Owner-only modes are kept."""
        import pwd

        from wardwatch.ingest.sensor import sensor_config

        user = getattr(sensor_config(config), "user", None)
        if os.geteuid() != 0 or not user:
            return
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            raise UsageError("\n".join(text("live.no_user", user=user))) from None
        root = Path(config.data_dir)
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        for folder, _dirs, files in os.walk(root):
            os.chown(folder, pw.pw_uid, pw.pw_gid)
            for name in files:
                os.chown(os.path.join(folder, name), pw.pw_uid, pw.pw_gid, follow_symlinks=False)

    def _open_store(self, config: Config) -> Any:
        if config.kafka is not None:
            from wardwatch.bus.remote import BusStore

            return BusStore(config)
        from wardwatch.store import open_store

        return open_store(config)

    def _announce(self, address: str, token: str, pending: int | None = None) -> None:
        settings = self.store.settings
        if settings.backend == "chdb" and settings.chdb_path is not None:
            from wardwatch.store.lock import announce

            self._announced = (address, token)
            announce(settings.chdb_path, address, token, pending)

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        def stop(signum: int, frame: object) -> None:
            if not self.stop.is_set():
                say_log("serve.stopping", signal=signal.Signals(signum).name)
                self.notifier.stopping()
            self.stop.set()

        def reload(signum: int, frame: object) -> None:
            self._reload.set()

        old = {
            s: signal.signal(s, h)
            for s, h in ((signal.SIGTERM, stop), (signal.SIGINT, stop), (signal.SIGHUP, reload))
        }
        try:
            yield
        finally:
            for s, h in old.items():
                signal.signal(s, h)

    # -- the loop ----------------------------------------------------------------------------------
    def _loop(self, feed: Iterator[list[dict[str, Any]]] | None) -> None:
        assert self.flow is not None
        self._next_tick = time.monotonic() + TICK
        if feed is not None:
            # the live sensor returns once ``stop`` is set, after flushing what it holds
            for records in feed:
                self._step(records)
            return
        self._replays.put(self.pcaps)
        while not self.stop.is_set():
            try:
                paths = self._replays.get(timeout=IDLE)
            except queue.Empty:
                self._step([])  # the writer's time-bounded flush, reloads, chores
                continue
            self._replay(paths)
            if self.once and self._replays.empty():
                return

    def _replay(self, paths: list[str]) -> None:
        """The files to their end, as ``wardwatch run`` reads them (a stop request waits for the
        end: the open connections of a half-read file would otherwise be lost), then the engine's
        held-back alerts, as at the end of ``run``."""
        from wardwatch.ingest.sensor import sense, sensor_config

        assert self.flow is not None and self.config is not None
        self.replaying = True
        try:
            for records in sense(paths, self.counters, sensor_config(self.config)):
                self._step(records)
            config, index = self.config, self.index
            self.flow.swap(lambda: self._engine(config, index))
        finally:
            self.replaying = False
            self.replays_done += 1

    def _step(self, records: list[dict[str, Any]]) -> None:
        assert self.flow is not None
        if records:
            self.last_packet = time.time()
        self.flow.step(records)
        if self.inputs is not None:
            self.inputs.pump(self.flow)
        self.notifier.ping()
        while not self._pending.empty():
            self._apply(*self._pending.get_nowait())
        if time.monotonic() >= self._next_tick:
            self._next_tick = time.monotonic() + TICK
            counters = dict(self.counters)
            from wardwatch.ingest.sensor import SHED_COUNTERS

            shed = {self.store.settings.sensor: {k: counters.get(k, 0) for k in SHED_COUNTERS}}
            self.flow.tick(
                time.time(),
                per_interface(counters, KERNEL_DROPS),
                per_interface(counters, INTERFACE_PACKETS),
                shed,
            )
            self.notifier.status(self._status())
            if self._announced is not None:
                # what a kill -9 now would lose, for whoever takes the store over (store/lock.py)
                writer = self.flow.writer
                done = getattr(writer, "committed", 0)
                self._announce(*self._announced, pending=self.flow.records + self.flow.alerts - done)

    # -- engines, reloads and feeds ------------------------------------------------------------------
    def _engine(self, config: Config, index: Any) -> Any:
        from wardwatch.detectors import Engine
        from wardwatch.detectors.behaviour.options import load_options
        from wardwatch.detectors.behaviour.persist import Persisting

        engine = Engine.from_config(config, index, self.counters)
        opts = load_options(config)
        if opts.state_path is None:
            # the service keeps its baselines across restarts even when the config names no folder
            for d in engine.detectors:
                if isinstance(d, Persisting) and d.store is None:
                    d.attach(Path(config.data_dir) / "behaviour", opts.common.save_every)
        return engine

    def _watchdogs(self, config: Config) -> list[Any]:
        try:
            from wardwatch.detectors.coverage import CoverageWatchdog  # type: ignore[import-not-found]
        except ImportError:  # (a build without the coverage watchdog)
            return []
        dog = CoverageWatchdog.from_config(config, self.counters, sensor=self.store.settings.sensor)
        return [dog] if dog.o.enabled else []

    def _apply(self, kind: str, config: Config, index: Any) -> None:
        """Between two batches: the new engine (and segments for the store's rows) takes over."""
        assert self.flow is not None and self.config is not None
        old = self.config
        try:
            self.flow.swap(lambda: self._engine(config, index))
        except WardwatchError as e:  # validated on the reloader's thread: should not happen
            self._refused(str(e))
            return
        self.config, self.index = config, index
        if kind == "reload":
            from wardwatch.store import segment_lookup

            writer = self.flow.writer
            if hasattr(writer, "segment_of"):
                writer.segment_of = segment_lookup(config)[0]
            if hasattr(self.store, "config"):
                self.store.config = config
            self.flow.watchdogs = self._watchdogs(config)
            later = [k for k in RESTART_ONLY if old.raw.get(k) != config.raw.get(k)]
            self.reloads["applied"] += 1
            self.counters.add("service.reload_applied")
            say_log("serve.reloaded", later=", ".join(later) or "-")
            self.notifier.ready(self._status())
        else:
            self.reloads["feeds"] += 1
            self.counters.add("service.reload_feeds")
            say_log("serve.feeds_updated")

    def _refused(self, reason: str) -> None:
        self.notifier.ready(self._status())  # the old config goes on: the reload is over
        self.reloads["refused"] += 1
        self.counters.add("service.reload_refused")
        self.last_reload_error = reason
        say_log("serve.reload_refused", logging.ERROR, reason=reason)

    def _chores(self, feeds_check: float) -> None:
        """The reloader's thread: SIGHUP and the feed timer. Everything slow (reading the config,
        fetching feeds, building the index) happens here, never on the capture loop."""
        next_feeds = time.monotonic() + feeds_check
        while not self.stop.is_set():
            if self._reload.wait(timeout=min(IDLE, max(0.0, next_feeds - time.monotonic()))):
                self._reload.clear()
                self._prepare_reload()
            if time.monotonic() >= next_feeds:
                next_feeds = time.monotonic() + feeds_check
                self._check_feeds()

    def _prepare_reload(self) -> None:
        from wardwatch.detectors import Engine

        self.notifier.reloading()
        try:
            config = self.load(self.config_path)
            http_settings(config)
            index = feed_index(config)
            Engine.from_config(config, index)  # every detector and rule builds: or refuse now
        except (WardwatchError, ValueError, OSError) as e:
            self._refused(str(e))
            return
        self._pending.put(("reload", config, index))

    def _check_feeds(self) -> None:
        config = self.config
        if config is None or not config.all_feeds:
            return
        from wardwatch.threatfeeds import build_index, update_feeds

        try:
            results = update_feeds(config)
            if not any(r.status == "updated" for r in results):
                return
            index = build_index(config, update_local=False)
        except Exception:  # noqa: BLE001 - a feed problem must not stop the service: keep the old index
            log.exception("feeds: update failed; the current index stays")
            return
        self._pending.put(("feeds", config, index))

    # -- what the API shows --------------------------------------------------------------------------
    def _status(self) -> str:
        """One line for ``systemctl status`` (English: systemd shows it as it is)."""
        flow = self.flow
        mode = "live" if self.live else "replay"
        return (
            f"{mode}: {self.counters.get('packets.read', 0)} packets, "
            f"{flow.records if flow else 0} records, {flow.alerts if flow else 0} alerts"
        )

    def feed_ages(self) -> dict[str, float | None]:
        config = self.config
        if config is None:
            return {}
        from datetime import UTC, datetime

        from wardwatch.threatfeeds import FeedStore

        store = FeedStore(config.data_dir)
        out: dict[str, float | None] = {}
        now = time.time()
        for feed in config.all_feeds:
            if not feed.enabled:
                continue
            when = store.meta(feed.name).get("fetched_at")
            try:
                out[feed.name] = (
                    now - datetime.strptime(str(when), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
                )
            except (TypeError, ValueError):
                out[feed.name] = None
        return out

    def bus_spooled(self) -> int | None:
        if self.config is None or self.config.kafka is None:
            return None
        from wardwatch.bus.remote import spooled

        return spooled(self.store.bus_settings.spool_dir).messages

    def health(self) -> dict[str, Any]:
        flow = self.flow
        writer = flow.writer if flow else None
        settings = self.store.settings
        ages = self.feed_ages()
        known = [a for a in ages.values() if a is not None]
        return {
            "ok": not self.stop.is_set(),
            "pid": _pid(),
            "uptime": round(time.time() - self.started, 3),
            "mode": "live" if self.live else "replay",
            "replaying": self.replaying,
            "replays_done": self.replays_done,
            "last_packet": self.last_packet or None,
            "packets": self.counters.get("packets.read", 0),
            "records": flow.records if flow else 0,
            "alerts": flow.alerts if flow else 0,
            "store": {
                "backend": settings.backend,
                "where": str(settings.chdb_path) if settings.backend == "chdb" else settings.url,
                "committed": getattr(writer, "committed", 0),
                "insert_seconds": round(getattr(writer, "insert_seconds", 0.0), 3),
            },
            "feeds": ages,
            "feeds_age": max(known) if known else None,
            "reloads": dict(self.reloads),
            "last_reload_error": self.last_reload_error or None,
        }

    def _routes(self, api: Api) -> None:
        api.get["/healthz"] = lambda: json_reply(self.health())
        api.get["/metrics"] = lambda: (200, CONTENT_TYPE, self.metrics.text())
        api.post["/query"] = self._query
        api.post["/hunt"] = self._hunt
        api.post["/replay"] = self._replay_request
        if hasattr(self.store, "rows") and self.config is not None:  # notify/: signed links, `alerts ack`
            from wardwatch.notify.endpoints import mount

            mount(api, self.store, self.config)

    def _oncall(self, config: Config) -> Any:
        """On-call notification (notify/) on its own thread over the embedded store; with Kafka the
        service holds no store, and `wardwatch notify` runs beside the ClickHouse server instead."""
        if not hasattr(self.store, "rows"):
            return None
        from wardwatch.notify import start

        return start(self.store, config, self.counters)

    def _embedded(self) -> Any:
        if not hasattr(self.store, "rows"):
            raise BadRequest("this service sends to Kafka and holds no store: query ClickHouse directly", 409)
        return self.store

    def _query(self, body: dict[str, Any]) -> tuple[int, str, bytes]:
        from wardwatch.store.query import read_only

        sql = body.get("sql")
        params = body.get("params") or {}
        if not isinstance(sql, str) or not sql.strip():
            raise BadRequest('expected {"sql": "SELECT …", "params": {"name": "value"}}')
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            raise BadRequest("params: expected an object of names to string values")
        lines = list(read_only(self._embedded(), sql, params, shared=True))
        return 200, "application/x-ndjson", b"".join(line + b"\n" for line in lines)

    def _hunt(self, body: dict[str, Any]) -> tuple[int, str, bytes]:
        from .hunting import hunt

        try:
            since = float(body.get("since", 0.0))
            until = float(body.get("until", time.time() + 1))
        except (TypeError, ValueError):
            raise BadRequest("since and until: expected epoch seconds") from None
        dry_run = bool(body.get("dry_run", False))
        store = self._embedded()
        if not self._hunting.acquire(blocking=False):
            raise BadRequest("a hunt is already running in the service; retry when it ends", 409)
        try:
            assert self.config is not None
            result = hunt(store, self.config, self.index, since, until, dry_run)
        except ConfigError as e:
            raise BadRequest(str(e)) from None
        finally:
            self._hunting.release()
        return 200, "application/json", orjson.dumps(result)

    def _replay_request(self, body: dict[str, Any]) -> tuple[int, str, bytes]:
        paths = body.get("pcap")
        if self.live:
            raise BadRequest(
                "the service captures live: replaying files into it would pause the capture", 409
            )
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
            raise BadRequest('expected {"pcap": ["/path/capture.pcap", …]}')
        missing = [p for p in paths if not Path(p).is_file()]
        if missing:
            raise BadRequest(f"no such file: {', '.join(missing)}")
        self._replays.put(paths)
        return json_reply({"queued": paths}, 202)


URGENT = frozenset({"critical", "high"})  # what notify's default route sends to the on-call engineer now


def _pid() -> int:
    import os

    return os.getpid()
