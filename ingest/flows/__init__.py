"""Flow metering: packets → Zeek conn.log records (see ``meter.py`` for the design and semantics)."""

from __future__ import annotations

from .assignment import FlowAssignment, FlowView
from .config import FlowConfig
from .meter import FlowMeter

__all__ = ["FlowAssignment", "FlowConfig", "FlowMeter", "FlowView"]
