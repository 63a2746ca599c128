"""Behavioural detectors from record dicts: each one fires on its pattern and stays silent on the
look-alike benign pattern; bounded state, state files and config validation."""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest
from wardwatch.detectors import Engine, load_settings
from wardwatch.detectors.behaviour import build_behaviour, load_options
from wardwatch.detectors.behaviour.beacon import beacon_score
from wardwatch.detectors.behaviour.dgamodel import score
from wardwatch.detectors.behaviour.names import split_name
from wardwatch.detectors.behaviour.options import TunnelOptions
from wardwatch.detectors.behaviour.state import StateFile, Table
from wardwatch.detectors.behaviour.tunnel import carries_data

from wardwatch.alerts import Alert
from wardwatch.config import ConfigError, parse_config

HOSPITAL = """\
data_dir: {data}
segments:
  - {{name: emr, cidrs: [10.11.0.0/24], zone: emr, criticality: critical}}
  - {{name: wards, cidrs: [10.20.0.0/22], zone: clinical, criticality: high}}
  - {{name: office, cidrs: [10.30.0.0/24], zone: admin, criticality: medium}}
  - {{name: servers, cidrs: [10.40.0.0/24], zone: server}}
detectors:
  dns_bypass: {{resolvers: [10.40.0.53]}}
"""


def engine(extra: str = "", data: str = "/tmp/ww-behaviour-none") -> Engine:
    config = parse_config(HOSPITAL.format(data=data) + extra, Path("/tmp/hospital.yaml"))
    e = Engine(load_settings(config))
    for d in build_behaviour(config):
        e.add(d)
    return e


def run(e: Engine, records: list[dict]) -> list[Alert]:
    return e.process(records) + e.flush()


def conn(src: str, dst: str, port: int, ts: float, proto: str = "tcp", **kw: object) -> dict:
    rec = {"_path": "conn", "ts": ts, "uid": f"C{src}{dst}{port}{ts}", "id.orig_h": src, "id.orig_p": 40000,
           "id.resp_h": dst, "id.resp_p": port, "proto": proto}  # fmt: skip
    rec.update(kw)
    return rec


def dns(
    src: str, query: str, ts: float, rcode: str | None = "NOERROR", qtype: str = "A", dst: str = "10.40.0.53"
) -> dict:
    rec = {"_path": "dns", "ts": ts, "uid": f"D{src}{query}{ts}", "id.orig_h": src, "id.orig_p": 5000,
           "id.resp_h": dst, "id.resp_p": 53, "proto": "udp", "query": query, "qtype_name": qtype}  # fmt: skip
    if rcode:
        rec["rcode_name"] = rcode
    return rec


def cats(alerts: list[Alert]) -> list[tuple[str, str, str]]:
    return [(a.category, a.src_ip, a.indicator) for a in alerts if a.rule.startswith("behaviour.")]


# -- names and scores --------------------------------------------------------------------------------


def test_registered_domain_uses_the_public_suffix_list() -> None:
    assert split_name("a.b.example.co.uk") == ("a.b", "example.co.uk")
    assert split_name("x.benhvien.gov.vn") == ("x", "benhvien.gov.vn")
    assert split_name("co.uk") is None
    assert split_name("printer.local") is None


def test_dga_score_separates_words_from_random_letters() -> None:
    assert score("xkqwzlvbnmfghjd") > 0
    for benign in ("thuvienphapluat", "facebook", "microsoft", "baohiemxahoi", "vnexpress"):
        assert score(benign) <= 0, benign
    assert score("google") == float("-inf")  # too short to judge
    assert score("xn--bnhvin-nwa1a") == float("-inf")
    assert score("3f9a0c7b2e1d4a6b8c0d") > 0  # hex-like


def test_tunnel_name_test() -> None:
    o = TunnelOptions()
    assert carries_data("q+aL3Iv0BA", o)  # dns2tcp
    assert carries_data("0ukakXLtIsHMrjBwMSWnrsybQKsITlFTVx3xFq.FOZGohxn4OLQsNkQ", o)  # iodine
    assert not carries_data("www", o)
    assert not carries_data("s17", o)
    assert not carries_data("mail.corp-eu", o)


