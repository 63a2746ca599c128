"""Acknowledging, resolving, marking false positive and silencing alerts by hand: from the CLI (by
alert id), from a signed link in a message (every alert of that message) and later the console. All
of them are ``alert_events`` rows naming who and why."""

from __future__ import annotations

import html
from typing import Any

from wardwatch import i18n
from wardwatch.errors import WardwatchError

from . import outbox, state
from .links import BadLink, verify

ACTION_STATE = {"ack": "acknowledged", "resolve": "resolved", "fp": "false_positive", "silence": "silenced"}
LINK_WORDS = {"ack": "notify.link.ack", "resolve": "notify.link.resolve", "fp": "notify.link.fp"}


class UnknownAlert(WardwatchError, LookupError):
    pass


def by_uid(store: Any, uid: str, action: str, who: str, note: str, now: float) -> str:
    if not state.known(store, uid):
        raise UnknownAlert(uid)
    st = ACTION_STATE[action]
    state.record(store, [uid], st, who, note, "", now)
    return st


def by_link(store: Any, key: bytes, token: str, now: float) -> tuple[str, int]:
    """Apply a signed link; returns (state, number of alerts). Raises ``BadLink``."""
    grant = verify(key, token, now)
    found = outbox.get(store, [grant.message]).get(grant.message)
    if found is None:
        raise BadLink("no such message")
    st = ACTION_STATE[grant.action]
    state.record(store, found.uids, st, f"{grant.receiver} (link)", "", grant.message, now)
    return st, len(found.uids)


def page(title: tuple[str, str], body: str = "") -> bytes:
    """A small bilingual HTML page (the link's answer); every value is escaped."""
    vi, en = (html.escape(x) for x in title)
    return (
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>wardwatch</title></head>'
        f"<body><p>{vi}</p><p lang=\"en\">{en}</p>{body}</body></html>"
    ).encode()


def confirm_page(store: Any, key: bytes, token: str, now: float) -> tuple[int, bytes]:
    """GET: check the link and show a button; nothing is recorded until the POST (mail scanners and
    link previews fetch every URL in a message, and must not acknowledge anything)."""
    try:
        grant = verify(key, token, now)
    except BadLink as e:
        return 403, page(i18n.text("notify.page.bad", reason=str(e)))
    found = outbox.get(store, [grant.message]).get(grant.message)
    n = len(found.uids) if found else 0
    vi, en = i18n.MESSAGES[LINK_WORDS[grant.action]]
    form = (
        f'<form method="post" action="ack"><input type="hidden" name="t" value="{html.escape(token)}">'
        f'<button type="submit">{html.escape(vi)} / {html.escape(en)}</button></form>'
    )
    return 200, page(i18n.text("notify.page.confirm", alerts=n), form)


def apply_page(store: Any, key: bytes, token: str, now: float) -> tuple[int, bytes]:
    try:
        st, n = by_link(store, key, token, now)
    except BadLink as e:
        return 403, page(i18n.text("notify.page.bad", reason=str(e)))
    return 200, page(i18n.text("notify.page.done", action=st, alerts=n))
