"""The weekly report inside ``wardwatch serve``: once the configured time of the week has passed
(``report.day`` and ``report.at``, Monday 07:00 by default, local time), last week's report is built
from the embedded store, its HTML kept in ``data_dir/reports/``, and its PDF e-mailed through the
notify receiver that ``report.receiver`` names. ``data_dir/reports/sent.json`` remembers the last
week delivered, so a restart neither skips nor repeats one; a failure is logged and tried again
later, never a crash of the service."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from wardwatch.config import Config
from wardwatch.errors import WardwatchError
from wardwatch.i18n import say_log

log = logging.getLogger("wardwatch.service.reporting")
CHECK = 60.0  # how often the thread looks at the clock
RETRY = 600.0  # after a failed build or delivery


class Weekly:
    def __init__(self, store: Any, config: Config, clock: Callable[[], float] = time.time) -> None:
        from wardwatch.report import report_settings

        self.store = store
        self.config = config
        self.settings = report_settings(config)
        self.clock = clock
        self.state_file = Path(config.data_dir) / "reports" / "sent.json"
        self.retry_at = 0.0
        self.stop_event = threading.Event()
        self._thread: threading.Thread | None = None

    def _last_sent(self) -> str:
        try:
            return str(orjson.loads(self.state_file.read_bytes()).get("last", ""))
        except (OSError, orjson.JSONDecodeError, AttributeError):
            return ""

    def due(self, now: float) -> Any:
        """Last week's period when its send time has passed and it was not delivered yet, else None."""
        from wardwatch.report import last_week

        period = last_week(now, self.settings.timezone)
        send_at = period.end + self.settings.weekday * 86400 + self.settings.minute * 60
        if now < send_at or self._last_sent() == period.label or now < self.retry_at:
            return None
        return period

    def tick(self, now: float | None = None) -> bool:
        """Build and deliver the report if one is due; True when one was delivered."""
        from wardwatch.notify.channels import DeliveryError
        from wardwatch.notify.settings import Email, load_notify_settings
        from wardwatch.report import archive, build_report
        from wardwatch.report.mail import send

        now = self.clock() if now is None else now
        period = self.due(now)
        if period is None:
            return False
        try:
            report = build_report(self.store.rows, self.config, period, self.settings.lang, now)
            archive(self.config, report)
            targets = []
            if self.settings.receiver is not None:
                rec = load_notify_settings(self.config).receivers[self.settings.receiver]
                targets = [c for c in rec.channels if isinstance(c, Email)]
            for target in targets:
                send(target, report, now)
                say_log(log, "report.sent", label=period.label, to=", ".join(target.to))
        except DeliveryError as e:
            self.retry_at = now + RETRY
            say_log(log, "report.send_failed", logging.WARNING, label=period.label, reason=str(e))
            return False
        except (WardwatchError, OSError, ValueError) as e:
            self.retry_at = now + RETRY
            say_log(log, "report.build_failed", logging.WARNING, label=period.label, reason=str(e))
            return False
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps({"last": period.label, "at": now}))
        tmp.replace(self.state_file)
        return True

    def _run(self) -> None:
        # at start too: a service that was down on Monday morning sends last week's report now
        while True:
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the report must never stop the service
                log.exception("weekly report: unexpected failure")
                self.retry_at = self.clock() + RETRY
            if self.stop_event.wait(CHECK):
                return

    def start(self) -> Weekly:
        self._thread = threading.Thread(target=self._run, name="wardwatch-report", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


def start(store: Any, config: Config) -> Weekly | None:
    """The weekly report's thread over the embedded store (``report.enabled``, default on); with
    Kafka the service holds no store and the report is made where ClickHouse is (`wardwatch report`)."""
    if not hasattr(store, "rows"):
        return None
    weekly = Weekly(store, config)
    if not weekly.settings.enabled:
        return None
    return weekly.start()