def test_beacon_score_regular_vs_random() -> None:
    regular = [i * 60.0 + random.Random(i).uniform(-1, 1) for i in range(60)]
    s = beacon_score(regular, [512.0] * 60, 3600.0)
    assert s["score"] > 0.9 and s["ts_score"] > 0.9
    rnd = random.Random(3)
    noisy = sorted(rnd.uniform(0, 3600) for _ in range(60))
    s2 = beacon_score(noisy, [float(rnd.randrange(200, 60000)) for _ in range(60)], 3600.0)
    assert s2["ts_score"] < 0.8


# -- detectors ---------------------------------------------------------------------------------------


def test_dga_host_alert_needs_volume_of_nxdomain_names() -> None:
    rnd = random.Random(1)
    names = ["".join(rnd.choice(string.ascii_lowercase) for _ in range(14)) + ".com" for _ in range(30)]
    recs = [dns("10.20.0.5", n, 1000.0 + i) for i, n in enumerate(names)]  # answered: not scored
    assert cats(run(engine(), recs)) == []
    recs = [dns("10.20.0.5", n, 1000.0 + i, "NXDOMAIN") for i, n in enumerate(names)]
    got = [a for a in run(engine(), recs) if a.rule == "behaviour.dga.host"]
    assert len(got) == 1 and got[0].category == "dga" and got[0].src_ip == "10.20.0.5"
    assert got[0].severity == "high"  # medium + one step for the high-criticality ward segment
    assert got[0].mitre and got[0].directive == "BYT-CNTT-2021"
    benign = ["www.google.com", "thuvienphapluat.vn", "microsoftonline.com", "wikipedia.org", "vnexpress.net"]
    recs = [dns("10.20.0.6", n, 1000.0 + i, "NXDOMAIN") for i, n in enumerate(benign * 5)]
    assert [c for c in cats(run(engine(), recs)) if c[0] == "dga"] == []


def test_dga_skips_the_resolver_forwarding() -> None:
    rnd = random.Random(2)
    recs = [dns("10.40.0.53", "".join(rnd.choice(string.ascii_lowercase) for _ in range(15)) + ".net", 1000.0 + i,
                "NXDOMAIN", dst="203.0.113.53") for i in range(20)]  # fmt: skip
    assert cats(run(engine(), recs)) == []


def test_tunnel_fires_on_encoded_subdomains_not_on_many_short_ones() -> None:
    rnd = random.Random(4)
    alphabet = string.ascii_letters + string.digits
    recs = [dns("10.30.0.9", "".join(rnd.choice(alphabet) for _ in range(50)) + ".t.evil.org", 1000.0 + i, qtype="TXT")
            for i in range(40)]  # fmt: skip
    got = cats(run(engine(), recs))
    assert ("dns_tunnel", "10.30.0.9", "evil.org") in got
    short = [dns("10.30.0.9", f"s{i}.tunnel.com", 1000.0 + i) for i in range(200)]
    assert cats(run(engine(), short)) == []


def test_beacon_found_and_random_traffic_silent() -> None:
    rnd = random.Random(5)
    recs = [conn("10.20.0.7", "198.51.100.9", 443, 1000.0 + 300 * i + rnd.uniform(-3, 3), orig_bytes=700,
                 history="ShADadFf") for i in range(48)]  # fmt: skip
    got = [a for a in run(engine(), recs) if a.category == "beacon"]
    assert len(got) == 1 and got[0].indicator == "198.51.100.9" and got[0].dst_ip == "198.51.100.9"
    noisy = [conn("10.20.0.8", "198.51.100.9", 443, 1000.0 + rnd.uniform(0, 14400), orig_bytes=rnd.randrange(300, 90000),
                  history="ShADadFf") for _ in range(48)]  # fmt: skip
    assert [a for a in run(engine(), noisy) if a.category == "beacon"] == []


