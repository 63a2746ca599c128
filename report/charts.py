"""The report's two charts as SVG (matplotlib, text drawn as outlines so the PDF needs no extra
font): alerts per day by severity, and DNS queries plus connections per day."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

COLOURS = {"critical": "#8b0000", "high": "#d9480f", "medium": "#f0a500", "low": "#4c8c4a"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display: a service or a test runner
    matplotlib.rcParams["svg.fonttype"] = "path"
    matplotlib.rcParams["svg.hashsalt"] = "wardwatch"  # the same data, the same bytes
    matplotlib.rcParams["font.family"] = "DejaVu Sans"
    import matplotlib.pyplot as plt

    return plt


def _days(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buf.getvalue()


def alerts_chart(per_day: list[dict[str, Any]], first: date, last: date, labels: dict[str, str]) -> str:
    plt = _pyplot()
    days = _days(first, last)
    fig, ax = plt.subplots(figsize=(7.0, 1.8), dpi=100)
    try:
        bottom = [0] * len(days)
        for sev in ("low", "medium", "high", "critical"):
            values = [0] * len(days)
            for r in per_day:
                if r["severity"] == sev and r["day"] in days:
                    values[days.index(r["day"])] += int(r["n"])
            ax.bar(
                [d[5:] for d in days], values, bottom=bottom, color=COLOURS[sev], label=labels[sev], width=0.7
            )
            bottom = [a + b for a, b in zip(bottom, values, strict=True)]
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=7)
        if len(days) > 14:
            ax.set_xticks(range(0, len(days), max(1, len(days) // 10)))
        ax.legend(fontsize=7, frameon=False, ncols=4, loc="upper left", bbox_to_anchor=(0, 1.18))
        return _svg(fig)
    finally:
        plt.close(fig)


def records_chart(per_day: list[dict[str, Any]], first: date, last: date) -> str:
    plt = _pyplot()
    days = _days(first, last)
    values = [0] * len(days)
    for r in per_day:
        if r["day"] in days:
            values[days.index(r["day"])] += int(r["n"])
    fig, ax = plt.subplots(figsize=(7.0, 1.25), dpi=100)
    try:
        ax.bar([d[5:] for d in days], values, color="#2b6cb0", width=0.7)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=7)
        if len(days) > 14:
            ax.set_xticks(range(0, len(days), max(1, len(days) // 10)))
        return _svg(fig)
    finally:
        plt.close(fig)
