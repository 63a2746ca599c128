"""Zeek's conn, dns, ssl and http logs → records as the sensor writes them (``source: zeek``).

Two formats: Zeek's TSV (``#separator``, ``#set_separator``, ``#empty_field``, ``#unset_field``,
``#path``, ``#fields`` and ``#types`` headers; ``-`` unset, ``(empty)`` an empty set or vector; ``\\xNN``
escapes) and JSON lines (``ts`` as epoch seconds or ISO 8601, as ``LogAscii::json_timestamps`` makes
it). ``ssl`` becomes our ``tls`` record (``next_protocol`` → ``alpn``). Only the fields the sensor's
records have are kept: the rest of a Zeek log (file ids, MIME types…) has no column here.

Parsing is pure: one ``TsvState`` per file (its headers), a line in, a record or None out
(``record``), or a block of data lines in, records and counts out (``block``; ``json_block`` for
JSON lines): a line that does not parse is None and counted by the caller, never raised. The blocks
run in C where ``_zeektsv.c`` is built (the same records: tests/unit/test_logimport_native.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from ..fields import FIELDS
from ..native import load

# the C parser of TSV data lines and of the common JSON lines (``_zeektsv.c``, bench/bench_import.py);
# the Python below is its fallback and gives equal records (tests/unit/test_logimport_native.py);
# WARDWATCH_LOGS_PYTHON=1 runs the fallback even where the C is built
_native = None if os.environ.get("WARDWATCH_LOGS_PYTHON") == "1" else load(__package__, "_zeektsv")


def _epoch(text: str) -> float:
    """ISO 8601 to seconds since the epoch; a time without a zone is UTC (never the host's zone)."""
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


# the fields each Zeek log keeps: what our records of that log carry (``ingest/fields.py``), less what
# only our sensor knows (interim records; TLS's cipher and QUIC flag)
KEEP: dict[str, frozenset[str]] = {
    "conn": FIELDS["conn"] - {"interim"},
    "dns": FIELDS["dns"],
    "ssl": FIELDS["tls"] - {"cipher", "quic"},
    "http": FIELDS["http"],
}
OUR_PATH = {"conn": "conn", "dns": "dns", "ssl": "tls", "http": "http"}


def _unescape(v: str) -> str:
    if "\\x" not in v:
        return v
    return (
        v.encode("latin-1", "backslashreplace")
        .decode("unicode_escape")
        .encode("latin-1")
        .decode("utf-8", "replace")
    )


def _bool(v: str) -> bool:
    return v == "T"


_SCALAR: dict[str, Callable[[str], Any] | None] = {
    "time": float,
    "interval": float,
    "double": float,
    "count": int,
    "int": int,
    "port": int,
    "bool": _bool,
    "addr": None,
    "subnet": None,
    "enum": None,
    "string": _unescape,
}


class TsvState:
    """The headers of one TSV log file, and its compiled field converters."""

    def __init__(self) -> None:
        self.sep = "\t"
        self.set_sep = ","
        self.empty = "(empty)"
        self.unset = "-"
        self.path = ""
        self.fields: list[str] = []
        self.types: list[str] = []
        self.plan: list[tuple[int, str, Callable[[str], Any] | None, bool]] = []
        self._fast: Callable[[str], dict[str, Any] | None] | None = None
        self._native: tuple[Any, ...] | None = None  # the C parser's arguments for these headers

    def header(self, line: str) -> None:
        if line.startswith("#separator"):
            raw = line[len("#separator") :].strip()
            try:
                self.sep = raw.encode().decode("unicode_escape") if raw.startswith("\\x") else raw or "\t"
            except UnicodeDecodeError:  # a broken escape: keep Zeek's default
                self.sep = "\t"
            if not self.sep:
                self.sep = "\t"
            return
        key, _, value = line[1:].partition(self.sep)
        if key == "set_separator":
            self.set_sep = value
        elif key == "empty_field":
            self.empty = value
        elif key == "unset_field":
            self.unset = value
        elif key == "path":
            self.path = value
        elif key == "fields":
            self.fields = value.split(self.sep)
            self._compile()
        elif key == "types":
            self.types = value.split(self.sep)
            self._compile()

    def _compile(self) -> None:
        keep = KEEP.get(self.path)
        self.plan = []
        self._fast = None
        self._native = None
        if keep is None or len(self.types) != len(self.fields):
            return
        for i, (name, type_) in enumerate(zip(self.fields, self.types, strict=True)):
            if name not in keep:
                continue
            container = type_.startswith(("set[", "vector["))
            inner = type_[type_.index("[") + 1 : -1] if container else type_
            self.plan.append((i, name, _SCALAR.get(inner, _unescape), container))
        self._fast = self._generate()
        self._native = self._native_args()

    def _native_args(self) -> tuple[Any, ...] | None:
        """The C parser's arguments, when it is built and these headers are within its rules: one
        ASCII byte each separator, ASCII markers (then splitting bytes equals splitting the decoded
        text; see _zeektsv.c). Other headers (no Zeek writes them) keep the Python parser."""
        if _native is None:
            return None
        one = [self.sep, self.set_sep]
        if any(len(c) != 1 or not c.isascii() or c in "\r\n" for c in one):
            return None
        if not (self.unset.isascii() and self.empty.isascii()):
            return None
        plan = tuple((i, sys.intern(name), _CODE[conv], container) for i, name, conv, container in self.plan)
        head = {"_path": OUR_PATH[self.path], "source": "zeek"}
        finish = _finish if self.path == "ssl" else None
        return (
            ord(self.sep), ord(self.set_sep), len(self.fields), self.unset.encode(), self.empty.encode(),
            plan, head, _unescape, finish,
        )  # fmt: skip

    def _generate(self) -> Callable[[str], dict[str, Any] | None]:
        """The data-line parser of these headers as one generated function (no loop over the fields,
        no call for a plain string): about twice as fast as walking ``plan``. Only names from ``KEEP``
        reach the code, and as ``repr`` literals: a hostile header cannot inject anything."""
        env: dict[str, Any] = {"_finish": _finish, "unset": self.unset, "empty": self.empty}
        code = [
            "def parse(line):",
            f"    p = line.split({self.sep!r})",
            f"    if len(p) != {len(self.fields)}:",
            "        return None",
            f"    rec = {{'_path': {OUR_PATH[self.path]!r}, 'source': 'zeek'}}",
            "    try:",
        ]
        for k, (i, name, conv, container) in enumerate(self.plan):
            env[f"c{k}"] = conv
            if conv is None:
                call = "v"
            elif conv is _unescape:
                call = f"(c{k}(v) if {chr(92) * 2!r}[:1] + 'x' in v else v)"
            else:
                call = f"c{k}(v)"
            code.append(f"        v = p[{i}]")
            code.append("        if v != unset:")
            if container:
                item = f"c{k}(x)" if conv is not None else "x"
                split = f"v.split({self.set_sep!r})"
                code.append(f"            rec[{name!r}] = [] if v == empty else [{item} for x in {split}]")
            else:
                code.append(f"            rec[{name!r}] = {call}")
        code += ["    except ValueError:", "        return None"]
        # _finish's work inline: the timestamp is required; ssl's next_protocol becomes alpn
        code += ["    if 'ts' not in rec:", "        return None"]
        if self.path == "ssl":
            code += ["    return _finish(rec)"]
        else:
            code += ["    return rec"]
        exec("\n".join(code), env)  # noqa: S102 — generated from the header, names as literals
        fn: Callable[[str], dict[str, Any] | None] = env["parse"]
        return fn

    def record(self, line: str) -> dict[str, Any] | None:
        """The record of one data line; None when it does not fit the headers."""
        if self._fast is None:
            return None
        return self._fast(line)

    def block(self, data: bytes, pos: int) -> tuple[list[dict[str, Any]], int, int, int]:
        """The data lines of ``data`` from ``pos`` (not a ``#`` or ``{`` line) up to the next line
        that starts with ``#`` or ``{``: (records, lines, malformed lines, offset where it stopped).

        Lines end as ``bytes.splitlines`` ends them; empty ones are skipped. A log we do not import
        (``#path files``) gives no records and no malformed lines; nothing is lost."""
        if self._native is not None and _native is not None:
            out: tuple[list[dict[str, Any]], int, int, int] = _native.parse(data, pos, *self._native)
            return out
        end = min(
            [i + 1 for i in (data.find(b, pos) for b in (b"\n#", b"\n{", b"\r#", b"\r{")) if i >= 0],
            default=len(data),
        )  # bytes.find, not a regex: ten times faster over a block
        text = data[pos:end].decode("utf-8", "replace")
        lines = [ln for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if ln]
        if self._fast is None:
            return [], len(lines), 0 if self.path and self.path not in KEEP else len(lines), end
        parsed = list(map(self._fast, lines))
        records = [r for r in parsed if r is not None]
        return records, len(lines), len(lines) - len(records), end


_CODE: dict[Callable[[str], Any] | None, int] = {None: 0, _unescape: 1, float: 2, int: 3, _bool: 4}


def _finish(rec: dict[str, Any]) -> dict[str, Any] | None:
    if "ts" not in rec:
        return None
    if rec["_path"] == "tls":
        alpn = rec.pop("next_protocol", None)
        if alpn:
            if not isinstance(alpn, (str, list)):
                return None  # not Zeek's (a number in a JSON line): malformed, counted
            rec["alpn"] = [alpn] if isinstance(alpn, str) else list(alpn)
    rec["source"] = "zeek"
    return rec


def _ts(v: Any) -> float | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, str):
        try:
            return _epoch(v)
        except ValueError:
            return None
    return None


