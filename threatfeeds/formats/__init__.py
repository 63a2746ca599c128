"""Feed formats as they are really published; one small parser module per family.

A parser is ``parse(name, data) -> Iterator[Entry]`` over one file of the feed (``name`` is its file
name inside an archive or folder, which Maltrail uses for the threat name). Parsers never raise on bad
lines: they yield what they could read, and the normaliser counts the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..model import Entry
from . import abusech, lines, maltrail, misp, stix2, zeek_intel
from ._text import FormatError

Parser = Callable[[str, bytes], Iterator[Entry]]

FORMATS: dict[str, Parser] = {
    "hosts": lines.parse_hosts,
    "domains": lines.parse_domains,
    "maltrail": maltrail.parse,
    "urlhaus-csv": abusech.parse_urlhaus_csv,
    "threatfox-csv": abusech.parse_threatfox_csv,
    "threatfox-json": abusech.parse_threatfox_json,
    "openphish": lines.parse_openphish,
    "ip-list": lines.parse_ip_list,
    "spamhaus-drop": lines.parse_spamhaus_drop,
    "zeek-intel": zeek_intel.parse,
    "misp-warninglist": misp.parse,
    "stix2": stix2.parse,
}


__all__ = ["FORMATS", "FormatError", "Parser"]
