"""The ``service`` of a UDP tunnel's encapsulating connection, as Zeek's tunnel analysers confirm it.

Zeek's VXLAN and Geneve packet analysers call ``AnalyzerConfirmation`` on the first packet whose
tunnel header parses (``VXLAN.cc``, ``Geneve.cc``): the outer connection gets ``vxlan``/``geneve``.
The Teredo analyser waits for a valid encapsulation from both endpoints first
(``Tunnel::delay_teredo_confirmation``, true by default; ``Teredo.h`` ``Confirm``), so a one-way
Teredo connection has no service. The decoder marks those packets' rows (``PacketBatch.encap``);
this turns them into services on the flow meter's connections.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .columns import TUNNEL_GENEVE, TUNNEL_TEREDO, TUNNEL_VXLAN, PacketBatch

SERVICES = {TUNNEL_VXLAN: "vxlan", TUNNEL_GENEVE: "geneve", TUNNEL_TEREDO: "teredo"}
_BOTH = 3  # valid Teredo seen from the originator (1) and from the responder (2)


class ServiceView(Protocol):
    """The flow meter's ``add_service`` (``ingest.flows.FlowView``)."""

    def add_service(self, flow: int, service: str) -> None: ...


class TunnelServices:
    """Per-connection state only for Teredo connections not yet confirmed both ways."""

    def __init__(self) -> None:
        self._teredo: dict[int, int] = {}  # flow → directions seen (1 orig, 2 resp)

    def process(self, batch: PacketBatch, flow: np.ndarray, from_orig: np.ndarray, view: ServiceView) -> None:
        """Name the services of the connections (``flow``, ``from_orig``: the flow meter's
        assignment of each row) whose rows carry a tunnel."""
        rows = np.flatnonzero(batch.encap)
        if not rows.size:
            return
        # one entry per (connection, kind, direction), however many packets: the loop stays short
        key = (flow[rows].astype(np.int64) << 8) | (batch.encap[rows].astype(np.int64) << 1)
        key |= np.where(from_orig[rows], 0, 1)
        key = np.sort(key)
        key = key[np.concatenate(([True], key[1:] != key[:-1]))]
        for k in key.tolist():
            fid, kind, resp = k >> 8, (k >> 1) & 0x7F, k & 1
            if kind == TUNNEL_TEREDO:
                seen = self._teredo.get(fid, 0) | (2 if resp else 1)
                self._teredo[fid] = seen
                if seen != _BOTH:
                    continue
            service = SERVICES.get(kind)
            if service is not None:
                view.add_service(fid, service)

    def release(self, retired: list[int]) -> None:
        """Forget connections the flow meter has finished with (``FlowMeter.retired``)."""
        if self._teredo:
            for fid in retired:
                self._teredo.pop(fid, None)