# per log: the fields of a JSON line (its keys, in order) → those of them not kept. The lines of one
# log have the same few key sets, so deciding once per set beats testing every key of every line
# (bench/bench_import.py); bounded, as hostile lines could bring endless key sets.
_DROPS: dict[str, dict[tuple[str, ...], tuple[str, ...]]] = {path: {} for path in KEEP}
_DROPS_MAX = 1000


def json_record(line: bytes | str, path_hint: str = "") -> dict[str, Any] | None:
    """The record of one Zeek JSON line (its ``_path``, else the file's name, says which log)."""
    try:
        d = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if type(d) is not dict:
        return None
    path = d.get("_path") or path_hint
    drops = _DROPS.get(path) if type(path) is str else None  # a list as _path: malformed, not a crash
    if drops is None:
        return None
    keys = tuple(d)
    drop = drops.get(keys)
    if drop is None:
        keep = KEEP[path]
        drop = tuple(k for k in keys if k not in keep)
        if len(drops) < _DROPS_MAX:
            drops[keys] = drop
    for k in drop:
        del d[k]
    if b"null" in line if isinstance(line, bytes) else "null" in line:  # JSON's null: unset, as Zeek's "-"
        d = {k: v for k, v in d.items() if v is not None}
    ts = d.get("ts")
    if type(ts) is not float:
        ts = _ts(ts)
        if ts is None:
            return None
        d["ts"] = ts
    # the parsed dict is the record (no copy): _path and source go last
    d["_path"] = OUR_PATH[path]
    if path == "ssl":
        return _finish(d)
    d["source"] = "zeek"
    return d


