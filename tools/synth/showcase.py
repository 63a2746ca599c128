"""What ``deploy/demo.sh`` shows after ``wardwatch run``: the store's alerts by category, by segment and a
few of them, in readable words (Vietnamese line, then English line), most severe and most critical
segments first.

    python -P -m wardwatch.tools.synth.showcase --config var/demo/hospital.yaml

It reads the store through the same read-only path as ``wardwatch query``.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from wardwatch.i18n import SEVERITY_ORDER, category, lines, severity

_ALERTS = (
    "SELECT category, severity, replaceRegexpOne(toString(src_ip), '^::ffff:', '') AS src, indicator,"
    " segment, directive, summary['vi'] AS vi, summary['en'] AS en, ts FROM alerts ORDER BY ts LIMIT 100000"
)


def _sev_rank(s: str) -> int:
    return SEVERITY_ORDER.index(s) if s in SEVERITY_ORDER else len(SEVERITY_ORDER)


def render(rows: Sequence[dict[str, Any]], config: Any, few: int = 8) -> str:
    """The three sections as text, from the rows of ``_ALERTS``."""
    from wardwatch.segments import segment_order

    seg_key = segment_order(config.segments)
    out: list[str] = []

    def head(vi: str, en: str) -> None:
        out.append("")
        out.append(lines((f"== {vi}", f"== {en}")).rstrip("\n"))

    by_cat: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_cat[r["category"]].append(r)
    head("Cảnh báo theo loại (nghiêm trọng nhất trước)", "Alerts by category (most severe first)")
    for cat, rs in sorted(
        by_cat.items(), key=lambda kv: (min(_sev_rank(r["severity"]) for r in kv[1]), -len(kv[1]), kv[0])
    ):
        hosts = len({r["src"] for r in rs})
        top = min((r["severity"] for r in rs), key=_sev_rank)
        (cvi, cen), (svi, sen) = category(cat), severity(top)
        n = len(rs)
        out.append(f"  [{svi}] {cvi}: {n} cảnh báo, {hosts} máy nguồn")
        out.append(f"  [{sen}] {cen}: {n} alert{'s' * (n != 1)}, {hosts} source host{'s' * (hosts != 1)}")

    by_seg: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        by_seg[r["segment"] or ""][r["severity"]] += 1
    head(
        "Cảnh báo theo phân vùng (HIS/EMR và phân vùng quan trọng nhất trước)",
        "Alerts by segment (HIS/EMR and the most critical segments first)",
    )
    for seg in sorted(by_seg, key=seg_key):
        counts = sorted(by_seg[seg].items(), key=lambda kv: _sev_rank(kv[0]))
        name = seg or "(Internet)"
        out.append(f"  {name}: " + ", ".join(f"{n} {severity(s)[0]}" for s, n in counts))
        out.append(f"  {name}: " + ", ".join(f"{n} {severity(s)[1]}" for s, n in counts))

    head("Một vài cảnh báo (nghiêm trọng nhất trước)", "A few alerts (most severe first)")
    picked = sorted(rows, key=lambda r: (_sev_rank(r["severity"]), seg_key(r["segment"] or ""), r["ts"]))[
        :few
    ]
    for r in picked:
        where = f"{r['src']} ({r['segment'] or 'Internet'}) → {r['indicator']}"
        out.append(f"  {where}")
        out.append(f"    [{severity(r['severity'])[0]}] {r['vi']}")
        out.append(f"    [{severity(r['severity'])[1]}] {r['en']}")
        if r.get("directive"):
            out.append(f"    {r['directive']}")
    return "\n".join(out).lstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    from wardwatch.store import StoreError, open_store

    from wardwatch.config import ConfigError, load_config

    p = argparse.ArgumentParser(prog="python -m wardwatch.tools.synth.showcase", description=__doc__)
    p.add_argument("--config", required=True)
    p.add_argument("--few", type=int, default=8, help="alerts to show in full (default 8)")
    args = p.parse_args(argv)
    try:
        config = load_config(args.config)
        store = open_store(config, migrate_schema=False, create=False)
        try:
            rows = store.rows(_ALERTS)
        finally:
            store.close()
    except (ConfigError, StoreError) as e:
        sys.stderr.write(f"showcase: {e}\n")
        return 2
    sys.stdout.write(render(rows, config, args.few))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
