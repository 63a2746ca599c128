"""What the flow meter tells later stages about each packet of a batch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(slots=True)
class FlowAssignment:
    flow: np.ndarray  # int64 per PacketBatch row: the connection's serial number (stable for its life)
    from_orig: np.ndarray  # bool per row: sent by the connection's originator (Zeek's "orig")


class FlowView(Protocol):
    """The part of the flow meter that DNS and application analysers may use."""

    def uid(self, flow: int) -> str:
        """Zeek-style uid ("C" + base62) of a connection: stable for the same 5-tuple and start time."""
        ...

    def add_service(self, flow: int, service: str) -> None:
        """Record that an analyser recognised ``service`` (dns, http, ssl, ftp…) on the connection."""
        ...

    def endpoints(self, flow: int) -> tuple[str, int, str, int, str]:
        """(orig_h, orig_p, resp_h, resp_p, proto name) of a connection, as conn.log prints them."""
        ...
