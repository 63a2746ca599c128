"""What the service's API answers for notification (``wardwatch serve`` mounts these; this room
cannot import the service, so the handlers return plain ``(status, content type, body)``):

    GET  /ack?t=TOKEN     the signed link of a message: a page with a button          (the link is the key)
    POST /ack             form ``t=TOKEN``: records the action for the message's alerts  (the link is the key)
    POST /alerts/event    {"uid", "action": ack|resolve|fp|silence, "who", "note"}    (the API token)
    POST /alerts/silence  {"matchers": [...], "for": seconds, "author", "comment"} or {"expire": ID}

The CLI's ``alerts`` commands use the last two while ``serve`` holds the embedded store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import orjson

from . import acks, silences
from .matchers import parse_matchers
from .silence import Silence, new_id

Reply = tuple[int, str, bytes]
HTML = "text/html; charset=utf-8"


def _json(doc: Any, status: int = 200) -> Reply:
    return status, "application/json", orjson.dumps(doc)


class Endpoints:
    def __init__(self, store: Any, key: Callable[[], bytes], clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.key = key  # lazily: the key file is made on first use
        self.clock = clock

    def ack(self, method: str, query: str, body: bytes) -> Reply:
        if method == "GET":
            token = (parse_qs(query).get("t") or [""])[0]
            status, page = acks.confirm_page(self.store, self.key(), token, self.clock())
            return status, HTML, page
        if method == "POST":
            token = (parse_qs(body.decode("utf-8", "replace")).get("t") or [""])[0]
            status, page = acks.apply_page(self.store, self.key(), token, self.clock())
            return status, HTML, page
        return 405, HTML, acks.page(("chỉ GET hoặc POST", "GET or POST only"))

    def event(self, body: dict[str, Any]) -> Reply:
        uid, action = body.get("uid"), body.get("action")
        who, note = body.get("who") or "cli", body.get("note") or ""
        if not isinstance(uid, str) or action not in acks.ACTION_STATE:
            return _json({"error": 'expected {"uid": ID, "action": "ack|resolve|fp|silence", "who", "note"}'}, 400)
        try:
            st = acks.by_uid(self.store, uid, action, str(who), str(note), self.clock())
        except acks.UnknownAlert:
            return _json({"error": f"no alert {uid}", "unknown": uid}, 404)
        return _json({"uid": uid, "state": st, "who": who})

    def silence(self, body: dict[str, Any]) -> Reply:
        now = self.clock()
        if "expire" in body:
            sid = str(body["expire"])
            return _json({"expired": sid}) if silences.expire(self.store, sid, now) else _json({"error": f"no silence {sid}", "unknown": sid}, 404)
        if body.get("list"):
            return _json({"silences": [_silence_doc(s) for s in silences.listing(self.store)]})
        try:
            matchers = parse_matchers(body.get("matchers") or [])
            duration = float(body.get("for", 0))
        except (ValueError, TypeError) as e:
            return _json({"error": str(e)}, 400)
        if not matchers or duration <= 0:
            return _json({"error": 'expected {"matchers": [...], "for": seconds, "author", "comment"}'}, 400)
        s = Silence(new_id(), matchers, now, now + duration, str(body.get("author") or "cli"), str(body.get("comment") or ""))
        silences.put(self.store, s, now)
        return _json(_silence_doc(s))

    def mount(self, get_public: dict[str, Any], post: dict[str, Any]) -> None:
        get_public["/ack"] = self.ack
        post["/alerts/event"] = self.event
        post["/alerts/silence"] = self.silence


def _silence_doc(s: Silence) -> dict[str, Any]:
    return {
        "id": s.id,
        "matchers": [str(m) for m in s.matchers],
        "starts": s.starts,
        "ends": s.ends,
        "author": s.author,
        "comment": s.comment,
    }


def mount(api: Any, store: Any, config: Any) -> None:
    """Add the notification routes to the service's API (``api.public`` and ``api.post``)."""
    from wardwatch.store.pseudonym import load_key

    from .settings import load_notify_settings

    settings = load_notify_settings(config)
    keys: list[bytes] = []

    def key() -> bytes:
        if not keys:
            assert settings.key_file is not None
            keys.append(load_key(settings.key_file))
        return keys[0]

    Endpoints(store, key).mount(api.public, api.post)
