"""`wardwatch doctor`: the checks that say whether this machine can watch the network, and what to
fix in plain words (Vietnamese, then English, from the catalogue ``wardwatch.i18n``).

Each check only wires rooms together (the config reader, the store's lock and backends, the feed
snapshots) or reads the operating system (``/sys/class/net``, ``/proc/self/status``, the disk, the
kernel's clock state), so they live here beside the CLI rather than in a room::

    config, check = check_config(path)      # every other check needs the config
    for check in run_checks(config): print(render(check))

A check's ``status``: ``ok``, ``warn`` (works, but look at it), ``fail`` (does not work), ``skip``
(nothing to check, or could not be checked).
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wardwatch.config import Config, ConfigError, load_config
from wardwatch.i18n import Pair, text

MARKS = {"ok": "✓", "warn": "!", "fail": "✗", "skip": "–"}
CAP_NET_RAW = 13  # <linux/capability.h>
GiB = 1 << 30
# free space of the disk under data_dir: (share, bytes) below which it is a warning, a failure
DISK_WARN = (0.10, 5 * GiB)
DISK_FAIL = (0.02, 1 * GiB)
BROKER_TIMEOUT = 2.0
STALE_AFTER = 2.0  # a feed is stale once older than this many refresh periods (one missed refresh is noise)


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    said: Pair
    fix: Pair | None = None
    notes: tuple[str, ...] = ()


def _age(seconds: float) -> str:
    s = int(max(seconds, 0))
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600}h"


def _bytes(n: float) -> str:
    return f"{n / GiB:.1f} GiB" if n >= GiB else f"{n / (1 << 20):.0f} MiB"


# -- config --------------------------------------------------------------------------------------------
def check_config(path: str | Path) -> tuple[Config | None, Check]:
    """Load and validate every section (as every command does before it starts)."""
    from wardwatch.cli.commands.sections import check_sections

    try:
        config = load_config(path)
        warnings = check_sections(config)
    except ConfigError as e:
        return None, Check(
            "config", "fail", text("doctor.config.bad", error=str(e)), text("doctor.config.fix", path=path)
        )
    if warnings:
        return config, Check(
            "config",
            "warn",
            text("doctor.config.notes", path=config.path, count=len(warnings)),
            notes=tuple(warnings),
        )
    return config, Check("config", "ok", text("doctor.config.ok", path=config.path))


# -- store -----------------------------------------------------------------------------------------------
def check_store(config: Config) -> Check:
    """The store opens; an embedded one held by a running service is fine and says by whom."""
    from wardwatch.store import StoreError, load_store_settings, open_store
    from wardwatch.store.lock import StoreBusy, StoreLock

    settings = load_store_settings(config)
    path = settings.chdb_path
    where = str(path) if settings.backend == "chdb" else settings.url
    fix = text("doctor.store.fix")
    if settings.backend == "chdb":
        assert path is not None
        if not (path / "metadata").is_dir():
            return _creatable(path) or Check("store", "ok", text("doctor.store.none", path=path))
        try:
            StoreLock(path).release()  # who holds it, without opening the engine
        except StoreBusy as e:
            holder = _holder_of(path) or str(e)
            return Check("store", "ok", text("doctor.store.held", path=path, holder=holder))
        except OSError as e:
            return Check("store", "fail", text("doctor.store.bad", path=path, error=str(e)), fix)
    try:
        store = open_store(config, migrate_schema=False, create=False)
    except StoreError as e:
        return Check("store", "fail", text("doctor.store.bad", path=where, error=str(e)), fix)
    try:
        tables = store.rows("SELECT count() AS n FROM system.tables WHERE database = currentDatabase()")
    except StoreError as e:
        return Check("store", "fail", text("doctor.store.bad", path=where, error=str(e)), fix)
    finally:
        store.close()
    return Check("store", "ok", text("doctor.store.ok", path=where, tables=int(tables[0]["n"])))


def _creatable(path: Path) -> Check | None:
    """A failure when the store could not be created at ``path`` (no writable folder on the way)."""
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    if p.is_dir() and os.access(p, os.W_OK | os.X_OK):
        return None
    error = f"{p}: " + ("not a folder" if not p.is_dir() else "permission denied")
    return Check("store", "fail", text("doctor.store.bad", path=path, error=error), text("doctor.store.fix"))


def _holder_of(path: Path) -> str | None:
    import orjson
    from wardwatch.store.lock import LOCK_NAME

    try:
        d = orjson.loads((path / LOCK_NAME).read_bytes())
        return f"PID {int(d['pid'])} (`{d.get('command', '?')}`)"
    except (OSError, ValueError, KeyError, TypeError):
        return None


# -- broker ----------------------------------------------------------------------------------------------
def check_broker(config: Config, timeout: float = BROKER_TIMEOUT) -> Check:
    """A TCP connection to a bootstrap address within ``timeout``: enough to tell a stopped broker or a
    wrong address from a working one, without a client's minute of retries."""
    if config.kafka is None:
        return Check("broker", "skip", text("doctor.broker.none"))
    where = config.kafka.bootstrap
    for hp in where.split(","):
        host, _, port = hp.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                return Check("broker", "ok", text("doctor.broker.ok", where=hp.strip()))
        except (OSError, ValueError):
            continue
    return Check(
        "broker",
        "fail",
        text("doctor.broker.bad", where=where, seconds=f"{timeout:g}"),
        text("doctor.broker.fix"),
    )