def test_vertical_and_horizontal_scans_but_not_ack_sweeps_or_busy_servers() -> None:
    vert = [
        conn("10.30.0.50", "10.11.0.10", 1000 + i, 1000.0 + i, conn_state="S0", history="S")
        for i in range(20)
    ]
    got = run(engine(), vert)
    assert cats(got) == [("port_scan", "10.30.0.50", "10.11.0.10")]
    assert got[0].severity == "critical"  # the EMR is critical
    horiz = [
        conn("10.20.0.9", f"10.20.1.{i}", 445, 1000.0, conn_state="REJ", history="Sr") for i in range(25)
    ]
    assert cats(run(engine(), horiz)) == [("port_scan", "10.20.0.9", "445/tcp")]
    acks = [
        conn("203.0.113.9", "10.40.0.5", 3000 + i, 1000.0 + i, conn_state="OTH", history="A")
        for i in range(40)
    ]
    assert cats(run(engine(), acks)) == []
    clients = [conn(f"10.20.{i // 200}.{i % 200}", "10.40.0.5", 443, 1000.0 + i, conn_state="SF", history="ShADadFf",
                    orig_bytes=900, resp_bytes=5000) for i in range(400)]  # fmt: skip
    assert cats(run(engine(), clients)) == []


def test_exfiltration_floor_per_zone_and_baseline() -> None:
    # EMR floor 50 MB: 60 MB in an hour to one address is reported, 30 MB is not
    big = [conn("10.11.0.20", "198.51.100.40", 443, 1000.0 + i, orig_bytes=6_000_000) for i in range(10)]
    got = run(engine(), big)
    assert cats(got) == [("exfiltration", "10.11.0.20", "198.51.100.40")]
    assert got[0].severity == "critical" and got[0].directive == "SYT-DBI-2026"
    small = [conn("10.11.0.20", "198.51.100.40", 443, 1000.0 + i, orig_bytes=3_000_000) for i in range(10)]
    assert cats(run(engine(), small)) == []
    # a server that sends 150 MB every hour has that as its baseline: the same again is not news
    e = engine()
    routine = [
        conn("10.40.0.8", "198.51.100.41", 443, 3600.0 * h + 10, orig_bytes=150_000_000) for h in range(1, 12)
    ]
    first = [a for a in e.process(routine) if a.category == "exfiltration"]
    # before min_history (6) past windows only the floor counts; after that the routine is quiet
    assert [a.ts for a in first] == [3600.0 * h + 10 for h in range(1, 7)]
    jump = [conn("10.40.0.8", "198.51.100.42", 443, 3600.0 * 13 + 10, orig_bytes=900_000_000)]
    got = [a for a in e.process(jump) + e.flush() if a.category == "exfiltration"]
    assert [a.indicator for a in got] == ["198.51.100.42"]


def test_nxdomain_burst() -> None:
    recs = [dns("10.20.0.11", f"nx{i}.example.org", 1000.0 + i, "NXDOMAIN") for i in range(25)]
    assert cats(run(engine(), recs)) == [("nxdomain_burst", "10.20.0.11", "example.org")]
    same = [dns("10.20.0.11", "stale.example.org", 1000.0 + i, "NXDOMAIN") for i in range(100)]
    assert cats(run(engine(), same)) == []


def twice(recs: list[dict]) -> list[dict]:
    """Every record logged twice, the copy 1 µs later (a SPAN port duplicating packets)."""
    return [x for r in recs for x in (r, {**r, "ts": r["ts"] + 1e-6})]


def test_duplicated_dns_records_count_once() -> None:
    # 15 NXDOMAIN answers for 15 names: below min_count (20) however many times each is logged
    recs = [dns("10.20.0.12", f"nx{i}.example.org", 1000.0 + i, "NXDOMAIN") for i in range(15)]
    assert cats(run(engine(), twice(recs))) == []
    rnd = random.Random(6)
    names = [
        "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(50)) + ".t.evil.org"
        for _ in range(40)
    ]
    got = [a for a in run(engine(), twice([dns("10.30.0.10", n, 1000.0 + i, qtype="TXT") for i, n in enumerate(names)]))
           if a.category == "dns_tunnel"]  # fmt: skip
    assert len(got) == 1 and got[0].evidence["queries"] == got[0].evidence["distinct"] >= 30


