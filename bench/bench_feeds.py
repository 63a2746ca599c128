"""Threat-feed index benchmark: build time, bytes per indicator, domain lookups per second (one core).

    python bench/bench_feeds.py [--indicators 1000000] [--queries 1000000] [--hit-rate 0.1]

Indicators: a plain domain-list feed of N synthetic names shaped like real ones (2-4 labels, a mix of
TLDs), parsed, normalised and indexed as `wardwatch feeds` does. Queries: realistic DNS names, a mix of
misses (3-5 labels under popular and random parents) and hits (subdomains of listed names or the names
themselves), looked up in bulk with `FeedIndex.match_domains`; also reported: single `match_domain`.
Memory: tracemalloc peak of the build, and the RSS delta.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import time
import tracemalloc

from wardwatch.threatfeeds import IndexBuilder
from wardwatch.threatfeeds.formats import FORMATS

TLDS = [
    "com",
    "net",
    "org",
    "ru",
    "xyz",
    "top",
    "info",
    "vn",
    "com.vn",
    "cn",
    "io",
    "online",
    "site",
    "co.uk",
]
WORDS = [
    "mail",
    "secure",
    "login",
    "update",
    "cdn",
    "api",
    "portal",
    "pay",
    "bank",
    "cloud",
    "app",
    "data",
    "track",
    "srv",
    "host",
    "online",
    "shop",
    "my",
    "web",
    "net",
]
POPULAR = [
    "google.com",
    "microsoft.com",
    "windowsupdate.com",
    "apple.com",
    "akamaiedge.net",
    "cloudflare.net",
    "amazonaws.com",
    "office365.com",
    "facebook.com",
    "hospital.vn",
    "gov.vn",
    "zalo.me",
]


def label(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(WORDS) + str(rng.randrange(10000))
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(rng.randrange(6, 16)))


def make_domains(n: int, rng: random.Random) -> list[str]:
    out = set()
    while len(out) < n:
        k = rng.choice((1, 1, 1, 2))
        out.add(".".join(label(rng) for _ in range(k)) + "." + rng.choice(TLDS))
    return list(out)


def make_queries(n: int, listed: list[str], hit_rate: float, rng: random.Random) -> list[str]:
    q = []
    for _ in range(n):
        if rng.random() < hit_rate:
            base = rng.choice(listed)
            q.append(base if rng.random() < 0.3 else f"{label(rng)}.{base}")
        else:
            parent = rng.choice(POPULAR) if rng.random() < 0.6 else f"{label(rng)}.{rng.choice(TLDS)}"
            q.append(".".join(label(rng) for _ in range(rng.choice((1, 1, 2, 3)))) + "." + parent)
    return q


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--indicators", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=1_000_000)
    ap.add_argument("--hit-rate", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    names = make_domains(args.indicators, rng)
    feed = ("\n".join(names) + "\n").encode()
    queries = make_queries(args.queries, names, args.hit_rate, rng)
    gc.collect()

    # build time (parse + normalise + index), without tracemalloc's overhead
    rss0 = rss_kb()
    t0 = time.perf_counter()
    b = IndexBuilder()
    b.add_feed("bench", FORMATS["domains"]("feed.txt", feed))
    index = b.build()
    build_s = time.perf_counter() - t0
    gc.collect()
    rss_delta = (rss_kb() - rss0) * 1024
    n = index.counts()["domains"]

    # lookups: bulk (hot path) and one by one
    for _ in range(2):  # warm-up then measure
        t0 = time.perf_counter()
        hits = index.match_domains(queries)
        bulk_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    one = index.match_domain
    single_hits = sum(1 for q in queries[:200_000] if one(q) is not None)
    single_s = time.perf_counter() - t0
    assert single_hits == sum(1 for r in hits.rows if r < 200_000)

    # memory held by the index, measured by tracemalloc on a second build
    del index, b
    gc.collect()
    tracemalloc.start()
    b = IndexBuilder()
    b.add_feed("bench", FORMATS["domains"]("feed.txt", feed))
    index = b.build()
    del b
    gc.collect()
    held, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert index.counts()["domains"] == n

    print(f"indicators (domains)     {n:>12,}")
    print(f"build (parse+index)      {build_s:>12.2f} s")
    print(f"memory, tracemalloc      {held / n:>12.0f} bytes/indicator ({held / 2**20:.0f} MiB)")
    print(f"memory, RSS delta        {rss_delta / n:>12.0f} bytes/indicator ({rss_delta / 2**20:.0f} MiB)")
    print(f"queries                  {len(queries):>12,}  (hit rate {len(hits.rows) / len(queries):.1%})")
    print(f"bulk match_domains       {len(queries) / bulk_s:>12,.0f} lookups/s")
    print(f"single match_domain      {200_000 / single_s:>12,.0f} lookups/s")


if __name__ == "__main__":
    main()