# -- interfaces and the right to capture -----------------------------------------------------------------
def interfaces(config: Config) -> list[str]:
    """The capture interfaces of ``sensor.interfaces`` (names, or mappings with a ``name``)."""
    sec = config.raw_section("sensor")
    raw = sec.get("interfaces") if isinstance(sec, dict) else None
    if isinstance(raw, str):
        raw = [raw]
    out = []
    for item in raw or ():
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str) and name:
            out.append(name)
    return out


def check_interfaces(config: Config, sys_net: Path = Path("/sys/class/net")) -> Check:
    names = interfaces(config)
    if not names:
        return Check("interfaces", "skip", text("doctor.iface.none"))
    present = sorted(p.name for p in sys_net.iterdir()) if sys_net.is_dir() else []
    missing = [n for n in names if n not in present]
    if missing:
        return Check(
            "interfaces",
            "fail",
            text("doctor.iface.missing", names=", ".join(missing), present=", ".join(present) or "-"),
            text("doctor.iface.missing_fix"),
        )
    down = [n for n in names if not _up(sys_net / n)]
    if down:
        return Check(
            "interfaces",
            "warn",
            text("doctor.iface.down", names=", ".join(down)),
            text("doctor.iface.down_fix", name=down[0]),
        )
    return Check("interfaces", "ok", text("doctor.iface.ok", names=", ".join(names)))


def _up(dev: Path) -> bool:
    try:
        flags = int((dev / "flags").read_text().strip(), 16)
    except (OSError, ValueError):
        return True  # unknown: the capture will say
    return bool(flags & 0x1)  # IFF_UP; operstate is "unknown" on many virtual and SPAN-fed links


def net_raw(status: str | None = None) -> str | None:
    """How this process may open a capture socket (``root`` or ``CAP_NET_RAW``), or None."""
    if status is None:
        try:
            status = Path("/proc/self/status").read_text()
        except OSError:
            status = ""
    for line in status.splitlines():
        if line.startswith("CapEff:"):
            if int(line.split(":", 1)[1].strip(), 16) >> CAP_NET_RAW & 1:
                return "root" if os.geteuid() == 0 else "CAP_NET_RAW"
            return None
    return "root" if os.geteuid() == 0 else None  # no capability sets (not Linux): root or nothing


def check_capture_right(config: Config) -> Check:
    if not interfaces(config):
        return Check("capabilities", "skip", text("doctor.caps.none"))
    how = net_raw()
    if how is not None:
        return Check("capabilities", "ok", text("doctor.caps.ok", how=how))
    try:
        user = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        user = str(os.geteuid())
    return Check("capabilities", "fail", text("doctor.caps.bad", user=user), text("doctor.caps.fix"))


# -- feeds -----------------------------------------------------------------------------------------------
def _stamp(value: Any) -> float | None:
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def check_feeds(config: Config, now: float | None = None) -> Check:
    """Every enabled feed has a good copy no older than ``STALE_AFTER`` of its refresh periods."""
    from wardwatch.threatfeeds import FeedStore

    now = time.time() if now is None else now
    feeds = [f for f in config.all_feeds if f.enabled]
    if not feeds:
        return Check("feeds", "skip", text("doctor.feeds.none"))
    store = FeedStore(config.data_dir)
    fix = text("doctor.feeds.fix", path=config.path)
    oldest: tuple[float, str] | None = None
    for f in feeds:
        meta = store.meta(f.name)
        err = f": {meta['last_error']}" if meta.get("last_error") else ""
        if not store.has_snapshot(f.name):
            if f.path is not None and f.path.exists():
                continue  # a local file with no snapshot yet is read in place
            if f.path is not None:
                return Check("feeds", "fail", text("doctor.feeds.missing", name=f.name, path=f.path), fix)
            return Check("feeds", "fail", text("doctor.feeds.never", name=f.name, error=err), fix)
        when = _stamp(meta.get("checked_at")) or _stamp(meta.get("fetched_at"))
        age = now - when if when is not None else float("inf")
        if age > STALE_AFTER * f.refresh:
            shown = _age(age) if when is not None else "?"
            said = text("doctor.feeds.stale", name=f.name, age=shown, refresh=_age(f.refresh), error=err)
            return Check("feeds", "fail", said, fix)
        if oldest is None or age > oldest[0]:
            oldest = (age, f.name)
    if oldest is None:
        return Check("feeds", "ok", text("doctor.feeds.local", count=len(feeds)))
    return Check(
        "feeds", "ok", text("doctor.feeds.ok", count=len(feeds), name=oldest[1], age=_age(oldest[0]))
    )


