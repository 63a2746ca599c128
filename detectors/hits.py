"""A raw detection before it is built into an ``Alert``: merge before building (issue 17).

In a flood one rule fires for every record (a worm scanning from the guest Wi-Fi into HIS gives a
segmentation finding per connection), and the noise filter folds all of them into one alert per
``(category, src_ip, indicator)`` and window. Building each raw alert first (two summaries formatted
from the rule's templates, a dataclass, a BLAKE2b uid) cost most of detection in such a storm only for
the merger to throw the objects away. A ``Hit`` carries just what the merger decides on (key, time,
severity, the fields suppressions match, the evidence record's id) and a recipe for the alert; the
merger builds it only when it opens a window or would become the window's head, and otherwise only
counts it. The alerts that come out are the same as when every hit is built first
(tests/unit/test_detect_hits.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from wardwatch.alerts import Alert


class Hit:
    __slots__ = (
        "category",
        "rule",
        "ts",
        "src_ip",
        "dst_ip",
        "indicator",
        "severity",
        "segment",
        "dst_segment",
        "rid",
        "_make",
    )

    def __init__(
        self,
        category: str,
        rule: str,
        ts: float,
        src_ip: str,
        dst_ip: str | None,
        indicator: str,
        severity: str,
        segment: str | None,
        dst_segment: str | None,
        rid: str | None,
        make: Callable[[], Alert],
    ) -> None:
        self.category = category
        self.rule = rule
        self.ts = ts
        self.src_ip = src_ip
        self.dst_ip = dst_ip
        self.indicator = indicator
        self.severity = severity
        self.segment = segment
        self.dst_segment = dst_segment
        self.rid = rid  # the evidence record's id (``record_id``), so a duplicate is counted once
        self._make = make

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.category, self.src_ip, self.indicator)

    def build(self) -> Alert:
        a = self._make()
        if self.rid:
            a.seen.add(self.rid)
        return a


def built(items: Sequence[Alert | Hit]) -> list[Alert]:
    """Every item as an ``Alert`` (what a detector's ``detect`` returns to callers outside the engine)."""
    return [x.build() if isinstance(x, Hit) else x for x in items]
