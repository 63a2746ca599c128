"""Label matchers, as Alertmanager writes them: ``name="value"``, ``name!="value"``, ``name=~"regex"``,
``name!~"regex"``. Regexes are anchored (they must match the whole value), as in Alertmanager, so
``severity=~"critical|high"`` does not match ``highish``. A label an alert does not have reads as
the empty string, again as in Alertmanager (``segment=""`` matches an alert outside every segment).

Pure functions; a bad matcher raises ``ValueError`` with the reason, and the config reader turns it
into an error naming the file, line and key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$')


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # = != =~ !~
    value: str
    _re: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        v = labels.get(self.name, "")
        if self.op == "=":
            return v == self.value
        if self.op == "!=":
            return v != self.value
        assert self._re is not None
        hit = self._re.fullmatch(v) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


def parse_matcher(text: str) -> Matcher:
    m = _MATCHER.match(text)
    if m is None:
        raise ValueError(f'expected name="value", name!="value", name=~"regex" or name!~"regex", got {text!r}')
    name, op, value = m.groups()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    rx = None
    if op in ("=~", "!~"):
        try:
            rx = re.compile(value)
        except re.error as e:
            raise ValueError(f"bad regular expression {value!r}: {e}") from None
    return Matcher(name, op, value, rx)


def parse_matchers(items: Iterable[str]) -> tuple[Matcher, ...]:
    return tuple(parse_matcher(s) for s in items)


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)
