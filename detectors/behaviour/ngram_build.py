"""Builds ``data/ngram.json.gz``, the character trigram table of the DGA scorer (dev time only).

Run ``python -m wardwatch.detectors.behaviour.ngram_build``; it needs the dev-only packages
``english-words`` (Webster's 2nd word list, public domain) and ``faker`` (MIT: person names, cities
and words of several locales, Vietnamese included). The table holds no list of domain names: the
Tranco/Umbrella/Cloudflare lists stay test material for measuring false positives, never training.
"""

from __future__ import annotations

import gzip
import math
import random
import unicodedata
from collections import Counter
from pathlib import Path

import orjson

ALPHABET = "abcdefghijklmnopqrstuvwxyz"
START, END = "^", "$"
SMOOTH = 1.0  # add-one on letter frequencies
LAMBDAS = (0.6, 0.3, 0.1)  # trigram, bigram, letter weights
LOCALES = (
    "en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "pl_PL", "vi_VN",
    "id_ID", "tr_TR", "cs_CZ", "sv_SE", "da_DK", "fi_FI", "ro_RO", "hu_HU",
)  # fmt: skip
OUT = Path(__file__).with_name("data") / "ngram.json.gz"


def fold(text: str) -> str:
    """Lower-case ASCII letters only: accents stripped (``Đặng`` → ``dang``), the rest dropped."""
    text = text.replace("đ", "d").replace("Đ", "d")
    norm = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in norm if "a" <= c <= "z" or c == " ")


def corpus(seed: int = 7) -> list[str]:
    # build-time only (the shipped model is data/ngram.json.gz): neither is a dependency of the package
    try:
        from english_words import get_english_words_set  # type: ignore[import-untyped]
        from faker import Faker
    except ImportError as e:
        raise SystemExit(
            f"rebuilding the n-gram model needs the build-only packages: pip install english-words faker, or pip install .[model] ({e})"
        ) from None

    words = sorted(w for w in get_english_words_set(["web2"], lower=True, alpha=True) if len(w) >= 2)
    rnd = random.Random(seed)
    out = list(words)
    pieces: list[str] = []
    for loc in LOCALES:
        f = Faker(loc)
        f.seed_instance(seed)
        for _ in range(3000):
            for s in (f.first_name(), f.last_name(), f.city(), f.word(), f.company()):
                pieces += fold(s).split()
    pieces = [p for p in pieces if len(p) >= 2]
    out += pieces
    # domain labels glue words together ("thuvienphapluat", "mybankonline"): teach the joins too
    common = pieces + rnd.sample(words, 20000)
    for _ in range(60000):
        out.append("".join(rnd.choice(common) for _ in range(rnd.randint(2, 3))))
    return out


def train(words: list[str]) -> dict[str, float]:
    """-log2 of the interpolated trigram probability (Jelinek-Mercer: a rare trigram in a common
    context falls back on the bigram and letter frequencies instead of costing 15+ bits)."""
    uni: Counter[str] = Counter()
    bi: Counter[str] = Counter()
    ctx1: Counter[str] = Counter()
    tri: Counter[str] = Counter()
    ctx2: Counter[str] = Counter()
    for w in words:
        s = START + START + w + END
        for i in range(2, len(s)):
            uni[s[i]] += 1
            bi[s[i - 1 : i + 1]] += 1
            ctx1[s[i - 1]] += 1
            tri[s[i - 2 : i + 1]] += 1
            ctx2[s[i - 2 : i]] += 1
    nxt = ALPHABET + END
    total = sum(uni.values())
    l3, l2, l1 = LAMBDAS
    table: dict[str, float] = {}
    for a in START + ALPHABET:
        for b in START + ALPHABET:
            if b == START and a != START:
                continue
            for c in nxt:
                p1 = (uni[c] + SMOOTH) / (total + SMOOTH * len(nxt))
                p2 = bi[b + c] / ctx1[b] if ctx1[b] else p1
                p3 = tri[a + b + c] / ctx2[a + b] if ctx2[a + b] else p2
                table[a + b + c] = round(-math.log2(l3 * p3 + l2 * p2 + l1 * p1), 2)
    return table


def main() -> None:
    words = corpus()
    table = train(words)
    unseen = max(table.values())  # every context is in the table; this covers odd input only
    doc = {"version": 1, "smooth": SMOOTH, "unseen": unseen, "words": len(words), "trigrams": table}
    OUT.write_bytes(gzip.compress(orjson.dumps(doc), mtime=0))
    print(f"{OUT}: {len(table)} trigrams from {len(words)} training words")


if __name__ == "__main__":
    main()
