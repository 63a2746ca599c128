"""``wardwatch run`` on the synthetic hospital: everything the sensor and the detectors produce is in
the embedded store, once, however many times the capture is run."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest

pytest.importorskip("chdb")

from wardwatch.cli import main  # noqa: E402
from wardwatch.cli.commands.detect import detect_alerts  # noqa: E402
from wardwatch.ingest.sensor import sense  # noqa: E402
from wardwatch.store import open_store  # noqa: E402
from wardwatch.tools.synth import generate  # noqa: E402

from wardwatch.config import load_config  # noqa: E402
from wardwatch.counters import Counters  # noqa: E402


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return generate(tmp_path_factory.mktemp("synth"), seed=7)


def _counts(config_path: Path) -> tuple[dict[str, int], dict[str, int], int]:
    store = open_store(load_config(config_path))
    try:
        tables = {
            t: store.rows(f"SELECT count() AS c FROM {t}")[0]["c"]
            for t in ("dns", "conn", "tls", "http", "login")
        }
        final = {t: store.rows(f"SELECT count() AS c FROM {t} FINAL")[0]["c"] for t in tables}
        alerts = store.rows("SELECT count() AS c FROM alerts")[0]["c"]
    finally:
        store.close()
    return tables, final, alerts


def test_run_stores_every_record_and_alert_once(synth, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    config = load_config(synth.config)
    sensor = Counter(str(r["_path"]) for batch in sense([synth.pcap], Counters()) for r in batch)
    alerts = sum(len(b) for b in detect_alerts([synth.pcap], config))
    assert alerts >= len(synth.attacks) > 0

    assert main(["run", "--json", "--pcap", str(synth.pcap), "--config", str(synth.config)]) == 0
    out, err = capsys.readouterr()
    assert "wardwatch run:" in err and "records" in err
    summary = orjson.loads(out.strip().splitlines()[-1])
    assert summary["records"] == sum(sensor.values()) and summary["alerts"] == alerts
    tables, final, stored_alerts = _counts(synth.config)
    assert tables == {k: sensor.get(k, 0) for k in tables}
    assert final == tables
    assert stored_alerts == alerts
    assert summary["stored"]["wards"]["dns"] > 0  # per-segment summary

    assert main(["run", "--quiet", "--pcap", str(synth.pcap), "--config", str(synth.config)]) == 0
    err = capsys.readouterr().err
    assert "already stored and were skipped" in err
    assert _counts(synth.config) == (tables, final, stored_alerts)

    assert (
        main(
            [
                "query",
                "--config",
                str(synth.config),
                "SELECT segment, count() AS n FROM dns GROUP BY segment ORDER BY n DESC LIMIT 1",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert orjson.loads(out.splitlines()[0])["n"] > 0
    assert main(["query", "--config", str(synth.config), "DROP TABLE dns"]) == 1
    assert "readonly" in capsys.readouterr().err
