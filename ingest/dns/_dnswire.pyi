"""Types of the optional C extension built from _dnswire.c (wire.py's decode_message in C)."""

from typing import Any

def bind(message: type, question: type, rr: type, edns: type, /) -> None:
    """Note the slot offsets of wire.py's dataclasses; TypeError when one is not plainly slotted."""

def decode(buf: bytes, sections: int = 3, /) -> Any:
    """wire.decode_message_py's result (a wire.Message, or None under 12 bytes), decoded in C."""
