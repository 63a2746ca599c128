"""The words of ``notify/``: key → (Vietnamese, English), str.format templates with the same
placeholders on both sides (see ``wardwatch.i18n``)."""

from __future__ import annotations

from collections.abc import Mapping

MESSAGES: Mapping[str, tuple[str, str]] = {}
