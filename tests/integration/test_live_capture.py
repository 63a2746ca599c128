"""Live capture, for real: tcpreplay plays captures into a veth pair whose far end sits in a network
namespace, where ``wardwatch sensor --interface`` captures it. What the live sensor writes must equal what
``wardwatch sensor --pcap`` writes for the same files, timestamps, uids and durations aside.

Both sides run with long timeouts (``LONG_TIMEOUTS``): a replay stretches or squeezes the gaps between
packets, and with Zeek's timeouts a gap that crossed one in the file might not cross it on the wire.
Every wait is on a state (a line the sensor prints, a counter it reports), never on a sleep.
"""

from __future__ import annotations

import collections
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from wardwatch.ingest.capture import read_captures

from tests.integration.netns import sh as _sh
from wardwatch.counters import Counters

pytestmark = pytest.mark.integration

LONG_TIMEOUTS = """\
sensor:
  flows: {tcp_inactivity: 1000000000, udp_inactivity: 1000000000, icmp_inactivity: 1000000000, unknown_inactivity: 1000000000,
          tcp_attempt_delay: 1000000000, tcp_close_delay: 1000000000, tcp_partial_close_delay: 1000000000,
          tcp_reset_delay: 1000000000, interim_interval: 0}
  dns: {timeout: 1000000000, tcp_idle_timeout: 1000000000}
"""
# what follows the clock; byte counts too, because Zeek gives them only with a positive duration (an
# echo and its reply stamped alike in a file are apart on the wire); orig/resp_ip_bytes still count
TIME_FIELDS = {"ts", "uid", "duration", "rtt", "orig_bytes", "resp_bytes"}
DEADLINE = 180.0  # seconds; generous: a busy shared machine must not fail a correct sensor
WARDWATCH = [sys.executable, "-c", "import sys; from wardwatch.cli import main; sys.exit(main())"]


@pytest.fixture(scope="session")
def long_timeouts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("live-config") / "sensor.yaml"
    path.write_text(LONG_TIMEOUTS)
    return path


@pytest.fixture(scope="session")
def synth_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("live-synth")
    subprocess.run(
        [*WARDWATCH, "synth", "--out", str(out), "--sessions", "60"], check=True, capture_output=True
    )
    return out / "hospital.pcap"


def _frames(path: Path) -> int:
    return sum(len(b) for b in read_captures([path], Counters()))


def _records(path: Path) -> collections.Counter[bytes]:
    """The records as a multiset, without the fields that follow the clock."""
    out: collections.Counter[bytes] = collections.Counter()
    for line in path.read_bytes().splitlines():
        rec = {k: v for k, v in orjson.loads(line).items() if k not in TIME_FIELDS}
        out[orjson.dumps(rec, option=orjson.OPT_SORT_KEYS)] += 1
    return out


