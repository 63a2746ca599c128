"""Every regular expression the Sigma engine runs goes through RE2 (``google-re2``), never ``re``.

Record values are attacker-controlled: any host can send a DNS name or a URI. A backtracking engine
lets one rule with nested quantifiers (``(a+)+$``) spend minutes on one short value and stall
detection for the whole network. RE2 matches in time linear in the value, and it is the engine
ClickHouse uses, so ``wardwatch hunt`` gives the same answers as streaming detection. Patterns RE2
cannot compile (backreferences, lookarounds, atomic groups) are refused at load time with RE2's reason.

Values longer than ``MAX_MATCH_CHARS`` are matched on their first ``MAX_MATCH_CHARS`` characters: the
size of the HTTP request head the sensor reads (a DNS name is at most 253 bytes), so that what one value
costs is bounded whatever source the record came from.
"""

from __future__ import annotations

import re
from typing import Any

import re2
from sigma.policy import SigmaPolicy
from sigma.policy.regex_engine import RegexEngine

from wardwatch.errors import WardwatchError

MAX_MATCH_CHARS = 16384
# The reason a rule is refused, as ``wardwatch rules check`` shows it (Vietnamese, then English).
REFUSED_VI = "biểu thức chính quy bị từ chối: RE2 (so khớp trong thời gian tuyến tính) không biên dịch được"
WHY_EN = "RE2, the linear-time engine, has no backreferences, lookarounds or atomic groups"


class RegexError(WardwatchError, ValueError):
    """RE2 cannot compile the pattern; the message is RE2's reason."""


def _options() -> re2.Options:
    o = re2.Options()
    o.log_errors = False  # the reason is raised to the caller, not printed on stderr by absl
    o.never_capture = True  # only "does it match" is ever asked
    return o


_OPTIONS = _options()


def check(pattern: str) -> None:
    """Raise ``RegexError`` with RE2's reason when RE2 cannot compile ``pattern``."""
    try:
        re2.compile(pattern, _OPTIONS)
    except re2.error as e:
        why = e.args[0] if e.args else e
        raise RegexError(why.decode("utf-8", "replace") if isinstance(why, bytes) else str(why)) from None


class Regex:
    """``Regex(pattern)(text)``: does ``pattern`` occur in ``text`` (``full=True``: match all of it)?

    One RE2 set of one pattern: ``RE2::Set::Match`` answers yes or no in one call, with none of the
    per-call match-object work of ``re2.compile(...).search``."""

    __slots__ = ("pattern", "full", "_match")

    def __init__(self, pattern: str, full: bool = False) -> None:
        check(pattern)
        s = re2.Set.FullMatchSet(_OPTIONS) if full else re2.Set.SearchSet(_OPTIONS)
        s.Add(pattern)
        s.Compile()
        self.pattern = pattern
        self.full = full
        # The wrapper's Match only type-checks and turns [] into None: calling the extension's own
        # Match (on bytes, as the wrapper would pass them) halves the cost of a call on short values.
        native = getattr(s, "_set", None)
        self._match = native.Match if native is not None else s.Match

    def __call__(self, text: str | None) -> bool:
        if text is None:
            return False
        # surrogatepass: a value decoded with surrogateescape must not raise while being matched
        return bool(self._match(text[:MAX_MATCH_CHARS].encode("utf-8", "surrogatepass")))

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r}, full={self.full})"


def with_flags(pattern: str, flags: str) -> str:
    """``pattern`` with RE2's inline flags (``i``, ``m``, ``s``) in front, as hunt sends it to ClickHouse."""
    letters = "".join(sorted(set(flags)))
    return f"(?{letters}){pattern}" if letters else pattern


class QuietRE2Engine(RegexEngine):
    """pySigma's own RE2 check of ``re`` values at parse time (as its default ``RE2RegexEngine``), with
    RE2's stderr logging off and its reason as text: the default engine prints every failure through
    absl and quotes it as bytes. Stateless, so that rules carrying it can be deep-copied."""

    _FLAGS = {re.IGNORECASE: "i", re.MULTILINE: "m", re.DOTALL: "s"}

    def compile(self, pattern: str, flags: int = 0) -> Any:
        pattern = with_flags(pattern, "".join(v for k, v in self._FLAGS.items() if int(flags) & int(k)))
        try:
            check(pattern)
        except RegexError as e:
            raise re2.error(f"{e} ({WHY_EN})") from None
        return re2.compile(pattern, _OPTIONS)

    @property
    def error(self) -> type[Exception]:
        return re2.error  # type: ignore[no-any-return]


# pySigma's safe defaults (no template variables, no external sources) with the quiet engine
POLICY = SigmaPolicy(regex_engine=QuietRE2Engine())
