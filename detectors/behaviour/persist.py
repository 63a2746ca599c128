"""What the behavioural detectors share: the optional state file, the eviction counter and the
bounded table of per-host state."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Generic, TypeVar

from .state import StateFile, Table

Opts = TypeVar("Opts")
State = TypeVar("State")


class Persisting:
    """Saves ``snapshot()`` every ``save_every`` seconds of wall time and at ``flush``; ``restore`` gets
    it back at start. Detectors whose state is only minutes deep keep the default (nothing saved)."""

    name = "behaviour"
    store: StateFile | None = None

    def attach(self, folder: Path | None, every: float) -> None:
        if folder is None:
            return
        self.store = StateFile(folder, self.name, every)
        got = self.store.load()
        if got is not None:
            # a state file from another build: start cold rather than fail
            with contextlib.suppress(KeyError, TypeError, ValueError, IndexError):
                self.restore(got)

    def tick(self) -> None:
        if self.store is not None and self.store.due():
            self.save()

    def save(self) -> None:
        if self.store is not None:
            snap = self.snapshot()
            if snap is not None:
                self.store.save(snap)

    def snapshot(self) -> Any:
        return None

    def restore(self, state: Any) -> None:
        return None

    def evicted(self) -> int:
        return 0


class HostTable(Persisting, Generic[Opts, State]):
    """A detector with options ``o`` and one bounded table ``hosts`` of state per host address."""

    def __init__(self, opts: Opts, max_hosts: int) -> None:
        self.o = opts
        self.hosts: Table[str, State] = Table(max_hosts)

    def evicted(self) -> int:
        return self.hosts.evicted
