"""Types of the optional C extension built from _rows.c (record dicts to Arrow buffers)."""

from typing import Any

def columns(
    rows: list[Any], names: tuple[str, ...], kinds: str, /
) -> list[tuple[bytes | None, bytes | None, bytes | None]] | None:
    """Per field (validity bitmap or None, data, string offsets or None); None where pyarrow must decide."""
