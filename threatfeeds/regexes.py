"""Regex trails: Maltrail's ``dga[0-9]+\\.wildcard-test\\.com`` style domain indicators.

Which entries are regexes is Maltrail's own rule (``build_trails_regex`` in its ``core/common.py``): a
trail holding a character class (``[a-z0-9]``) or a repeated ``.`` or ``]`` (``.*``, ``.+``, ``]+``)
that compiles and is not its own ``re.escape``. Only host-less, path-less entries qualify here (a URL
or ``/path`` trail with ``[`` or ``+`` in it is a literal path, as Maltrail treats it too).

Maltrail ``re.search``es its alternation anywhere in a query name. We match a pattern in full against
the lower-cased name or one of its parent domains (``x.dga12.example`` hits ``dga[0-9]+\\.example``
like a listed domain covers its subdomains), so a pattern never fires in the middle of a label.

Refused, each counted by category:

- ``invalid-regex``: does not compile, or uses what an alternation of many feeds' patterns cannot
  hold or what costs a backtracking engine most: back-references, look-arounds, conditionals, named
  groups, inline flags;
- ``regex-cost``: longer than ``MAX_LEN``, a repeat inside a repeat or an alternation inside a
  repeat (``(a+)+``, ``(a|ab)*``: exponential backtracking), or variable repeats that backtracking
  could combine in more than ``MAX_WAYS`` ways over one name (``[a-z.]+[a-z.]+``: 253² ways; see
  ``_walk``). Names are at most 253 characters, so that bounds the work of one probe;
- ``regex-broad``: fewer than ``MIN_LITERAL`` required literal characters besides its public suffix
  (``.*\\.com``, ``[a-z]+\\.co\\.uk``): such a pattern flags a whole TLD, like a listed public suffix.

``RegexSet`` keeps one compiled alternation per last label that patterns can end in (``\\.(ml|ga)``
→ ``ml``, ``ga``) and one for patterns that end in a class (``\\.[a-z0-9.]+``), so a miss on a name
whose TLD no pattern can end in costs one dict probe.
"""

from __future__ import annotations

import re
import re._constants as _c  # type: ignore[import-not-found]
import re._parser as _parser  # type: ignore[import-not-found]
from collections.abc import Iterable
from typing import Any

from wardwatch.errors import WardwatchError

from .suffixes import is_public_suffix

INVALID_REGEX = "invalid-regex"
REGEX_COST = "regex-cost"
REGEX_BROAD = "regex-broad"

MAX_LEN = 1024  # Maltrail's longest static pattern has 575 characters
# ways to share a name among a pattern's variable repeats (``_walk``); Maltrail's costliest pattern
# (cerber: ``[a-z0-9]{1,}`` then ``[a-z0-9.]+``) has 63 * 253 = 15,939
MAX_WAYS = 1 << 15
MIN_LITERAL = 3
_LABEL = 63  # the widest a repeat that cannot match a dot can be
_MAX_NAME = 253

# Maltrail's test for "this trail is a regex" (see the module doc)
_MALTRAIL_REGEX = re.compile(r"[\].][*+]|\[[a-z0-9_.\-]+\]", re.I)
_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT)
_REFUSED = (_c.GROUPREF, _c.GROUPREF_EXISTS, _c.ASSERT, _c.ASSERT_NOT)
_UPPER = re.compile(r"(?<!\\)[A-Z]")


def looks_like_regex(text: str) -> bool:
    """Maltrail's rule: a class or a repeated ``.``/``]`` that escaping would change."""
    return (
        ("[" in text or ".*" in text or ".+" in text)
        and "/" not in text
        and _MALTRAIL_REGEX.search(text) is not None
        and re.escape(text) != text
    )


class _Refused(WardwatchError):
    def __init__(self, category: str) -> None:
        self.category = category


_NOT_DOT_CATEGORIES = frozenset({_c.CATEGORY_WORD, _c.CATEGORY_DIGIT, _c.CATEGORY_SPACE})


def _set_has_dot(items: Any) -> bool:
    """Does a parsed character class (``IN``) match ``.``?"""
    negate = bool(items) and items[0][0] is _c.NEGATE
    hit = False
    for op, av in items:
        if op is _c.LITERAL:
            hit |= av == 46
        elif op is _c.RANGE:
            hit |= av[0] <= 46 <= av[1]
        elif op is _c.CATEGORY:
            hit |= av not in _NOT_DOT_CATEGORIES
    return hit != negate


