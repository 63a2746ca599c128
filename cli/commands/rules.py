"""``wardwatch rules list|check --config FILE``: the Sigma rules the config loads, those rejected (and
why), and, given records or captures, how often each rule matches.

    wardwatch rules check --config hospital.yaml            # exit 1 when any rule is rejected
    wardwatch rules list --config hospital.yaml --records dns.jsonl   # per-rule hits over sensor output
    wardwatch rules list --config hospital.yaml --pcap a.pcap --json
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import orjson

from wardwatch.counters import Counters

if TYPE_CHECKING:
    from wardwatch.detectors.sigma_detector import SigmaDetector

    from wardwatch.config import Config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rules", help="list or check the Sigma rules of a config (loaded, rejected, hits)")
    p.add_argument("action", choices=("list", "check"))
    p.add_argument("--config", required=True, metavar="FILE", help="wardwatch config (YAML)")
    p.add_argument(
        "--records", metavar="PATH", help="sensor records (JSON lines, - for stdin) to count hits on"
    )
    p.add_argument("--pcap", nargs="+", metavar="FILE", help="captures to run the sensor on and count hits")
    p.add_argument("--json", action="store_true", help="one JSON object a line instead of a table")
    p.set_defaults(func=run)


def _record_batches(args: argparse.Namespace, counters: Counters) -> Iterator[list[dict[str, Any]]]:
    if args.records:
        stream = sys.stdin.buffer if args.records == "-" else open(args.records, "rb")  # noqa: SIM115
        try:
            batch: list[dict[str, Any]] = []
            for line in stream:
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = orjson.loads(line)
                except orjson.JSONDecodeError:
                    counters.add("rules.bad_record_lines", 1)
                    continue
                if isinstance(rec, dict):
                    batch.append(rec)
                if len(batch) >= 8192:
                    yield batch
                    batch = []
            if batch:
                yield batch
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
    if args.pcap:
        from wardwatch.ingest.sensor import sense

        yield from sense(args.pcap, counters)


def count_hits(detector: SigmaDetector, config: Config, batches: Iterator[list[dict[str, Any]]]) -> int:
    """Run the detector over the batches (hits accumulate on its rules); returns the record count."""
    from wardwatch.detectors.base import Batch
    from wardwatch.detectors.settings import load_settings

    segments = load_settings(config).segments
    n = 0
    for records in batches:
        n += len(records)
        detector.detect(Batch(records, segments.info))
    detector.flush()
    return n


def run(args: argparse.Namespace) -> int:
    from wardwatch.detectors.sigma_detector import SigmaDetector

    from wardwatch.config import ConfigError, load_config

    try:
        config = load_config(args.config)
        counters = Counters()
        det = SigmaDetector.from_config(config, counters)
    except ConfigError as e:
        sys.stderr.write(f"wardwatch rules: {e}\n")
        return 2
    rs = det.ruleset
    counted = args.records is not None or args.pcap is not None
    n_records = count_hits(det, config, _record_batches(args, counters)) if counted else 0
    out = sys.stdout
    rows: list[dict[str, Any]] = []
    from wardwatch.ingest.netflow.coverage import FLOW_GAPS, NEEDS, blind_on

    for r in rs.rules:
        rows.append({"status": "loaded", "id": r.key, "kind": "rule", "level": r.level, "logs": list(r.logs),
                     "title": r.title, "source": r.source, "alerts": r.alert, "hits": r.hits,
                     "blind_on": blind_on(r.logs)})  # fmt: skip
    for c in rs.correlations:
        rows.append({"status": "loaded", "id": c.key, "kind": c.spec.type, "level": c.level, "logs": [],
                     "title": c.title, "source": c.source, "alerts": True, "hits": c.hits})  # fmt: skip
    for x in rs.rejected:
        rows.append({"status": "rejected", "id": x.rule, "source": x.source, "reason": x.reason})
    if args.action == "list":  # the built-in detectors and the inputs they are blind on (issue 20)
        for cat, needs in NEEDS.items():
            rows.append({"status": "detector", "id": cat, "logs": sorted(needs), "blind_on": blind_on(needs),
                         "netflow": FLOW_GAPS.get(cat, "")})  # fmt: skip
    if args.action == "check":
        rows = [r for r in rows if r["status"] == "rejected"]
    if args.json:
        for row in rows:
            out.write(orjson.dumps(row).decode() + "\n")
    else:
        for row in rows:
            if row["status"] == "rejected":
                out.write(f"REJECTED  {row['id']}  ({row['source']})\n          {row['reason']}\n")
            elif row["status"] == "detector":
                blind = f"  mù với · blind on: {', '.join(row['blind_on'])}" if row["blind_on"] else ""
                gap = f"  (netflow: {row['netflow']})" if row["netflow"] else ""
                out.write(f"detector  {'+'.join(row['logs']):<12}  {row['id']}{blind}{gap}\n")
            else:
                hits = f"{row['hits']:>8}  " if counted else ""
                logs = ",".join(row["logs"]) or row["kind"]
                quiet = "" if row["alerts"] else "  (correlation input only)"
                blind = f"  [mù với · blind on: {', '.join(row['blind_on'])}]" if row.get("blind_on") else ""
                out.write(f"{hits}{row['level']:<8}  {logs:<12}  {row['title']}{quiet}{blind}\n")
    summary = {
        "loaded": len(rs.rules),
        "correlations": len(rs.correlations),
        "rejected": len(rs.rejected),
        "records": n_records,
    }
    sys.stderr.write(
        f"wardwatch rules: {summary['loaded']} rules and {summary['correlations']} correlations loaded, "
        f"{summary['rejected']} rejected · {summary['loaded']} quy tắc, {summary['correlations']} tương quan, "
        f"{summary['rejected']} bị từ chối\n"
    )
    if args.action == "check" and rs.rejected:
        return 1
    return 0
