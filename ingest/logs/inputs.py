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
from .zeek import KEEP, TsvState, json_record, path_of

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
        """One file's new lines: TSV (its headers kept per file) or JSON, line by line (a JSON line
        starts with ``{``; Zeek never starts a TSV line so)."""
        out = []
        bad = 0
        hint = path_of(chunk.path.name)
        state = self.states.get(chunk.key)
        data = chunk.data
        if (
            state is not None
            and state.plan
            and not data.startswith((b"#", b"{"))
            and b"\n#" not in data
            and b"\n{" not in data
        ):
            # the common case, TSV data lines only: decoded at once, parsed by the generated parser
            lines = [ln for ln in data.decode("utf-8", "replace").splitlines() if ln]
            parsed = list(map(state.record, lines))
            out = [r for r in parsed if r is not None]
            self._count(len(chunk.lines), len(out), len(parsed) - len(out))
            return out
        for raw in chunk.lines:
            if raw.startswith(b"{"):
                rec = json_record(raw, hint)
            else:
                if state is None:
                    state = self.states[chunk.key] = TsvState()
                    if chunk.start > 0:  # resumed mid-file: its headers are at the start
                        for h in self.follower.header(chunk.path):
                            state.header(h.decode("utf-8", "replace"))
                line = raw.decode("utf-8", "replace")
                if line.startswith("#"):
                    state.header(line)
                    continue
                if state.path and state.path not in KEEP:
                    continue  # a log we do not import (files.log…): nothing is lost
                rec = state.record(line)
            if rec is None:
                bad += 1
            else:
                out.append(rec)
        self._count(len(chunk.lines), len(out), bad)
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
        alerts: list[Alert] = []
        p = self.parser
        malformed, skipped = p.malformed, p.skipped
        n = 0
        for chunk in self.follower.poll(final):
            n += len(chunk.lines)
            for raw in chunk.lines:
                recs, found = p.line(raw)
                records += recs
                alerts += [external_alert(a) for a in found]
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
