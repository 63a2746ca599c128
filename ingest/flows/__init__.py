"""Flow metering: packets → Zeek conn.log records.

``FlowMeter.process(batch)`` assigns each PacketBatch row to a connection (``FlowAssignment``);
``expire(now)`` returns the conn records of connections that ended or idled out by capture time
``now`` (and interim records, ``"interim": true``, for long ones — the final record with the same
uid replaces them downstream); ``flush()`` returns the rest. See ``meter.py`` for the design and
for where the records differ from Zeek's.
"""

from __future__ import annotations

from .assignment import FlowAssignment, FlowView
from .config import FlowConfig
from .meter import FlowMeter

__all__ = ["FlowAssignment", "FlowConfig", "FlowMeter", "FlowView"]
