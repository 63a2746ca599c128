"""The log inputs: files followed (``follow.Follower``) and parsed (``zeek``, ``eve``) into the
records the sensor emits and, for EVE, alerts of the external engine.

    zeek = ZeekInput(Path("/opt/zeek/logs/current"), state=Path(".../zeek.json"), counters=c)
    records, alerts = zeek.poll()       # what was written since the last poll
    ...                                 # records → detectors → store
    zeek.commit()                       # positions saved: after a restart, reading resumes here
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from wardwatch.alerts import Alert
from wardwatch.counters import Counters
from wardwatch.i18n import text

from .eve import EveParser
from .follow import Chunk, Follower
from .zeek import TsvState, json_block, path_of

Result = tuple[list[dict[str, Any]], list[Alert]]


class ZeekInput:
    """A folder of Zeek logs: ``conn``, ``dns``, ``ssl``, ``http`` (``.log``, rotated, ``.gz``)."""

    kind = "zeek"

    def __init__(self, folder: Path, state: Path | None = None, counters: Counters | None = None) -> None:
        self.folder = folder
        self.counters = counters if counters is not None else Counters()
        self.follower = Follower(self._files, state, self.counters)
        self.states: dict[str, TsvState] = {}

    def _files(self) -> Iterable[Path]:
        try:
            names = list(self.folder.iterdir())
        except OSError:
            return []
        return [
            p for p in names if path_of(p.name) and (".log" in p.name or ".json" in p.name) and p.is_file()
        ]

    def poll(self, final: bool = False) -> Result:
        records: list[dict[str, Any]] = []
        for chunk in self.follower.poll(final):
            records += self._chunk(chunk)
        return records, []

    def _chunk(self, chunk: Chunk) -> list[dict[str, Any]]:
        """One file's new lines in runs: TSV data lines (the block parser of the file's headers),
        ``#`` header lines, JSON lines (a JSON line starts with ``{``; Zeek never starts a TSV line so).
        Lines end as ``bytes.splitlines`` ends them; empty lines are skipped."""
        out: list[dict[str, Any]] = []
        lines = bad = 0
        hint = path_of(chunk.path.name)
        state = self.states.get(chunk.key)
        data = chunk.data
        pos, size = 0, len(data)
        while pos < size:
            c = data[pos]
            if c == 10 or c == 13:  # \n, \r: a line's end or an empty line
                pos += 1
                continue
            if c == 123:  # {
                recs, n, b, pos = json_block(data, pos, hint)
            else:
                if state is None:
                    state = self.states[chunk.key] = TsvState()
                    if chunk.start > 0:  # resumed mid-file: its headers are at the start
                        for h in self.follower.header(chunk.path):
                            state.header(h.decode("utf-8", "replace"))
                if c == 35:  # #: a header line
                    end = _line_end(data, pos)
                    state.header(data[pos:end].decode("utf-8", "replace"))
                    lines += 1
                    pos = end
                    continue
                recs, n, b, pos = state.block(data, pos)
            out += recs
            lines += n
            bad += b
        self._count(lines, len(out), bad)
        return out

    def _count(self, lines: int, records: int, bad: int) -> None:
        self.counters.add("logs.zeek.lines", lines)
        self.counters.add("logs.zeek.records", records)
        if bad:
            self.counters.add("logs.zeek.malformed", bad)

    def commit(self) -> None:
        self.follower.commit()


class EveInput:
    """Suricata's ``eve.json`` and its rotated siblings (``eve.json.1``, ``eve.json-….gz``)."""

    kind = "eve"

    def __init__(self, path: Path, state: Path | None = None, counters: Counters | None = None) -> None:
        self.path = path
        self.counters = counters if counters is not None else Counters()
        self.follower = Follower(self._files, state, self.counters)
        self.parser = EveParser()

    def _files(self) -> Iterable[Path]:
        try:
            return [
                p for p in self.path.parent.iterdir() if p.name.startswith(self.path.name) and p.is_file()
            ]
        except OSError:
            return []

    def poll(self, final: bool = False) -> Result:
        records: list[dict[str, Any]] = []
        p = self.parser
        malformed, skipped = p.malformed, p.skipped
        n = 0
        found: list[dict[str, Any]] = []
        for chunk in self.follower.poll(final):
            n += len(chunk.lines)
            p.lines(chunk.lines, records, found)
        alerts = [external_alert(a) for a in found]
        records += p.flush() if final else p.expire()
        self.counters.add("logs.eve.lines", n)
        self.counters.add("logs.eve.records", len(records))
        self.counters.add("logs.eve.alerts", len(alerts))
        if p.malformed > malformed:
            self.counters.add("logs.eve.malformed", p.malformed - malformed)
        if p.skipped > skipped:
            self.counters.add("logs.eve.skipped", p.skipped - skipped)
        return records, alerts

    def commit(self) -> None:
        self.follower.commit()


def _line_end(data: bytes, pos: int) -> int:
    """Where the line at ``pos`` ends (its \\n or \\r, as ``bytes.splitlines`` ends it)."""
    nl = data.find(b"\n", pos)
    if nl < 0:
        nl = len(data)
    cr = data.find(b"\r", pos, nl)  # only up to the \n: not a scan of the whole block
    return nl if cr < 0 else cr


def external_alert(a: dict[str, Any]) -> Alert:
    """An alert another engine raised, as our alert record (its words from the catalogue)."""
    vi, en = text(
        "ingest.external_alert", engine=a["evidence"].get("engine", "IDS").title(), signature=a["indicator"]
    )
    return Alert(
        ts=a["ts"],
        category=a["category"],
        severity=a["severity"],
        src_ip=a["src_ip"],
        dst_ip=a["dst_ip"],
        indicator=a["indicator"],
        rule=a["rule"],
        summary={"vi": vi, "en": en},
        evidence=a["evidence"],
    )
