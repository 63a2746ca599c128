"""The weekly report inside ``wardwatch serve``: once the configured time of the week has passed
(``report.day`` and ``report.at``, Monday 07:00 by default, local time), last week's report is built
from the embedded store, its HTML kept in ``data_dir/reports/``, and its PDF e-mailed through the
notify receiver that ``report.receiver`` names. ``data_dir/reports/sent.json`` remembers the last
week delivered, so a restart neither skips nor repeats one; a failure is logged and tried again
later, never a crash of the service.

Inside ``serve`` the report is built in a child process (``python -m wardwatch.service.reporting``,
at a lower CPU priority) that reads the store through the service's query API: WeasyPrint and
matplotlib hold a core and the interpreter's lock for tens of seconds, and in the service's own
process that starved the capture loop and the local API (``/healthz`` timed out)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
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
CHILD_TIMEOUT = 1800.0  # a report over a busy week takes seconds to a minute (docs/PERFORMANCE.md)


class Weekly:
    def __init__(
        self, store: Any, config: Config, clock: Callable[[], float] = time.time, isolate: bool = False
    ) -> None:
        from wardwatch.report import report_settings

        self.store = store
        self.config = config
        self.settings = report_settings(config)
        self.clock = clock
        self.state_file = Path(config.data_dir) / "reports" / "sent.json"
        self.retry_at = 0.0
        self.isolate = isolate  # build in a child process that reads through the service's API
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
        now = self.clock() if now is None else now
        period = self.due(now)
        if period is None:
            return False
        if self.isolate:
            failure = self._in_child(now)
        else:
            failure = deliver(self.store.rows, self.config, period, now)
        if failure is not None:
            self.retry_at = now + RETRY
            key, reason = failure
            say_log(log, key, logging.WARNING, label=period.label, reason=reason)
            return False
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps({"last": period.label, "at": now}))
        tmp.replace(self.state_file)
        return True

    def _in_child(self, now: float) -> tuple[str, str] | None:
        cmd = [
            sys.executable,
            "-m",
            "wardwatch.service.reporting",
            "--config",
            str(self.config.path),
            "--now",
            repr(now),
        ]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=CHILD_TIMEOUT, preexec_fn=lambda: os.nice(10)
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            return "report.build_failed", f"the report's process: {e}"
        if done.returncode == 0:
            return None
        reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return ("report.send_failed" if done.returncode == 1 else "report.build_failed"), reason

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
    weekly = Weekly(store, config, isolate=True)
    if not weekly.settings.enabled:
        return None
    return weekly.start()


def deliver(
    rows: Callable[..., list[dict[str, Any]]], config: Config, period: Any, now: float
) -> tuple[str, str] | None:
    """Build ``period``'s report from ``rows``, keep its HTML, mail it to ``report.receiver``'s e-mail
    channels; None when done, else (catalogue key, one-line reason)."""
    from wardwatch.notify.channels import DeliveryError
    from wardwatch.notify.settings import Email, load_notify_settings
    from wardwatch.report import archive, build_report, report_settings
    from wardwatch.report.mail import send

    settings = report_settings(config)
    try:
        report = build_report(rows, config, period, settings.lang, now)
        archive(config, report)
        targets = []
        if settings.receiver is not None:
            rec = load_notify_settings(config).receivers[settings.receiver]
            targets = [c for c in rec.channels if isinstance(c, Email)]
        for target in targets:
            send(target, report, now)
            say_log(log, "report.sent", label=period.label, to=", ".join(target.to))
    except DeliveryError as e:
        return "report.send_failed", str(e)
    except (WardwatchError, OSError, ValueError) as e:
        return "report.build_failed", str(e)
    return None


def main(argv: list[str] | None = None) -> int:
    """The child ``Weekly`` starts: last week's report at ``--now``, read through the running
    service. Exit 0 delivered, 1 a delivery failed (retried later), 3 the build failed."""
    import argparse

    from wardwatch.report import last_week, report_settings

    ap = argparse.ArgumentParser(prog="wardwatch.service.reporting")
    ap.add_argument("--config", required=True)
    ap.add_argument("--now", type=float, required=True)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="wardwatch: %(levelname)s: %(message)s")
    from wardwatch.config import load_config

    from .client import rows_through, running

    config = load_config(args.config)
    holder = running(config)
    if holder is None:
        sys.stderr.write("the service that holds the store is not running\n")
        return 3
    period = last_week(args.now, report_settings(config).timezone)
    failure = deliver(rows_through(holder), config, period, args.now)
    if failure is not None:
        sys.stderr.write(failure[1] + "\n")
        return 1 if failure[0] == "report.send_failed" else 3
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
