"""abuse.ch exports: URLhaus CSV (URL → host) and ThreatFox CSV and JSON (domain, ip:port, url IOCs).

Both CSVs start with a ``#`` banner whose last comment line holds the column names; the ThreatFox CSV
separates fields with ``", "``. ThreatFox JSON comes in two layouts: the export
(``{"<ioc_id>": [{...}], ...}``) and the API answer (``{"query_status": "ok", "data": [{...}]}``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

import orjson

from ..model import Entry, Meta
from ._text import FormatError, split_tags, text_lines

URLHAUS_COLUMNS = [
    "id",
    "dateadded",
    "url",
    "url_status",
    "last_online",
    "threat",
    "tags",
    "urlhaus_link",
    "reporter",
]
THREATFOX_COLUMNS = [
    "first_seen_utc",
    "ioc_id",
    "ioc_value",
    "ioc_type",
    "threat_type",
    "fk_malware",
    "malware_alias",
    "malware_printable",
    "last_seen_utc",
    "confidence_level",
    "reference",
    "tags",
    "anonymous",
    "reporter",
]
# ThreatFox IOC types we index; hashes and the rest are counted as unsupported.
_TF_HINTS = {"domain": "domain", "ip:port": "ip", "url": "url", "ip": "ip"}


def _csv_rows(data: bytes, default_columns: list[str]) -> Iterator[dict[str, str]]:
    columns = default_columns
    body: list[str] = []
    for line in text_lines(data):
        if line.startswith("#"):
            head = line[1:].strip()
            if head.startswith('"') or head.startswith(default_columns[0]):
                columns = [c.strip().strip('"') for c in head.split(",")]
            continue
        if line.strip():
            body.append(line)
    for row in csv.reader(body, skipinitialspace=True):
        yield dict(zip(columns, row, strict=False))


def _none(v: object) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s if s and s.lower() not in ("none", "null", "n/a") else None


def _confidence(v: object) -> int | None:
    try:
        return max(0, min(100, int(str(v))))
    except ValueError:
        return None


def parse_urlhaus_csv(name: str, data: bytes) -> Iterator[Entry]:
    for row in _csv_rows(data, URLHAUS_COLUMNS):
        u = row.get("url")
        if not u:
            yield ("", "url", None)
            continue
        yield (
            u,
            "url",
            Meta(
                threat=_none(row.get("threat")),
                tags=split_tags(row.get("tags")),
                first_seen=_none(row.get("dateadded")),
                last_seen=_none(row.get("last_online")),
                reference=_none(row.get("urlhaus_link")),
            ),
        )


def _threatfox(rows: Iterable[dict], value_key: str, malware_key: str) -> Iterator[Entry]:
    for row in rows:
        if not isinstance(row, dict):
            yield ("", None, None)
            continue
        value = str(row.get(value_key) or "")
        hint = _TF_HINTS.get(str(row.get("ioc_type") or "").lower())
        if hint is None:
            yield (value, "unsupported", None)
            continue
        threat = (
            _none(row.get("malware_printable"))
            or _none(row.get(malware_key))
            or _none(row.get("threat_type"))
        )
        tags = split_tags(_none(row.get("tags")))
        tt = _none(row.get("threat_type"))
        if tt:
            tags = (tt, *tags)
        yield (
            value,
            hint,
            Meta(
                threat=threat,
                tags=tags,
                confidence=_confidence(row.get("confidence_level")),
                first_seen=_none(row.get("first_seen_utc") or row.get("first_seen")),
                last_seen=_none(row.get("last_seen_utc") or row.get("last_seen")),
                reference=_none(row.get("reference")),
            ),
        )


def parse_threatfox_csv(name: str, data: bytes) -> Iterator[Entry]:
    return _threatfox(_csv_rows(data, THREATFOX_COLUMNS), "ioc_value", "fk_malware")


def parse_threatfox_json(name: str, data: bytes) -> Iterator[Entry]:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise FormatError(f"not JSON: {e}") from None
    if isinstance(doc, dict) and "data" in doc and "query_status" in doc:
        rows = doc["data"] if isinstance(doc["data"], list) else []
        return _threatfox(rows, "ioc", "malware")
    if isinstance(doc, dict):
        return _threatfox(
            (r for group in doc.values() if isinstance(group, list) for r in group), "ioc_value", "malware"
        )
    raise FormatError("ThreatFox JSON must be an object")
