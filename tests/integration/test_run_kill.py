"""Issue 11, point 5: ``kill -9`` of ``wardwatch run`` mid-run.

The sensor's worker processes must die with their parent (not linger with parent 1, holding memory
and the store's lock), and the rows the run reported as stored before the kill must be in the store
when it is opened again. Every wait is on a state (a progress line, a process gone) with a deadline,
never on the clock alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKETS = 300_000  # ~265 MB: over the sensor's threshold for worker processes
COPIES = 3  # the capture given three times (under three names): a run of many seconds

pytestmark = pytest.mark.integration

_STORED = re.compile(r"([\d,]+) stored")
TABLES = ("conn", "dns", "tls", "http", "login", "alerts")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("run_kill")
    pcap = tmp / "mixed.pcap"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "gen_mixed.py"),
            "--packets",
            str(PACKETS),
            "--seed",
            "5",
            "--out",
            str(pcap),
        ],
        check=True,
        capture_output=True,
    )
    for i in range(1, COPIES):
        (tmp / f"copy{i}.pcap").symlink_to(pcap.name)
    (tmp / "hospital.yaml").write_text(
        "data_dir: var\n"
        "store: {flush_seconds: 0.2}\n"
        "segments:\n  - {name: his, cidrs: [10.20.0.0/16], zone: his, criticality: high}\n"
    )
    return tmp


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):  # the task ended meanwhile
            out.update(int(x) for x in (task / "children").read_text().split())
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead, just not yet reaped


def _progress(stream: object) -> Iterator[int]:
    """The ``stored`` count of every progress line (they end in ``\\r``, not ``\\n``)."""
    buf = b""
    while True:
        chunk = os.read(stream.fileno(), 4096)  # type: ignore[attr-defined]
        if not chunk:
            return
        buf += chunk
        *lines, buf = re.split(rb"[\r\n]", buf)
        for line in lines:
            m = _STORED.search(line.decode(errors="replace"))
            if m:
                yield int(m.group(1).replace(",", ""))


def _wait(what: str, cond: object, deadline: float = 60.0) -> None:
    end = time.monotonic() + deadline
    while not cond():  # type: ignore[operator]
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_mid_run_leaves_no_worker_and_keeps_stored_rows(work: Path) -> None:
    pcaps = [str(work / "mixed.pcap")] + [str(work / f"copy{i}.pcap") for i in range(1, COPIES)]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wardwatch.cli",
            "run",
            "--pcap",
            *pcaps,
            "--config",
            str(work / "hospital.yaml"),
        ],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    workers: set[int] = set()
    try:
        # the state to reach: the run says rows are in the store, while its workers still run
        stored = 0
        watchdog = threading.Timer(300, proc.kill)  # a hung run must not hang the suite
        watchdog.start()
        try:
            for stored in _progress(proc.stderr):
                if stored > 0:
                    break
        finally:
            watchdog.cancel()
        assert stored > 0, "the run ended without reporting stored rows"
        # freeze it where it is, so the kill below lands mid-run whatever the machine's load
        os.kill(proc.pid, signal.SIGSTOP)
        assert proc.poll() is None, "the run finished before it could be killed: make the capture bigger"
        workers = _children(proc.pid)
        assert workers, "the run has no sensor worker processes to test"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        _wait("the sensor workers to die with their parent", lambda: not any(_alive(w) for w in workers))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for w in workers:  # a failed test must not leave its orphans running (only ours, by command)
            with contextlib.suppress(OSError):
                if _alive(w) and b"wardwatch.cli" in Path(f"/proc/{w}/cmdline").read_bytes():
                    os.kill(w, signal.SIGKILL)
    # the store opens (nothing holds its lock any more) and has what was stored before the kill
    sql = "SELECT " + " + ".join(f"(SELECT count() FROM {t})" for t in TABLES) + " AS n"
    q = subprocess.run(
        [sys.executable, "-m", "wardwatch.cli", "query", "--config", str(work / "hospital.yaml"), sql],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert q.returncode == 0, q.stderr
    n = json.loads(q.stdout.strip().splitlines()[-1])["n"]
    assert n >= stored > 0