def _from_file(capture: Path, config: Path, out: Path) -> collections.Counter[bytes]:
    subprocess.run(
        [*WARDWATCH, "sensor", "--pcap", str(capture), "--config", str(config), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return _records(out)


class LiveSensor:
    """``wardwatch sensor --interface`` inside the namespace, its stderr followed line by line."""

    def __init__(self, ns: str, iface: str, out: Path, *extra: str) -> None:
        cmd = ["ip", "netns", "exec", ns, *WARDWATCH, "sensor", "--interface", iface, "--out", str(out)]
        self.proc = subprocess.Popen([*cmd, "--progress", *extra], stderr=subprocess.PIPE)
        self.lines: list[str] = []
        self.progress: dict[str, int] = {}
        self.summary: dict[str, Any] = {}
        self.ended = False  # its stderr is closed: nothing more will come
        self._changed = threading.Condition()
        threading.Thread(target=self._follow, daemon=True).start()

    def _follow(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            with self._changed:
                self.lines.append(line)
                if line.startswith('{"progress"'):
                    self.progress = orjson.loads(line)["progress"]
                elif line.startswith('{"seconds"'):
                    self.summary = orjson.loads(line)
                self._changed.notify_all()
        with self._changed:
            self.ended = True
            self._changed.notify_all()

    def wait_for(self, what: str, ready: Any) -> None:
        end = time.monotonic() + DEADLINE
        with self._changed:
            while not ready():
                if self.ended:
                    break
                left = end - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(min(left, 1.0))
            if not ready():
                self.stop()
                pytest.fail(f"live sensor never reached: {what}\n" + "\n".join(self.lines[-30:]))

    def wait_listening(self) -> None:
        self.wait_for("listening", lambda: any("capturing on" in line for line in self.lines))

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.wait_for("its summary", lambda: bool(self.summary) or self.ended)
        return code

    def counter(self, group: str, name: str) -> int:
        return int(self.summary.get("counters", {}).get(group, {}).get(name, 0))


def _replay(outer: str, capture: Path, *rate: str) -> subprocess.CompletedProcess[str]:
    done = _sh("tcpreplay", "-i", outer, *(rate or ("--pps", "2000")), str(capture))
    assert "Failed packets:            0" in done.stdout, done.stdout
    return done


@pytest.mark.parametrize(("which", "workers"), [("synth", 1), ("synth", 2), ("shared", 2)])
def test_live_records_equal_file_records(
    request: pytest.FixtureRequest,
    veth: tuple[str, str, str],
    long_timeouts: Path,
    tmp_path: Path,
    which: str,
    workers: int,
) -> None:
    ns, outer, inner = veth
    capture: Path = request.getfixturevalue(f"{which}_capture")
    expected = _from_file(capture, long_timeouts, tmp_path / "file.json")
    frames = _frames(capture)
    sensor = LiveSensor(
        ns, inner, tmp_path / "live.json", "--config", str(long_timeouts), "--workers", str(workers)
    )
    sensor.wait_listening()
    _replay(outer, capture)
    sensor.wait_for(f"{frames} packets", lambda: sensor.progress.get("packets", 0) >= frames)
    assert sensor.stop() == 0
    assert sensor.counter("packets", "read") == frames
    assert sensor.counter("capture", "received") == frames
    assert sensor.counter("capture", "kernel_drops") == 0
    got = _records(tmp_path / "live.json")
    assert sum(got.values()) == sum(expected.values())
    assert got == expected


def test_sigterm_during_replay_loses_nothing_captured(
    veth: tuple[str, str, str], synth_capture: Path, long_timeouts: Path, tmp_path: Path
) -> None:
    """Stopped mid-replay, the sensor reads every frame the kernel gave it and logs every connection
    those frames belong to: its records equal the file sensor's on exactly the frames it read."""
    ns, outer, inner = veth
    looped = tmp_path / "looped.pcap"
    _sh("mergecap", "-a", "-F", "pcap", "-w", str(looped), *[str(synth_capture)] * 10)
    one = _frames(synth_capture)
    # one worker: the frames it reads are then a prefix of what was sent, which a file can hold
    sensor = LiveSensor(ns, inner, tmp_path / "live.json", "--config", str(long_timeouts), "--workers", "1")
    sensor.wait_listening()
    replay = subprocess.Popen(
        ["tcpreplay", "-i", outer, "--pps", "1500", str(looped)], stdout=subprocess.DEVNULL
    )
    try:
        sensor.wait_for("two passes of the capture", lambda: sensor.progress.get("packets", 0) >= 2 * one)
        assert sensor.stop() == 0
        assert replay.poll() is None, "the replay ended before the stop: nothing was tested"
    finally:
        replay.terminate()
        replay.wait()
    read = sensor.counter("packets", "read")
    delivered = sensor.counter("capture", "received") - sensor.counter("capture", "kernel_drops")
    assert sensor.counter("capture", "kernel_drops") == 0
    assert read + sensor.counter("capture", "after_stop") == delivered
    assert 2 * one <= read < 10 * one
    prefix = tmp_path / "prefix.pcap"
    _sh("tcpdump", "-r", str(looped), "-c", str(read), "-w", str(prefix))
    assert _frames(prefix) == read
    assert _records(tmp_path / "live.json") == _from_file(prefix, long_timeouts, tmp_path / "file.json")


def test_kernel_drops_are_counted(veth: tuple[str, str, str], synth_capture: Path, tmp_path: Path) -> None:
    """A stopped reader and a small ring: the kernel drops, and the sensor says how many."""
    ns, outer, inner = veth
    config = tmp_path / "small-ring.yaml"
    config.write_text("sensor: {buffer_size: 64KiB, workers: 1}\n")
    looped = tmp_path / "looped.pcap"
    _sh("mergecap", "-a", "-F", "pcap", "-w", str(looped), *[str(synth_capture)] * 5)
    sent = _frames(looped)
    sensor = LiveSensor(ns, inner, tmp_path / "live.json", "--config", str(config))
    sensor.wait_listening()
    sensor.proc.send_signal(signal.SIGSTOP)  # the ring fills while nobody reads it
    try:
        _replay(outer, looped, "--topspeed")
    finally:
        sensor.proc.send_signal(signal.SIGCONT)
    sensor.wait_for(f"{sent} frames offered", lambda: sensor.progress.get("received", 0) >= sent)
    assert sensor.stop() == 0
    drops = sensor.counter("capture", "kernel_drops")
    assert drops > 0
    assert sensor.counter("capture", f"kernel_drops.{inner}") == drops
    assert sensor.counter("packets", "read") + drops == sensor.counter("capture", "received") == sent


def test_a_missing_interface_and_a_bad_filter_are_clear_errors(
    veth: tuple[str, str, str], tmp_path: Path
) -> None:
    ns, _, inner = veth
    cmd = ["ip", "netns", "exec", ns, *WARDWATCH, "sensor", "--out", str(tmp_path / "x.json")]
    missing = subprocess.run(
        [*cmd, "--interface", "wwnosuch0"], capture_output=True, text=True, timeout=DEADLINE
    )
    assert missing.returncode == 1, missing.stderr
    assert "wwnosuch0" in missing.stderr and "Traceback" not in missing.stderr
    bad = subprocess.run(
        [*cmd, "--interface", inner, "--bpf", "tcp port nonsense"],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert bad.returncode == 2, bad.stderr
    assert "BPF" in bad.stderr and "Traceback" not in bad.stderr
