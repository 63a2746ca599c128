"""Issue 13, "Done when": ``wardwatch serve`` capturing an interface for real.

``tcpreplay`` plays the synthetic hospital into a veth pair whose far end sits in a network namespace,
where ``wardwatch serve`` captures it (its local API on the namespace's loopback; ``query`` runs there
too and goes through it):

- the records the service stores equal those of ``wardwatch run --pcap`` on the same file, and so do
  the alerts whose outcome does not depend on the replay's speed (feeds, policy, Sigma single-event
  rules); SIGTERM after the replay loses nothing captured;
- the coverage watchdog raises ``sensor_silent`` for a segment whose traffic stops while another
  segment keeps talking, and not for the one still talking.

Every wait is on a state (the service's /healthz, rows in the store), with a generous deadline.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("chdb")
pytest.importorskip("pcapy")

from wardwatch.ingest.capture import read_captures  # noqa: E402
from wardwatch.tools.synth import generate  # noqa: E402

from tests.integration.netns import sh  # noqa: E402
from tests.integration.waiting import wait_for  # noqa: E402
from wardwatch.counters import Counters  # noqa: E402

pytestmark = pytest.mark.integration

DEADLINE = 180.0
WARDWATCH = [sys.executable, "-m", "wardwatch.cli"]
LOGS = ("dns", "conn", "tls", "http", "login")
# the replay squeezes 15 minutes into seconds: timeouts long enough that no gap crosses one on either side
LONG = 1_000_000_000
SENSOR_TIMEOUTS = {
    "flows": {
        k: LONG
        for k in (
            "tcp_inactivity",
            "udp_inactivity",
            "icmp_inactivity",
            "unknown_inactivity",
            "tcp_attempt_delay",
            "tcp_close_delay",
            "tcp_partial_close_delay",
            "tcp_reset_delay",
        )
    }
    | {"interim_interval": 0},
    "dns": {"timeout": LONG, "tcp_idle_timeout": LONG},
}
# alerts that do not depend on how fast the traffic arrives (windows, rates and intervals do)
STEADY = (
    "threat_feed_domain",
    "threat_feed_ip",
    "policy_remote_access",
    "policy_ott",
    "policy_plaintext",
    "policy_weak_password",
    "policy_segmentation",
    "policy_airgap",
    "policy_dns_bypass",
)


def _wait(what: str, cond: Callable[[], Any], deadline: float = DEADLINE) -> Any:
    return wait_for(what, cond, deadline, step=0.2)


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return generate(tmp_path_factory.mktemp("serve_live_synth"), seed=5)


def _config(synth: Any, folder: Path, iface: str | None, **detectors: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cfg = yaml.safe_load(synth.config.read_text())
    cfg["data_dir"] = str(folder / "var")
    cfg["http"] = {"listen": "127.0.0.1:0"}
    cfg["store"] = {"flush_seconds": 0.2}
    cfg["sensor"] = {**SENSOR_TIMEOUTS, "workers": 1, **({"interfaces": [iface]} if iface else {})}
    cfg.setdefault("detectors", {})
    cfg["detectors"] = {**(cfg["detectors"] or {}), **detectors}
    path = folder / "hospital.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


class LiveService:
    """``wardwatch serve`` inside the namespace; its API reached from inside the namespace too."""

    def __init__(self, ns: str, config: Path, wrap: Sequence[str] = ()) -> None:
        self.ns, self.config = ns, config
        self.lock = Path(yaml.safe_load(config.read_text())["data_dir"]) / "store" / "wardwatch.pid"
        self.proc = subprocess.Popen(
            [*wrap, "ip", "netns", "exec", ns, *WARDWATCH, "-v", "serve", "--config", str(config)],
            cwd=config.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait("the service to announce its API", self._announced)

    def _announced(self) -> bool:
        if self.proc.poll() is not None:
            pytest.fail(f"serve ended early ({self.proc.returncode}): {self.proc.stderr.read()}")  # type: ignore[union-attr]
        try:
            d = json.loads(self.lock.read_text())
        except (OSError, ValueError):
            return False
        return d.get("pid") == self.proc.pid and bool(d.get("api"))

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.ns, *WARDWATCH, *args],
            cwd=self.config.parent,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def health(self) -> dict[str, Any]:
        url = json.loads(self.lock.read_text())["api"] + "/healthz"
        got = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                self.ns,
                sys.executable,
                "-c",
                "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=60).read().decode())",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert got.returncode == 0, got.stderr
        return json.loads(got.stdout)

    def rows(self, sql: str) -> list[dict[str, Any]]:
        out = self.cli("query", "--config", str(self.config), sql)
        assert out.returncode == 0, out.stderr
        return [json.loads(line) for line in out.stdout.splitlines()]

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=DEADLINE)
        finally:
            self.stderr = self.proc.stderr.read() if self.proc.stderr else ""  # type: ignore[union-attr]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=60)


def _frames(path: Path) -> int:
    return sum(len(b) for b in read_captures([path], Counters()))


def _replay(outer: str, capture: Path, pps: str = "3000") -> None:
    done = sh("tcpreplay", "-i", outer, "--pps", pps, str(capture))
    assert done.returncode == 0, done.stderr


def _stored(
    config: Path, rows: Callable[[str], list[dict[str, Any]]]
) -> tuple[dict[str, int], Counter[tuple]]:
    counts = rows("SELECT " + ", ".join(f"(SELECT count() FROM {t}) AS {t}" for t in LOGS))[0]
    steady = rows(
        "SELECT category, replaceRegexpOne(toString(src_ip), '^::ffff:', '') AS src, indicator FROM alerts"
        f" WHERE category IN ({', '.join(repr(c) for c in STEADY)})"
    )
    return counts, Counter((r["category"], r["src"], r["indicator"]) for r in steady)


def _by_run(synth: Any, folder: Path, capture: Path | None = None) -> tuple[dict[str, int], Counter[tuple]]:
    config = _config(synth, folder, None)
    out = subprocess.run(
        [*WARDWATCH, "run", "--quiet", "--pcap", str(capture or synth.pcap), "--config", str(config)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    return _stored(config, _rows_at_rest(config))


@pytest.fixture
def request_cleanup() -> Iterator[list[Path]]:
    folders: list[Path] = []
    yield folders
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def service(veth: tuple[str, str, str]) -> Iterator[Callable[..., LiveService]]:
    started: list[LiveService] = []

    def start(config: Path, wrap: Sequence[str] = ()) -> LiveService:
        s = LiveService(veth[0], config, wrap)
        started.append(s)
        return s

    yield start
    for s in started:
        s.kill()


def _python_for(user: str, scratch: Path) -> list[str]:
    """A command prefix under which ``user`` can run this Python: nothing when it already can, else
    ``unshare -m`` with the closed folder above the Python's tree (root's home) covered by a tmpfs and
    the tree bound back into it."""
    import pwd

    pw = pwd.getpwnam(user)
    base = Path(sys.base_prefix).resolve()
    closed = next(
        (a for a in reversed(base.parents) if a != Path("/") and not a.stat().st_mode & stat.S_IXOTH), None
    )
    if closed is None or pw.pw_uid == 0:
        return []
    keep = base.parents[len(base.parents) - len(closed.parts) - 1] if base.parent != closed else base
    hold = scratch / "python-tree"
    hold.mkdir(exist_ok=True)
    script = (
        f"mount --make-rprivate / && mount --bind {shlex.quote(str(keep))} {shlex.quote(str(hold))}"
        f" && mount -t tmpfs -o mode=0755 wardwatch-test {shlex.quote(str(closed))}"
        f" && mkdir -p {shlex.quote(str(keep))} && mount --bind {shlex.quote(str(hold))} {shlex.quote(str(keep))}"
        ' && exec "$@"'
    )
    return ["unshare", "-m", "sh", "-c", script, "sh"]


@pytest.mark.parametrize("user", [None, "nobody"])
def test_live_service_stores_what_run_stores_and_sigterm_loses_nothing(
    veth: tuple[str, str, str],
    synth: Any,
    tmp_path: Path,
    service: Callable[..., LiveService],
    user: str | None,
    request_cleanup: list[Path],
) -> None:
    """With ``sensor.user`` the service drops root once its sockets are open and keeps writing the store."""
    ns, outer, inner = veth
    frames = _frames(synth.pcap)
    config = _config(synth, tmp_path / "live", inner, coverage={"enabled": False})
    wrap: list[str] = []
    if user:
        # After the switch the service still imports modules lazily: this Python must be readable by the
        # user. A Python installed under root's home (pyenv in /root, mode 0700) is not; the service
        # then runs in a mount namespace where that home is an empty, traversable folder holding only
        # the Python's own tree (the machine itself is not changed).
        probe_cmd = [sys.executable, "-c", "import shlex, wardwatch.store.chdb_backend"]
        wrap = _python_for(user, tmp_path)
        probe = subprocess.run(
            [*wrap, "runuser", "-u", user, "--", *probe_cmd], capture_output=True, text=True, timeout=120
        )
        if probe.returncode != 0:
            pytest.skip(
                f"this machine's Python ({sys.executable}) cannot be read by {user!r}: {probe.stderr[-200:]}"
            )
        # a data_dir the user can reach (pytest's own temporary folders are root's alone)
        import tempfile

        data = Path(tempfile.mkdtemp(prefix="wardwatch-live-"))
        request_cleanup.append(data)
        cfg = yaml.safe_load(config.read_text())
        cfg["sensor"]["user"] = user
        cfg["data_dir"] = str(data)
        config.write_text(yaml.safe_dump(cfg))
    s = service(config, wrap)
    _replay(outer, synth.pcap)
    _wait("every replayed frame to be captured", lambda: s.health()["packets"] >= frames)
    assert s.health()["packets"] == frames  # nothing else crossed the link
    assert s.stop() == 0, s.stderr
    assert "Traceback" not in s.stderr
    if user:  # the store was written by the capture's user, not by root
        import pwd

        owner = pwd.getpwuid((data / "store").stat().st_uid).pw_name
        assert owner == user

    # the service is gone: the store opens directly again
    live_counts, live_alerts = _stored(config, _rows_at_rest(config))
    ref_counts, ref_alerts = _by_run(synth, tmp_path / "ref")
    assert live_counts == ref_counts
    assert sum(ref_counts.values()) > 500
    assert live_alerts == ref_alerts and sum(ref_alerts.values()) > 5


def test_watchdog_alerts_for_the_segment_that_falls_silent(
    veth: tuple[str, str, str], synth: Any, tmp_path: Path, service: Callable[[Path], LiveService]
) -> None:
    ns, outer, inner = veth
    # afterwards only the office segment keeps talking (with its resolvers and the internet)
    office = tmp_path / "office.pcap"
    sh("tcpdump", "-r", str(synth.pcap), "-w", str(office), "net 10.30.0.0/24")
    assert _frames(office) > 100
    config = _config(synth, tmp_path / "watch", inner, coverage={"silent_after": "3s"})
    s = service(config)
    _replay(outer, synth.pcap, pps="20000")  # every segment has traffic

    def silent() -> set[str]:
        _replay(outer, office, pps="2000")  # the office keeps talking while we wait
        return {r["segment"] for r in s.rows("SELECT segment FROM alerts WHERE category = 'sensor_silent'")}

    got = _wait("a sensor_silent alert for the wards", lambda: "wards" in (seen := silent()) and seen)
    assert "office" not in got
    assert s.stop() == 0, s.stderr


def test_sighup_with_a_new_feed_alerts_on_the_next_match_without_a_gap_in_capture(
    veth: tuple[str, str, str], synth: Any, tmp_path: Path, service: Callable[[Path], LiveService]
) -> None:
    ns, outer, inner = veth
    frames = _frames(synth.pcap)
    config = _config(synth, tmp_path / "hup", inner, coverage={"enabled": False})
    late = "SELECT count() AS n FROM alerts WHERE category = 'threat_feed_domain' AND indicator = 'zalo.me'"
    s = service(config)
    _replay(outer, synth.pcap, pps="20000")
    _wait("the first replay to be captured", lambda: s.health()["packets"] >= frames)

    (tmp_path / "late.txt").write_text("zalo.me\n")
    cfg = yaml.safe_load(config.read_text())
    cfg["feeds"].append(
        {"name": "late", "path": str(tmp_path / "late.txt"), "format": "domains", "trusted": True}
    )
    config.write_text(yaml.safe_dump(cfg))
    s.proc.send_signal(signal.SIGHUP)
    _wait("the reload", lambda: s.health()["reloads"].get("applied") == 1)

    _replay(outer, synth.pcap, pps="20000")
    _wait("the second replay to be captured", lambda: s.health()["packets"] >= 2 * frames)
    assert s.health()["packets"] == 2 * frames  # the reload cost no packet
    through_api = s.cli("query", "--config", str(config), late)  # the store is the service's: via its API
    assert through_api.returncode == 0, through_api.stderr
    assert s.stop() == 0, s.stderr
    q = subprocess.run(
        [*WARDWATCH, "query", "--config", str(config), late],
        cwd=config.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert q.returncode == 0, q.stderr
    assert json.loads(q.stdout)["n"] > 0  # lookups of zalo.me in the second replay matched the new feed


def _rows_at_rest(config: Path) -> Callable[[str], list[dict[str, Any]]]:
    """``query`` on a store no service holds (it opens the store itself)."""

    def rows(sql: str) -> list[dict[str, Any]]:
        q = subprocess.run(
            [*WARDWATCH, "query", "--config", str(config), sql],
            cwd=config.parent,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert q.returncode == 0, q.stderr
        return [json.loads(line) for line in q.stdout.splitlines()]

    return rows


def test_live_service_on_the_shared_captures_stores_what_run_stores(
    veth: tuple[str, str, str],
    synth: Any,
    shared_capture: Path,
    tmp_path: Path,
    service: Callable[..., LiveService],
) -> None:
    """Third-party captures (dpkt, Suricata's verification suite), not only our own generator's."""
    ns, outer, inner = veth
    frames = _frames(shared_capture)
    config = _config(synth, tmp_path / "shared", inner, coverage={"enabled": False})
    s = service(config)
    _replay(outer, shared_capture)
    _wait("every replayed frame to be captured", lambda: s.health()["packets"] >= frames)
    assert s.health()["packets"] == frames
    assert s.stop() == 0, s.stderr
    assert "Traceback" not in s.stderr
    live_counts, live_alerts = _stored(config, _rows_at_rest(config))
    ref_counts, ref_alerts = _by_run(synth, tmp_path / "ref", shared_capture)
    assert live_counts == ref_counts
    assert ref_counts["conn"] > 50 and ref_counts["dns"] > 0
    # The same findings. How many repeats merge into one alert follows the gaps between them, and these
    # captures were made years apart while the replay plays them back to back.
    assert set(live_alerts) == set(ref_alerts) and ref_alerts


TOTAL = " + ".join(f"(SELECT count() FROM {t})" for t in (*LOGS, "alerts")) + " AS n"


def test_live_kill_9_then_restart_loses_at_most_the_unflushed_window(
    veth: tuple[str, str, str], synth: Any, tmp_path: Path, service: Callable[..., LiveService]
) -> None:
    """kill -9 loses what was still open or not yet flushed (``store.flush_seconds``, docs/OPERATIONS.md),
    never what the service had committed; the restart takes the stale lock over, says so, and goes on."""
    ns, outer, inner = veth
    frames = _frames(synth.pcap)
    config = _config(synth, tmp_path / "kill", inner, coverage={"enabled": False})
    cfg = yaml.safe_load(config.read_text())
    # short timeouts, as a production sensor's are to a replay squeezed into seconds: records leave the
    # sensor and reach the store while it runs
    cfg["sensor"] = {
        "interfaces": [inner],
        "workers": 1,
        "flows": {k: 1 for k in SENSOR_TIMEOUTS["flows"] if k != "interim_interval"},
        "dns": {"timeout": 1, "tcp_idle_timeout": 1},
    }
    config.write_text(yaml.safe_dump(cfg))
    s = service(config)
    _replay(outer, synth.pcap)
    _wait("every replayed frame to be captured", lambda: s.health()["packets"] >= frames)
    committed = _wait("rows committed", lambda: s.health()["store"]["committed"] or None)
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait(timeout=60)
    q = subprocess.run(
        [*WARDWATCH, "query", "--config", str(config), f"SELECT {TOTAL}"],
        cwd=config.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert q.returncode == 0, q.stderr
    assert "stale lock" in q.stderr  # the next opener takes the dead service's lock over, and says so
    stored = json.loads(q.stdout)["n"]
    assert stored >= committed > 0  # nothing the service had committed was lost
    # ... and counts what was lost: the rows the service last reported as not yet stored
    lost = re.search(r"at its last report \([^)]*\), (\d+) rows", q.stderr)
    assert lost, q.stderr

    again = service(config)
    _replay(outer, synth.pcap)
    _wait("the second replay to be captured", lambda: again.health()["packets"] >= frames)
    assert again.stop() == 0, again.stderr
    assert "Traceback" not in again.stderr
    # the restarted service stored all it produced, beside what survived the kill
    produced = re.search(r"stopped; ([\d,]+) records, ([\d,]+) alerts", again.stderr)
    assert produced, again.stderr
    records, alerts = (int(x.replace(",", "")) for x in produced.groups())
    assert records > 500
    assert _rows_at_rest(config)(f"SELECT {TOTAL}")[0]["n"] == stored + records + alerts
