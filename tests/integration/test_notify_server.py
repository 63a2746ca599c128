"""``wardwatch notify`` in a distributed (Kafka) deployment: the bus consumer stores alerts on a
ClickHouse server through the store writer (``store/consumer.py`` → ``store.writer().add_alerts``),
and the notifier reads them from that server's ``alerts`` table. Here the alerts are written the
way the consumer writes them, and a notifier over the same server sends them once, groups them and
reminds an open group. Needs ``clickhouse-server`` (apt) and ``clickhouse_driver``; skipped when absent
or too old for the store's schema (Debian's 18.16 is).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("clickhouse_driver")

from wardwatch.notify import Notifier, load_notify_settings  # noqa: E402
from wardwatch.notify.state import current, record  # noqa: E402
from wardwatch.store import open_store  # noqa: E402
from wardwatch.store.backend import StoreError  # noqa: E402

from tests.integration.test_store_server import Server, server  # noqa: E402, F401
from wardwatch.alerts import Alert  # noqa: E402
from wardwatch.config import parse_config  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("backend", ["chdb", "server"])
def test_notify_reads_the_alerts_the_bus_consumer_stores_on_a_clickhouse_server(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    ch = ""
    if backend == "server":
        srv: Server = request.getfixturevalue("server")
        ch = f"clickhouse: {{url: 'clickhouse://127.0.0.1:{srv.tcp}/default'}}\n"
    else:
        pytest.importorskip("chdb")
    path = tmp_path / "hospital.yaml"
    path.write_text(
        f"data_dir: {tmp_path}/var\n{ch}"
        "segments:\n  - {name: icu, cidrs: [10.20.0.0/16], zone: clinical}\n"
        "notify:\n  receivers:\n    - {name: oncall, webhook: {url: 'https://hook.example/x', secret: s}}\n"
        "  route:\n    receiver: oncall\n    group_wait: 10s\n    repeat_interval: 1h\n"
    )
    config = parse_config(path.read_text(), path)
    try:
        store = open_store(config)
    except StoreError as e:  # Debian's clickhouse-server 18.16 cannot create the store's tables
        pytest.skip(f"this clickhouse-server does not take the store schema: {e}")
    sent: list[dict[str, Any]] = []
    try:
        w = store.writer()  # what store/consumer.py does with the alerts it reads from <prefix>.alerts
        w.add_alerts([
            Alert(ts=time.time() - 5, category="port_scan", severity="high", src_ip=f"10.20.0.{i}", dst_ip=None,
                  indicator="10.20.0.0/24", rule="r1", summary={"vi": "tóm tắt", "en": "summary"}, evidence={})
            for i in range(1, 4)
        ])  # fmt: skip
        w.flush()
        now = time.time()
        n = Notifier(store, load_notify_settings(config), config, send=lambda _c, doc, _t: sent.append(doc))
        n.tick(now)  # the first pass takes in every unhandled alert of the lookback
        assert n.tick(now + 9)["sent"] == 0  # group_wait
        assert n.tick(now + 11)["sent"] == 1 and sent[0]["alerts"] == 3  # one grouped message
        uids = [i["uid"] for i in sent[0]["items"]]
        assert set(current(store, uids).values()) == {"notified"}
        assert n.tick(now + 600)["sent"] == 0  # nothing doubled
        assert n.tick(now + 11 + 3601)["sent"] == 1 and sent[1]["kind"] == "reminder"
        record(store, uids, "acknowledged", "an", now=now + 3700)
        assert n.tick(now + 11 + 3 * 3600)["sent"] == 0  # acknowledged: no more reminders
    finally:
        store.close()