def json_block(data: bytes, pos: int, path_hint: str = "") -> tuple[list[dict[str, Any]], int, int, int]:
    """The JSON lines of ``data`` from ``pos`` up to the first line that does not start with ``{``:
    (records, lines, malformed lines, offset where it stopped); as ``TsvState.block``."""
    if _native is not None:  # the common lines in C, the others through json_record
        out: tuple[list[dict[str, Any]], int, int, int] = _native.json_lines(
            data, pos, orjson.loads, path_hint, KEEP, OUR_PATH, json_record
        )
        return out
    seg = data[pos:] if pos else data
    nl = seg.count(b"\n")
    if b"\r" not in seg and nl - seg.endswith(b"\n") == seg.count(b"\n{"):
        # the common case, JSON lines only (counted with bytes.count: a regex would scan the block
        # ten times slower)
        lines = [ln for ln in seg.split(b"\n") if ln]
        end = len(data)
    else:
        lines = []
        end = pos
        for ln in seg.splitlines(keepends=True):
            text = ln.rstrip(b"\r\n")
            if text and text[:1] != b"{":
                break
            end += len(ln)
            if text:
                lines.append(text)
    parsed = [json_record(ln, path_hint) for ln in lines]
    records = [r for r in parsed if r is not None]
    return records, len(lines), len(lines) - len(records), end


def path_of(name: str) -> str:
    """Which Zeek log a file is, by its name (``conn.log``, ``dns.2024-01-01-00-00-00.log.gz``)."""
    head = name.split(".", 1)[0]
    return head if head in KEEP else ""
