"""The word model behind the ``dga`` detector's second rule: word-list DGAs (suppobox, matsnu, gozi,
nymaim2 style) join dictionary words into labels (``wouldinstead``, ``surfaces-drawing``) that the
character model rightly finds ordinary. ``word_split`` splits a label into words of the shipped list
(``data/words.txt.gz``, built by ``words_build``), preferring fewer, more frequent words.

Alone, a label made of words says little: ``facebook`` and ``microsoftonline`` are too. The detector
counts word-made *nonexistent* registered domains per host and needs many of them (``min_word_names``)
before it reports, and the words must be long enough that chance splits of random strings do not
qualify (``MIN_WORD`` letters each, ``MIN_LETTERS`` in all).
"""

from __future__ import annotations

import gzip
import math
from functools import lru_cache
from importlib import resources

MIN_WORD = 3  # letters in each word of a split
MIN_LETTERS = 8  # letters in the label (hyphens aside)
MAX_LABEL = 40  # longer labels are not split (cost, and no word DGA makes them)
MIN_WORDS, MAX_WORDS = 2, 5


@lru_cache(maxsize=1)
def word_costs() -> dict[str, float]:
    """word → cost (log of its rank): frequent words are cheap, so ``facebook`` splits as one word."""
    raw = resources.files(__package__).joinpath("data", "words.txt.gz").read_bytes()
    out: dict[str, float] = {}
    for line in gzip.decompress(raw).decode().splitlines():
        if line and not line.startswith("#"):
            out.setdefault(line, math.log(len(out) + 2))
    return out


def word_split(text: str) -> list[str] | None:
    """The cheapest split of ``text`` (lower-case letters) into listed words, or None."""
    costs = word_costs()
    n = len(text)
    best: list[tuple[float, int] | None] = [None] * (n + 1)  # (cost, start of the last word)
    best[0] = (0.0, 0)
    for end in range(MIN_WORD, n + 1):
        cands = []
        for start in range(max(0, end - 15), end - MIN_WORD + 1):
            b = best[start]
            if b is None:
                continue
            c = costs.get(text[start:end])
            if c is not None:
                cands.append((b[0] + c + 1.0, start))  # + 1 per word: fewer words win
        if cands:
            best[end] = min(cands)
    if best[n] is None:
        return None
    words = []
    end = n
    while end > 0:
        start = best[end][1]  # type: ignore[index]
        words.append(text[start:end])
        end = start
    return words[::-1]


@lru_cache(maxsize=65536)
def word_like(label: str) -> bool:
    """Is ``label`` (lower case) two to five listed words, joined directly or by hyphens?"""
    if label.startswith("xn--") or len(label) > MAX_LABEL:
        return False
    parts = [p for p in label.split("-") if p]
    if not parts or any(not p.isascii() or not p.isalpha() for p in parts):
        return False
    if sum(map(len, parts)) < MIN_LETTERS:
        return False
    count = 0
    for p in parts:
        split = word_split(p)
        if split is None:
            return False
        count += len(split)
    return MIN_WORDS <= count <= MAX_WORDS
