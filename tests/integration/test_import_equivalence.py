"""Logs written from the same capture give the same alerts as our own sensor, for what both see.

No Zeek or Suricata runs on these machines (no Debian 12 package), so the logs are written here from
the sensor's records of the synthetic hospital, in each tool's own format: Zeek's TSV (headers,
``-``, ``(empty)``, vectors; conn, dns, ssl) and JSON (http, ISO timestamps), and Suricata's EVE (``flow``, DNS version 2 query and answer
events, ``tls``, ``http``). They are imported through the inputs (files followed, parsed), and the
detectors run on both record streams with the same config:

- Zeek's logs carry every field the detectors read but ``login`` (Zeek has no such log): every alert
  but the login policies must be equal.
- EVE has no TCP history nor payload byte counts: every alert but the login policies and the port
  scan (whose probes are told by their TCP history) must be equal.
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from wardwatch.detectors import Engine
from wardwatch.ingest.logs import EveInput, ZeekInput
from wardwatch.ingest.netflow.coverage import NEEDS
from wardwatch.ingest.sensor import sense

from wardwatch.config import load_config
from wardwatch.counters import Counters

ZEEK_FIELDS = {
    "conn": [
        ("ts", "time"), ("uid", "string"), ("id.orig_h", "addr"), ("id.orig_p", "port"), ("id.resp_h", "addr"),
        ("id.resp_p", "port"), ("proto", "enum"), ("service", "string"), ("duration", "interval"),
        ("orig_bytes", "count"), ("resp_bytes", "count"), ("conn_state", "string"), ("missed_bytes", "count"),
        ("history", "string"), ("orig_pkts", "count"), ("orig_ip_bytes", "count"), ("resp_pkts", "count"),
        ("resp_ip_bytes", "count"), ("tunnel_parents", "set[string]"),
    ],
    "dns": [
        ("ts", "time"), ("uid", "string"), ("id.orig_h", "addr"), ("id.orig_p", "port"), ("id.resp_h", "addr"),
        ("id.resp_p", "port"), ("proto", "enum"), ("trans_id", "count"), ("rtt", "interval"), ("query", "string"),
        ("qclass", "count"), ("qclass_name", "string"), ("qtype", "count"), ("qtype_name", "string"),
        ("rcode", "count"), ("rcode_name", "string"), ("AA", "bool"), ("TC", "bool"), ("RD", "bool"),
        ("RA", "bool"), ("Z", "count"), ("answers", "vector[string]"), ("TTLs", "vector[interval]"),
        ("rejected", "bool"),
    ],
    "ssl": [
        ("ts", "time"), ("uid", "string"), ("id.orig_h", "addr"), ("id.orig_p", "port"), ("id.resp_h", "addr"),
        ("id.resp_p", "port"), ("version", "string"), ("cipher", "string"), ("server_name", "string"),
        ("next_protocol", "string"), ("ja3", "string"),
    ],
    "http": [
        ("ts", "time"), ("uid", "string"), ("id.orig_h", "addr"), ("id.orig_p", "port"), ("id.resp_h", "addr"),
        ("id.resp_p", "port"), ("trans_depth", "count"), ("method", "string"), ("host", "string"),
        ("uri", "string"), ("referrer", "string"), ("version", "string"), ("user_agent", "string"),
        ("status_code", "count"), ("status_msg", "string"), ("username", "string"), ("tags", "set[enum]"),
    ],
}  # fmt: skip
OURS = {"conn": "conn", "dns": "dns", "ssl": "tls", "http": "http"}


def _zeek_value(v: Any, type_: str) -> str:
    if v is None or v == "":
        return "-"
    if type_.startswith(("set[", "vector[")):
        if not v:
            return "(empty)"
        inner = type_[type_.index("[") + 1 : -1]
        return ",".join(_zeek_value(x, inner) for x in v)
    if type_ in ("time", "interval"):
        return f"{float(v):.6f}"
    if type_ == "bool":
        return "T" if v else "F"
    text = str(v)
    return "".join(
        c if " " <= c <= "~" and c not in "\t\\," else "".join(f"\\x{b:02x}" for b in c.encode())
        for c in text
    )


def write_zeek(records: list[dict[str, Any]], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for log, fields in ZEEK_FIELDS.items():
        rows = [r for r in records if r["_path"] == OURS[log]]
        head = [
            "#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", f"#path\t{log}",
            "#open\t2026-01-01-08-00-00", "#fields\t" + "\t".join(f for f, _ in fields),
            "#types\t" + "\t".join(t for _, t in fields),
        ]  # fmt: skip
        body = []
        for r in rows:
            r = dict(r)
            if log == "ssl" and r.get("alpn"):
                r["next_protocol"] = r["alpn"][0]
            body.append("\t".join(_zeek_value(r.get(f), t) for f, t in fields))
        if log == "http":  # Zeek's JSON format (LogAscii::use_json), ISO timestamps
            lines = [
                orjson.dumps(
                    {"ts": _iso(r["ts"]), **{f: r[f] for f, _ in fields[1:] if r.get(f) is not None}}
                )
                for r in rows
            ]
            (folder / "http.log").write_bytes(b"".join(ln + b"\n" for ln in lines))
            continue
        (folder / f"{log}.log").write_text("\n".join(head + body + ["#close\t2026-01-01-09-00-00"]) + "\n")


def _iso(ts: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")


def write_eve(records: list[dict[str, Any]], path: Path) -> None:
    out = []
    flow_ids: dict[str, int] = {}

    def base(r: dict[str, Any], kind: str, ts: float, swap: bool = False) -> dict[str, Any]:
        fid = flow_ids.setdefault(r.get("uid", ""), len(flow_ids) + 1)
        a, ap, b, bp = r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"]
        if swap:
            a, ap, b, bp = b, bp, a, ap
        proto = {"tcp": "TCP", "udp": "UDP", "icmp": "ICMP"}.get(r.get("proto", "udp"), "UDP")
        return {"timestamp": _iso(ts), "flow_id": fid, "event_type": kind, "src_ip": a, "src_port": ap,
                "dest_ip": b, "dest_port": bp, "proto": proto}  # fmt: skip

    for r in records:
        p = r["_path"]
        if p == "conn":
            e = base(r, "flow", r["ts"] + r.get("duration", 0.0))
            e["flow"] = {"pkts_toserver": r.get("orig_pkts", 0), "pkts_toclient": r.get("resp_pkts", 0),
                         "bytes_toserver": r.get("orig_ip_bytes", 0), "bytes_toclient": r.get("resp_ip_bytes", 0),
                         "start": _iso(r["ts"]), "end": _iso(r["ts"] + r.get("duration", 0.0))}  # fmt: skip
            if r.get("service"):
                e["app_proto"] = r["service"].split(",")[0]
            out.append(e)
        elif p == "dns":
            e = base(r, "dns", r["ts"])
            q = {"type": "query", "id": r.get("trans_id", 0), "rd": r.get("RD", False)}
            if "query" in r:
                q["rrname"] = r["query"]
            if "qtype_name" in r:
                q["rrtype"] = r["qtype_name"]
            e["dns"] = q
            out.append(e)
            if "rcode_name" in r:
                a = base(r, "dns", r["ts"] + r.get("rtt", 0.0), swap=True)
                ans: dict[str, Any] = {"version": 2, "type": "answer", "id": r.get("trans_id", 0),
                                       "rcode": r["rcode_name"], "aa": r.get("AA", False), "tc": r.get("TC", False),
                                       "rd": r.get("RD", False), "ra": r.get("RA", False)}  # fmt: skip
                if r.get("answers"):
                    ttls = r.get("TTLs") or [0.0] * len(r["answers"])
                    ans["answers"] = [{"rrname": r.get("query", ""), "rrtype": r.get("qtype_name", ""),
                                       "ttl": int(t), "rdata": x} for x, t in zip(r["answers"], ttls, strict=False)]  # fmt: skip
                a["dns"] = ans
                out.append(a)
        elif p == "tls":
            e = base(r, "tls", r["ts"])
            t: dict[str, Any] = {}
            if r.get("server_name"):
                t["sni"] = r["server_name"]
            if r.get("ja3"):
                t["ja3"] = {"hash": r["ja3"]}
            if r.get("alpn"):
                t["client_alpns"] = r["alpn"]
            e["tls"] = t
            out.append(e)
        elif p == "http":
            e = base(r, "http", r["ts"])
            e["tx_id"] = r.get("trans_depth", 1) - 1
            h: dict[str, Any] = {}
            for ours, theirs in (("host", "hostname"), ("uri", "url"), ("method", "http_method"),
                                 ("user_agent", "http_user_agent"), ("referrer", "http_refer")):  # fmt: skip
                if r.get(ours):
                    h[theirs] = r[ours]
            if r.get("version"):
                h["protocol"] = "HTTP/" + r["version"]
            if r.get("status_code") is not None:
                h["status"] = r["status_code"]
            e["http"] = h
            out.append(e)
    out.sort(key=lambda e: e["timestamp"])  # Suricata writes events as they happen
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in out))


def _alerts(config_path: Path, data: Path, records: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    raw = yaml.safe_load(config_path.read_text())
    raw["data_dir"] = str(data)
    cfg = data.parent / f"{data.name}.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    engine = Engine.from_config(load_config(cfg), None, Counters())
    records = sorted(records, key=lambda r: r["ts"])
    alerts = []
    for i in range(0, len(records), 2000):
        alerts += engine.process(records[i : i + 2000])
    alerts += engine.flush()
    return {(a.category, a.src_ip, a.dst_ip or "", a.indicator) for a in alerts}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from wardwatch.tools.synth import generate

    folder = tmp_path_factory.mktemp("equiv")
    synth = generate(folder / "synth", seed=11, sessions=300)
    records = [r for batch in sense([synth.pcap], Counters()) for r in batch]
    write_zeek(records, folder / "zeek")
    write_eve(records, folder / "eve" / "eve.json")
    zeek, _ = ZeekInput(folder / "zeek").poll(final=True)
    eve_in = EveInput(folder / "eve" / "eve.json")
    eve, eve_alerts = eve_in.poll(final=True)
    assert eve_alerts == [] and eve_in.counters.get("logs.eve.malformed", 0) == 0
    return {
        "config": synth.config,
        "folder": folder,
        "sensor": records,
        "sensor_alerts": _alerts(synth.config, folder / "a_sensor", records),
        "zeek": zeek,
        "zeek_alerts": _alerts(synth.config, folder / "a_zeek", zeek),
        "eve": eve,
        "eve_alerts": _alerts(synth.config, folder / "a_eve", eve),
    }


def test_zeek_logs_give_the_sensors_alerts(scenario: dict[str, Any]) -> None:
    login = {c for c, logs in NEEDS.items() if logs <= {"login"}}
    ours = {a for a in scenario["sensor_alerts"] if a[0] not in login}
    theirs = {a for a in scenario["zeek_alerts"] if a[0] not in login}
    assert len(ours) >= 10, "the synthetic hospital should raise alerts of many kinds"
    assert theirs == ours, f"only sensor: {sorted(ours - theirs)[:5]} only zeek: {sorted(theirs - ours)[:5]}"
    assert all(r["source"] == "zeek" for r in scenario["zeek"])
    sensor_paths = {
        p: sum(r["_path"] == p for r in scenario["sensor"]) for p in ("conn", "dns", "tls", "http")
    }
    zeek_paths = {p: sum(r["_path"] == p for r in scenario["zeek"]) for p in ("conn", "dns", "tls", "http")}
    assert zeek_paths == sensor_paths


def test_eve_logs_give_the_sensors_alerts_but_those_of_tcp_history(scenario: dict[str, Any]) -> None:
    # EVE has no TCP history (the scan detector's probes) and no login log
    blind = {c for c, logs in NEEDS.items() if logs <= {"login"}} | {"port_scan"}
    ours = {a for a in scenario["sensor_alerts"] if a[0] not in blind}
    theirs = {a for a in scenario["eve_alerts"] if a[0] not in blind}
    assert {a[0] for a in ours} >= {"dga", "dns_tunnel", "beacon", "policy_remote_access"}, sorted(
        {a[0] for a in ours}
    )
    assert theirs == ours, f"only sensor: {sorted(ours - theirs)[:5]} only eve: {sorted(theirs - ours)[:5]}"
    assert all(r["source"] == "eve" for r in scenario["eve"])