def _has_dot(seq: Any) -> bool:
    """Can a parsed sequence match a ``.`` (and so run across labels)?"""
    for op, av in seq:
        if op is _c.ANY or (op is _c.LITERAL and av == 46) or (op is _c.NOT_LITERAL and av != 46):
            return True
        if op is _c.IN and _set_has_dot(av):
            return True
        if op is _c.SUBPATTERN and _has_dot(av[3]):
            return True
        if op is _c.BRANCH and any(_has_dot(b) for b in av[1]):
            return True
        if op in _REPEATS and _has_dot(av[2]):
            return True
    return False


def _walk(seq: Any, in_repeat: bool) -> tuple[int, int]:
    """(required literal name characters, ways to split a name) of a parsed sequence.

    Literals: dots excluded; an alternation counts its shortest branch, a repeat its minimum. Ways:
    the product of the widths of the variable repeats (a repeat that cannot match a dot spans at most
    a label, 63 characters; one that can, a whole name), the most of an alternation's branches: how
    many ways backtracking may try to share a name among them. Raises ``_Refused`` on what the module
    doc refuses."""
    n = 0
    ways = 1
    for op, av in seq:
        if op is _c.LITERAL:
            n += av != 46
        elif op in _REFUSED:
            raise _Refused(INVALID_REGEX)
        elif op is _c.SUBPATTERN or op is _c.ATOMIC_GROUP:
            inner = av if op is _c.ATOMIC_GROUP else av[3]
            if op is _c.SUBPATTERN and (av[1] or av[2]):  # scoped inline flags, e.g. (?i:...)
                raise _Refused(INVALID_REGEX)
            k, w = _walk(inner, in_repeat)
            n += k
            ways *= w
        elif op is _c.BRANCH:
            if in_repeat:
                raise _Refused(REGEX_COST)
            branches = [_walk(b, in_repeat) for b in av[1]]
            n += min(k for k, _ in branches)
            ways *= max(w for _, w in branches)
        elif op in _REPEATS:
            lo, hi, body = av
            if in_repeat:
                raise _Refused(REGEX_COST)
            k, _ = _walk(body, True)
            n += lo * k
            span = _MAX_NAME if _has_dot(body) else _LABEL
            ways *= min(span, hi) - min(span, lo) + 1
        if ways > MAX_WAYS:
            raise _Refused(REGEX_COST)
    return n, ways


def _strings(seq: Any) -> list[str] | None:
    """Every string a parsed sequence of literals (ending in at most one alternation or group of the
    same) can match, or None when it holds anything else; None past 256 strings."""
    head = ""
    for k, (op, av) in enumerate(seq):
        if op is _c.LITERAL:
            head += chr(av)
            continue
        if k != len(seq) - 1:
            return None
        if op is _c.BRANCH:
            alts = [_strings(b) for b in av[1]]
        elif op is _c.SUBPATTERN and not av[1] and not av[2]:
            alts = [_strings(av[3])]
        else:
            return None
        out = [head + s for a in alts if a is not None for s in a]
        return out if all(a is not None for a in alts) and len(out) <= 256 else None
    return [head]


def _tail(seq: Any) -> tuple[list, list[str] | None]:
    """Split a parsed pattern into (items before its literal ending, the literal endings it can
    have): ``\\.(ml|ga)$`` → ``[".ml", ".ga"]``, ``...\\.com`` → ``[".com"]``, a class at the end →
    None."""
    items = list(seq)
    while items and items[-1][0] is _c.AT:
        items.pop()
    endings: list[str] = [""]
    if items and items[-1][0] is not _c.LITERAL:
        alts = _strings(items[-1:])
        if alts is None:
            return items, None
        items.pop()
        endings = alts
    prefix = ""
    while items and items[-1][0] is _c.LITERAL:
        prefix = chr(items.pop()[1]) + prefix
    endings = [prefix + e for e in endings]
    return items, (endings if any(endings) else None)


def _name_literals(text: str) -> int:
    return sum(1 for ch in text if ch != ".")


def _suffix_literals(ending: str) -> int:
    """Literal characters of the public suffix an ending closes with (``.evil.co.uk`` → 4). An ending
    that does not start with a literal dot may close a label it only partly spells (``.*com``): the
    whole ending is a candidate too."""
    j = -1
    while True:
        if is_public_suffix(ending[j + 1 :].lower()):
            return _name_literals(ending[j + 1 :])
        j = ending.find(".", j + 1)
        if j < 0:
            return 0


