"""The character model behind the ``dga`` detector: how surprising a domain label is to a trigram
model of words and names (``data/ngram.json.gz``, built by ``ngram_build``), in bits per character.

Words, names and their compounds (``thuvienphapluat``, ``facebook``) cost about 2-3.5 bits a letter;
labels drawn at random from the alphabet cost 5 and more. Digits and hyphens split a label into
letter runs that are scored separately; their own share is counted by ``digit_ratio``.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import orjson

_RUNS = re.compile(r"[a-z]+")
_HEXLIKE = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True, slots=True)
class Model:
    costs: dict[str, float]
    unseen: float


@lru_cache(maxsize=1)
def model() -> Model:
    raw = resources.files(__package__).joinpath("data", "ngram.json.gz").read_bytes()
    doc = orjson.loads(gzip.decompress(raw))
    return Model(doc["trigrams"], float(doc["unseen"]))


def bits_per_char(label: str, m: Model | None = None) -> tuple[float, int]:
    """(mean cost in bits of each letter and each run end, letters scored) for a lower-case label."""
    m = m or model()
    costs = m.costs
    unseen = m.unseen
    total = 0.0
    n = 0
    for run in _RUNS.findall(label):
        s = "^^" + run + "$"
        for i in range(len(s) - 2):
            total += costs.get(s[i : i + 3], unseen)
        n += len(run)
    if n == 0:
        return 0.0, 0
    return total / (n + 1), n


def hex_like(label: str) -> bool:
    """A long hex string with digits and letters mixed: a hash or a counter-mode DGA."""
    if len(label) < 16 or _HEXLIKE.fullmatch(label) is None:
        return False
    digits = sum(c.isdigit() for c in label)
    return 4 <= digits <= len(label) - 4


def score(label: str, min_letters: int = 7) -> float:
    """The DGA score of one label: bits per letter, 9.0 for hex-like labels, 0.0 when the label is too
    short to judge or is punycode (an internationalised name, whose encoding looks random)."""
    if label.startswith("xn--"):
        return 0.0
    if hex_like(label):
        return 9.0
    bits, n = bits_per_char(label)
    return bits if n >= min_letters else 0.0
