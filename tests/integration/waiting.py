"""Waiting on a state, never on the clock alone: poll ``cond`` until it gives something true."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest


def wait_for(what: str, cond: Callable[[], Any], deadline: float = 120.0, step: float = 0.1) -> Any:
    """``cond()``'s first true result; the test fails naming ``what`` if none comes within ``deadline``
    seconds (generous: a busy shared machine must not fail a correct program)."""
    end = time.monotonic() + deadline
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(step)