def test_beacon_keeps_scoring_after_dropping_old_samples() -> None:
    # 600 check-ins, more than max_samples (256): one alert (cooldown), scored on the samples kept
    recs = [conn("10.20.0.13", "198.51.100.10", 443, 1000.0 + 60 * i, orig_bytes=512) for i in range(600)]
    e = engine()
    det = next(d for d in e.detectors if d.name == "beacon")
    got = [a for a in run(e, recs) if a.category == "beacon"]
    assert len(got) == 1 and got[0].evidence["conns"] == 20
    assert got[0].evidence["interval"] == 60.0
    (v,) = [v for _, v in det.pairs.items()]
    assert 128 <= (len(v) - 16) // 16 <= 256


# -- state, persistence, config ----------------------------------------------------------------------


def test_table_is_bounded_and_counts_evictions() -> None:
    t: Table[int, list[int]] = Table(100)
    for i in range(1000):
        t.setdefault(i, list)
    assert len(t) == 100 and t.evicted == 900 and 999 in t and 0 not in t
    t.get(900)
    t.setdefault(5000, list)
    assert 900 in t and 901 not in t


def test_baselines_survive_a_restart(tmp_path: Path) -> None:
    extra = "  behaviour: {state_dir: state, save_every: 1h}\n"
    e = engine(extra, str(tmp_path))
    hours = [
        conn("10.40.0.8", "198.51.100.41", 443, 3600.0 * h + 10, orig_bytes=150_000_000) for h in range(1, 12)
    ]
    e.process(hours)
    e.flush()
    assert (tmp_path / "state" / "behaviour-exfiltration.json").exists()
    e2 = engine(extra, str(tmp_path))
    ex = next(d for d in e2.detectors if d.name == "exfiltration")
    b = ex.baseline("10.40.0.8")
    assert b is not None and b.n >= 10 and 100e6 < b.mean < 200e6
    # the restored baseline keeps the routine volume quiet in the next hour
    again = [conn("10.40.0.8", "198.51.100.41", 443, 3600.0 * 12 + 10, orig_bytes=150_000_000)]
    assert [a for a in e2.process(again) + e2.flush() if a.category == "exfiltration"] == []


def test_state_file_ignores_garbage(tmp_path: Path) -> None:
    f = StateFile(tmp_path, "x")
    assert f.load() is None
    f.path.write_text("{not json")
    assert f.load() is None
    assert f.save({"a": 1}) and f.load() == {"a": 1}


def test_options_from_config_and_errors() -> None:
    cfg = parse_config(HOSPITAL.format(data="var") + "  dga: {min_names: 3, window: 5m}\n  exfiltration: {floor: 1GB, zone_floors: {emr: 10MB}}\n"
                       "  beacon: {enabled: false}\n", Path("/tmp/h.yaml"))  # fmt: skip
    o = load_options(cfg)
    assert o.dga.min_names == 3 and o.dga.window == 300.0
    assert o.exfiltration.floor == 1_000_000_000 and o.exfiltration.zone_floors == {"emr": 10_000_000}
    assert [d.name for d in build_behaviour(cfg)] == [
        "dga",
        "dns_tunnel",
        "port_scan",
        "exfiltration",
        "nxdomain_burst",
    ]
    for bad, where in (("dga: {min_names: 0}", "min_names"), ("port_scan: {windwo: 5m}", "windwo"),
                       ("exfiltration: {zone_floors: {mars: 1MB}}", "mars"), ("beacon: {threshold: 2}", "threshold")):  # fmt: skip
        with pytest.raises(ConfigError, match=where):
            load_options(parse_config(HOSPITAL.format(data="var") + f"  {bad}\n", Path("/tmp/h.yaml")))
