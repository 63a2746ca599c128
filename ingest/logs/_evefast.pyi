"""Types of the optional C extension built from _evefast.c."""

from collections.abc import Callable
from typing import Any

def feed(
    lines: list[bytes],
    loads: Callable[[bytes], Any],
    feed: Callable[[bytes, list[dict[str, Any]], list[dict[str, Any]]], None],
    event: Callable[[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]], None],
    records: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    pending: dict[tuple[Any, ...], dict[str, Any]],
    pending_limit: int,
    qtypes: dict[str, int],
    rcodes: dict[str, int],
    /,
) -> float: ...
