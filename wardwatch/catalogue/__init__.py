"""The people's rooms' parts of the one catalogue (``wardwatch.i18n.MESSAGES``): one module per room,
each a ``MESSAGES`` mapping of key → (Vietnamese, English). Keys start with the room's name
(``notify.…``, ``dashboards.…``) so that two rooms never claim one key; ``wardwatch.i18n`` merges the
parts and refuses a key defined twice."""

from __future__ import annotations

from wardwatch.catalogue import console, dashboards, ingest, notify, report

PARTS = (notify.MESSAGES, report.MESSAGES, console.MESSAGES, dashboards.MESSAGES, ingest.MESSAGES)
