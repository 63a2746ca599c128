"""Types of the optional C extension built from _batch.c (Batch's per-record loops)."""

from collections.abc import Sequence
from typing import Any

def group(records: Sequence[Any], /) -> tuple[dict[Any, list[Any]], float]:
    """Records by ``_path`` and the latest float ``ts`` (0.0 without one)."""

def pairs(records: Sequence[Any], cache: dict[str, Any], /) -> tuple[list[Any], list[tuple[int, str, str]], list[str]]:
    """(got, missing, fresh): per record (orig, resp) from cache or None; the uncached ones; their new addresses."""

def fill(got: list[Any], missing: list[tuple[int, str, str]], cache: dict[str, Any], /) -> list[tuple[int, str, str]]:
    """Fill got from cache for missing; returns the entries with an address still uncached."""

def each(records: list[Any], pairs: list[Any], /) -> list[tuple[Any, Any, Any]]:
    """(record, orig, resp) for the records whose pair is not None."""
