"""Helpers for the Kafka tests: configs pointing at the test broker, the writer as a subprocess, and
store summaries read in a subprocess (chdb runs one store per process)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import orjson
import yaml

TABLES = ("dns", "conn", "tls", "http", "login", "alerts")
_SUMMARY = textwrap.dedent(
    f"""
    import sys, orjson
    from wardwatch.config import load_config
    from wardwatch.store import open_store
    from wardwatch.store.schema import VIEWS
    store = open_store(load_config(sys.argv[1]))
    out = {{}}
    for t in {TABLES!r}:
        r = store.rows(
            f"SELECT count() AS n, uniqExact(uid) AS u, toString(sum(cityHash64(uid, toString(ts)))) AS h FROM {{t}}"
        )[0]
        out[t] = [int(r["n"]), int(r["u"]), r["h"]]
    for v in VIEWS:
        out[v.name] = int(store.rows(f"SELECT count() AS n FROM {{v.name}}")[0]["n"])
    store.close()
    sys.stdout.write(orjson.dumps(out).decode())
    """
)


def kafka_config(base: Path, dest: Path, bootstrap: str, data_dir: Path, **kafka: Any) -> tuple[Path, str]:
    """A copy of config ``base`` with its own ``data_dir`` and a ``kafka:`` section on fresh topics
    (a unique prefix, so tests sharing a broker do not see each other's messages)."""
    cfg = yaml.safe_load(base.read_text()) if base.is_file() else {}
    prefix = f"t{uuid.uuid4().hex[:10]}"
    cfg["data_dir"] = str(data_dir)
    cfg["kafka"] = {
        "bootstrap": bootstrap,
        "topic_prefix": prefix,
        "group": f"{prefix}-writer",
        "partitions": 3,
        "linger": "5ms",
        **kafka,
    }
    dest.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest, prefix


def embedded_config(base: Path, dest: Path, data_dir: Path) -> Path:
    cfg = yaml.safe_load(base.read_text())
    cfg["data_dir"] = str(data_dir)
    cfg.pop("kafka", None)
    dest.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest


def env(**extra: str) -> dict[str, str]:
    e = dict(os.environ)
    e.update(extra)
    return e


def wardwatch(*args: str, timeout: float = 300, **extra_env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wardwatch.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env(**extra_env),
        check=False,
    )


def start_writer(config: Path, log: Path, *args: str, **extra_env: str) -> subprocess.Popen[bytes]:
    with open(log, "ab") as f:
        return subprocess.Popen(
            [sys.executable, "-m", "wardwatch.cli", "writer", "--config", str(config), *args],
            stdout=f,
            stderr=subprocess.STDOUT,
            env=env(**extra_env),
        )


def store_summary(config: Path) -> dict[str, Any]:
    res = subprocess.run(
        [sys.executable, "-c", _SUMMARY, str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return orjson.loads(res.stdout)


def conn_records(start: int, n: int, ts0: float = 1767225600.0) -> list[dict[str, Any]]:
    """``n`` conn records with distinct uids (``C<number>``) from 200 hosts."""
    out = []
    for i in range(start, start + n):
        out.append(
            {
                "_path": "conn",
                "ts": ts0 + i * 0.001,
                "uid": f"C{i:012d}",
                "id.orig_h": f"10.20.{(i % 200) // 250}.{i % 200 + 1}",
                "id.orig_p": 40000 + i % 20000,
                "id.resp_h": "10.40.0.25",
                "id.resp_p": 443,
                "proto": "tcp",
                "conn_state": "SF",
                "orig_pkts": 3,
                "resp_pkts": 2,
            }
        )
    return out


def lag(bootstrap: str, group: str, prefix: str) -> int:
    """Messages on the ``prefix`` topics not yet committed by ``group`` (-1 when unknown)."""
    from kafka import KafkaAdminClient, KafkaConsumer

    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","))
    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","))
    try:
        committed = admin.list_group_offsets(group).get(group, {})
        from kafka import TopicPartition

        tps = [
            TopicPartition(t, p)
            for t in consumer.topics()
            if t.startswith(prefix + ".") and not t.endswith(".deadletter")
            for p in (consumer.partitions_for_topic(t) or ())
        ]
        ends = consumer.end_offsets(tps)
        total = 0
        for tp, end in ends.items():
            c = committed.get(tp)
            total += end - (c.offset if c is not None and c.offset >= 0 else 0)
        return total
    except Exception:
        return -1
    finally:
        consumer.close()
        admin.close()


def wait_caught_up(bootstrap: str, group: str, prefix: str, timeout: float = 120) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lag(bootstrap, group, prefix) == 0:
            return
        time.sleep(0.5)
    raise AssertionError(f"writer group {group} did not catch up within {timeout}s")


def stop_writer(proc: subprocess.Popen[bytes], timeout: float = 60) -> int:
    import signal

    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=timeout)


def bus_for(config: Path) -> Any:
    from wardwatch.bus.producer import KafkaBus
    from wardwatch.bus.settings import bus_settings

    from wardwatch.config import load_config

    settings = bus_settings(load_config(config))
    assert settings is not None
    return KafkaBus(settings)
