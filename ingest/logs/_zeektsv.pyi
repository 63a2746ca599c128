"""Types of the optional C extension built from _zeektsv.c."""

from collections.abc import Callable
from typing import Any

def parse(
    data: bytes,
    pos: int,
    sep: int,
    set_sep: int,
    nfields: int,
    unset: bytes,
    empty: bytes,
    plan: tuple[tuple[int, str, int, bool], ...],
    head: dict[str, Any],
    unescape: Callable[[str], str],
    finish: Callable[[dict[str, Any]], dict[str, Any] | None] | None,
    /,
) -> tuple[list[dict[str, Any]], int, int, int]: ...
def json_lines(
    data: bytes,
    pos: int,
    loads: Callable[[bytes], Any],
    path_hint: str,
    keeps: dict[str, frozenset[str]],
    ours: dict[str, str],
    fallback: Callable[[bytes, str], dict[str, Any] | None],
    /,
) -> tuple[list[dict[str, Any]], int, int, int]: ...
