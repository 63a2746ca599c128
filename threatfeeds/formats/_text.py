"""Helpers shared by the line-oriented parsers."""

from __future__ import annotations

from wardwatch.errors import WardwatchError


def text_lines(data: bytes) -> list[str]:
    """Lines of a feed file; undecodable bytes become U+FFFD and fail validation later, counted."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", errors="replace").splitlines()


def split_tags(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    return tuple(t.strip() for t in text.replace(";", ",").split(",") if t.strip())


class FormatError(WardwatchError, ValueError):
    """The whole file is not in the declared format (e.g. an HTML error page instead of JSON)."""
