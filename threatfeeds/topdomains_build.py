"""Builds ``data/top-domains.txt``, the pinned top-domain guard list (dev time only, never at run time).

Run ``python -m wardwatch.threatfeeds.topdomains_build DIR`` where DIR holds the MISP warning lists
``tranco10k.json``, ``cisco_top10k.json`` and ``cloudflare-top10k.json`` (MISP/misp-warninglists,
CC0-1.0). A name is kept when at least two of the three rankings list it: one ranking alone carries
malware domains that rank high on bot traffic (Tranco and Cloudflare each list a few Maltrail C2
names), and those must stay usable as indicators; two independent rankings agreeing means the name is
really everyday traffic. Names a feed could not list anyway (public suffixes, invalid names) are left
out, so the file stays compact.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

from . import normalize

LISTS = ("tranco10k", "cisco_top10k", "cloudflare-top10k")
MIN_VOTES = 2
OUT = Path(__file__).with_name("data") / "top-domains.txt"


def build(folder: Path) -> tuple[list[str], list[str]]:
    """The guard names, sorted, and one provenance line per source list."""
    votes: dict[str, int] = {}
    sources = []
    for name in LISTS:
        doc = orjson.loads((folder / f"{name}.json").read_bytes())
        sources.append(f"{name}.json version {doc.get('version')} ({len(doc['list'])} entries)")
        for raw in {str(x).strip().lower().rstrip(".") for x in doc["list"]}:
            votes[raw] = votes.get(raw, 0) + 1
    keep = [n for n, v in votes.items() if v >= MIN_VOTES and normalize.domain(n) == ("d", n)]
    return sorted(keep), sources


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m wardwatch.threatfeeds.topdomains_build MISP_WARNINGLISTS_DIR\n")
        return 2
    names, sources = build(Path(argv[0]))
    header = [
        "# wardwatch top-domain guard: names a block feed may not list unless the feed is `trusted: true`.",
        "# Built by threatfeeds/topdomains_build.py: names in at least 2 of the 3 top lists below.",
        "# Source: MISP/misp-warninglists @ 84f0610aaf3b, licence CC0-1.0",
        "# (https://github.com/MISP/misp-warninglists, LICENSE: CC0 1.0 Universal).",
        *(f"#   {s}" for s in sources),
        f"# {len(names)} names.",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join([*header, *names]) + "\n", encoding="ascii")
    sys.stdout.write(f"{OUT}: {len(names)} names\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
