"""Issue 19 point 3 from crafted captures through the real sensor and engine: HTTPS to one address
every 3 s with ±10% jitter for five minutes is a beacon; a page polling every 2 s for a minute and an
app polling at random are not. Frames are packed by the synthetic hospital's packet helpers."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from wardwatch.cli.commands.detect import detect_alerts
from wardwatch.tools.synth.generate import SEGMENTS
from wardwatch.tools.synth.packets import client_hello, server_hello_stub, tcp_exchange, write_pcap

from wardwatch.config import load_config

C2, CDN = "198.51.100.44", "203.0.113.80"


def sessions(client: str, server: str, times: list[float], rnd: random.Random) -> list:
    frames: list = []
    for i, ts in enumerate(times):
        turns = [(True, client_hello("update.example.net", rnd.randbytes(32))),
                 (False, server_hello_stub(rnd.randbytes(32)) + rnd.randbytes(rnd.randrange(900, 1000)))]  # fmt: skip
        frames += tcp_exchange(client, server, 40000 + i % 20000, 443, ts, turns)
    return frames


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("beacon")
    rnd = random.Random(19)
    t0 = 1_767_225_600.0
    beacon, ts = [], t0
    for _ in range(100):  # five minutes
        beacon.append(ts)
        ts += 3.0 * rnd.uniform(0.9, 1.1)
    page = [t0 + 2.0 * i for i in range(30)]  # a dashboard refreshing every 2 s for a minute
    app, ts = [], t0
    for _ in range(120):  # an app polling at random, 1–6 s apart, for about seven minutes
        app.append(ts)
        ts += rnd.uniform(1.0, 6.0)
    frames = (sessions("10.20.0.7", C2, beacon, rnd) + sessions("10.20.0.8", CDN, page, rnd)
              + sessions("10.20.0.9", CDN, app, rnd))  # fmt: skip
    frames.sort(key=lambda f: f[0])
    pcap = tmp / "beacon.pcap"
    write_pcap(pcap, frames)
    cfg = tmp / "hospital.yaml"
    cfg.write_text(yaml.safe_dump({"data_dir": str(tmp / "var"), "segments": SEGMENTS}))
    return pcap, cfg


def beacons(pcap: Path, cfg: Path) -> list:
    return [a for b in detect_alerts([pcap], load_config(cfg)) for a in b if a.category == "beacon"]


def test_fast_beacon_found_and_fast_polling_quiet(capture) -> None:
    got = beacons(*capture)
    assert [(a.src_ip, a.indicator) for a in got] == [("10.20.0.7", C2)]
    assert 2.7 < got[0].evidence["interval"] < 3.3


def test_the_old_five_second_floor_skipped_it(capture, tmp_path: Path) -> None:
    pcap, cfg = capture
    doc = yaml.safe_load(cfg.read_text())
    doc["detectors"] = {"beacon": {"min_interval": 5}}
    old = tmp_path / "old.yaml"
    old.write_text(yaml.safe_dump(doc))
    assert beacons(pcap, old) == []