# -- disk ------------------------------------------------------------------------------------------------
def check_disk(path: Path, warn: tuple[float, int] = DISK_WARN, fail: tuple[float, int] = DISK_FAIL) -> Check:
    """Free space of the file system under ``path`` (its nearest existing folder)."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    usage = shutil.disk_usage(p)
    share = usage.free / usage.total if usage.total else 0.0
    values = dict(path=path, free=_bytes(usage.free), share=f"{share:.0%}")
    if share < fail[0] or usage.free < fail[1]:
        return Check("disk", "fail", text("doctor.disk.full", **values), text("doctor.disk.fix"))
    if share < warn[0] or usage.free < warn[1]:
        return Check("disk", "warn", text("doctor.disk.low", **values), text("doctor.disk.fix"))
    return Check("disk", "ok", text("doctor.disk.ok", **values))


# -- clock -----------------------------------------------------------------------------------------------
def clock_synchronised() -> tuple[bool | None, str]:
    """(synchronised?, how it was found): systemd's view when it answers, else the kernel's own
    flag (``adjtimex``'s STA_UNSYNC, which is what systemd reads), else unknown."""
    if shutil.which("timedatectl"):
        try:
            r = subprocess.run(
                ["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                capture_output=True,
                text=True,
                timeout=5,
            )
            if r.returncode == 0 and r.stdout.strip() in ("yes", "no"):
                return r.stdout.strip() == "yes", "timedatectl"
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        buf = ctypes.create_string_buffer(256)  # struct timex (208 bytes on 64-bit Linux); modes 0: read
        state = libc.adjtimex(buf)
    except (OSError, AttributeError):
        return None, "no timedatectl, no adjtimex"
    if state < 0:
        return None, f"adjtimex: {os.strerror(ctypes.get_errno())}"
    (status,) = struct.unpack_from("i", buf, 40 if struct.calcsize("l") == 8 else 20)
    return not (status & 0x40), "adjtimex"  # STA_UNSYNC


def check_clock(probe: Callable[[], tuple[bool | None, str]] = clock_synchronised) -> Check:
    synced, how = probe()
    if synced is None:
        return Check("clock", "skip", text("doctor.clock.unknown", reason=how))
    if synced:
        return Check("clock", "ok", text("doctor.clock.ok", how=how))
    return Check("clock", "fail", text("doctor.clock.bad", how=how), text("doctor.clock.fix"))


# -- all of them ------------------------------------------------------------------------------------------
CHECKS: dict[str, Callable[[Config], Check]] = {
    "store": check_store,
    "broker": check_broker,
    "interfaces": check_interfaces,
    "capabilities": check_capture_right,
    "feeds": check_feeds,
    "disk": lambda c: check_disk(c.data_dir),
    "clock": lambda c: check_clock(),
}
NAMES = ("config", *CHECKS)


def run_checks(config: Config, skip: Iterable[str] = ()) -> list[Check]:
    skip = set(skip)
    out = []
    for name, check in CHECKS.items():
        if name in skip:
            out.append(Check(name, "skip", text("doctor.skipped", name=name)))
            continue
        try:
            out.append(check(config))
        except Exception as e:  # a check that breaks is a failed check, never a traceback
            out.append(Check(name, "fail", (f"{name}: {e!r}", f"{name}: {e!r}")))
    return out


def render(check: Check) -> str:
    mark = MARKS[check.status]
    lines = [f"{mark} {check.said[0]}", f"  {check.said[1]}"]
    lines += [f"    {n}" for n in check.notes]
    if check.fix is not None:
        vi, en = text("doctor.fix", fix=check.fix)
        lines += [f"  → {vi}", f"  → {en}"]
    return "\n".join(lines) + "\n"


def exit_code(checks: Sequence[Check]) -> int:
    return 1 if any(c.status == "fail" for c in checks) else 0
