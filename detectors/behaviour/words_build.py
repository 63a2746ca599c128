"""Builds ``data/words.txt.gz``, the English word list of the word-list DGA model (dev time only).

Run ``python -m wardwatch.detectors.behaviour.words_build``; it needs the dev-only package
``wordsegment`` (Apache-2.0; its ``unigrams.txt`` holds Peter Norvig's counts of English words on the
web, from Google's Web 1T corpus). The list keeps the ``TOP`` most frequent purely alphabetic words of
3 to 15 letters, most frequent first. Like the trigram table, it is built from no list of domain names
and no DGA sample.
"""

from __future__ import annotations

import gzip
from pathlib import Path

TOP = 40_000
OUT = Path(__file__).with_name("data") / "words.txt.gz"


def build(top: int = TOP) -> list[str]:
    try:
        import wordsegment  # build-time only: the shipped list is data/words.txt.gz
    except ImportError as e:
        raise SystemExit(
            f"rebuilding the word list needs the build-only package: pip install wordsegment==1.3.1, or pip install .[model] ({e})"
        ) from None

    path = Path(wordsegment.__file__).with_name("unigrams.txt")
    out: list[str] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            word = line.split("\t", 1)[0]
            if 3 <= len(word) <= 15 and word.isascii() and word.isalpha():
                out.append(word)
                if len(out) >= top:
                    break
    return out


def main() -> None:
    words = build()
    header = f"# {len(words)} words; built by words_build.py from wordsegment's unigrams (Apache-2.0)\n"
    OUT.write_bytes(gzip.compress((header + "\n".join(words) + "\n").encode(), mtime=0))
    print(f"{OUT}: {len(words)} words")


if __name__ == "__main__":
    main()
