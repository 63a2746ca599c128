"""service/systemd.py: the sd_notify datagrams, and silence outside systemd."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from wardwatch.service.systemd import Notifier


def _listen(path: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(5)
    return s


def test_messages_are_key_value_lines_on_the_named_socket(tmp_path: Path) -> None:
    sock = _listen(str(tmp_path / "n.sock"))
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "n.sock")})
    n.ready("live: 1 packets,\n 2 records")
    assert sock.recv(4096) == b"READY=1\nSTATUS=live: 1 packets, 2 records"  # one line each
    n.stopping()
    assert sock.recv(4096) == b"STOPPING=1"
    n.close()


def test_an_abstract_socket_is_reached_by_its_at_name() -> None:
    name = f"wardwatch-test-{os.getpid()}"
    sock = _listen("\0" + name)
    Notifier({"NOTIFY_SOCKET": "@" + name}).status("ok")
    assert sock.recv(4096) == b"STATUS=ok"


def test_watchdog_pings_at_half_the_interval_and_only_for_this_pid(tmp_path: Path) -> None:
    sock = _listen(str(tmp_path / "n.sock"))
    env = {"NOTIFY_SOCKET": str(tmp_path / "n.sock"), "WATCHDOG_USEC": "60000000"}
    n = Notifier(env)
    assert n.watchdog_interval == 30.0
    n.ping()
    n.ping()  # within the interval: nothing more
    assert sock.recv(4096) == b"WATCHDOG=1"
    sock.setblocking(False)
    try:
        sock.recv(4096)
        raise AssertionError("a second ping within the interval")
    except BlockingIOError:
        pass
    other = Notifier({**env, "WATCHDOG_PID": str(os.getpid() + 1)})
    assert other.watchdog_interval == 0.0  # the watchdog is meant for another process


def test_outside_systemd_or_with_systemd_gone_nothing_raises(tmp_path: Path) -> None:
    assert not Notifier({}).enabled and Notifier({}).send(READY=1) is False
    gone = Notifier({"NOTIFY_SOCKET": str(tmp_path / "missing.sock")})
    assert gone.send(READY=1) is False and gone.send(READY=1) is False
    assert gone.failed == 2