def check(pattern: str) -> str | None:
    """The reject category of a regex trail (module doc), or None when it may be indexed."""
    if len(pattern) > MAX_LEN:
        return REGEX_COST
    try:
        re.compile(f"(?:{pattern})")  # as RegexSet compiles it, beside other patterns
        parsed = _parser.parse(pattern)
    except (re.error, RecursionError, OverflowError, ValueError):
        return INVALID_REGEX
    if parsed.state.groupdict or parsed.state.flags & ~re.UNICODE:
        return INVALID_REGEX
    try:
        before, endings = _tail(parsed)
        n, _ = _walk(before, False)
        if endings is not None:
            n += min(_name_literals(e) - _suffix_literals(e) for e in endings)
    except _Refused as e:
        return e.category
    if n < MIN_LITERAL:
        return REGEX_BROAD
    return None


def last_labels(pattern: str) -> frozenset[str] | None:
    """The last labels a full match of ``pattern`` can end in, or None when any (a class at the end,
    or an unescaped ``.`` before the last literal label)."""
    _, endings = _tail(_parser.parse(pattern))
    if not endings:
        return None
    out = set()
    for e in endings:
        dot = e.rfind(".")
        if dot < 0 or not e[dot + 1 :]:
            return None
        out.add(e[dot + 1 :].lower())
    return frozenset(out)


def _compile(patterns: Iterable[str]) -> re.Pattern[str]:
    """One alternation of ``patterns`` matched in full against a name or one of its parents.

    Plain ``(?:...)`` alternatives, not named groups: the engine's quick first-character test only
    applies to an alternative that starts with a literal (20% faster over Maltrail's patterns); the
    pattern that hit is found afterwards, on the rare hit."""
    parts = []
    for p in patterns:
        # names are lower-case; a pattern written with capitals gets a case-blind scope of its own
        parts.append(f"(?i:{p})" if _UPPER.search(p) else f"(?:{p})")
    # any number of leading labels: a pattern covers subdomains, as a listed domain does
    return re.compile(r"(?:[^.]+\.)*?(?:" + "|".join(parts) + ")")


class RegexSet:
    """Compiled regex indicators with the value (provenance) of each; see the module doc."""

    def __init__(self, items: dict[str, int]) -> None:
        self.patterns = list(items)
        self.values = list(items.values())
        self._ids = {p: i for i, p in enumerate(self.patterns)}
        self._one = [_compile((p,)) for p in self.patterns]
        buckets: dict[str, list[int]] = {}
        anywhere: list[int] = []
        for i, p in enumerate(self.patterns):
            labels = last_labels(p)
            if labels is None:
                anywhere.append(i)
            else:
                for label in labels:
                    buckets.setdefault(label, []).append(i)
        self._any = self._bucket(anywhere) if anywhere else None
        self._by_label = {k: self._bucket(sorted((*v, *anywhere))) for k, v in buckets.items()}

    def _bucket(self, ids: list[int]) -> tuple[re.Pattern[str], tuple[int, ...]]:
        return _compile(self.patterns[i] for i in ids), tuple(ids)

    def __len__(self) -> int:
        return len(self.patterns)

    def __reduce__(self) -> tuple[type, tuple[dict[str, int]]]:
        return RegexSet, (dict(zip(self.patterns, self.values, strict=True)),)

    def find(self, pattern: str) -> int | None:
        """The id of a listed pattern (the text as the feed wrote it)."""
        return self._ids.get(pattern)

    def match(self, name: str) -> tuple[str, int] | None:
        """(pattern, ``-1 - its id``) of the first listed pattern matching the lower-cased ``name`` or
        a parent of it (the negative id is how ``FeedIndex`` packs a regex hit; ``values[id]`` is the
        pattern's value)."""
        bucket = self._by_label.get(name[name.rfind(".") + 1 :], self._any)
        if bucket is None or len(name) > _MAX_NAME:
            return None
        rx, ids = bucket
        if rx.fullmatch(name) is None:
            return None
        for i in ids:
            if self._one[i].fullmatch(name) is not None:
                return self.patterns[i], -1 - i
        return None  # unreachable: the alternation matched, so one of its patterns does
