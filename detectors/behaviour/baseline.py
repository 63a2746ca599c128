"""A per-key volume baseline over fixed windows: the running window's total, and an exponentially
weighted mean and variance of the finished windows (empty windows included, up to a day's worth)."""

from __future__ import annotations

import math
from typing import Any

MAX_GAP = 48  # empty windows folded in after a silence; beyond that the host is simply quiet


class Baseline:
    __slots__ = ("bucket", "total", "mean", "var", "n", "alerted", "top", "lim")

    def __init__(self) -> None:
        self.bucket = -1
        self.total = 0.0
        self.mean = 0.0
        self.var = 0.0
        self.n = 0
        self.alerted = -1  # the bucket already alerted
        self.top: dict[str, float] = {}  # destination → bytes in the running window (capped)
        self.lim = -1.0  # ``limit()`` cached by the caller for the running window; < 0: stale

    def roll(self, bucket: int, alpha: float) -> None:
        """Move to ``bucket``, folding the finished window and the empty ones between into the baseline."""
        if bucket <= self.bucket:
            return
        if self.bucket >= 0:
            self._fold(self.total, alpha)
            for _ in range(min(bucket - self.bucket - 1, MAX_GAP)):
                self._fold(0.0, alpha)
        self.bucket = bucket
        self.total = 0.0
        self.top = {}
        self.lim = -1.0

    def _fold(self, x: float, alpha: float) -> None:
        if self.n == 0:
            self.mean, self.var = x, 0.0
        else:
            d = x - self.mean
            self.mean += alpha * d
            self.var = (1 - alpha) * (self.var + alpha * d * d)
        self.n += 1

    def limit(self, floor: float, sigmas: float, factor: float, min_history: int) -> float:
        """The total above which the running window is unusual."""
        if self.n < min_history:
            return floor
        return max(floor, self.mean + sigmas * math.sqrt(self.var), factor * self.mean)

    def dump(self) -> list[Any]:
        return [self.bucket, self.total, self.mean, self.var, self.n]

    @classmethod
    def load(cls, row: list[Any]) -> Baseline:
        b = cls()
        b.bucket, b.total, b.mean, b.var, b.n = (
            int(row[0]),
            float(row[1]),
            float(row[2]),
            float(row[3]),
            int(row[4]),
        )
        return b
