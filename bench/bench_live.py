"""Live capture bench: the highest replay rate the live sensor takes with zero kernel drops, beside
``tcpdump -w /dev/null`` on the same interface, and the sensor's memory after 1M and 10M packets.

    sudo .venv/bin/python bench/bench_live.py [--capture F] [--workers N] [--rates 50,100,200,400,top]
                                              [--seconds 10] [--rss-packets 1000000,10000000]

A network namespace and a veth pair (names unique to this run, removed at the end) carry the replay:
``tcpreplay --mbps R --loop L`` plays the capture into the outer end; the sensor and tcpdump capture the
inner end. A rate passes when the sensor's ``capture.kernel_drops`` is 0 and it read every frame. RSS
is the sum over the sensor's processes (parent and workers), read from /proc while it runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wardwatch.tools.netns import veth_pair

WARDWATCH = [sys.executable, "-c", "import sys; from wardwatch.cli import main; sys.exit(main())"]


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def frames_in(path: Path) -> int:
    from wardwatch.ingest.capture import read_captures

    from wardwatch.counters import Counters

    return sum(len(b) for b in read_captures([path], Counters()))


def rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` and all its descendants."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


class Sensor:
    def __init__(
        self, ns: str, iface: str, workers: int, out: str = "/dev/null", config: Path | None = None
    ) -> None:
        cmd = ["ip", "netns", "exec", ns, *WARDWATCH, "sensor", "--interface", iface, "--out", out]
        if config is not None:
            cmd += ["--config", str(config)]
        self.proc = subprocess.Popen(
            [*cmd, "--workers", str(workers), "--progress"], stderr=subprocess.PIPE, text=True
        )
        self.progress: dict[str, int] = {}
        self.summary: dict = {}
        assert self.proc.stderr is not None
        for line in self.proc.stderr:  # wait until the sockets are open
            if "capturing on" in line:
                break
        import threading

        threading.Thread(target=self._follow, daemon=True).start()

    def _follow(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if line.startswith('{"progress"'):
                self.progress = json.loads(line)["progress"]
            elif line.startswith('{"seconds"'):
                self.summary = json.loads(line)

    def wait_packets(self, n: int, deadline: float) -> bool:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            p = self.progress
            if p.get("packets", 0) + p.get("kernel_drops", 0) >= n:
                return True
            time.sleep(0.2)
        return False

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait()
        for _ in range(50):
            if self.summary:
                break
            time.sleep(0.1)
        return self.summary.get("counters", {})


def tcpdump_start(ns: str, iface: str) -> subprocess.Popen[str]:
    p = subprocess.Popen(
        ["ip", "netns", "exec", ns, "tcpdump", "-i", iface, "-w", "/dev/null", "-B", "65536", "-s", "262144"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stderr is not None
    for line in p.stderr:  # "listening on …"
        if "listening" in line:
            break
    return p


def tcpdump_stop(p: subprocess.Popen[str]) -> int:
    p.send_signal(signal.SIGINT)
    err = p.communicate()[1]
    m = re.search(r"(\d+) packets dropped by kernel", err)
    return int(m.group(1)) if m else -1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--capture", type=Path, help="capture to replay (default: wardwatch synth, 60 sessions)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--rates", default="50,100,200,400,800,top", help="Mbit/s steps, 'top' for --topspeed")
    ap.add_argument("--seconds", type=float, default=10.0, help="replay length per step")
    ap.add_argument("--rss-packets", default="1000000,10000000")
    ap.add_argument("--config", type=Path, help="a wardwatch config whose sensor: section the sensor uses")
    ap.add_argument("--rss-mbps", default="200", help="replay rate while memory is measured")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_live.py needs root (network namespaces)")
    tmp = Path(tempfile.mkdtemp(prefix="wwbench-live-"))
    capture = args.capture
    if capture is None:
        sh(*WARDWATCH, "synth", "--out", str(tmp), "--sessions", "60")
        capture = tmp / "hospital.pcap"
    frames, size = frames_in(capture), capture.stat().st_size
    results: dict = {"capture": str(capture), "frames": frames, "workers": args.workers, "steps": []}
    pair = veth_pair(f"b{os.getpid() % 100000}")
    ns, outer, inner = pair.__enter__()
    try:
        for rate in args.rates.split(","):
            speed = ["--topspeed"] if rate == "top" else ["--mbps", rate]
            mbps = 1000.0 if rate == "top" else float(rate)
            loops = max(1, int(mbps * 1e6 / 8 * args.seconds / size)) if rate != "top" else 20
            sensor = Sensor(ns, inner, args.workers, config=args.config)
            dump = tcpdump_start(ns, inner)
            done = sh("tcpreplay", "-i", outer, *speed, "--loop", str(loops), str(capture))
            sent = frames * loops
            sensor.wait_packets(sent, 300)
            counters = sensor.stop()
            dumped = tcpdump_stop(dump)
            rated = re.search(r"Rated: [\d.]+ Bps, ([\d.]+) Mbps, ([\d.]+) pps", done.stdout)
            step = {
                "rate": rate,
                "sent": sent,
                "achieved_mbps": float(rated.group(1)) if rated else None,
                "achieved_pps": float(rated.group(2)) if rated else None,
                "sensor_read": counters.get("packets", {}).get("read", 0),
                "sensor_kernel_drops": counters.get("capture", {}).get("kernel_drops", 0),
                "tcpdump_kernel_drops": dumped,
            }
            results["steps"].append(step)
            print(json.dumps(step), flush=True)
        marks = [int(x) for x in args.rss_packets.split(",")]
        sensor = Sensor(ns, inner, args.workers, config=args.config)
        replay = subprocess.Popen(
            [
                "tcpreplay",
                "-i",
                outer,
                "--mbps",
                args.rss_mbps,
                "--loop",
                str(marks[-1] // frames + 1),
                str(capture),
            ],
            stdout=subprocess.DEVNULL,
        )
        rss = {}
        for mark in marks:
            sensor.wait_packets(mark, 3600)
            rss[mark] = rss_kib(sensor.proc.pid)
            print(json.dumps({"packets": mark, "rss_kib": rss[mark]}), flush=True)
        replay.terminate()
        replay.wait()
        counters = sensor.stop()
        results["rss_kib"] = rss
        results["rss_kernel_drops"] = counters.get("capture", {}).get("kernel_drops", 0)
    finally:
        pair.__exit__(None, None, None)
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
