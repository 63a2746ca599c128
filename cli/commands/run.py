"""``wardwatch run --pcap FILE… --config FILE``: sensor → detectors → store in one process (the
embedded chdb store unless the config names a ClickHouse server)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

import orjson

from wardwatch.counters import Counters
from wardwatch.segments import segment_order

if TYPE_CHECKING:
    from wardwatch.cli.pipeline import RunSummary

    from wardwatch.config import Config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="sensor, detectors and store in one process: captures in, ClickHouse rows out"
    )
    p.add_argument(
        "--pcap",
        nargs="+",
        metavar="FILE",
        help="pcap/pcapng files, optionally .gz (required unless --drain)",
    )
    p.add_argument("--config", required=True, metavar="FILE", help="wardwatch config (YAML)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument(
        "--json",
        action="store_true",
        help="also print the run's summary and every counter as one JSON object on stdout",
    )
    p.add_argument(
        "--drain",
        action="store_true",
        help="with a kafka: config and no --pcap: send what the Kafka spool holds, then stop",
    )
    p.set_defaults(func=run)


def _progress_line(p: object) -> None:
    from wardwatch.cli.pipeline import Progress

    assert isinstance(p, Progress)
    rate = p.records / p.seconds if p.seconds else 0.0
    sys.stderr.write(
        f"\rwardwatch run: {p.seconds:6.1f}s  {p.packets:,} packets  {p.records:,} records"
        f" ({rate:,.0f}/s)  {p.alerts:,} alerts  {p.stored:,} stored "
    )
    sys.stderr.flush()




def _summary_lines(summary: RunSummary, config: Config) -> list[str]:
    """The per-segment table: a header per language, then language-neutral rows, most critical first."""
    from wardwatch.i18n import word

    per = summary.per_segment()
    names = sorted(per, key=segment_order(config.segments))
    width = max([len(word("segment")[0]), *(len(n) for n in names)])
    lines = [
        f"  {word('segment')[i]:<{width}}  {word('records')[i]:>9}  {word('alerts')[i]:>9}   {word('per_log')[i]}"
        for i in (0, 1)
    ]
    for seg in names:
        tables = per[seg]
        recs = sum(n for t, n in tables.items() if t != "alerts")
        detail = " ".join(f"{t}={n:,}" for t, n in tables.items() if t != "alerts")
        lines.append(f"  {seg:<{width}}  {recs:>9,}  {tables.get('alerts', 0):>9,}   {detail}")
    return lines


def _report_spool(prog: str, store: Any, config_path: str) -> int:
    """Say what waits in the Kafka spool and how to send it; 1 when something does, else 0."""
    from wardwatch.i18n import say

    left = store.undelivered()
    if not left.messages:
        return 0
    where = store.settings.url
    sys.stderr.write(
        say(
            "run.spooled",
            prefix=f"{prog}: ",
            where=where,
            messages=left.messages,
            records=left.records,
            spool=left.dir,
            size=left.bytes,
        )
    )
    sys.stderr.write(say("run.spool_drain", prefix=f"{prog}: ", config=config_path))
    return 1


def _drain(args: argparse.Namespace, config: Config, store: Any, counters: Counters) -> int:
    from wardwatch.bus.remote import spooled

    from wardwatch.i18n import say

    prog = "wardwatch run"
    spool = store.bus_settings.spool_dir
    if not spooled(spool).messages:
        store.close()
        sys.stderr.write(say("run.nothing_to_drain", prefix=f"{prog}: ", spool=spool))
        return 0
    bus = store.writer(counters)
    try:
        while not bus.flush(60.0):
            before = spooled(spool).messages
            if bus.flush(60.0) or spooled(spool).messages >= before:
                break  # delivered, or no progress in a minute: say what is left
    finally:
        store.close()
    if _report_spool(prog, store, args.config):
        return 1
    sys.stderr.write(say("run.drained", prefix=f"{prog}: ", spool=spool, where=store.settings.url))
    return 0


def run(args: argparse.Namespace) -> int:
    from wardwatch.cli.commands.detect import rule_warnings
    from wardwatch.cli.pipeline import run_pipeline
    from wardwatch.store import StoreError, open_store

    from wardwatch.config import ConfigError, load_config
    from wardwatch.i18n import say, text

    prog = "wardwatch run"
    if not args.pcap and not args.drain:
        sys.stderr.write(say("run.no_pcap", prefix=f"{prog}: "))
        return 2
    try:
        config = load_config(args.config)
        from wardwatch.cli.commands.sections import check_sections

        # every room's section, before reading any capture; then what this config will not detect
        for warning in check_sections(config):
            sys.stderr.write(f"wardwatch run: {warning}\n")
        if args.drain and config.kafka is None:
            sys.stderr.write(say("run.drain_needs_kafka", prefix=f"{prog}: "))
            return 2
        if args.pcap:
            sys.stderr.write(rule_warnings(config, prog))
        store: Any
        if config.kafka is not None:
            # distributed: records go to Kafka, and `wardwatch writer` puts them in the store
            from wardwatch.bus.remote import BusStore

            store = BusStore(config)
        else:
            store = open_store(config)
    except (ConfigError, StoreError) as e:
        sys.stderr.write(f"wardwatch run: {e}\n")
        return 2
    counters = Counters()
    if not args.pcap:
        return _drain(args, config, store, counters)
    try:
        summary = run_pipeline(
            args.pcap, config, store, counters, progress=None if args.quiet else _progress_line
        )
    except (ConfigError, StoreError) as e:
        sys.stderr.write(f"\nwardwatch run: {e}\n")
        return 2
    finally:
        store.close()
    if not args.quiet:
        sys.stderr.write("\n")
    kafka = store.settings.backend == "kafka"
    where = store.settings.chdb_path if store.settings.backend == "chdb" else store.settings.url
    stored = sum(n for (t, _), n in summary.stored.items() if t != "alerts")
    alerts = sum(n for (t, _), n in summary.stored.items() if t == "alerts")
    left = store.undelivered().messages if kafka else 0
    done = text("run.done", records=summary.records, alerts=summary.alerts, seconds=summary.seconds)
    if left:
        lines = [f"{prog}: {d}" for d in done]
    else:
        kept = text("run.sent" if kafka else "run.stored", records=stored, alerts=alerts, where=where)
        lines = [f"{prog}: {d}; {k}" for d, k in zip(done, kept, strict=True)]
    if not kafka:  # the Kafka bus does not know segments: the writer does
        lines += _summary_lines(summary, config)
    dup = sum(summary.duplicates.values())
    if dup:
        lines += say("run.duplicates", prefix="  ", rows=dup).splitlines()
    sys.stderr.write("\n".join(lines) + "\n")
    # last, where it is seen: records that are only spooled are not stored yet
    rc = _report_spool(prog, store, args.config) if left else 0
    if counters.get("dropped.bus_spool_full", 0):
        sys.stderr.write(
            say("run.spool_dropped", prefix=f"{prog}: ", records=counters.get("dropped.bus_spool_full", 0))
        )
        rc = 1
    if args.json:
        sys.stdout.write(orjson.dumps({**summary.to_dict(), "counters": counters.summary()}).decode() + "\n")
    if counters.get("capture.unreadable", 0):
        return 2
    return rc
