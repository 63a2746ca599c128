"""Telegram: the bot API's ``sendMessage`` with the plain-text rendering (no ``parse_mode``, so
nothing in an alert is read as markup), cut to Telegram's 4096-character limit. The API's base
URL is configurable (``api_url``) for a local Bot API server or a test."""

from __future__ import annotations

from typing import Any

import orjson

from .. import render
from ..settings import Telegram
from . import DeliveryError
from .http import post

LIMIT = 4096


def text(doc: dict[str, Any]) -> str:
    body = render.text(doc)
    return body if len(body) <= LIMIT else body[: LIMIT - 1] + "…"


def send(target: Telegram, doc: dict[str, Any], now: float) -> None:
    body = orjson.dumps({"chat_id": target.chat_id, "text": text(doc), "disable_web_page_preview": True})
    reply = post(f"{target.api_url}/bot{target.token}/sendMessage", body, {}, target.timeout, target.ca_file)
    try:
        ok = orjson.loads(reply).get("ok")
    except (orjson.JSONDecodeError, AttributeError):
        ok = False
    if not ok:
        raise DeliveryError(f"Telegram refused the message: {reply[:200].decode('utf-8', 'replace')}")
