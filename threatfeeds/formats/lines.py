"""One-indicator-a-line formats: hosts files, domain lists, OpenPhish, IP lists, Spamhaus DROP."""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from ..model import Entry, Meta
from ._text import text_lines

_COMMENT = ("#", "!", ";", "//")


def _strip_comment(line: str) -> str:
    for mark in ("#", ";"):
        i = line.find(mark)
        if i >= 0:
            line = line[:i]
    return line.strip()


def parse_hosts(name: str, data: bytes) -> Iterator[Entry]:
    """``0.0.0.0 evil.example`` / ``127.0.0.1 a b c`` (StevenBlack, URLhaus hostfile): the names are
    the indicators, the sink address is not."""
    for line in text_lines(data):
        line = _strip_comment(line)
        if not line:
            continue
        fields = line.split()
        if len(fields) == 1:
            yield (fields[0], None, None)  # some hosts-style lists drop the address
            continue
        for host in fields[1:]:
            yield (host, None, None)  # URLhaus host files list addresses too


def parse_domains(name: str, data: bytes) -> Iterator[Entry]:
    """One domain a line; ``#``, ``!`` and ``;`` comments, trailing comments allowed."""
    for line in text_lines(data):
        s = line.strip()
        if not s or s.startswith(_COMMENT):
            continue
        s = _strip_comment(s)
        if s:
            yield (s.split()[0], "domain", None)


def parse_openphish(name: str, data: bytes) -> Iterator[Entry]:
    """OpenPhish ``feed.txt``: one phishing URL a line."""
    for line in text_lines(data):
        s = line.strip()
        if s and not s.startswith("#"):
            yield (s, "url", None)


def parse_ip_list(name: str, data: bytes) -> Iterator[Entry]:
    """abuse.ch Feodo ``ipblocklist.txt`` and similar: one IP (or CIDR) a line, ``#`` comments."""
    for line in text_lines(data):
        s = _strip_comment(line)
        if s:
            yield (s.split()[0], "ip", None)


def parse_spamhaus_drop(name: str, data: bytes) -> Iterator[Entry]:
    """Spamhaus DROP/EDROP/DROPv6: ``1.10.16.0/20 ; SBL256894`` lines, or the newer JSON lines
    ``{"cidr": "1.10.16.0/20", "sblid": "SBL256894", "rir": "apnic"}``."""
    for line in text_lines(data):
        s = line.strip()
        if not s:
            continue
        if s.startswith("{"):
            try:
                obj = orjson.loads(s)
            except orjson.JSONDecodeError:
                yield (s, "cidr", None)
                continue
            if not isinstance(obj, dict) or "cidr" not in obj:
                continue  # the trailing {"type": "metadata", ...} line
            sbl = obj.get("sblid")
            yield (str(obj["cidr"]), "cidr", Meta(reference=str(sbl)) if sbl else None)
            continue
        if s.startswith(";"):
            continue
        cidr, _, comment = s.partition(";")
        sbl = comment.strip().split()[0] if comment.strip() else None
        yield (cidr.strip(), "cidr", Meta(reference=sbl) if sbl else None)
