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


# Benign labels average out towards 3-4 bits as they grow longer while random ones stay near 6, so the
# bar falls with length: base + scale / sqrt(letters), never below ``floor``. Fitted on the 99.5th
# percentile of the Cisco Umbrella list by length (docs/DETECTION.md gives the numbers).
BASE, SCALE, FLOOR = 1.5, 14.0, 4.7


def threshold(letters: int, offset: float = 0.0) -> float:
    return max(FLOOR, BASE + SCALE / letters**0.5) + offset


def score(label: str, min_letters: int = 7) -> float:
    """How far one label is above the bar, in bits per letter: > 0 means DGA-like. Hex-like labels score
    1.0; labels too short to judge (fewer than ``min_letters`` letters) and punycode (internationalised
    names, whose encoding looks random) score -inf."""
    if label.startswith("xn--"):
        return float("-inf")
    if hex_like(label):
        return 1.0
    bits, n = bits_per_char(label)
    if n < min_letters:
        return float("-inf")
    return bits - threshold(n)
